"""The only way values enter a SPARQL text: escaping that makes injection impossible.

Strings become plain literals (never `^^xsd:string`: Virtuoso treats the two as different
terms). Every character that could end or bend a literal is escaped; characters outside
printable ASCII are written as `\\uXXXX` / `\\UXXXXXXXX` escapes so that no store or proxy can
mangle the encoding on the way. IRIs are validated against the IRIREF grammar and refused
rather than "fixed". Dates and integers are checked for their type before they are written.
"""

from __future__ import annotations

import datetime as _dt
import re

from kimaisync.rdf.vocab import XSD_BOOLEAN, XSD_DATE, XSD_DATETIME, XSD_INTEGER

_ECHAR = {
    "\\": "\\\\",
    '"': '\\"',
    "'": "\\'",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}

# IRIREF ::= '<' ([^<>"{}|^`\]-[#x00-#x20])* '>'
_IRI_FORBIDDEN = re.compile(r'[<>"{}|^`\\\x00-\x20\x7f]')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# RFC 3987: the ASCII characters an IRI may hold, and the non-ASCII ones (ucschar; the private
# use ranges are allowed only in a query part, so they are refused everywhere).
# ('[' and ']' only belong in an IPv6 host literal, which the sync never writes: refused.)
_IRI_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#@!$&'()*+,;=%")
_IRI_RANGES = ((0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF)) + tuple(
    (plane, plane + 0xFFFD) for plane in range(0x10000, 0xF0000, 0x10000))
_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _iri_char_ok(c: str) -> bool:
    o = ord(c)
    if o < 0x80:
        return c in _IRI_ASCII
    return any(lo <= o <= hi for lo, hi in _IRI_RANGES)


def _char(c: str) -> str:
    if c in _ECHAR:
        return _ECHAR[c]
    o = ord(c)
    if 0x20 <= o < 0x7F:
        return c
    if o == 0:
        raise ValueError("text contains a NUL character, which Virtuoso cannot store (it cuts the text there)")
    if 0xD800 <= o <= 0xDFFF:
        raise ValueError("text contains a lone surrogate, which is not valid Unicode")
    return f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}"


def string(value: str) -> str:
    """A plain string literal: `"..."` with every special character escaped."""
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    return '"' + "".join(_char(c) for c in value) + '"'


def uri(value: str) -> str:
    """`<value>` after checking it is an absolute IRI with no forbidden characters."""
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    bad = _IRI_FORBIDDEN.search(value)
    if bad:
        raise ValueError(f"IRI {value!r} contains the forbidden character {bad.group()!r}")
    if not _SCHEME.match(value):
        raise ValueError(f"IRI {value!r} is not absolute (no scheme)")
    odd = next((c for c in value if not _iri_char_ok(c)), None)
    if odd is not None:
        raise ValueError(f"IRI {value!r} contains {odd!r}, which RFC 3987 does not allow")
    if _PCT.search(value):
        raise ValueError(f"IRI {value!r} has a '%' that is not followed by two hex digits")
    if value.count("#") > 1:
        raise ValueError(f"IRI {value!r} has more than one '#'")
    return f"<{value}>"


def date(value: _dt.date) -> str:
    """`"YYYY-MM-DD"^^xsd:date` for a calendar date (never shifted through UTC)."""
    if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return f'"{value.isoformat()}"^^<{XSD_DATE}>'


def datetime(value: _dt.datetime) -> str:
    """`"...+HH:MM"^^xsd:dateTime`; the value must be timezone-aware."""
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return f'"{value.isoformat()}"^^<{XSD_DATETIME}>'


def integer(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected int, got {type(value).__name__}")
    return f'"{value}"^^<{XSD_INTEGER}>'


def boolean(value: bool) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"expected bool, got {type(value).__name__}")
    return f'"{"true" if value else "false"}"^^<{XSD_BOOLEAN}>'
