"""The Kimai token never shows: not in logs, artifacts, run states, exceptions, reports or CLI output.

Every flow and every receiver route runs with a known token, on good paths and on the failing
ones where a secret is most likely to slip out (Kimai refusing the token, answering 500 or HTML,
being unreachable; settings that do not validate). Everything a person could read afterwards is
gathered and searched for the token and its encodings. Each capture is first checked to hold
what it should (the Kimai URL, a run's messages), so an empty capture cannot pass.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import os
import secrets
import subprocess
import sys
import traceback
import urllib.parse
from pathlib import Path

import pytest

from kimai_emulator.server import EmulatorServer
from kimai_emulator.state import Faults, KimaiState
from kimaisync.fixtures import TimekeeperData
from kimaisync.rdf.vocab import TimesheetStatus

pytestmark = pytest.mark.usefixtures("prefect_server")

SECRET = "tk-SECRET-" + secrets.token_hex(12)
FORMS = [SECRET, base64.b64encode(SECRET.encode()).decode(), urllib.parse.quote(SECRET), SECRET[-16:]]
CLI = str(Path(sys.executable).parent / "kimai-sync")
D = dt.date(2025, 3, 12)


def leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


@pytest.fixture
def world(oxigraph, monkeypatch):
    """Kimai (its API user holds SECRET) with a person, a project and an activity; Timekeeper with
    two work logs (one of a person without account) and a submitted month."""
    state = KimaiState()
    state.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=SECRET, timezone="Europe/Brussels")
    lotte = state.add_user("lotte", timezone="Europe/Brussels")
    customer = state.add_customer("Havenbedrijf")
    project = state.add_project("Platform", customer.id)
    activity = state.add_activity("Build", project.id)
    tk = TimekeeperData()
    task = tk.activity(activity.id, tk.project(project.id, "Platform"), "Build")
    person = tk.person("Lotte", lotte.id)
    logs = [tk.work_log(person, task, D, "PT2H"), tk.work_log(tk.person("Jan Zonder Account"), task, D, "PT1H")]
    tk.timesheet(person, dt.date(2025, 3, 1), TimesheetStatus.SUBMITTED)
    tk.load(oxigraph.client())
    server = EmulatorServer(state).start()
    env = {"API_TOKEN": SECRET, "KIMAI_ENDPOINT": server.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
           "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": "http://mu.semte.ch/graphs/kimai",
           "TIMEKEEPER_GRAPH": "http://mu.semte.ch/graphs/redpencil", "TIMEZONE": "Europe/Brussels",
           "KIMAI_RETRIES": "1", "KIMAI_TIMEOUT": "2", "LOCK_MARK_EXPORTED_IN_KIMAI": "true"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    w = type("World", (), {})()
    w.state, w.server, w.logs, w.env = state, server, logs, env
    yield w
    server.stop()


def quick_task_retries(monkeypatch) -> None:
    """Tasks still retry (their log lines are searched too), without waiting seconds between."""
    import importlib

    from prefect import Task

    for name in ("tasks.worklogs", "tasks.reference", "flows.worklog_delta", "flows.timesheet_lock",
                 "flows.reference_data", "flows.accounts", "flows.worklog_period"):
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, Task) and value.retries:
                monkeypatch.setattr(value, "retry_delay_seconds", [0.01] * value.retries)


def run_everything(tmp_path) -> list[str]:
    """Every flow once; what each returned, or the exception it raised, as text."""
    from flows.accounts import sync_accounts
    from flows.fallback import fallback_work_log_sync
    from flows.reference_data import sync_reference_data
    from flows.timesheet_lock import lock_timesheets
    from flows.worklog_delta import remove_orphan_timesheet, sync_work_log_changes
    from flows.worklog_period import sync_work_log_period

    runs = [lambda: sync_reference_data(), lambda: sync_accounts(),
            lambda: sync_work_log_period(start=D, end=D, report_csv=str(tmp_path / "report.csv")),
            lambda: asyncio.run(sync_work_log_changes(work_logs=[])),
            lambda: remove_orphan_timesheet(kimai_id=999), lambda: lock_timesheets(month=3, year=2025),
            lambda: fallback_work_log_sync(days_back=1, days_ahead=1)]
    out = []
    for run in runs:
        try:
            out.append(repr(run()))
        except Exception as exc:  # noqa: BLE001 - failing paths are part of the test
            out.append("".join(traceback.format_exception(exc)))
    return out


def prefect_records() -> str:
    """Logs, artifacts and flow-run states the Prefect server holds: what the UI shows."""
    from prefect import get_client

    async def read():
        async with get_client() as client:
            logs = await client.read_logs(limit=200)
            artifacts = await client.read_artifacts(limit=200)
            runs = await client.read_flow_runs(limit=200)
        return logs, artifacts, runs

    logs, artifacts, runs = asyncio.run(read())
    text = [f"{log.message}" for log in logs]
    text += [f"{a.key} {a.description} {a.data}" for a in artifacts]
    text += [f"{r.name} {r.parameters} {r.state and r.state.message}" for r in runs]
    return "\n".join(text)


@pytest.mark.parametrize("trouble", ["none", "token refused", "500", "html", "unreachable"])
def test_no_flow_shows_the_token(world, tmp_path, caplog, capfd, monkeypatch, trouble):
    if trouble == "token refused":
        world.state.users[1].api_token = "another-token"  # Kimai answers 401
    elif trouble == "500":
        world.state.faults = Faults(error_rate=1.0, paths_prefix="/api")
    elif trouble == "html":
        os.environ["KIMAI_ENDPOINT"] = world.server.url.rsplit("/api", 1)[0] + "/login"
    elif trouble == "unreachable":
        os.environ["KIMAI_ENDPOINT"] = "http://127.0.0.1:9/api"
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "kimaisync", "prefect"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    quick_task_retries(monkeypatch)

    results = run_everything(tmp_path)
    captured = capfd.readouterr()
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args}" for r in caplog.records)
    report = (tmp_path / "report.csv").read_text() if (tmp_path / "report.csv").exists() else ""
    recorded = prefect_records()

    # Each capture holds what it should: the runs' own words, so an empty capture cannot pass.
    assert "Kimai" in " ".join(results) and "127.0.0.1" in logged + captured.out + captured.err
    assert "work-log" in recorded or "Kimai" in recorded
    if trouble == "none":
        assert report and "Lotte" in report and any(log.rsplit("/", 1)[1] for log in world.logs)
    everything = {"results": " ".join(results), "logs": logged, "stdout": captured.out, "stderr": captured.err,
                  "report": report, "prefect": recorded}
    for where, text in everything.items():
        assert not leaks(text), f"the token shows in {where} ({trouble})"


def test_no_route_shows_the_token(world, caplog):
    from fastapi.testclient import TestClient

    from deployments.receiver import create_app, flows_by_route
    from deployments.run_queue import RunQueue
    from kimaisync.settings import load_settings
    from kimaisync.sparql.client import SparqlClient

    caplog.set_level(logging.DEBUG)
    runs = RunQueue(flows_by_route())
    app = TestClient(create_app(runs, SparqlClient.from_settings(load_settings())))
    log = world.logs[0]
    delta = [{"inserts": [{"subject": {"type": "uri", "value": log},
                           "predicate": {"type": "uri", "value": "http://www.w3.org/2002/12/cal/ical#duration"},
                           "object": {"type": "literal", "value": "PT2H"}}], "deletes": []}]
    answers = [app.post("/delta", json=delta), app.post(f"/update-queue/work-logs/{log.rsplit('/', 1)[1]}"),
               app.put("/kimai-timesheets/999"), app.post("/sync-from-kimai/customers"),
               app.post("/sync-from-kimai/tasks"), app.post("/sync-from-kimai/accounts"),
               app.post("/sync-to-kimai/work-logs", json={"start": str(D), "end": str(D)}),
               app.post("/timesheets/lock", json={"month": 3, "year": 2025}),
               app.post("/delta", content=b"{not json"), app.post("/sync-to-kimai/work-logs", json={"start": "x"})]
    assert runs.join(timeout=120)
    world.state.users[1].api_token = "another-token"  # and once more with Kimai refusing the token
    answers.append(app.post("/sync-from-kimai/accounts"))
    assert runs.join(timeout=120)
    runs.stop()
    assert [a.status_code for a in answers[:8]] == [204, 202, 204, 204, 204, 204, 202, 204]
    assert {a.status_code for a in answers[8:10]} == {400}
    assert any(state == "COMPLETED" for _, _, state in runs.executed)
    texts = [a.text + str(dict(a.headers)) for a in answers]
    texts += [f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records]
    texts.append(prefect_records())
    texts.append(repr(runs.executed))
    assert "Kimai" in "\n".join(texts)
    for text in texts:
        assert not leaks(text), f"the token shows: {text[:300]}"


@pytest.mark.parametrize("auth,args", [
    ("bearer", ["-v", "check"]), ("bearer", ["-v", "from-kimai"]),
    ("bearer", ["-v", "to-kimai", str(D), str(D), "--report", "REPORT"]), ("bearer", ["-v", "lock-timesheets", "3", "2025"]),
    ("bearer", ["to-kimai", "2025-02-30", str(D)]), ("legacy", ["-v", "check"]), ("legacy", ["-v", "from-kimai"]),
    ("bad endpoint", ["check"]), ("bad endpoint", ["to-kimai", str(D), str(D)]),
])
def test_no_cli_command_shows_the_token(world, tmp_path, auth, args):
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, **world.env, "PREFECT_API_URL": PREFECT_API_URL.value()}
    if auth == "legacy":
        env["KIMAI_API_USER"] = "sync-bot"  # the token travels as X-AUTH-TOKEN; Kimai refuses it there
    elif auth == "bad endpoint":
        env["KIMAI_ENDPOINT"] = f"ftp://user:{SECRET}@kimai.example/api"  # a settings error quoting the input
    args = [str(tmp_path / "report.csv") if a == "REPORT" else a for a in args]
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert output.strip(), "the command said nothing"
    if auth != "bearer" or "2025-02-30" in args:
        assert done.returncode != 0, output[-1000:]
    else:
        assert done.returncode == 0, output[-1000:]
    report = (tmp_path / "report.csv").read_text() if (tmp_path / "report.csv").exists() else ""
    assert not leaks(output + report), f"`kimai-sync {' '.join(args)}` shows the token:\n{output[-2000:]}"


def test_settings_never_show_the_token(monkeypatch):
    from kimaisync.settings import load_settings

    monkeypatch.setenv("API_TOKEN", SECRET)
    monkeypatch.setenv("KIMAI_ENDPOINT", "http://127.0.0.1:9/api")
    settings = load_settings()
    assert settings.api_token.get_secret_value() == SECRET  # it is there, and only behind this call
    shown = [repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json()]
    monkeypatch.setenv("KIMAI_CONCURRENCY", "many")
    monkeypatch.setenv("KIMAI_ENDPOINT", f"not a url {SECRET}")
    with pytest.raises(Exception) as failed:
        load_settings()
    shown.append("".join(traceback.format_exception(failed.value)))
    assert "KIMAI_CONCURRENCY" in shown[-1]
    for text in shown:
        assert not leaks(text), text[:500]
