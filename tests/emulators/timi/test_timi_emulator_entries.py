"""Time entries, clients, projects and services, checked against the API document's examples."""

from __future__ import annotations

from datetime import date, timedelta

from timi_helpers import TODAY, key


def test_listing_has_the_documents_shape(timi):
    answer = timi.get("/api/v1/time_entries.json", headers=key("jankees"))
    assert answer.json() == {
        "current_page": 1, "per_page": 100, "total_entries": 1,
        "time_entries": [{
            "id": 108085, "body": "8 uur voor Timi gewerkt vanuit huis", "duration": 28800,
            "start_time": "", "end_time": "", "date": "2016-01-20",
            "project": {"id": 3327, "name": "Website", "client": {"id": 1, "name": "Timi"}},
            "user": {"id": 1, "display_name": "Jankees"},
        }],
    }


def test_pages_of_100_newest_first_and_total_entries(timi, timi_state):
    start = date(2020, 1, 1)
    for n in range(102):
        timi_state.add_entry(3, f"werk {n}", start + timedelta(days=n % 10), 600, 47, 1)
    first = timi.get("/api/v1/time_entries.json", headers=key("ann")).json()
    second = timi.get("/api/v1/time_entries.json", headers=key("ann"), params={"page": 2}).json()
    third = timi.get("/api/v1/time_entries.json", headers=key("ann"), params={"page": 3}).json()
    assert (first["current_page"], first["per_page"], first["total_entries"]) == (1, 100, 102)
    assert (second["current_page"], len(second["time_entries"])) == (2, 2)
    assert third["time_entries"] == []
    ids = [e["id"] for e in first["time_entries"] + second["time_entries"]]
    assert len(set(ids)) == 102
    dates = [e["date"] for e in first["time_entries"] + second["time_entries"]]
    assert dates == sorted(dates, reverse=True)


def test_filters_by_dates_projects_services_and_clients(timi, timi_state):
    timi_state.add_entry(3, "a", "2016-03-01", 60, 47, 1)
    timi_state.add_entry(3, "b", "2016-03-02", 60, 3327, 2)
    timi_state.add_entry(3, "c", "2016-03-03", 60, 3328, 3)

    def bodies(**params):
        answer = timi.get("/api/v1/time_entries.json", headers=key("ann"), params=params)
        assert answer.status_code == 200, answer.text
        return sorted(e["body"] for e in answer.json()["time_entries"])

    assert bodies(start_date="2016-03-02", end_date="2016-03-03") == ["b", "c"]  # end date included
    assert bodies(date="2016-03-01") == ["a"]
    assert bodies(start_date="02-03-2016") == ["b", "c"]  # the document's d-m-Y form too
    assert bodies(project_ids="47,3328") == ["a", "c"]
    assert bodies(service_ids="2") == ["b"]
    assert bodies(client_ids="618") == ["c"]


def test_a_token_sees_and_writes_only_its_own_entries(timi, timi_state):
    assert [e["id"] for e in timi.get("/api/v1/time_entries.json", headers=key("ann")).json()["time_entries"]] == []
    answer = timi.patch("/api/v1/time_entries/108085.json", headers=key("ann"), data={"duration": "60"})
    assert answer.status_code == 404
    assert timi_state.entries[108085].duration == 28800


def test_create_recognises_the_text_as_in_the_document(timi):
    answer = timi.post("/api/v1/time_entries.json", headers={**key("jankees"), "Accept": "application/json"},
                       data={"body": "2,5 uur met Rowan aan Timi gewerkt", "date": "28-03-2016"})
    assert answer.status_code == 201
    entry = answer.json()
    assert {k: entry[k] for k in ("body", "date", "duration", "start_time", "end_time", "project")} == {
        "body": "2,5 uur met Rowan aan Timi gewerkt", "date": "2016-03-28", "duration": 9000,
        "start_time": None, "end_time": None, "project": {"id": 47, "name": "Timi"}}


def test_explicit_fields_override_the_recognised_ones(timi, timi_state):
    answer = timi.post("/api/v1/time_entries.json", headers=key("jankees"), data={
        "body": "2,5 uur met Rowan aan Timi gewerkt", "duration": "1800", "project_id": "3328",
        "service_id": "3", "date": "01-02-2016"})
    entry = timi_state.entries[answer.json()["id"]]
    assert (entry.duration, entry.project, entry.service, entry.date) == (1800, 3328, 3, date(2016, 2, 1))


def test_a_body_alone_on_patch_is_recognised_again(timi, timi_state):
    """The trap the sync must avoid: a PATCH of the text re-reads hours and project from it."""
    entry = timi_state.add_entry(1, "werk", "2016-03-01", 3600, 3328, 2)
    timi.patch(f"/api/v1/time_entries/{entry.id}.json", headers=key("jankees"),
               data={"body": "10 uur met Rowan gewerkt"})
    assert (entry.duration, entry.project) == (36000, 47)


def test_a_date_missing_from_the_form_is_today(timi, timi_state):
    answer = timi.post("/api/v1/time_entries.json", headers=key("ann"),
                       data={"body": "1 uur", "project_id": "47"})
    assert answer.json()["date"] == TODAY.isoformat()


def test_errors_come_back_in_the_documents_shape(timi, timi_state):
    before = len(timi_state.entries)
    answer = timi.post("/api/v1/time_entries.json", headers=key("ann"),
                       data={"body": "werk", "duration": "twee", "project_id": "47"})
    assert answer.status_code == 422
    assert answer.json() == {"errors": {"duration": ["is geen getal"]}}
    for form, field in (({"duration": "60", "project_id": "47"}, "body"),
                        ({"body": "werk", "duration": "60"}, "project"),
                        ({"body": "werk", "duration": "60", "project_id": "999"}, "project"),
                        ({"body": "werk", "duration": "60", "project_id": "47", "service_id": "999"}, "service"),
                        ({"body": "werk", "duration": "-5", "project_id": "47"}, "duration"),
                        ({"body": "werk", "duration": "60", "project_id": "47", "date": "31-02-2016"}, "date")):
        answer = timi.post("/api/v1/time_entries.json", headers=key("ann"), data=form)
        assert answer.status_code == 422, form
        assert list(answer.json()["errors"]) == [field], form
    assert len(timi_state.entries) == before


def test_clients_nest_their_projects_and_services_list_aliases(timi):
    clients = timi.get("/api/v1/clients.json", headers=key("ann")).json()
    assert {c["name"]: [p["name"] for p in c["projects"]] for c in clients} == {
        "Timi": ["Timi", "Website"], "Klant A": ["Banners"]}
    assert clients[1]["projects"][0] == {"id": 3328, "name": "Banners", "aliases": ["Erik", "Martijn", "Wilco"]}
    projects = timi.get("/api/v1/projects.json", headers=key("ann")).json()
    assert projects[0] == {"id": 47, "name": "Timi", "aliases": ["Jankees", "Rowan", "Tango"]}
    services = timi.get("/api/v1/services.json", headers=key("ann")).json()
    assert services[0] == {"id": 1, "name": "Development",
                           "aliases": ["coden", "css", "html", "programmeren", "rails"]}


def test_projects_can_be_created_and_renamed(timi):
    created = timi.post("/api/v1/projects.json", headers=key("ann"), data={"name": "Nieuw project", "active": "true"})
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("active", "aliases", "name")} == {"active": True, "aliases": [], "name": "Nieuw project"}
    renamed = timi.patch(f"/api/v1/projects/{body['id']}.json", headers=key("ann"), data={"name": "Nieuwe naam"})
    assert renamed.json() == {"active": True, "aliases": [], "id": body["id"], "name": "Nieuwe naam"}
    assert timi.post("/api/v1/projects.json", headers=key("ann"), data={}).json() == {
        "errors": {"name": ["moet opgegeven zijn"]}}


def test_there_is_no_delete_and_no_read_by_id(timi):
    assert timi.delete("/api/v1/time_entries/108085.json", headers=key("jankees")).status_code in (404, 405)
    assert timi.get("/api/v1/time_entries/108085.json", headers=key("jankees")).status_code in (404, 405)


def test_the_timer(timi, timi_state):
    assert timi.get("/api/v1/time_entries/timer.json", headers=key("jankees")).status_code == 404
    entry = timi_state.add_entry(1, "Mijn timer", "2017-01-26", 720, 47)
    timi_state.timers[1] = (entry.id, "2017-01-26T13:33:51.453+01:00")
    assert timi.get("/api/v1/time_entries/timer.json", headers=key("jankees")).json() == {
        "id": entry.id, "body": "Mijn timer", "duration": 720, "start_time": None, "end_time": None,
        "date": "2017-01-26", "timer_started_at": "2017-01-26T13:33:51.453+01:00"}
