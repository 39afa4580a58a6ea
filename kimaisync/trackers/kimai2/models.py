"""What Kimai sends and what we send it, as pydantic models.

Reading is tolerant: unknown fields are never an error, because Kimai adds fields between
versions (``break`` in 2.23, budget fields in collections in 2.66) and drops some per permission
(rates in 2.66). Master data keeps them (``model_extra``); a timesheet keeps only the fields the
sync reads, since a period run holds tens of thousands of them. Relations arrive as integer ids, or as objects when a
list was asked for ``full=true``; both become ids. Datetimes arrive as ``2026-08-18T09:00:00+0200``
and become aware datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kimaisync.trackers.kimai2.timefmt import format_local, parse_kimai_datetime


def _to_id(value: Any) -> Any:
    """An expanded relation object -> its id; an int (or None) stays as it is."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


class _KimaiRecord(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class KimaiCustomer(_KimaiRecord):
    id: int
    name: str
    visible: bool = True
    color: str | None = None


class KimaiProject(_KimaiRecord):
    id: int
    name: str
    customer: int
    visible: bool = True
    color: str | None = None
    global_activities: bool = Field(default=True, alias="globalActivities")

    @field_validator("customer", mode="before")
    @classmethod
    def _customer_id(cls, v: Any) -> Any:
        return _to_id(v)


class KimaiActivity(_KimaiRecord):
    id: int
    name: str
    project: int | None = None  # None: a global activity
    visible: bool = True
    color: str | None = None

    @field_validator("project", mode="before")
    @classmethod
    def _project_id(cls, v: Any) -> Any:
        return _to_id(v)


class KimaiUser(_KimaiRecord):
    id: int
    username: str
    alias: str | None = None
    email: str | None = None
    enabled: bool = True
    timezone: str | None = None


class KimaiTimesheet(_KimaiRecord):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: int
    begin: datetime
    end: datetime | None = None  # None: a running record
    duration: int = 0  # seconds, computed by Kimai (breaks taken off); 0 while running
    user: int
    project: int
    activity: int
    description: str | None = None
    exported: bool = False

    @field_validator("begin", mode="before")
    @classmethod
    def _begin(cls, v: Any) -> datetime:
        return parse_kimai_datetime(v)

    @field_validator("end", mode="before")
    @classmethod
    def _end(cls, v: Any) -> datetime | None:
        return None if v is None or v == "" else parse_kimai_datetime(v)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return 0 if v is None else v

    @field_validator("user", "project", "activity", mode="before")
    @classmethod
    def _relation_id(cls, v: Any) -> Any:
        return _to_id(v)

    @field_validator("exported", mode="before")
    @classmethod
    def _exported(cls, v: Any) -> Any:
        return False if v is None else v


class TimesheetWrite(BaseModel):
    """The fields of a timesheet we create or overwrite.

    `begin`/`end` are instants (aware datetimes); the client prints their wall clock in the zone
    Kimai reads them in (see :mod:`kimaisync.trackers.kimai2.timefmt`). `user` may only be sent by an API
    user with ``create_other_timesheet``; `tags` must already exist in Kimai (unknown names are
    dropped silently by Kimai) and are sent as one comma-separated string.
    """

    model_config = ConfigDict(extra="forbid")

    begin: datetime
    end: datetime
    project: int
    activity: int
    user: int | None = None
    description: str | None = None
    tags: list[str] | None = None

    @field_validator("begin", "end")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("must be timezone-aware (Kimai reads wall clocks in a zone we choose)")
        return v

    def to_body(self, zone: tzinfo) -> dict[str, Any]:
        """The JSON body, datetimes as wall clock in `zone`; optional fields only when set."""
        body: dict[str, Any] = {
            "begin": format_local(self.begin, zone),
            "end": format_local(self.end, zone),
            "project": self.project,
            "activity": self.activity,
        }
        if self.user is not None:
            body["user"] = self.user
        if self.description is not None:
            body["description"] = self.description
        if self.tags is not None:
            body["tags"] = ",".join(self.tags)
        return body
