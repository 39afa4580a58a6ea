"""EGroupware's JsTimesheet as pydantic models: what the API sends, and what we send it.

Reading is tolerant: unknown attributes are kept (``model_extra``), attributes EGroupware leaves
out when empty (a 0 duration, no description, no category) get their empty value, ``owner`` and
``modifier`` (an email, a username or an account id) become strings, ``category`` (a one-key
object ``{"<name>": true}``) becomes the name, and ``etag`` loses the double quotes the ETag
header and ``getetag`` carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def format_utc(when: datetime) -> str:
    """EGroupware's UTCDateTime: ``2024-02-06T10:00:00Z`` (whole seconds, as it stores them)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def unquote_etag(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


class EgwTimesheet(BaseModel):
    """One timesheet as EGroupware shows it. ``duration`` in minutes; ``start`` an aware UTC instant."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: int
    title: str = ""
    description: str | None = None
    start: datetime
    duration: int = 0
    quantity: float | None = None
    unitprice: float | None = None
    project: str | None = None
    pm_id: int | None = None
    category: str | None = None
    owner: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    modifier: str | None = None
    pricelist: int | None = None
    status: str | None = None
    etag: str = ""
    customfields: dict[str, Any] = Field(default_factory=dict, alias="egroupware.org:customfields")

    @field_validator("start", "created", "modified", mode="before")
    @classmethod
    def _utc(cls, v: Any) -> Any:
        return None if v is None or v == "" else parse_utc(v)

    @field_validator("owner", "modifier", mode="before")
    @classmethod
    def _account(cls, v: Any) -> Any:
        return None if v is None else str(v)

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: Any) -> Any:
        if v is None or v == {} or v == "":
            return None
        if isinstance(v, Mapping):
            names = [k for k, on in v.items() if on]
            return names[0] if names else None
        return str(v)

    @field_validator("etag", mode="before")
    @classmethod
    def _etag(cls, v: Any) -> Any:
        return "" if v is None else unquote_etag(str(v))

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return 0 if v is None else v

    @property
    def end(self) -> datetime:
        """Start plus duration (EGroupware keeps no end of its own)."""
        from datetime import timedelta

        return self.start + timedelta(minutes=self.duration)


class TimesheetWrite(BaseModel):
    """The attributes we set on a timesheet (POST sends them all; an update PATCHes them).

    ``start`` is an aware instant sent in UTC with ``Z``; ``duration`` whole minutes; ``category``
    a category name (EGroupware adds a category it does not know); ``project`` the free-text
    project (``pm_id``, the ProjectManager link, cannot be set through this API).
    """

    model_config = ConfigDict(extra="forbid")

    title: str
    start: datetime
    duration: int = Field(ge=0)
    description: str | None = None
    project: str | None = None
    category: str | None = None

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("must be timezone-aware (EGroupware takes UTC)")
        return v

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty (EGroupware requires a title)")
        return v

    def to_body(self) -> dict[str, Any]:
        """The whole JsTimesheet: absent optional attributes as ``null`` (which also clears them
        when used as a PATCH)."""
        return {
            "@type": "timesheet",
            "title": self.title,
            "start": format_utc(self.start),
            "duration": int(self.duration),
            "description": self.description,
            "project": self.project,
            "category": {self.category: True} if self.category else None,
        }

    def differences(self, current: EgwTimesheet) -> dict[str, Any]:
        """A PATCH body with only the attributes whose value differs from `current`."""
        want = self.to_body()
        have = {
            "title": current.title,
            "start": format_utc(current.start),
            "duration": current.duration,
            "description": current.description or None,
            "project": current.project or None,
            "category": {current.category: True} if current.category else None,
        }
        return {k: v for k, v in want.items() if k in have and (v or None) != (have[k] or None)}
