"""The period flow through the port with a tracker unlike Kimai 2 (tests/fake_tracker.py): dates
and minutes, no deletion, a credential per person, links of its own. On both stores."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from fake_tracker import HOMEPAGE, FakeTracker
from kimaisync.fixtures import KIMAI_GRAPH, TIMESHEET_GRAPH, USERS_GRAPH, TimekeeperData
from kimaisync.marker import marker, marker_of
from kimaisync.trackers.port import TrackerUser

pytestmark = pytest.mark.usefixtures("prefect_server")

D = dt.date(2025, 3, 12)
LOTTE, ANN = 1, 2


@pytest.fixture
def world(monkeypatch, store):
    for k, v in {"API_TOKEN": "unused-token-7f3a", "KIMAI_ENDPOINT": "http://127.0.0.1:9/api",
                 "MU_SPARQL_ENDPOINT": store.query_url, "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
                 "KIMAI_GRAPH": KIMAI_GRAPH, "TIMEKEEPER_GRAPH": TIMESHEET_GRAPH, "TIMEZONE": "Europe/Brussels"}.items():
        monkeypatch.setenv(k, v)
    fake = FakeTracker({LOTTE: "lotte-secret"}, [TrackerUser(LOTTE, "lotte"), TrackerUser(ANN, "ann")])
    monkeypatch.setattr("flows.worklog_period.open_tracker", lambda settings: fake)
    tk = TimekeeperData()
    base = tk.base
    project, activity = f"{base}/tasks/{uuid.uuid1()}", f"{base}/tasks/{uuid.uuid1()}"
    lines = [f"<{project}> a wf:Task, doap:Project ; rdfs:label \"Web\" ; ext:fakeId \"7\" .",
             f"<{activity}> a wf:Task, ext:FakeActivity ; rdfs:label \"Dev\" ; ext:fakeId \"8\" ; "
             f"skos:broader <{project}> ."]
    people = {}
    for uid, name in ((LOTTE, "Lotte"), (ANN, "Ann")):
        person, account = tk.person(name), f"{base}/accounts/{uuid.uuid1()}"
        lines.append(f"<{account}> a foaf:OnlineAccount ; dct:identifier \"{uid}\" ; foaf:accountName \"{name}\" ; "
                     f"foaf:accountServiceHomepage <{HOMEPAGE}> .")
        tk._add(USERS_GRAPH, f"<{person}> foaf:account <{account}> .")
        people[uid] = person
    tk._add(KIMAI_GRAPH, *lines)
    w = type("World", (), {})()
    w.fake, w.tk, w.store, w.activity, w.people = fake, tk, store, activity, people
    return w


def run():
    from flows.worklog_period import sync_work_log_period

    return sync_work_log_period(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))


def links_in_store(store, predicate: str) -> dict[str, str]:
    rows = store.client().select(f"SELECT ?log ?id WHERE {{ ?log a cal:Vevent ; {predicate} ?id }}")
    return {r["log"]: r["id"] for r in rows}


def test_the_period_flow_honours_a_day_tracker_without_delete_and_with_a_credential_per_person(world):
    fake, tk = world.fake, world.tk
    by_hand = fake.add(LOTTE, D, 60, "typed in the tracker")  # id 500, no marker: not the sync's
    orphan = fake.add(LOTTE, D, 30, "old " + marker("gone-work-log"))  # the sync's, its work log is gone
    # A Kimai 2 id equal to the fake entry's id: the fake tracker must never read it as its own.
    w1 = tk.work_log(world.people[LOTTE], world.activity, D, "PT2H", kimai_id=by_hand.id)
    w2 = tk.work_log(world.people[LOTTE], world.activity, D, "PT45M")
    w3 = tk.work_log(world.people[LOTTE], world.activity, D, "PT10H")
    w4 = tk.work_log(world.people[ANN], world.activity, D, "PT1H")  # no credential for Ann
    approved = fake.add(LOTTE, D, 300, marker(w3.rsplit("/", 1)[-1]), locked=True)
    tk.load(world.store.client())

    summary = run()  # no deletion is ever asked for: FakeSession.delete would raise

    rows = {r["key"].split(" ")[0]: r for r in summary["rows"]}
    by_log = {w.rsplit("/", 1)[-1]: w for w in (w1, w2, w3, w4)}
    created = {marker_of(e.description): e for e in fake.entries.values() if e.id > approved.id}
    assert sorted(created) == sorted(by_log[k].rsplit("/", 1)[-1] for k in by_log if by_log[k] in (w1, w2))
    # dates and minutes, as the work logs say: no clock times invented
    assert {(e.date, e.minutes, e.begin, e.end) for e in created.values()} == {(D, 120, None, None),
                                                                                (D, 45, None, None)}
    assert fake.entries[by_hand.id].description == "typed in the tracker"  # untouched
    assert fake.entries[orphan.id] == orphan  # kept: this tracker cannot delete; reported instead
    orphan_row = next(r for r in summary["rows"] if r["key"] == f"Fake entry {orphan.id}")
    assert orphan_row["outcome"] == "blocked" and "cannot delete" in orphan_row["reason"]
    assert fake.entries[approved.id].minutes == 300  # approved: never written
    w3_row = rows[w3.rsplit("/", 1)[-1]]
    assert w3_row["outcome"] == "blocked" and "approved in Fake: cannot change minutes" in w3_row["reason"]
    w4_row = rows[w4.rsplit("/", 1)[-1]]
    assert w4_row["outcome"] == "skipped" and "no credential configured for user 2" in w4_row["reason"]
    assert not [c for c in fake.calls if c[1] == ANN]  # nothing read or written as Ann
    # The store: the fake tracker's links under its own predicate; the Kimai id stays as it was.
    mine = links_in_store(world.store, "ext:fakeEntryId")
    assert mine[w1] == str(created[w1.rsplit("/", 1)[-1]].id) and mine[w2] == str(created[w2.rsplit("/", 1)[-1]].id)
    assert links_in_store(world.store, "dct:identifier") == {w1: str(by_hand.id)}

    calls = len(fake.calls)
    again = run()
    assert [c for c in fake.calls[calls:] if c[0] != "list"] == []  # a rerun writes nothing
    assert again["counts"].get("created", 0) == 0 and again["counts"].get("updated", 0) == 0

    store = world.store.client()
    store.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{w2}> cal:duration ?d }} }} ;"
                 f"INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{w2}> cal:duration \"PT1H\" }} }}")
    run()
    updates = [c for c in fake.calls if c[0] == "update"]
    assert updates == [("update", LOTTE, {"minutes": 60})]  # the minutes only: no clock times
