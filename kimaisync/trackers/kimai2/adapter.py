"""Kimai 2 behind the tracker port: `create(settings)` is what `kimaisync.trackers` registers.

Kimai 2 keeps clock times (begin/end, read as wall clock in a zone), deletes, writes for every
user with one API user's token, marks timesheets exported (and then refuses to change them), and
filters by modification time. Its store links are the old service's triples: `dct:identifier`
on work logs, customers and tasks, tasks typed `ext:KimaiActivity`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

from kimaisync.errors import KimaiError, KimaiNotFoundError
from kimaisync.rdf.vocab import KIMAI_ACTIVITY, iri
from kimaisync.trackers.kimai2.client import KimaiClient
from kimaisync.trackers.kimai2.models import KimaiTimesheet, KimaiUser, TimesheetWrite
from kimaisync.trackers.port import (
    Activity,
    Capabilities,
    Changes,
    CredentialScope,
    CursorKind,
    Customer,
    Entry,
    EntryWrite,
    Links,
    Project,
    ReferenceData,
    Session,
    TimeModel,
    Tracker,
    TrackerUser,
)

UTC = dt.timezone.utc

CAPABILITIES = Capabilities(
    time_model=TimeModel.CLOCK,
    can_delete=True,
    credentials=CredentialScope.SERVICE,
    locked_immutable=True,
    can_mark_exported=True,
    cursor=CursorKind.MODIFIED_SINCE,
    locked_word="exported",
)

LINKS = Links(
    entry_predicate=iri("dct:identifier"),
    ref_predicate=iri("dct:identifier"),
    activity_type=KIMAI_ACTIVITY,
    account_homepage_setting="kimai_account_service_homepage",
    title="Kimai",
)


def entry(ts: KimaiTimesheet) -> Entry:
    """A Kimai timesheet as the port's entry (`locked`: Kimai's export flag)."""
    return Entry(ts.id, ts.user, ts.project, ts.activity, ts.description, ts.begin, ts.end,
                 None, ts.duration // 60 if ts.end is not None else None, ts.exported)


def tracker_user(u: KimaiUser) -> TrackerUser:
    return TrackerUser(u.id, u.username, u.enabled, u.timezone, u.email, u.alias)


def window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A day of margin each side: Kimai filters in the API user's zone, people may live in others."""
    return (dt.datetime.combine(start - dt.timedelta(days=1), dt.time(0), UTC),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(23, 59, 59), UTC))


class Kimai2Session(Session):
    """Every user's timesheets through the one API user's client."""

    def __init__(self, client: KimaiClient, concurrency: int):
        self.client = client
        self.concurrency = max(1, concurrency)

    def entries(self, start: dt.date, end: dt.date, *, user=None) -> list[Entry]:
        kw = {} if user is None else {"user": user}
        return [entry(t) for t in self.client.timesheets(*window(start, end), **kw)]

    def find_marked(self, text: str) -> list[Entry]:
        return [entry(t) for t in self.client.timesheets(None, None, term=text)]

    def get(self, entry_id) -> Entry:
        return entry(self.client.get_timesheet(entry_id))

    def get_many(self, ids: Iterable) -> tuple[list[Entry], set]:
        """By id, `concurrency` requests at once (the API has no bulk read by id)."""
        found, missing = [], set()

        def one(tid: int):
            try:
                return self.client.get_timesheet(tid)
            except KimaiNotFoundError:
                return tid
        ids = sorted(set(ids))
        if len(ids) == 1:  # a delta's usual case: no pool to start
            r = one(ids[0])
            return ([], {r}) if isinstance(r, int) else ([entry(r)], set())
        if ids:
            with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(ids)))) as pool:
                for r in pool.map(one, ids):
                    (missing.add(r) if isinstance(r, int) else found.append(entry(r)))
        return found, missing

    def create(self, write: EntryWrite) -> Entry:
        return entry(self.client.create_timesheet(TimesheetWrite(
            begin=write.begin, end=write.end, project=write.project, activity=write.activity, user=write.user,
            description=write.description)))

    def update(self, entry_id, changes: Mapping[str, Any], *, zone: str | None = None) -> Entry:
        fields = dict(changes)
        fields.pop("date", None), fields.pop("minutes", None)  # a clock tracker: begin/end say it
        return entry(self.client.update_timesheet(entry_id, fields, zone=ZoneInfo(zone or "UTC")))

    def delete(self, entry_id, *, missing_ok: bool = False) -> None:
        self.client.delete_timesheet(entry_id, missing_ok=missing_ok)

    def mark_exported(self, entry_id, exported: bool) -> bool:
        return self.client.set_exported(entry_id, exported)

    def changes_since(self, cursor: str | None) -> Changes:
        """Timesheets modified after `cursor` (an ISO instant; None: all). Kimai does not list
        deletions, so `deleted` stays empty: the period sync finds those."""
        now = dt.datetime.now(UTC).replace(microsecond=0)
        since = dt.datetime.fromisoformat(cursor) if cursor else None
        rows = self.client.timesheets(None, None, modified_after=since) if since else self.client.timesheets()
        return Changes([entry(t) for t in rows], (), now.isoformat())

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    def count_retry(self) -> None:
        self.client.count_retry()


class Kimai2Tracker(Tracker):
    name = "kimai"
    title = "Kimai"
    entry_word = "timesheet"
    capabilities = CAPABILITIES
    links = LINKS

    def __init__(self, client: KimaiClient, *, concurrency: int = 4):
        self.client = client
        self.concurrency = max(1, concurrency)
        self.retries = client.retries
        self._session = Kimai2Session(client, self.concurrency)

    def reference_data(self) -> ReferenceData:
        c = self.client
        return ReferenceData(
            [Customer(x.id, x.name, x.visible, x.color) for x in c.customers()],
            [Project(x.id, x.name, x.customer, x.visible, x.color) for x in c.projects()],
            [Activity(x.id, x.name, x.project, x.visible, x.color) for x in c.activities()],
        )

    def users(self) -> list[TrackerUser]:
        return [tracker_user(u) for u in self.client.users()]

    def session(self, user=None) -> Kimai2Session:
        return self._session

    def describe(self) -> str:
        return f"Kimai {self.client.base_url}"

    def check(self) -> list[tuple[bool, str]]:
        """The version and the API user, then what the syncs need: listing users, the timesheet rules."""
        kimai = self.client
        try:
            version = kimai.version()
            me = kimai.me()
        except KimaiError as err:
            return [(False, f"FAILED: {err}")]
        out = [(True, f"ok, version {version.get('version', '?')}, API user {me.username!r} "
                      f"(id {me.id}, timezone {me.timezone})")]
        try:
            out.append((True, f"can list users ({len(kimai.users())}), as the accounts sync needs"))
        except KimaiError as err:
            out.append((True, f"warning: cannot list users, the accounts sync will fail: {err}"))
        try:
            config = kimai.timesheet_config()
            overlap = config.get("isAllowOverlapping")
            out.append((True, f"timesheet tracking mode {config.get('trackingMode')!r}, overlapping records "
                              f"{'allowed' if overlap else 'refused (the sync lays out days back to back)'}"))
        except KimaiError as err:
            out.append((True, f"warning: cannot read /api/config/timesheet: {err}"))
        return out

    def close(self) -> None:
        self.client.close()

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    @property
    def retries_made(self) -> int:
        return self.client.retries_made


def create(settings, **client_options) -> Kimai2Tracker:
    """The Kimai 2 tracker of these settings (`client_options` go to `KimaiClient.from_settings`)."""
    return Kimai2Tracker(KimaiClient.from_settings(settings, **client_options),
                         concurrency=settings.kimai_concurrency)
