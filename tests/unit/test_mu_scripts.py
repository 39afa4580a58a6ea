"""The `mu script` commands send what the old service's scripts sent, to the same routes.

Each script runs as mu-cli runs it (its folder as the working directory, `./run ARGS`) against a
recording HTTP server standing in for the service (KIMAI_SYNC_URL; in a stack it is
http://kimai-sync). config.json is in mu-cli's format and names every script that exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture
def service():
    seen: list[tuple[str, str, str | None, bytes]] = []
    status = {"code": 204}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(("POST", self.path, self.headers.get("Content-Type"), body))
            self.send_response(status["code"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen, status
    server.shutdown()
    server.server_close()


def run(url: str, command: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["./run", *args], cwd=SCRIPTS / command, env=dict(os.environ, KIMAI_SYNC_URL=url),
                          capture_output=True, text=True, timeout=30)


def test_config_names_each_script_in_mu_clis_format():
    config = json.loads((SCRIPTS / "config.json").read_text())
    assert config["version"] in ("0.1", "0.2")
    commands = {}
    for script in config["scripts"]:
        env = script["environment"]
        assert "image" not in env  # the service's own image: it has Python, and no other image is pulled
        assert env["join_networks"] is True and (SCRIPTS / env["script"]).is_file()
        assert os.access(SCRIPTS / env["script"], os.X_OK)
        commands[script["documentation"]["command"]] = script["documentation"]["arguments"]
    assert commands == {"from-kimai": [], "to-kimai": ["start", "end"], "lock-timesheets": ["month", "year"]}


def test_lock_timesheets_posts_month_and_year_as_strings(service):
    url, seen, _ = service
    done = run(url, "lock-timesheets", "3", "2025")
    assert done.returncode == 0, done.stderr
    assert [(m, p, t) for m, p, t, _ in seen] == [("POST", "/timesheets/lock", "application/vnd.api+json")]
    assert json.loads(seen[0][3]) == {"year": "2025", "month": "3"}


def test_to_kimai_posts_the_period(service):
    url, seen, _ = service
    assert run(url, "to-kimai", "2025-03-01", "2025-03-31").returncode == 0
    assert [(p, t) for _, p, t, _ in seen] == [("/sync-to-kimai/work-logs", "application/vnd.api+json")]
    assert json.loads(seen[0][3]) == {"start": "2025-03-01", "end": "2025-03-31"}


def test_from_kimai_posts_accounts_customers_tasks_in_that_order(service):
    url, seen, _ = service
    assert run(url, "from-kimai").returncode == 0
    assert [p for _, p, _, _ in seen] == ["/sync-from-kimai/accounts", "/sync-from-kimai/customers",
                                          "/sync-from-kimai/tasks"]


def test_a_refusal_and_missing_arguments_are_said_and_fail(service):
    url, seen, status = service
    status["code"] = 400
    done = run(url, "to-kimai", "2025-13-01", "2025-03-31")
    assert done.returncode == 1 and "400" in done.stderr
    done = run(url, "lock-timesheets", "3")
    assert done.returncode == 2 and "usage: mu script kimai-sync lock-timesheets" in done.stderr
    assert len(seen) == 1
