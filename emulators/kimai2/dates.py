"""Kimai's datetime formats, parsers and rounding.

Kimai is strict where it reads query filters (``Y-m-d\\TH:i:s`` exactly) and lax where it reads
form values (Symfony's HTML5 datetime transformer: space or ``T``, optional seconds, an optional
offset that converts the instant). Responses use ``Y-m-d\\TH:i:sO`` -- an offset without colon.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

RESPONSE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
QUERY_FORMAT = "%Y-%m-%dT%H:%M:%S"

_QUERY_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_FORM_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))?",
    re.IGNORECASE,
)


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    """ZoneInfo by name; raises ``ZoneInfoNotFoundError`` for unknown names."""
    return ZoneInfo(name)


def format_datetime(value: datetime | None, tz_name: str) -> str | None:
    """``2026-08-18T09:00:00+0200``: the instant shown in ``tz_name``."""
    return None if value is None else value.astimezone(zone(tz_name)).strftime(RESPONSE_FORMAT)


def format_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_query_datetime(value: str, tz_name: str) -> datetime:
    """Strict ``Y-m-d\\TH:i:s`` wall clock in ``tz_name``; ValueError for anything else
    (a ``Z``, an offset, fractions or a bare date are all rejected, as by Kimai)."""
    if not _QUERY_RE.fullmatch(value):
        raise ValueError(f"not a Y-m-d\\TH:i:s datetime: {value!r}")
    return datetime.strptime(value, QUERY_FORMAT).replace(tzinfo=zone(tz_name))


def parse_form_datetime(value: str, tz_name: str) -> datetime:
    """Lax form value; a naive wall clock is read in ``tz_name``, an offset or ``Z`` converts.

    Raises ValueError for text that is not a datetime or names an impossible date/time.
    """
    match = _FORM_RE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"not a datetime: {value!r}")
    year, month, day, hour, minute, second, fraction, utc, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    if utc:
        return naive.replace(tzinfo=timezone.utc).astimezone(zone(tz_name))
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        fixed = timezone(offset if sign == "+" else -offset)
        return naive.replace(tzinfo=fixed).astimezone(zone(tz_name))
    return naive.replace(tzinfo=zone(tz_name))


def parse_date_or_datetime(value: str, tz_name: str) -> datetime:
    """``Y-m-d\\TH:i:s`` or ``Y-m-d`` (midnight), as accepted by the project date filters."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=zone(tz_name))
    return parse_query_datetime(value, tz_name)


def _floor(value: datetime, minutes: int, tz_name: str) -> datetime:
    local = value.astimezone(zone(tz_name))
    return local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)


def round_begin(value: datetime, minutes: int, tz_name: str) -> datetime:
    """Kimai's default rounding of a begin: down to the ``minutes`` grid of the local hour."""
    return value if minutes <= 0 else _floor(value, minutes, tz_name)


def round_end(value: datetime, minutes: int, tz_name: str) -> datetime:
    """Kimai's default rounding of an end: up to the ``minutes`` grid of the local hour."""
    if minutes <= 0:
        return value
    floored = _floor(value, minutes, tz_name)
    if floored == value:
        return floored
    return (floored.astimezone(timezone.utc) + timedelta(minutes=minutes)).astimezone(zone(tz_name))
