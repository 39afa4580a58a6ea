"""The Prefect server a stack runs lets in only who has its auth string, and our clients have it.

`kimai-sync serve` runs Prefect's server itself (no PREFECT_API_URL) with
PREFECT_SERVER_API_AUTH_STRING set: the API refuses an unauthenticated request (401) and keeps
its health route open; serve's own calls, a delta through its receiver and a CLI verb (which
finds the live server and starts no temporary one) all work; a verb or `check` with a wrong
string says 401. The string shows nowhere: not in any output, log, file under PREFECT_HOME,
or process title. Bound beyond loopback without a string, serve refuses in one line (exit 2).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kimaisync.triplestores import free_port
from worklog_helpers import one_new_work_log

KIMAI_SYNC = str(Path(sys.executable).parent / "kimai-sync")
AUTH = "operator:Tk-9f8e7d6c-auth-Secret"
DAY = dt.date(2025, 3, 12)
CAL = "http://www.w3.org/2002/12/cal/ical#"


def base_env(kimai, oxigraph, home: Path, **extra) -> dict:
    from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(API_TOKEN=API_TOKEN, KIMAI_ENDPOINT=kimai.url, MU_SPARQL_ENDPOINT=oxigraph.query_url,
               MU_SPARQL_UPDATE_ENDPOINT=oxigraph.update_url, KIMAI_GRAPH=KIMAI_GRAPH,
               TIMEKEEPER_GRAPH=TIMEKEEPER_GRAPH, TIMEZONE="Europe/Brussels", PREFECT_HOME=str(home),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore",
               PREFECT_RUNNER_POLL_FREQUENCY="1")
    env.update(extra)
    return env


def test_serve_refuses_a_server_open_beyond_loopback_without_a_login(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(API_TOKEN="t", KIMAI_ENDPOINT="http://127.0.0.1:9/api", PREFECT_SERVER_API_HOST="0.0.0.0",
               PREFECT_SERVER_API_PORT=str(free_port()), PREFECT_HOME=str(tmp_path))
    done = subprocess.run([KIMAI_SYNC, "serve", "--port", str(free_port())], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PREFECT_SERVER_API_AUTH_STRING=" in lines[0] and "OPEN_UI_ON_PRIVATE_NETWORK" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing started, nothing written


def test_the_opt_out_is_a_warning_and_loopback_needs_no_string():
    from kimaisync import prefect_server
    from kimaisync.settings import load_settings

    base = dict(api_token="t", kimai_endpoint="http://127.0.0.1:9/api")
    loop = load_settings(**base, prefect_server_api_host="127.0.0.1")
    assert prefect_server.bind_refusal(loop) is None and prefect_server.open_ui_warning(loop) is None
    opted = load_settings(**base, prefect_server_api_host="0.0.0.0", open_ui_on_private_network=True)
    assert prefect_server.bind_refusal(opted) is None
    assert "OPEN_UI_ON_PRIVATE_NETWORK=true" in prefect_server.open_ui_warning(opted)
    guarded = load_settings(**base, prefect_server_api_host="0.0.0.0", prefect_server_api_auth_string=AUTH)
    assert prefect_server.bind_refusal(guarded) is None and prefect_server.open_ui_warning(guarded) is None
    assert AUTH not in repr(guarded) and AUTH not in guarded.describe() and "auth string set" in guarded.describe()


def _titles_of_group(pgid: int) -> list[str]:
    titles = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getpgid(int(pid)) == pgid:
                titles.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, ProcessLookupError):
            pass
    return titles


def _secret_forms() -> list[bytes]:
    return [AUTH.encode(), AUTH.split(":")[1].encode(), base64.b64encode(AUTH.encode())]


@pytest.mark.prefect
def test_serve_runs_prefect_with_a_login_and_every_client_of_ours_sends_it(kimai_state, kimai, oxigraph, tmp_path):
    home = tmp_path / "prefect-home"
    prefect_port, receiver_port = free_port(), free_port()
    api = f"http://127.0.0.1:{prefect_port}/api"
    env = base_env(kimai, oxigraph, home, PREFECT_SERVER_API_PORT=str(prefect_port),
                   PREFECT_SERVER_API_AUTH_STRING=AUTH)
    log = tmp_path / "serve.log"
    outputs: list[str] = []
    with open(log, "wb") as out:
        serve = subprocess.Popen([KIMAI_SYNC, "serve", "--port", str(receiver_port)], env=env, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # a fresh home: Prefect creates its database first
        while True:
            assert serve.poll() is None, log.read_text()[-3000:]
            try:
                httpx.get(f"http://127.0.0.1:{receiver_port}/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not listen:\n" + log.read_text()[-3000:]
                time.sleep(0.5)
        titles = _titles_of_group(serve.pid)
        assert any("prefect server start" in t or "prefect" in t for t in titles), titles

        # The API: health open, everything else behind the login.
        assert httpx.get(api + "/health", timeout=10).status_code == 200
        assert httpx.post(api + "/flow_runs/filter", json={}, timeout=10).status_code == 401
        assert httpx.post(api + "/artifacts/filter", json={}, timeout=10).status_code == 401
        authed = httpx.Client(auth=httpx.BasicAuth(*AUTH.split(":", 1)), timeout=10)
        assert authed.post(api + "/flow_runs/filter", json={}).status_code == 200
        # The UI is served, and tells the browser to reach the API at the address the page came from.
        ui = httpx.get(f"http://127.0.0.1:{prefect_port}/ui-settings", timeout=10)
        assert ui.status_code == 200 and ui.json()["api_url"] == "/api", ui.text

        # serve's receiver and runner: a delta reaches Kimai.
        work_log = one_new_work_log(kimai_state, oxigraph, DAY)
        body = [{"inserts": [{"subject": {"type": "uri", "value": work_log},
                              "predicate": {"type": "uri", "value": CAL + "duration"},
                              "object": {"type": "literal", "value": "PT2H"}}], "deletes": []}]
        assert httpx.post(f"http://127.0.0.1:{receiver_port}/delta", json=body, timeout=30).status_code == 204
        deadline = time.monotonic() + 60
        while not kimai_state.timesheets and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(kimai_state.timesheets) == 1, log.read_text()[-3000:]

        # A CLI verb finds the live server: no temporary one, its run is on the server.
        verb_env = {k: v for k, v in env.items()}
        done = subprocess.run([KIMAI_SYNC, "to-kimai", str(DAY), str(DAY)], env=verb_env, capture_output=True,
                              text=True, timeout=300)
        outputs += [done.stdout, done.stderr]
        assert done.returncode == 0, done.stdout + done.stderr
        assert "temporary" not in done.stderr.lower(), done.stderr
        runs = authed.post(api + "/flow_runs/filter", json={"flows": {"name": {"any_": ["work-log-period-sync"]}}})
        assert [r["state_type"] for r in runs.json()] == ["COMPLETED"], runs.text

        # A wrong string is named as a 401, by a verb and by check.
        wrong = dict(verb_env, PREFECT_API_AUTH_STRING="operator:not-it")
        done = subprocess.run([KIMAI_SYNC, "to-kimai", str(DAY), str(DAY)], env=wrong, capture_output=True,
                              text=True, timeout=120)
        outputs += [done.stdout, done.stderr]
        assert done.returncode == 1 and "401" in done.stderr and "PREFECT_API_AUTH_STRING is wrong" in done.stderr
        done = subprocess.run([KIMAI_SYNC, "check"], env=wrong, capture_output=True, text=True, timeout=120)
        outputs += [done.stdout, done.stderr]
        assert done.returncode == 1 and "prefect: FAILED" in done.stdout and "401" in done.stdout, done.stdout
        done = subprocess.run([KIMAI_SYNC, "check"], env=verb_env, capture_output=True, text=True, timeout=120)
        outputs += [done.stdout, done.stderr]
        assert "prefect: ok" in done.stdout and "auth string set" in done.stdout, done.stdout
    finally:
        stopped_in = None
        if serve.poll() is None:
            started = time.monotonic()
            serve.send_signal(signal.SIGTERM)  # as `podman stop` does: serve stops its server itself
            try:
                serve.wait(60)
                stopped_in = time.monotonic() - started
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(10)
    assert stopped_in is not None and serve.returncode == 0, log.read_text()[-3000:]
    assert not [t for t in _titles_of_group(serve.pid) if t], "left running after serve stopped"

    outputs.append(log.read_text(errors="replace"))
    for text in outputs:
        for form in _secret_forms():
            assert form.decode() not in text
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "prefect.db" for p in files)  # the server's database is in the home
    for path in files:
        data = path.read_bytes()
        for form in _secret_forms():
            assert form not in data, f"auth string found in {path}"
