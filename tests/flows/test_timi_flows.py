"""TRACKER=timi end to end: the Timi emulator on a real socket, both stores, the real flows.

Pull (clients, projects, services and the credentials file's accounts into the store), then the
period push: first run, a rerun that writes nothing, an edit, a body rewritten in Timi as hours
text, a deleted work log, a person without a credential, and a run stretched by Timi's rate
budget without a lost or doubled entry."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter

import pytest

from emulators.timi.server import TimiServer
from emulators.timi.state import RateBudget, TimiState
from kimaisync.fixtures import KIMAI_GRAPH, TIMESHEET_GRAPH, USERS_GRAPH, TimekeeperData
from kimaisync.marker import marker_of

pytestmark = pytest.mark.usefixtures("prefect_server")

D = dt.date(2025, 3, 12)
MARCH = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
HOMEPAGE = "https://timiapp.com"


@pytest.fixture
def timi_world(monkeypatch, store, tmp_path):
    state = TimiState()
    ann = state.add_user("ann@example.org", "ann-secret-token", "Ann")
    bo = state.add_user("bo@example.org", "bo-secret-token", "Bo")
    carl = state.add_user("carl@example.org", "carl-secret-token", "Carl")  # not in the credentials file
    haven = state.add_client("Havenbedrijf")
    portal = state.add_project("Publicatieplatform", haven.id, aliases=["Rowan"])
    state.add_project("Intern")  # a project of no client
    dev = state.add_service("Development", aliases=["coden"])
    meet = state.add_service("Overleg")
    creds = tmp_path / "timi.json"
    creds.write_text(json.dumps({"ann@example.org": "ann-secret-token", "Bo@Example.org": "bo-secret-token"}))
    creds.chmod(0o600)
    with TimiServer(state) as server:
        for k, v in {"TRACKER": "timi", "TIMI_ENDPOINT": server.url, "TIMI_CREDENTIALS_FILE": str(creds),
                     "MU_SPARQL_ENDPOINT": store.query_url, "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
                     "KIMAI_GRAPH": KIMAI_GRAPH, "TIMEKEEPER_GRAPH": TIMESHEET_GRAPH,
                     "TIMEZONE": "Europe/Brussels"}.items():
            monkeypatch.setenv(k, v)
        for k in ("API_TOKEN", "KIMAI_ENDPOINT"):
            monkeypatch.delenv(k, raising=False)
        w = type("World", (), {})()
        w.state, w.store, w.server = state, store, server
        w.ann, w.bo, w.carl, w.portal, w.dev, w.meet = ann, bo, carl, portal, dev, meet
        yield w


def timekeeper(w) -> TimekeeperData:
    """People linked to Timi accounts, and the bookable task (Publicatieplatform, Development/Overleg)."""
    tk = TimekeeperData(homepage=HOMEPAGE)
    base = tk.base
    project = f"{base}/tasks/{uuid.uuid1()}"
    lines = [f'<{project}> a wf:Task, doap:Project ; rdfs:label "Publicatieplatform" ; ext:timiId "{w.portal.id}" .']
    w.task = {}
    for service in (w.dev, w.meet):
        task = f"{base}/tasks/{uuid.uuid1()}"
        lines.append(f'<{task}> a wf:Task, ext:TimiService ; rdfs:label "{service.name}" ; '
                     f'ext:timiId "{w.portal.id}/{service.id}" ; skos:broader <{project}> .')
        w.task[service.id] = task
    w.person = {}
    for user, name in ((w.ann, "Ann Peeters"), (w.bo, "Bo Claes"), (w.carl, "Carl Zonder Token")):
        person, account = tk.person(name), f"{base}/accounts/{uuid.uuid1()}"
        lines.append(f'<{account}> a foaf:OnlineAccount ; dct:identifier "{user.email}" ; '
                     f'foaf:accountName "{user.email}" ; foaf:accountServiceHomepage <{HOMEPAGE}> .')
        tk._add(USERS_GRAPH, f"<{person}> foaf:account <{account}> .")
        w.person[user.id] = person
    tk._add(KIMAI_GRAPH, *lines)
    return tk


def push(start=MARCH[0], end=MARCH[1]):
    from flows.worklog_period import sync_work_log_period

    return sync_work_log_period(start=start, end=end)


def writes(state) -> list:
    return [r for r in state.requests if r.method in ("POST", "PATCH")]


def of_user(state, user) -> list:
    return sorted((e for e in state.entries.values() if e.user == user.id), key=lambda e: e.id)


def links(store) -> dict[str, str]:
    rows = store.client().select("SELECT ?log ?id WHERE { ?log a cal:Vevent ; ext:timiEntryId ?id }")
    return {r["log"]: r["id"] for r in rows}


def uid(log: str) -> str:
    return log.rsplit("/", 1)[-1]


def test_pull_brings_clients_projects_services_and_the_credentials_accounts(timi_world):
    from flows.accounts import sync_accounts
    from flows.reference_data import sync_reference_data

    accounts = sync_accounts()
    reference = sync_reference_data()
    assert accounts["counts"]["created"] == 2 and reference["counts"]["created"] == 1 + 2 + 2 * 2
    db = timi_world.store.client()
    got = {(r["email"], r["home"]) for r in db.select(
        "SELECT ?email ?home WHERE { ?a a foaf:OnlineAccount ; foaf:accountName ?email ; "
        "foaf:accountServiceHomepage ?home }")}
    assert got == {("ann@example.org", HOMEPAGE), ("bo@example.org", HOMEPAGE)}  # Carl has no token here
    customers = {r["name"]: r["id"] for r in db.select(
        "SELECT ?name ?id WHERE { ?c a prov:Organization ; rdfs:label ?name ; ext:timiId ?id }")}
    assert customers == {"Havenbedrijf": str(timi_world.portal.client)}
    services = {(r["project"], r["name"], r["id"]) for r in db.select(
        "SELECT ?project ?name ?id WHERE { ?t a ext:TimiService ; rdfs:label ?name ; ext:timiId ?id ; "
        "skos:broader/rdfs:label ?project }")}
    p = timi_world.portal.id
    assert (("Publicatieplatform", "Development", f"{p}/{timi_world.dev.id}") in services
            and ("Publicatieplatform", "Overleg", f"{p}/{timi_world.meet.id}") in services and len(services) == 4)
    assert not db.ask("ASK { ?x dct:identifier ?id . ?x a ext:TimiService }")  # links name Timi only
    again_ref, again_acc = sync_reference_data(), sync_accounts()
    assert again_ref["counts"].get("created", 0) == again_acc["counts"].get("created", 0) == 0


def test_push_lands_reruns_quietly_follows_edits_and_skips_a_person_without_a_token(timi_world):
    w = timi_world
    tk = timekeeper(w)
    logs = [tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT2H"),
            tk.work_log(w.person[w.ann.id], w.task[w.meet.id], D, "PT45M"),
            tk.work_log(w.person[w.bo.id], w.task[w.dev.id], dt.date(2025, 3, 31), "PT7H30M")]
    carls = tk.work_log(w.person[w.carl.id], w.task[w.dev.id], D, "PT1H")
    tk.load(w.store.client())

    first = push()
    assert first["counts"]["created"] == 3
    rows = {r["key"].split(" ")[0]: r for r in first["rows"]}
    assert rows[uid(carls)]["outcome"] == "skipped"
    assert "no Timi credential for carl@example.org" in rows[uid(carls)]["reason"]
    assert first["hours_differences"] == 1  # Carl's day only
    made = {marker_of(e.body): e for e in w.state.entries.values()}
    assert {(made[uid(x)].duration, made[uid(x)].date, made[uid(x)].project, made[uid(x)].service)
            for x in logs} == {(7200, D, w.portal.id, w.dev.id), (2700, D, w.portal.id, w.meet.id),
                               (27000, dt.date(2025, 3, 31), w.portal.id, w.dev.id)}
    assert made[uid(logs[2])].user == w.bo.id  # written with Bo's own token
    assert of_user(w.state, w.carl) == []
    assert links(w.store) == {x: str(made[uid(x)].id) for x in logs}
    posts = [r for r in writes(w.state) if r.method == "POST"]
    assert all({"project_id", "service_id", "duration", "date"} <= set(r.form) for r in posts)
    assert {r.auth for r in w.state.requests} == {"x-api-key"}

    before = len(w.state.requests)
    again = push()
    assert writes(w.state)[len(posts):] == [] and again["counts"].get("created", 0) == 0
    assert again["counts"].get("updated", 0) == 0 and len(w.state.requests) > before

    db = w.store.client()
    db.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{logs[0]}> cal:duration ?d }} }} ;'
              f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{logs[0]}> cal:duration "PT3H15M" }} }}')
    db.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{logs[1]}> dct:subject ?t }} }} ;'
              f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{logs[1]}> dct:subject <{w.task[w.dev.id]}> }} }}')
    n = len(writes(w.state))
    edited = push()
    assert edited["counts"]["updated"] == 2
    patches = writes(w.state)[n:]
    assert [r.method for r in patches] == ["PATCH", "PATCH"]
    assert all({"body", "project_id", "service_id", "duration", "date"} <= set(r.form) for r in patches)
    assert made[uid(logs[0])].duration == 3 * 3600 + 900 and made[uid(logs[1])].service == w.dev.id
    assert push()["counts"].get("updated", 0) == 0


def test_hours_typed_into_the_body_in_timi_are_put_right_and_the_text_kept(timi_world):
    """Ann rewrites the text in Timi's app; Timi's recognition reads "10 uur ... Rowan" and moves the
    entry to 10 h on the project aliased Rowan. The sync restores hours, project and service, and
    sends them explicitly, so the text (kept, with the marker) cannot move them again."""
    import httpx

    w = timi_world
    intern = next(p for p in w.state.projects.values() if p.name == "Intern")
    w.portal.aliases, intern.aliases = [], ["Rowan"]
    tk = timekeeper(w)
    log = tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT2H")
    tk.load(w.store.client())
    push()
    entry = next(iter(w.state.entries.values()))
    edited = httpx.patch(f"{w.server.url}/time_entries/{entry.id}.json",
                         headers={"X-Api-Key": "ann@example.org:ann-secret-token"},
                         data={"body": "10 uur met Rowan gewerkt " + entry.body})
    assert edited.status_code == 200 and (entry.duration, entry.project) == (36000, intern.id)

    result = push()
    assert result["counts"]["updated"] == 1
    assert (entry.duration, entry.project, entry.service, entry.date) == (7200, w.portal.id, w.dev.id, D)
    assert entry.body.startswith("10 uur met Rowan gewerkt") and marker_of(entry.body) == uid(log)
    assert result["hours_differences"] == 0
    assert push()["counts"].get("updated", 0) == 0


def test_a_deleted_work_logs_entry_is_zeroed_marked_and_reported(timi_world):
    w = timi_world
    tk = timekeeper(w)
    keep = tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT2H")
    gone = tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT3H")
    tk.load(w.store.client())
    push()
    entry = next(e for e in w.state.entries.values() if marker_of(e.body) == uid(gone))
    w.store.client().update(  # as mu-cl-resources deletes: the link stays behind
        f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{gone}> a ?t ; cal:duration ?d ; cal:dtstart ?s }} }}")

    result = push()
    assert entry.duration == 0 and entry.body.startswith("[verwijderd in Timekeeper]")
    assert marker_of(entry.body) == uid(gone)
    row = next(r for r in result["rows"] if str(entry.id) in r["key"] or uid(gone) in r["key"])
    assert row["outcome"] == "deleted" and "Timi cannot delete: set to 0 h and marked" in row["reason"]
    assert result["hours_differences"] == 0  # Ann's day: 2 h on both sides
    assert uid(keep) in {marker_of(e.body) for e in w.state.entries.values() if e.duration}
    n = len(writes(w.state))
    assert push()["counts"].get("deleted", 0) == 0 and len(writes(w.state)) == n


def test_a_rate_budget_stretches_the_run_and_loses_or_doubles_nothing(timi_world):
    w = timi_world
    w.state.rate = RateBudget(limit=15, window=1.0)  # a "minute" of one second
    tk = timekeeper(w)
    logs = [tk.work_log(w.person[(w.ann, w.bo)[n % 2].id], w.task[(w.dev, w.meet)[n % 3 == 0].id],
                        D + dt.timedelta(days=n % 10), "PT1H") for n in range(60)]
    tk.load(w.store.client())
    result = push()
    assert w.state.rate.refused > 0  # the budget did bite
    assert result["counts"]["created"] == 60 and not result["failed"]
    per_log = Counter(marker_of(e.body) for e in w.state.entries.values())
    assert sorted(per_log) == sorted(uid(x) for x in logs) and set(per_log.values()) == {1}
    assert result["hours_differences"] == 0


def test_a_delta_edits_adds_and_retires_with_the_persons_token(timi_world):
    import asyncio

    from flows.worklog_delta import sync_work_log_changes

    w = timi_world
    tk = timekeeper(w)
    edited = tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT2H")
    gone = tk.work_log(w.person[w.ann.id], w.task[w.meet.id], D, "PT1H")
    other = tk.work_log(w.person[w.bo.id], w.task[w.dev.id], D, "PT4H")
    tk.load(w.store.client())
    push()
    by_log = {marker_of(e.body): e for e in w.state.entries.values()}
    db = w.store.client()
    db.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration ?d }} }} ;'
              f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration "PT2H30M" }} }}')
    db.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{gone}> a ?t ; cal:duration ?d ; cal:dtstart ?s }} }}")
    new = tk.work_log(w.person[w.ann.id], w.task[w.meet.id], D + dt.timedelta(days=1), "PT45M")
    tk.load(db)
    n = len(w.state.requests)

    result = asyncio.run(sync_work_log_changes([edited, gone, new]))
    assert result["counts"]["updated"] == 1 and result["counts"]["created"] == 1 and result["counts"]["deleted"] == 1
    assert by_log[uid(edited)].duration == 9000 and by_log[uid(gone)].duration == 0
    made = next(e for e in w.state.entries.values() if marker_of(e.body) == uid(new))
    assert (made.user, made.duration, made.service) == (w.ann.id, 2700, w.meet.id)
    assert {r.user for r in w.state.requests[n:]} == {"ann@example.org"}  # Bo's token was not needed
    assert by_log[uid(other)].duration == 4 * 3600


def test_a_refused_token_stops_that_person_only_and_is_never_shown(timi_world, tmp_path, monkeypatch):
    w = timi_world
    creds = tmp_path / "stale.json"
    creds.write_text(json.dumps({"ann@example.org": "ann-secret-token", "bo@example.org": "bo-stale-token-77"}))
    creds.chmod(0o600)
    monkeypatch.setenv("TIMI_CREDENTIALS_FILE", str(creds))
    tk = timekeeper(w)
    anns = [tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT2H"),
            tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D + dt.timedelta(days=1), "PT1H")]
    bos = tk.work_log(w.person[w.bo.id], w.task[w.dev.id], D, "PT4H")
    tk.load(w.store.client())

    result = push()
    assert {marker_of(e.body) for e in w.state.entries.values()} == {uid(x) for x in anns}
    assert of_user(w.state, w.bo) == []
    row = next(r for r in result["rows"] + result["failures"] + result["skips"] if uid(bos) in r["key"])
    assert row["outcome"] in ("failed", "skipped") and "bo@example.org" in row["reason"]
    assert "TIMI_CREDENTIALS_FILE" in row["reason"]
    assert "bo-stale-token-77" not in json.dumps(result, default=str)


def test_the_monthly_lock_works_with_timi_and_marks_nothing_there(timi_world):
    from flows.timesheet_lock import lock_timesheets
    from kimaisync.rdf.vocab import TimesheetStatus as S

    w = timi_world
    tk = timekeeper(w)
    tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT2H")
    sheet = tk.timesheet(w.person[w.ann.id], MARCH[0], S.SUBMITTED)
    tk.load(w.store.client())
    push()
    n = len(writes(w.state))

    result = lock_timesheets(month=3, year=2025)
    assert [p["status"] for p in result["people"] if p["person"] == "Ann Peeters"] == ["SUBMITTED → EXPORTED"]
    assert w.store.client().ask(f"ASK {{ <{sheet}> adms:status <{S.EXPORTED}> }}")
    assert len(writes(w.state)) == n  # Timi has no export flag: nothing written there


def test_timis_refusal_is_kept_in_the_report_and_the_others_go_on(timi_world):
    w = timi_world
    tk = timekeeper(w)
    fine = tk.work_log(w.person[w.ann.id], w.task[w.dev.id], D, "PT2H")
    tk.load(w.store.client())
    w.portal.active = False  # archived in Timi after the pull: Timi refuses new hours on it
    refused = push()
    row = next(r for r in refused["failures"] if uid(fine) in r["key"])
    assert row["reason"] == "Timi refused the data: project: is gearchiveerd"
    assert w.state.entries == {} and refused["failed"]
    w.portal.active = True
    assert push()["counts"]["created"] == 1
