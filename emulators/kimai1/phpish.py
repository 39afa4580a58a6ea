"""The bits of PHP semantics Kimai 1's API leans on, reproduced for the emulator.

``strtotime``: Kimai converts every time a client sends with ``(int) strtotime($value)``, so an
unreadable value becomes 0 -- "no bound" for ``getTimesheet``, "Invalid from/to" for writes.
Naive times are read in PHP's default zone, which Kimai sets to the key user's time-zone
preference. Only the forms a client plausibly sends are understood (MySQL DATE/DATETIME, ISO 8601
with ``T`` and an offset or ``Z``, ``@<unix seconds>``); anything else is false, as PHP's
``strtotime`` is for garbage (PHP reads more, e.g. ``"next monday"``, which no sync sends).

``php_int``: ``(int) $value`` -- numeric prefixes of strings, floats truncated, null/false 0.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

_DATETIME = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?\s*",
    re.IGNORECASE,
)
_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def strtotime(value: Any, zone: str) -> int | None:
    """Unix seconds for `value`, or None where PHP's strtotime answers false."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)  # PHP casts to string first: "1705302000" is no date
    if not isinstance(value, str):
        return None
    if value.startswith("@") and re.fullmatch(r"@-?\d+", value):
        return int(value[1:])
    m = _DATETIME.fullmatch(value)
    if not m:
        return None
    year, month, day, hour, minute, second, tz = m.groups()
    try:
        naive = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if tz is None:
        local = naive.replace(tzinfo=ZoneInfo(zone))
    elif tz.upper() in ("Z", "UTC", "GMT"):
        local = naive.replace(tzinfo=timezone.utc)
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        local = naive.replace(tzinfo=timezone(sign * offset))
    return int(local.timestamp())


def php_int(value: Any) -> int:
    """``(int) $value``."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        m = _FLOAT_PREFIX.match(value)
        if m and any(c in m.group(1) for c in ".eE"):
            try:
                return int(float(m.group(1)))
            except (ValueError, OverflowError):
                return 0
        m = _INT_PREFIX.match(value)
        return int(m.group(1)) if m else 0
    if isinstance(value, (list, dict)):
        return 1 if value else 0
    return 0


def php_float(value: Any) -> float:
    if isinstance(value, str):
        m = _FLOAT_PREFIX.match(value)
        return float(m.group(1)) if m else 0.0
    if value is None or value is False:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def php_empty(value: Any) -> bool:
    """``empty($value)``: null, false, 0, 0.0, "", "0" and empty arrays."""
    return value in (None, False, 0, 0.0, "", "0") or (isinstance(value, (list, dict)) and not value)


def php_isset(record: dict, key: str) -> bool:
    """``isset($record[$key])``: present and not null."""
    return record.get(key) is not None
