"""Model-based proof that the sync converges: random Timekeeper edits, syncs and Kimai faults.

A Hypothesis state machine edits work logs the way Timekeeper does (create; change duration,
date, task or person; delete as mu-cl-resources does, leaving `dct:identifier` dangling), links
and unlinks Kimai accounts, locks a month, and syncs (period and delta) with or without emulator
faults. After every sync without faults the invariant must hold: Kimai's timesheets are exactly
the projection of the work logs that can sync, every synced work log's id points at its own
timesheet, no user has overlapping records, and hand-typed timesheets are untouched.

Most syncs run the flows' own bodies with Prefect's orchestration stripped (tasks called as plain
functions) so the test stays fast; some run the real flows. The lock always runs the real flow.
Longer runs: HYPOTHESIS_PROFILE=nightly (see tests/hypothesis_profiles.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
from collections import defaultdict
from concurrent.futures import Future
from zoneinfo import ZoneInfo

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from hypothesis_profiles import convergence_settings
from emulators.kimai2.server import EmulatorServer
from emulators.kimai2.state import Faults, KimaiState
from kimaisync.durations import format_minutes
from kimaisync.fixtures import TIMESHEET_GRAPH, USERS_GRAPH, TimekeeperData
from kimaisync.marker import marker_of
from kimaisync.rdf.vocab import TimesheetStatus

PERIOD = (dt.date(2025, 3, 1), dt.date(2025, 4, 30))
DAYS = [dt.date(2025, 3, 30), dt.date(2025, 3, 31), dt.date(2025, 4, 1)]  # the DST change and a month end; few
# days, so work logs share days and a day's layout shifts often
MINUTES = [15, 30, 45, 60, 90, 120, 180, 240]
DAY_CAP = 600  # a person's work logs of one day stay within 10 hours (24 would run into the next day)
MAX_LOGS = 24
TOKEN = "convergence-token-0123456789"

FAULTS = {
    "5xx": lambda seed: Faults(seed=seed, error_rate=0.3),
    "timeouts": lambda seed: Faults(seed=seed, timeout_rate=0.15, timeout_delay=0.6),
    "lost": lambda seed: Faults(seed=seed, lost_response_rate=0.35),
    "429": lambda seed: Faults(seed=seed, rate_limit_every=3, rate_limit_burst=2, retry_after=0),
    "mixed": lambda seed: Faults(seed=seed, error_rate=0.1, timeout_rate=0.05, timeout_delay=0.6,
                                 lost_response_rate=0.1, rate_limit_every=7, rate_limit_burst=2, retry_after=0),
}
PERSONS = st.sampled_from(["anna", "anna", "bert", "cleo", "dave"])
TASKS = st.sampled_from(["build", "build", "review", "help", "project"])
INDEX = st.integers(0, 99)  # which work log: taken modulo the number that may be edited
EDITS = st.one_of(
    st.tuples(st.just("create"), PERSONS, TASKS, st.sampled_from(DAYS), st.sampled_from(MINUTES)),
    st.tuples(st.just("duration"), INDEX, st.sampled_from(MINUTES)),
    st.tuples(st.just("date"), INDEX, st.sampled_from(DAYS)),
    st.tuples(st.just("task"), INDEX, TASKS),
    st.tuples(st.just("person"), INDEX, PERSONS),
    st.tuples(st.just("delete"), INDEX),
)
FAULT_PROFILES = st.one_of(st.none(), st.none(), st.tuples(st.sampled_from(sorted(FAULTS)), st.integers(0, 10_000)))
ACCOUNTS = st.tuples(st.sampled_from(["anna", "bert", "cleo"]), st.sampled_from([False, False, True]))  # (person, 2nd?)
LOCK = st.one_of(st.none(), st.none(), st.none(), st.none(), st.tuples(st.sampled_from(["anna", "bert", "cleo"]),
                                                                     st.sampled_from([3, 4])))


# ------------------------------------------------------------------ the flows without Prefect


def _unwrap(value):
    from prefect.utilities.annotations import BaseAnnotation

    return value.unwrap() if isinstance(value, BaseAnnotation) else value


class _Plain:
    """A Prefect task called as its plain function (`.submit` gives a finished future)."""

    def __init__(self, task):
        self.task = task

    def __call__(self, *args, **kw):
        return self.task.fn(*map(_unwrap, args), **{k: _unwrap(v) for k, v in kw.items()})

    @property
    def fn(self):
        return self.task.fn

    def submit(self, *args, **kw):
        future: Future = Future()
        try:
            future.set_result(self(*args, **kw))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


_TASKS = {"flows.worklog_period": ("list_kimai_timesheets", "read_timekeeper_period", "read_kimai_period",
                                   "plan_work_logs"),
          "flows.worklog_delta": ("read_affected", "plan_work_logs"),
          "tasks.worklogs": ("record_kimai_ids", "apply_kimai_moves", "apply_kimai_batch")}


@contextlib.contextmanager
def without_prefect():
    """The flows' bodies and tasks' functions as they are, minus Prefect's orchestration."""
    import importlib

    saved = []
    for module_name, names in _TASKS.items():
        module = importlib.import_module(module_name)
        for name in names:
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, _Plain(getattr(module, name)))
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def period_sync(via_flow: bool) -> dict:
    from flows.worklog_period import sync_work_log_period

    if via_flow:
        return sync_work_log_period(start=PERIOD[0], end=PERIOD[1])
    with without_prefect():
        return sync_work_log_period.fn(start=PERIOD[0], end=PERIOD[1])


def delta_sync(work_logs: list[str], via_flow: bool) -> dict:
    from flows.worklog_delta import sync_work_log_changes

    if via_flow:
        return asyncio.run(sync_work_log_changes(work_logs=work_logs))
    with without_prefect():
        return asyncio.run(sync_work_log_changes.fn(work_logs=work_logs))


# ------------------------------------------------------------------ the model


@dataclasses.dataclass
class Person:
    name: str
    iri: str
    user: int | None  # Kimai user id, None: no Kimai user at all
    zone: str
    account: str | None = None  # the account resource (exists whether linked or not)
    linked: bool = False
    extra_account: str | None = None  # a second Kimai account: linked too, the person cannot sync
    extra_linked: bool = False


@dataclasses.dataclass
class Log:
    iri: str
    uuid: str
    person: str  # Person.name
    task: str  # key of Machine.tasks
    day: dt.date
    minutes: int
    deleted: bool = False


class Convergence(RuleBasedStateMachine):
    """One example: a fresh Kimai emulator and an emptied Oxigraph, driven by random steps."""

    store = None  # set by the test: the conftest Store on Oxigraph

    def __init__(self):
        super().__init__()
        self.store.clear()
        self.sparql = self.store.client()
        self.kimai = KimaiState()
        self.kimai.config.allow_overlapping = False
        self.kimai.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=TOKEN, timezone="Europe/Brussels")
        self.server = EmulatorServer(self.kimai).start()
        os.environ["KIMAI_ENDPOINT"] = self.server.url
        self.tk = TimekeeperData()
        self.persons: dict[str, Person] = {}
        self.tasks: dict[str, tuple[str, int | None, int | None]] = {}  # key -> (IRI, project id, activity id)
        self.logs: dict[str, Log] = {}
        self.hand: dict[int, dict] = {}
        self.frozen: set[tuple[str, int]] = set()  # (person, month) locked with their Kimai records exported
        self.touched: set[str] = set()  # work logs edited since the last sync (what deltas would name)
        self.dirty = False  # something a delta does not cover happened since the last clean period sync
        self.locks = 0
        self.syncs = 0

    def teardown(self):
        self.server.stop()

    # -------------------------------------------------------------- set-up

    def seed(self):
        k, tk = self.kimai, self.tk
        zones = {"anna": "Europe/Brussels", "bert": "America/New_York", "cleo": "Europe/Brussels"}
        users = {name: k.add_user(name, timezone=zone) for name, zone in zones.items()}
        extra = k.add_user("anna.second", timezone="Europe/Brussels")
        customer = k.add_customer("Havenbedrijf")
        p1, p2 = k.add_project("Platform", customer.id), k.add_project("Support", customer.id)
        a1, a2, a3 = k.add_activity("Build", p1.id), k.add_activity("Review", p1.id), k.add_activity("Help", p2.id)
        proj1, proj2 = tk.project(p1.id, "Platform"), tk.project(p2.id, "Support")
        self.tasks = {"build": (tk.activity(a1.id, proj1, "Build"), p1.id, a1.id),
                      "review": (tk.activity(a2.id, proj1, "Review"), p1.id, a2.id),
                      "help": (tk.activity(a3.id, proj2, "Help"), p2.id, a3.id),
                      "project": (proj2, None, None)}  # a project is not an activity: cannot be booked
        for name, zone in zones.items():
            person = Person(name, tk.person(name.title()), users[name].id, zone)
            person.account = tk.account(users[name].id, name)
            self.persons[name] = person
        self.persons["anna"].extra_account = tk.account(extra.id, "anna.second")
        self.persons["dave"] = Person("dave", tk.person("Dave"), None, "Europe/Brussels")
        tk.load(self.sparql)
        for name in ("anna", "bert"):
            self._link(name, True)
        # Hand-typed records: no marker, they must survive byte for byte (and be stepped around).
        hand = [k.add_timesheet(users["anna"].id, p1.id, a1.id, "2025-03-31T09:30:00", "2025-03-31T10:15:00",
                                description="typed by hand"),
                k.add_timesheet(users["bert"].id, p2.id, a3.id, "2025-03-31T09:00:00", "2025-03-31T10:00:00"),
                k.add_timesheet(users["cleo"].id, p1.id, a2.id, "2025-04-01T12:00:00", None,
                                description="running [tk:] not a marker"),
                k.add_timesheet(users["cleo"].id, p2.id, a3.id, "2025-03-30T08:00:00", "2025-03-30T09:30:00",
                                description="early")]
        self.hand = {t.id: dataclasses.asdict(t) for t in hand}

    # -------------------------------------------------------------- store edits, as Timekeeper makes them

    def _update(self, text: str) -> None:
        self.sparql.update(text)

    def _set(self, log: Log, predicate: str, value: str) -> None:
        g, s = TIMESHEET_GRAPH, f"<{log.iri}>"
        self._update(f"DELETE {{ GRAPH <{g}> {{ {s} {predicate} ?o }} }} WHERE {{ GRAPH <{g}> {{ {s} {predicate} ?o }} }} ;"
                     f"INSERT DATA {{ GRAPH <{g}> {{ {s} {predicate} {value} }} }}")
        self.touched.add(log.iri)

    def _link(self, name: str, on: bool, extra: bool = False) -> None:
        p = self.persons[name]
        account = p.extra_account if extra else p.account
        verb = "INSERT DATA" if on else "DELETE DATA"
        self._update(f"{verb} {{ GRAPH <{USERS_GRAPH}> {{ <{p.iri}> foaf:account <{account}> }} }}")
        if extra:
            p.extra_linked = on
        else:
            p.linked = on

    def _alive(self) -> list[Log]:
        return [l for l in self.logs.values() if not l.deleted]

    def _load(self, person: str, day: dt.date, ignore: Log | None = None) -> int:
        return sum(l.minutes for l in self._alive() if l.person == person and l.day == day and l is not ignore)

    def _free(self, person: str, day: dt.date) -> bool:
        return (person, day.month) not in self.frozen

    def _pick(self, index: int) -> Log | None:
        movable = [l for l in self._alive() if self._free(l.person, l.day)]
        return movable[index % len(movable)] if movable else None

    # -------------------------------------------------------------- Timekeeper edits

    def create_work_log(self, person, task, day, minutes):
        if len(self.logs) >= MAX_LOGS or not self._free(person, day) or self._load(person, day) + minutes > DAY_CAP:
            return
        iri = self.tk.work_log(self.persons[person].iri, self.tasks[task][0], day, format_minutes(minutes))
        self.tk.load(self.sparql)
        self.logs[iri] = Log(iri, iri.rsplit("/", 1)[1], person, task, day, minutes)
        self.touched.add(iri)

    def change_duration(self, index, minutes):
        log = self._pick(index)
        if log and self._load(log.person, log.day, log) + minutes <= DAY_CAP:
            self._set(log, "cal:duration", f'"{format_minutes(minutes)}"')
            log.minutes = minutes

    def change_date(self, index, day):
        log = self._pick(index)
        if log and self._free(log.person, day) and self._load(log.person, day, log) + log.minutes <= DAY_CAP:
            self._set(log, "cal:dtstart", f'"{day.isoformat()}"^^xsd:date')
            log.day = day

    def change_task(self, index, task):
        log = self._pick(index)
        if log:
            self._set(log, "dct:subject", f"<{self.tasks[task][0]}>")
            log.task = task

    def change_person(self, index, person):
        log = self._pick(index)
        if log and self._free(person, log.day) and self._load(person, log.day, log) + log.minutes <= DAY_CAP:
            self._set(log, "prov:wasAssociatedWith", f"<{self.persons[person].iri}>")
            log.person = person

    def delete_work_log(self, index):
        """As mu-cl-resources deletes: type and attributes go, the sync's dct:identifier stays."""
        log = self._pick(index)
        if log:
            g = TIMESHEET_GRAPH
            self._update(f"DELETE {{ GRAPH <{g}> {{ <{log.iri}> ?p ?o }} }} WHERE {{ GRAPH <{g}> {{ <{log.iri}> ?p ?o "
                         f"FILTER(?p != dct:identifier) }} }}")
            log.deleted = True
            self.touched.add(log.iri)

    @initialize(creates=st.lists(st.tuples(PERSONS, TASKS, st.sampled_from(DAYS), st.sampled_from(MINUTES)),
                                 min_size=2, max_size=8))
    def populate(self, creates):
        """A seeded Kimai, work logs in the store, and a first clean sync: the machine starts from there."""
        self.seed()
        for args in creates:
            self.create_work_log(*args)
        self.sync_period(False, None)

    def edit(self, ops):
        """A few edits at once, as people make them between two syncs."""
        steps = {"create": self.create_work_log, "duration": self.change_duration, "date": self.change_date,
                 "task": self.change_task, "person": self.change_person, "delete": self.delete_work_log}
        for name, *args in ops:
            steps[name](*args)

    @rule(ops=st.lists(EDITS, max_size=6), accounts=st.lists(ACCOUNTS, max_size=1), lock=LOCK,
          kind=st.sampled_from(["period", "period", "delta"]), via_flow=st.sampled_from([False, False, False, True]),
          faults=FAULT_PROFILES)
    def round(self, ops, accounts, lock, kind, via_flow, faults):
        """One round: people edit, maybe an account changes or a month is locked, then a sync runs.

        One rule for all of it: with a rule per kind of step, Hypothesis spends most examples on
        runs of one rule (twenty syncs of nothing), and the interesting orders are rare."""
        self.edit(ops)
        for person, extra in accounts:
            self.toggle_account(person, extra)
        if lock is not None and self.locks < 1:
            self.lock_month(*lock, faults)
        self.sync(kind, via_flow, faults)

    # -------------------------------------------------------------- accounts and the lock

    def toggle_account(self, person, extra):
        p = self.persons[person]
        if extra and p.extra_account is None:
            return
        self._link(person, not (p.extra_linked if extra else p.linked), extra=extra)
        self.dirty = True  # no delta names work logs for an account change: the period sync catches up

    def lock_month(self, person, month, faults):
        """Submit and lock a person's month (the real flow); its Kimai records become exported."""
        from flows.timesheet_lock import lock_timesheets

        self.locks += 1
        sheet = self.tk.timesheet(self.persons[person].iri, dt.date(2025, month, 1), TimesheetStatus.SUBMITTED)
        self.tk.load(self.sparql)
        with self._faults(faults):
            try:
                lock_timesheets(month=month, year=2025)
            except Exception:  # noqa: BLE001 - under faults a run may fail; the check is the invariant later
                if faults is None:
                    raise
        rows = self.sparql.select(f"SELECT ?s WHERE {{ <{sheet}> adms:status ?s }}")
        if rows and rows[0]["s"] == TimesheetStatus.EXPORTED:
            self.frozen.add((person, month))  # Timekeeper lets nobody edit a locked month any more
        self.dirty = True  # the lock synced that person only

    # -------------------------------------------------------------- syncs

    @contextlib.contextmanager
    def _faults(self, faults):
        if faults is not None:
            name, seed = faults
            self.kimai.faults = FAULTS[name](seed)
        try:
            yield
        finally:
            self.kimai.faults = Faults()

    def sync_period(self, via_flow, faults):
        self.syncs += 1
        with self._faults(faults):
            try:
                summary = period_sync(via_flow)
            except Exception:  # noqa: BLE001 - a run may fail under faults (and must converge after)
                if faults is None:
                    raise
                summary = None
        if faults is not None:
            self.dirty = True
            return
        assert summary["guard"] is None, summary["guard"]
        self.dirty = False
        self.touched.clear()
        self.check(summary)

    def sync(self, kind, via_flow, faults):
        """A period sync, or a delta sync naming every work log edited since the last sync."""
        if kind == "delta" and self.touched:
            self.sync_delta(via_flow, faults)
        else:
            self.sync_period(via_flow, faults)

    def sync_delta(self, via_flow, faults):
        self.syncs += 1
        named = sorted(self.touched)
        with self._faults(faults):
            try:
                summary = delta_sync(named, via_flow)
            except Exception:  # noqa: BLE001
                if faults is None:
                    raise
                summary = None
        self.touched.clear()
        if faults is not None:
            self.dirty = True
        elif not self.dirty:
            self.check(summary)

    # -------------------------------------------------------------- the invariant

    def _resolvable(self, log: Log) -> bool:
        p = self.persons[log.person]
        return p.user is not None and p.linked and not p.extra_linked and self.tasks[log.task][2] is not None

    def check(self, summary: dict) -> None:
        with self.kimai.lock:
            sheets = {t.id: dataclasses.replace(t) for t in self.kimai.timesheets.values()}
        why = f"\nrun summary: {summary and {k: summary[k] for k in ('counts', 'failures', 'skips')}}"
        # Hand-typed records: byte for byte as seeded.
        for tid, before in self.hand.items():
            assert tid in sheets and dataclasses.asdict(sheets[tid]) == before, f"hand-typed {tid} was touched{why}"
        by_marker = defaultdict(list)
        for t in sheets.values():
            if t.id not in self.hand:
                uuid = marker_of(t.description)
                assert uuid, f"timesheet {t.id} is neither hand-typed nor the sync's{why}"
                by_marker[uuid].append(t)
        ids = defaultdict(set)
        for r in self.sparql.select(f"SELECT ?log ?kid WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ ?log dct:identifier ?kid }} }}"):
            ids[r["log"]].add(r["kid"])
        known = {l.uuid for l in self.logs.values()}
        assert set(by_marker) <= known, f"timesheets of unknown work logs {set(by_marker) - known}{why}"
        for log in self.logs.values():
            mine = by_marker.get(log.uuid, [])
            if log.deleted:
                assert not mine, f"deleted work log {log.uuid} still has timesheets {[t.id for t in mine]}{why}"
                assert not ids.get(log.iri), f"deleted work log {log.uuid} keeps its dangling id{why}"
            elif self._resolvable(log):
                assert len(mine) == 1, f"work log {log} has {len(mine)} timesheets{why}"
                t, person = mine[0], self.persons[log.person]
                _, project, activity = self.tasks[log.task]
                assert (t.user, t.project, t.activity) == (person.user, project, activity), f"{log} -> {t}{why}"
                assert t.end - t.begin == dt.timedelta(minutes=log.minutes), f"{log} -> {t}{why}"
                assert t.begin.astimezone(ZoneInfo(person.zone)).date() == log.day, f"{log} -> {t}{why}"
                assert ids.get(log.iri) == {str(t.id)}, f"{log} holds ids {ids.get(log.iri)}, not {t.id}{why}"
            else:  # cannot sync: its timesheet, if it had one, is left as it is
                assert len(mine) <= 1, f"work log {log} that cannot sync has {len(mine)} timesheets{why}"
        per_user = defaultdict(list)
        for t in sheets.values():
            if t.end is not None:
                per_user[t.user].append(t)
        for user, ts in per_user.items():
            ts.sort(key=lambda t: t.begin)
            for a, b in zip(ts, ts[1:]):
                assert a.end <= b.begin, f"user {user}: timesheets {a.id} and {b.id} overlap{why}"


@pytest.mark.usefixtures("prefect_server")
def test_kimai_converges_to_timekeeper_under_random_edits_and_faults(oxigraph, monkeypatch):
    from testbed import KIMAI_GRAPH, TIMEKEEPER_GRAPH

    for key, value in {"API_TOKEN": TOKEN, "KIMAI_ENDPOINT": "http://127.0.0.1:9/api",
                       "MU_SPARQL_ENDPOINT": oxigraph.query_url, "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url,
                       "KIMAI_GRAPH": KIMAI_GRAPH, "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH,
                       "TIMEZONE": "Europe/Brussels", "KIMAI_TIMEOUT": "0.5",
                       "LOCK_MARK_EXPORTED_IN_KIMAI": "true"}.items():
        monkeypatch.setenv(key, value)
    # Backoff in milliseconds instead of seconds: the faults stay, the waiting goes.
    import kimaisync.apply.timesheets as applying
    import kimaisync.retry as retrying
    monkeypatch.setattr(retrying, "retry_delay", lambda exc, attempt: 0.005)
    monkeypatch.setattr(applying, "retry_delay", lambda exc, attempt: 0.005)
    monkeypatch.setattr(Convergence, "store", oxigraph)
    run_state_machine_as_test(Convergence, settings=convergence_settings())
