"""The inputs people and stacks send us, parsed once: by the CLI, the receiver's routes and the flows alike.

Numbers are ASCII digits, given as JSON numbers or as strings of them (the old `mu script`s send
`{"year": "2025", "month": "3"}`); never a bool, a float or another script's digits. Years lie in
a window (settings YEAR_MIN..YEAR_MAX, 2000-2100 unless set), which keeps every date the sync
computes from a period far from the calendar's ends. A period longer than MAX_PERIOD_DAYS needs
`allow_long_period`. Errors are InputError: one short line saying what was wrong and what to send.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.functional_validators import BeforeValidator

MAX_PERIOD_DAYS = 400
KIMAI_MAX_ID = 2**31 - 1  # Kimai's ids are signed 32-bit database integers
MAX_IRI_LENGTH = 2048

_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DATETIME_TAIL = re.compile(r"T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?", re.ASCII)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:", re.ASCII)
_NOT_IN_IRI = frozenset(' <>"{}|^`\\')


class InputError(ValueError):
    """Input we refuse; the message is one line fit for a 400 body or a terminal."""


@dataclass(frozen=True)
class InputLimits:
    """The bounds that come from settings (YEAR_MIN, YEAR_MAX)."""

    year_min: int = 2000
    year_max: int = 2100


def _limits(info: ValidationInfo | None) -> InputLimits:
    ctx = info.context if info is not None else None
    limits = ctx.get("limits") if isinstance(ctx, dict) else None
    return limits if isinstance(limits, InputLimits) else InputLimits()


def ascii_int(value: Any) -> int:
    """A JSON integer or a string of ASCII digits (a leading '-' too); anything else is refused."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip(" ")
        digits = text[1:] if text.startswith("-") else text
        if _DIGITS.fullmatch(digits):
            return int(text)
    raise ValueError(f"must be a number in ASCII digits, got {_short(value)}")


AsciiInt = Annotated[int, BeforeValidator(ascii_int)]


def _short(value: Any, limit: int = 40) -> str:
    """A value as an error may quote it: printable ASCII, cut short."""
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def iri_problem(value: Any) -> str | None:
    """Why `value` is not an absolute IRI we may put between <> in SPARQL; None when it is one."""
    if not isinstance(value, str) or not value:
        return "not a string" if not isinstance(value, str) else "empty"
    if len(value) > MAX_IRI_LENGTH:
        return f"longer than {MAX_IRI_LENGTH} characters"
    if not _SCHEME.match(value):
        return "no scheme (an absolute IRI starts like http:)"
    for c in value:
        o = ord(c)
        if o <= 0x20 or 0x7F <= o <= 0x9F or c in _NOT_IN_IRI or 0xD800 <= o <= 0xDFFF or o in (0xFFFE, 0xFFFF):
            return f"holds {ascii(c)}, which no IRI may hold"
    return None


def parse_day(value: Any, name: str) -> dt.date:
    """yyyy-MM-dd, or an ISO datetime of which the date part counts (the old service's cron sent those)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise InputError(f"'{name}' must be a date string such as 2025-03-01, got {_short(value)}")
    m = _DAY.match(value)
    if not m or not (m.end() == len(value) or _DATETIME_TAIL.fullmatch(value, m.end())):
        raise InputError(f"'{name}' {_short(value)} is not a valid date (yyyy-MM-dd, e.g. 2025-03-01)")
    try:
        if m.end() < len(value):  # the time must be one of the clock too
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise InputError(f"'{name}' {_short(value)} is not a valid date (no such day)") from None


def _check_year(year: int, name: str, limits: InputLimits) -> None:
    if not limits.year_min <= year <= limits.year_max:
        raise InputError(f"'{name}' must be in the years {limits.year_min} to {limits.year_max} "
                         f"(settings YEAR_MIN, YEAR_MAX), got {year}")


class Period(BaseModel):
    """The days of a period sync, both included."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    start: dt.date
    end: dt.date
    allow_long_period: bool = Field(default=False, alias="allowLongPeriod")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _day(cls, v: Any, info: ValidationInfo) -> dt.date:
        assert info.field_name is not None  # always set for a field validator
        day = parse_day(v, info.field_name)
        _check_year(day.year, info.field_name, _limits(info))
        return day

    @field_validator("allow_long_period", mode="before")
    @classmethod
    def _flag(cls, v):
        if v is None:
            return False
        if not isinstance(v, bool):
            raise InputError(f"'allowLongPeriod' must be true or false, got {_short(v)}")
        return v

    @model_validator(mode="after")
    def _order(self) -> "Period":
        if self.start > self.end:
            raise InputError(f"start {self.start} is after end {self.end}: give the earlier day as start")
        days = (self.end - self.start).days + 1
        if days > MAX_PERIOD_DAYS and not self.allow_long_period:
            raise InputError(f"the period has {days} days, more than {MAX_PERIOD_DAYS}: sync it in parts, or ask "
                             "for it explicitly (allowLongPeriod: true; --allow-long-period on the command line)")
        return self


def _int_within(v, low: int, high: int) -> int | None:
    """`v` as a whole number of ASCII digits from `low` to `high`; None when it is not one."""
    try:
        n = ascii_int(v)
    except ValueError:
        return None
    return n if low <= n <= high else None


class LockMonth(BaseModel):
    """The month a timesheet lock is for."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    month: AsciiInt
    year: AsciiInt

    @field_validator("month", mode="before")
    @classmethod
    def _month(cls, v):
        m = _int_within(v, 1, 12)
        if m is None:
            raise InputError(f"'month' must be a number from 1 to 12, got {_short(v)}")
        return m

    @field_validator("year", mode="before")
    @classmethod
    def _year(cls, v, info: ValidationInfo):
        try:
            y = ascii_int(v)
        except ValueError:
            raise InputError(f"'year' must be a number such as 2025 (ASCII digits), got {_short(v)}") from None
        _check_year(y, "year", _limits(info))
        return y

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


class KimaiId(BaseModel):
    """A Kimai record id (a path segment of the receiver, ASCII digits)."""

    model_config = ConfigDict(frozen=True)

    id: AsciiInt

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v):
        n = _int_within(v, 1, KIMAI_MAX_ID)
        if n is None:
            raise InputError(f"{_short(v)} is not a Kimai timesheet id (a number from 1 to {KIMAI_MAX_ID})")
        return n


def reason(err: ValidationError) -> str:
    """The first problem of a ValidationError as one line (our InputError's own text when it is one)."""
    e = err.errors(include_url=False, include_input=False)[0]
    ctx_error = (e.get("ctx") or {}).get("error")
    if isinstance(ctx_error, InputError):
        return str(ctx_error)
    where = ".".join(str(p) for p in e["loc"])
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "missing":
        return f"'{where}' is missing"
    if e["type"] == "model_type" or e["type"] == "model_attributes_type":
        return "expected a JSON object"
    return f"'{where}' {msg}" if where else msg


def parse(model: type[BaseModel], data: Any, limits: InputLimits | None = None):
    """`model` from `data`, or InputError with one line saying what was wrong."""
    try:
        return model.model_validate(data, context={"limits": limits or InputLimits()})
    except ValidationError as err:
        raise InputError(reason(err)) from None
