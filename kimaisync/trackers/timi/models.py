"""Timi's records as pydantic models.

Reading is tolerant: unknown fields are kept, never an error. Dates arrive as ``2016-01-20``;
``start_time``/``end_time`` arrive empty (``""`` in listings, ``null`` from writes) because Timi
keeps a date and a duration, so they are not modelled. Writes go out as form fields with the date
as ``27-03-2016``, the one input format the document shows.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class _TimiRecord(BaseModel):
    model_config = ConfigDict(extra="allow")


class TimiRef(_TimiRecord):
    id: int
    name: str = ""


class TimiProjectRef(TimiRef):
    client: TimiRef | None = None


class TimiUserRef(_TimiRecord):
    id: int
    display_name: str = ""


class TimiProject(_TimiRecord):
    id: int
    name: str
    aliases: list[str] = Field(default_factory=list)
    active: bool | None = None  # only in the answers to project writes
    client_id: int | None = None  # not in projects.json: filled from clients.json


class TimiClientRecord(_TimiRecord):
    """A client ("klant") with its projects, as ``clients.json`` nests them."""

    id: int
    name: str
    projects: list[TimiProject] = Field(default_factory=list)


class TimiService(_TimiRecord):
    """An activity ("activiteit"), called a service in the API."""

    id: int
    name: str
    aliases: list[str] = Field(default_factory=list)


class TimiEntry(_TimiRecord):
    """A time entry ("geregistreerde uren"): one person, one date, a duration in seconds.

    Timi's listing shows no service; ``service_id`` is known only when the entries were read
    filtered by one service (``TimiClient.entries(service_ids=[id])`` fills it in).
    """

    id: int
    body: str = ""
    duration: int = 0
    date: date
    project: TimiProjectRef | None = None
    user: TimiUserRef | None = None
    service_id: int | None = None

    @property
    def project_id(self) -> int | None:
        return self.project.id if self.project else None


class TimiPage(_TimiRecord):
    current_page: int
    per_page: int
    total_entries: int
    time_entries: list[TimiEntry]


class TimiEntryWrite(BaseModel):
    """What the sync sends for an entry: every field explicit, so Timi's text recognition of the
    body never decides the duration, project, service or date."""

    model_config = ConfigDict(frozen=True)

    body: str = Field(min_length=1)
    date: date
    duration: int = Field(ge=0)
    project_id: int
    service_id: int

    def form(self) -> dict[str, str]:
        return {"body": self.body, "date": self.date.strftime("%d-%m-%Y"), "duration": str(self.duration),
                "project_id": str(self.project_id), "service_id": str(self.service_id)}
