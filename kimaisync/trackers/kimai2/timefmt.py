"""Kimai's datetime formats, both directions.

Kimai answers with ``Y-m-d\\TH:i:sO`` -- an offset *without* a colon, e.g.
``2026-08-18T09:00:00+0200``. It reads datetimes we send (POST/PATCH bodies and the strict
``begin``/``end`` query filters) as a bare wall clock ``Y-m-d\\TH:i:s`` in a time zone that
depends on the request:

* ``GET /api/timesheets?begin=..&end=..``: the API user's zone (``GET /api/users/me``);
* ``POST /api/timesheets``: the API user's zone;
* ``PATCH /api/timesheets/{id}``: the record's own zone (normally its owner's).

So we never send an offset: we convert the instant into the right zone and print its wall clock.

One limit no wall clock can escape: in the hour a zone repeats when clocks go back, the second
occurrence of e.g. 02:30 prints the same text as the first, and Kimai reads it as the first.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

WALL_CLOCK = "%Y-%m-%dT%H:%M:%S"


def parse_kimai_datetime(value: str | datetime) -> datetime:
    """An aware datetime from Kimai's ``2026-08-18T09:00:00+0200`` (``+02:00`` and ``Z`` work too).

    A value without an offset is refused: guessing its zone is exactly the bug this avoids.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: Kimai datetimes carry an offset")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a datetime string, got {type(value).__name__}")
    text = value.strip()
    try:
        # handles +0200, +02:00, Z, fractional seconds and a space separator (Python 3.11+)
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a Kimai datetime (expected e.g. 2026-08-18T09:00:00+0200)") from None
    if dt.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset (expected e.g. 2026-08-18T09:00:00+0200)")
    return dt


def _require_aware(dt: datetime) -> None:
    if not isinstance(dt, datetime):
        raise TypeError(f"expected a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: pass an aware datetime so its instant is known")


def format_local(dt: datetime, zone: tzinfo) -> str:
    """The wall clock of instant `dt` in `zone` as ``Y-m-d\\TH:i:s``: no offset, no fraction.

    For POST/PATCH bodies. Fractions of a second are dropped (Kimai rounds to minutes anyway).
    """
    _require_aware(dt)
    return dt.astimezone(zone).strftime(WALL_CLOCK)


def format_query(dt: datetime, zone: tzinfo) -> str:
    """Same text as :func:`format_local`, for the strict ``begin``/``end`` query filters.

    Kimai validates these with ``Assert\\DateTime('Y-m-d\\TH:i:s')``: an offset, ``Z``, a fraction or
    a date-only value is a 400, so this function never produces one.
    """
    return format_local(dt, zone)
