"""What an operator sees on the runs list: names that say what a run did, a state message and tags
when it needs a look, a bad value refused in one line, and run forms whose every field is described."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from kimaisync.fixtures import TimekeeperData
from kimaisync.rdf.vocab import TimesheetStatus as S

pytestmark = pytest.mark.usefixtures("prefect_server")

JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
D = dt.date(2026, 6, 3)


@pytest.fixture
def world(kimai_state, store, sync_env):
    """Lotte books fine; Bob has no account; Carol's Kimai user is disabled (so no account); Dirk's
    account names a Kimai user deleted since."""
    kimai_state.config.allow_overlapping = False
    lotte = kimai_state.add_user("lotte", timezone="Europe/Brussels")
    kimai_state.add_user("carol", alias="Carol Peeters", enabled=False, timezone="Europe/Brussels")
    cust = kimai_state.add_customer("Havenbedrijf")
    proj = kimai_state.add_project("Site", cust.id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    w = type("World", (), {})()
    w.kimai, w.store, w.tk = kimai_state, store, tk
    task = tk.activity(act.id, tk.project(proj.id, "Site"), "General")
    w.lotte = tk.person("Lotte Verhaegen", lotte.id)
    people = [w.lotte, tk.person("Bob"), tk.person("Carol Peeters"), tk.person("Dirk", 999)]
    w.logs = {p: [tk.work_log(p, task, D + dt.timedelta(days=d), "PT4H") for d in (0, 1)] for p in people}
    w.sheet = tk.timesheet(w.lotte, JUNE[0], S.SUBMITTED)
    tk.timesheet(people[1], JUNE[0], S.SUBMITTED)
    tk.load(store.client())
    return w


def flow_run(state):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def latest_artifact(key: str, flow_run_id):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return found[-1].data


def test_a_period_run_is_named_by_its_days_and_says_why_it_needs_a_look(world):
    from flows.worklog_period import sync_work_log_period

    state = sync_work_log_period(start=JUNE[0], end=JUNE[1], return_state=True)
    assert state.is_completed()
    assert state.message == ("2 created · 6 skipped (1 person disabled in Kimai, 1 person without a Kimai account, "
                             "1 person whose Kimai user was deleted) · 6 person-days differ")
    run = flow_run(state)
    assert run.name == "period 2026-06-01..2026-06-30"
    assert {"needs-look", "skipped", "hours-differ"} <= set(run.tags)
    summary = state.result()
    assert summary["verdict"] == state.message and summary["needs_look"]
    md = latest_artifact("work-log-sync-summary", run.id)
    assert "## Needs a look" in md
    assert "1 person disabled in Kimai (2 records): Carol Peeters. To do: enable the user in Kimai" in md
    assert "1 person whose Kimai user was deleted (2 records): Dirk. To do: link the person" in md
    assert "**hours**: 6 person-days differ between Timekeeper and Kimai (Bob, Carol Peeters, Dirk)" in md

    again = sync_work_log_period(start=JUNE[0], end=JUNE[1], return_state=True)  # the same skips, no writes
    assert again.message.startswith("6 skipped (")


def test_start_after_end_is_refused_in_one_line(world):
    from flows.worklog_period import sync_work_log_period

    state = sync_work_log_period(start=JUNE[1], end=JUNE[0], return_state=True)
    assert state.is_failed()
    assert state.message == "refused: start 2026-06-30 is after end 2026-06-01: give the earlier day as start"
    assert not world.kimai.requests  # refused before any request


def test_a_lock_run_is_named_by_its_month_and_says_who_stays_submitted(world):
    from flows.timesheet_lock import lock_timesheets

    state = lock_timesheets(month=6, year=2026, return_state=True)
    run = flow_run(state)
    assert run.name == "lock 2026-06"
    assert state.message == ("1 locked · 2 created · 2 skipped (1 person without a Kimai account) · "
                             "1 timesheet stays SUBMITTED")
    assert "needs-look" in run.tags and "incomplete" in run.tags
    people = state.result()["people"]
    assert people[0]["person"] == "Bob" and "no Kimai account linked" in people[0]["blockers"]  # blocked first
    assert "(2 work logs: " in people[0]["blockers"]  # grouped by reason, not one entry per work log


def test_a_delta_run_says_how_many_work_logs_of_how_many_people(world):
    from flows.worklog_delta import sync_work_log_changes

    logs = world.logs[world.lotte]
    state = asyncio.run(sync_work_log_changes(work_logs=logs, return_state=True))
    run = flow_run(state)
    assert run.name == "delta: 2 work logs of 1 person"
    assert state.message == "2 created" and "needs-look" not in run.tags


def every_flow() -> dict:
    """Every flow the flows/ package defines: the ones deployments and routes serve."""
    import importlib
    import pkgutil

    import flows
    from prefect import Flow

    found = {}
    for info in pkgutil.iter_modules(flows.__path__):
        module = importlib.import_module(f"flows.{info.name}")
        found.update({f.name: f for f in vars(module).values() if isinstance(f, Flow)})
    return found


def test_every_form_field_is_described_and_cli_only_options_are_not_offered():
    from prefect.utilities.callables import parameter_schema

    found = every_flow()
    assert {"work-log-period-sync", "timesheet-lock", "work-log-delta-sync", "work-log-fallback-sync"} <= set(found)
    for name, flow in found.items():
        props = parameter_schema(flow).model_dump()["properties"]
        undescribed = [p for p, schema in props.items() if not schema.get("description")]
        assert not undescribed, f"{name}: no description for {undescribed}"
        assert "report_csv" not in props


def test_long_work_shows_progress_as_counted_lines_and_a_bar():
    from prefect import flow, get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterId

    from tasks.progress import Progress

    lines = []

    @flow
    def long_run():
        import logging

        from prefect import get_run_logger

        handler = logging.Handler()
        handler.emit = lambda record: lines.append(record.getMessage())
        get_run_logger().logger.addHandler(handler)
        p = Progress("Kimai writes", 1200, key="kimai-writes", batch=500)
        for n in (500, 500, 200):
            p.advance(n)
        return p.artifact

    artifact = long_run()
    assert [line for line in lines if line.startswith("Kimai")] == ["Kimai writes: 500 of 1200 (41%)", "Kimai writes: 1000 of 1200 (83%)",
                     "Kimai writes: 1200 of 1200 (100%)"]
    with get_client(sync_client=True) as client:
        [bar] = client.read_artifacts(artifact_filter=ArtifactFilter(id=ArtifactFilterId(any_=[artifact])))
    assert bar.type == "progress" and float(bar.data) == 100.0
