"""Kimai 1's rows as pydantic models, and the record we send.

Kimai 1 answers database rows as mysqli gives them: every number a string (``"12"``), flags
``"0"``/``"1"``, times as unix seconds (``"1780297200"``; an int when ``getTimesheet`` clamped it to
the asked window), ``end`` ``"0"`` while a record is still running. Reading is tolerant (unknown
fields are kept in ``model_extra``); the models hold ints, bools and aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class K1User(_Row):
    id: int = Field(alias="userID")
    name: str  # the login name


class K1Customer(_Row):
    id: int = Field(alias="customerID")
    name: str
    contact: str | None = None
    visible: bool = True


class K1Task(_Row):
    """An activity (the API calls them tasks)."""

    id: int = Field(alias="activityID")
    name: str
    visible: bool = True


class K1Project(_Row):
    id: int = Field(alias="projectID")
    customer: int = Field(alias="customerID")
    name: str
    comment: str | None = None
    visible: bool = True
    customer_name: str | None = Field(default=None, alias="customerName")
    tasks: list[K1Task] | None = None  # with includeTasks: the activities usable with this project


def _instant(value: Any) -> datetime | None:
    seconds = int(value)
    return datetime.fromtimestamp(seconds, timezone.utc) if seconds else None


class K1Entry(_Row):
    """A time-sheet record. ``end`` is None while the record is running."""

    id: int = Field(alias="timeEntryID")
    start: datetime
    end: datetime | None = None
    duration: int = 0
    user: int = Field(alias="userID")
    project: int = Field(alias="projectID")
    activity: int = Field(alias="activityID")
    description: str | None = None
    comment: str | None = None
    cleared: bool = False
    customer: int | None = Field(default=None, alias="customerID")

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> Any:
        return _instant(v) if isinstance(v, (int, str)) else v

    @field_validator("end", mode="before")
    @classmethod
    def _end(cls, v: Any) -> Any:
        return _instant(v) if isinstance(v, (int, str)) else v

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return 0 if v is None else v


def format_time(moment: datetime, zone: tzinfo) -> str:
    """``2026-06-01T09:00:00+02:00``: wall clock in the person's zone with its offset.

    Kimai reads times with PHP's ``strtotime``, naive ones in the key user's time-zone preference;
    the offset makes the instant exact whatever that preference says (and across DST changes)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime cannot be sent to Kimai 1: give it a zone")
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{offset[:3]}:{offset[3:]}"


class K1EntryWrite(BaseModel):
    """What ``setTimesheetRecord`` is sent. Kimai takes the user from the key, never from here."""

    model_config = ConfigDict(frozen=True)

    project: int
    task: int
    start: datetime
    end: datetime
    description: str | None = None
    cleared: bool | None = None  # None: left as it is on update, not cleared on create

    def record(self, zone: tzinfo, entry_id: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"projectId": self.project, "taskId": self.task,
                                "start": format_time(self.start, zone), "end": format_time(self.end, zone)}
        if self.description is not None:
            body["description"] = self.description
        if self.cleared is not None:
            body["flagCleared"] = 1 if self.cleared else 0
        if entry_id is not None:
            body["id"] = entry_id
        return body
