"""ISO 8601 durations as Timekeeper writes them (`PT7H30M`, `PT45M`, `PT10H`), to whole minutes.

The frontend never rolls hours into days, but a day part (`P1DT2H`) and seconds are read too.
Seconds are rounded to the nearest minute: Kimai keeps whole minutes with its default
rounding, and a value that Kimai would round differently would flap between runs.
"""

from __future__ import annotations

import re

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)

MAX_MINUTES = 365 * 24 * 60  # Kimai's hard cap: one year


class DurationError(ValueError):
    """A duration string that cannot be booked; the message says why."""


def parse_minutes(text: str | None) -> int:
    """Whole minutes in an ISO 8601 duration; DurationError for anything else."""
    if text is None or not str(text).strip():
        raise DurationError("no cal:duration")
    raw = str(text).strip()
    m = _PATTERN.match(raw.upper())
    if not m or raw.upper().endswith("T"):
        raise DurationError(f"cal:duration {raw!r} is not an ISO 8601 duration such as PT7H30M")
    parts = {k: float(v.replace(",", ".")) if v else 0.0 for k, v in m.groupdict().items()}
    seconds = (((parts["weeks"] * 7 + parts["days"]) * 24 + parts["hours"]) * 60 + parts["minutes"]) * 60 + parts["seconds"]
    minutes = int(seconds / 60 + 0.5)
    if minutes > MAX_MINUTES:
        raise DurationError(f"cal:duration {raw!r} is longer than Kimai's maximum of one year")
    return minutes


def format_minutes(minutes: int) -> str:
    """`PT7H30M` for 450; the frontend's own shape (zero parts omitted)."""
    h, m = divmod(int(minutes), 60)
    if not h and not m:
        return "PT0S"
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "")
