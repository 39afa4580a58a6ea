"""The tracker port's conformance suite: one set of checks, run against every tracker's adapter and
its emulator (and the fake tracker), asserting what the core relies on.

The core plans with `kimaisync.plan.worklogs.plan` on what a session lists, then writes through the
session. So an entry must read back exactly as the core wrote it (or every run would plan the same
update again), a deleted or retired entry must stop counting, and failures must arrive in the
port's error families. Where trackers legitimately differ, the checks read the tracker's
`Capabilities`; none asks which tracker it is.

The factories (emulator + seeded person, project, activity + adapter) are in
tests/port_conformance_helpers.py; a new tracker adds its own there.
"""

from __future__ import annotations

import importlib
from zoneinfo import ZoneInfo

import pytest

from kimaisync.apply.timesheets import Applier
from kimaisync.errors import (
    EntryNotFound,
    TrackerAuthError,
    TrackerConfigError,
    TrackerError,
    TrackerTransient,
    is_retryable,
)
from kimaisync.marker import marker
from kimaisync.plan.worklogs import Action, PlanOptions, plan
from kimaisync.timekeeper import ActivityRef, TimekeeperSnapshot, WorkLog
from kimaisync.trackers import TRACKERS
from kimaisync.trackers.port import CursorKind, Entry, EntryWrite, Session, TrackerUser
from port_conformance_helpers import FACTORIES, Subject, open_subject

TASK = "http://tk/tasks/conformance"
PERSON = "http://tk/persons/ann"
UUID = "conformance-1"
LOG = f"http://tk/work-logs/{UUID}"


@pytest.fixture(params=list(FACTORIES))
def subject(request, tmp_path):
    with open_subject(request.param, tmp_path) as s:
        yield s


# ------------------------------------------------------------------------------ the core's view


def core_users(s: Subject) -> dict:
    """The accounts as the core reads them: the tracker's list, or, when the credential may not list
    any, the linked user alone (the core then uses the default zone)."""
    try:
        users = {u.id: u for u in s.tracker.users()}
    except TrackerConfigError:
        users = {}
    users.setdefault(s.user, TrackerUser(s.user, str(s.user)))
    return users


def plan_for(s: Subject, entries: list[Entry], *, duration: str | None = "PT1H30M", linked: Entry | None = None):
    """The core's plan for one work log of the person on `s.day`, linked to `linked` when given.
    `duration` None: the work log was deleted in Timekeeper, and the store still holds its link."""
    ids = (str(linked.id),) if linked is not None else ()
    logs = [WorkLog(LOG, UUID, s.day.isoformat(), duration, TASK, PERSON, ids)] if duration else []
    snap = TimekeeperSnapshot(work_logs=logs, activities={TASK: ActivityRef(TASK, s.activity, s.project, "Dev")},
                              accounts={PERSON: [s.user]}, person_names={PERSON: "Ann"},
                              dangling={} if duration else {LOG: list(ids)})
    t = s.tracker
    options = PlanOptions(period=(s.day, s.day), capabilities=t.capabilities, tracker=t.title,
                          entry_word=t.entry_word, parse_id=t.links.parse_id, default_zone=s.zone)
    return plan(snap, entries, core_users(s), options)


def write_of(a: Action) -> EntryWrite:
    """The entry the core asks for (as kimaisync.apply does)."""
    d = a.desired
    assert d is not None
    return EntryWrite(d.user, d.project, d.activity, d.description, d.begin, d.end, d.date, d.minutes)


def listed(s: Subject) -> list[Entry]:
    """The period read: what the core plans on."""
    return s.session.entries(s.day, s.day)


def one(entries: list[Entry], entry_id) -> Entry:
    found = [e for e in entries if e.id == entry_id]
    assert len(found) == 1, f"entry {entry_id!r} listed {len(found)} times in {entries}"
    return found[0]


def assert_as_written(e: Entry, w: EntryWrite, s: Subject) -> None:
    """What the core compares (plan.worklogs._diff's fields) equals what it wrote. Every tracker
    here keeps whole minutes and the core writes whole minutes, so there is nothing to round."""
    assert (e.user, e.project, e.activity, e.description) == (w.user, w.project, w.activity, w.description)
    assert not e.locked
    if s.tracker.capabilities.clock:
        assert (e.begin, e.end) == (w.begin, w.end)
        assert e.minutes == (w.end - w.begin).total_seconds() // 60
    else:
        assert (e.date, e.minutes) == (w.date, w.minutes)
        assert (e.begin, e.end) == (None, None), "a day tracker's entries carry no clock times"


def next_run(s: Subject, **log) -> list[tuple[str, dict, str]]:
    """A later run as the core makes it: read the period, plan, apply (the real apply engine);
    the writes the emulator receives meanwhile must be none when nothing changed.

    "Nothing changed writes nothing" is checked here, on the run, and not on `Session.update`:
    most adapters send an update naming the values an entry already has (idempotent, so
    allowed), and the core never asks for one, since it plans on what it has just read."""
    before = s.writes()
    p = plan_for(s, listed(s), **log)
    with Applier(s.tracker, sleep=lambda _s: None) as applier:
        statuses = [o.status for o in applier.run(p.actions)]
    assert s.writes() == before, f"a run with nothing to change wrote to {s.tracker.title}"
    return [(a.kind, a.changes, status) for a, status in zip(p.actions, statuses)]


def booked(s: Subject) -> tuple[EntryWrite, Entry]:
    """The work log booked as the core books a new one: planned, then created through the port."""
    [action] = plan_for(s, listed(s)).actions
    assert action.kind == "create", action
    w = write_of(action)
    return w, s.session.create(w)


# ------------------------------------------------------------------------------ the checks


def test_every_registered_tracker_is_in_this_suite():
    assert set(TRACKERS) <= set(FACTORIES), "add the new tracker's factory to tests/port_conformance_helpers.py"


def test_capabilities_match_what_the_session_can_do(subject):
    caps, t = subject.tracker.capabilities, subject.tracker
    session = subject.session

    def overrides(name: str) -> bool:
        return getattr(type(session), name) is not getattr(Session, name)

    # the core calls these only when the capability says so; a session that declares one must have it
    assert overrides("delete") == caps.can_delete
    assert overrides("retire") == bool(caps.retire_word)
    assert overrides("mark_exported") == caps.can_mark_exported
    assert overrides("changes_since") == (caps.cursor is not CursorKind.NONE)
    # without delete and without retire, deletions are reported (the planner's "blocked"): allowed
    assert caps.can_remove == (caps.can_delete or bool(caps.retire_word))
    assert caps.locked_word.strip() and t.title.strip() and t.entry_word.strip()
    assert t.concurrency >= 1 and t.retries >= 0
    if caps.per_person:
        assert t.session(subject.user) is session, "a person's session is made once, then kept"
    else:
        assert t.session(None) is session, "a service credential: one session for everyone"
    assert subject.secret not in t.describe() + repr(t)


def test_a_new_entry_reads_back_exactly_as_the_core_wrote_it(subject):
    s = subject
    w, made = booked(s)
    caps = s.tracker.capabilities
    # a day tracker gets a date and minutes, never invented clock times; a clock tracker a slot
    assert (w.begin is not None and w.end is not None) == caps.clock
    assert (w.date is not None and w.minutes == 90) == (not caps.clock)
    assert_as_written(made, w, s)
    # the id survives the store: written as text, read back through the tracker's own Links
    assert s.tracker.links.parse_id(str(made.id)) == made.id
    assert_as_written(one(listed(s), made.id), w, s)
    assert_as_written(one(s.session.entries(s.day, s.day, user=s.user), made.id), w, s)
    assert_as_written(s.session.get(made.id), w, s)
    found, missing = s.session.get_many([made.id])
    assert ([e.id for e in found], missing) == ([made.id], set())
    assert [e.id for e in s.session.find_marked(marker(UUID))] == [made.id]
    if caps.clock:
        assert made.begin.astimezone(ZoneInfo(s.zone)).date() == s.day
    # the next run finds nothing to change, so it writes nothing
    assert next_run(s, linked=made) == [("unchanged", {}, "unchanged")]


def test_an_update_shows_in_the_listing_and_the_next_run_writes_nothing(subject):
    s = subject
    w, made = booked(s)
    [action] = plan_for(s, listed(s), duration="PT2H15M", linked=made).actions
    assert action.kind == "update" and set(action.changes) == ({"end"} if s.tracker.capabilities.clock
                                                                else {"minutes"}), action
    before = s.writes()
    changed = s.session.update(made.id, action.changes, zone=action.desired.zone)
    assert s.writes() > before, "the update reached the tracker"
    want = write_of(action)
    assert_as_written(changed, want, s)
    assert_as_written(one(listed(s), made.id), want, s)
    # text someone typed beside the marker: one field named, the others kept as they are
    typed = f"call with the client {marker(UUID)}"
    s.session.update(made.id, {"description": typed}, zone=action.desired.zone)
    now = one(listed(s), made.id)
    assert now.description == typed and now.minutes == 135 and now.activity == s.activity
    # the next run: the core sees no change and the tracker receives no write
    assert next_run(s, duration="PT2H15M", linked=made) == [("unchanged", {}, "unchanged")]


def test_a_deleted_work_logs_entry_no_longer_counts(subject):
    s = subject
    caps = s.tracker.capabilities
    _, made = booked(s)
    [action] = plan_for(s, listed(s), duration=None, linked=made).actions
    if not caps.can_remove:  # the capability says the entry is reported, and it stays
        assert action.kind == "blocked" and "cannot delete" in action.reason, action
        assert one(listed(s), made.id).minutes == 90
        return
    assert (action.kind, action.entry_id) == ("delete", made.id), action
    # a later run (a delta) deletes by id, with a session that has not read the entry before
    with s.again() as later:
        if caps.can_delete:
            later.session(s.user).delete(made.id)
        else:
            later.session(s.user).retire(made.id)
    # gone the way the core reads, even for the session that read it before: not listed, not
    # found by id, not found by its marker
    assert made.id not in {e.id for e in listed(s)}
    assert s.session.get_many([made.id]) == ([], {made.id})
    with pytest.raises(EntryNotFound):
        s.session.get(made.id)
    assert s.session.find_marked(marker(UUID)) == []
    # idempotent: doing it again is fine, and retiring again writes nothing
    before = s.writes()
    if caps.can_delete:
        s.session.delete(made.id, missing_ok=True)
        with pytest.raises(EntryNotFound):
            s.session.delete(made.id)
    else:
        s.session.retire(made.id)
        assert s.writes() == before


def test_an_entry_marked_exported_reads_as_locked(subject):
    s = subject
    caps = s.tracker.capabilities
    if not caps.can_mark_exported:
        pytest.skip(f"{s.tracker.title} cannot mark entries exported")
    _, made = booked(s)
    assert s.session.mark_exported(made.id, True) is True
    assert s.session.mark_exported(made.id, True) is False, "already marked: nothing to change"
    assert one(listed(s), made.id).locked and s.session.get(made.id).locked
    # what the core then does with a change to it
    [action] = plan_for(s, listed(s), duration="PT2H", linked=made).actions
    assert action.kind == ("blocked" if caps.locked_immutable else "update"), action
    assert s.session.mark_exported(made.id, False) is True
    assert not one(listed(s), made.id).locked


def test_a_refused_credential_is_an_auth_error_that_is_not_retried(subject):
    s = subject
    with s.refused() as bad, pytest.raises(TrackerAuthError) as info:
        bad.session(s.user).entries(s.day, s.day)
    assert isinstance(info.value, TrackerConfigError) and not is_retryable(info.value)
    assert s.secret not in str(info.value)


@pytest.mark.parametrize("kind", ["server_error", "rate_limit"])
def test_server_errors_and_rate_limits_are_retryable(subject, kind):
    s = subject
    if s.fail is None:
        pytest.skip("an in-memory tracker: no server to fail")
    w, _ = booked(s)
    session = s.session  # made before the faults: a session may read its tracker's set-up once
    s.fail(kind)
    with pytest.raises(TrackerError) as read:
        session.entries(s.day, s.day)
    with pytest.raises(TrackerError) as created:
        session.create(w)
    for err in (read.value, created.value):
        assert isinstance(err, TrackerTransient) and is_retryable(err), repr(err)


def test_a_create_whose_reply_is_lost_is_found_by_its_marker_not_made_twice(subject):
    s = subject
    if s.fail is None:
        pytest.skip("an in-memory tracker: no server to fail")
    p = plan_for(s, listed(s))
    s.fail("lost_create")
    with Applier(s.tracker, sleep=lambda _s: None) as applier:
        [outcome] = applier.run(p.actions)
    assert outcome.status == "created" and "found by its marker" in outcome.message, outcome
    assert [e.id for e in s.session.find_marked(marker(UUID))] == [outcome.entry_id]


def _links():
    from fake_tracker import LINKS as FAKE

    out = {name: importlib.import_module(path.partition(":")[0]).LINKS for name, path in TRACKERS.items()}
    out["fake"] = FAKE
    return out


def test_links_name_their_tracker():
    links = _links()
    kimai = links["kimai"]
    for field in ("entry_predicate", "activity_type", "account_homepage_setting"):
        values = [getattr(x, field) for x in links.values()]
        assert len(set(values)) == len(values), f"two trackers share {field}: {values}"
    for name, x in links.items():
        if name != "kimai":  # a Kimai 2 id in the store is never read as this tracker's
            assert kimai.entry_predicate not in (x.entry_predicate, x.ref_predicate), name
            assert x.title != kimai.title
