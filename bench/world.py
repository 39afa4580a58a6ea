"""What the benchmarks share: a seeded Kimai, N work logs in Oxigraph, the settings that join them.

The data is the same everywhere: `people` people with a Kimai account each, 10 projects of 4
activities, work logs spread over 61 days from 2025-03-01 in five durations (PT45M to PT4H15M)
that each person's days mix, so a day holds a few of them, the layout matters, and no day
holds more than 24 hours (100,000 work logs of 200 people make about 8 a day, some 20 hours).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "bench-token-0123456789abcdef"
START = dt.date(2025, 3, 1)
DAYS = 61
END = START + dt.timedelta(days=DAYS - 1)
PROJECTS, PER_PROJECT = 10, 4
DURATIONS = ["PT1H", "PT2H30M", "PT45M", "PT3H", "PT4H15M"]
KIMAI_GRAPH = "http://mu.semte.ch/graphs/kimai"
TIMEKEEPER_GRAPH = "http://mu.semte.ch/graphs/redpencil"


def kimai_seed(people: int, projects: int = PROJECTS, activities_per_project: int = PER_PROJECT) -> dict:
    """The emulator's seed: an admin API user, `people` users, the projects and activities."""
    users = [{"id": 1, "username": "sync-bot", "roles": ["ROLE_SUPER_ADMIN"], "api_token": TOKEN,
              "timezone": "Europe/Brussels"}]
    users += [{"id": 100 + i, "username": f"person{i}", "timezone": "Europe/Brussels"} for i in range(people)]
    acts, aid = [], 1
    for p in range(1, projects + 1):
        for _ in range(activities_per_project):
            acts.append({"id": aid, "name": f"Activity {aid}", "project": p})
            aid += 1
    return {"config": {"allow_overlapping": False}, "users": users,
            "customers": [{"id": 1, "name": "Customer"}],
            "projects": [{"id": p, "name": f"Project {p}", "customer": 1} for p in range(1, projects + 1)],
            "activities": acts}


def start_emulator(seed_file: str, latency: float, log: Path) -> tuple[subprocess.Popen, str]:
    """The emulator in its own process (its own interpreter lock), logging to a file."""
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "emulators.kimai2", "--seed", seed_file, "--latency", str(latency)],
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    for _ in range(300):
        text = log.read_text()
        if "listening on" in text:
            return proc, text.split("listening on", 1)[1].split()[0]
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited:\n{text}")
        time.sleep(0.05)
    raise RuntimeError("the emulator did not start")


@dataclass
class Seeded:
    work_logs: list[str]  # IRIs
    uuids: dict[str, str]  # IRI -> mu:uuid
    expected: dict[str, tuple[int, int, int, int]]  # uuid -> (Kimai user, project, activity, minutes)
    days: dict[str, dt.date]  # uuid -> the work log's date


def seed_timekeeper(sparql, work_logs: int, people: int) -> Seeded:
    """`work_logs` work logs of `people` people in the store, and what each must become in Kimai."""
    from kimaisync.durations import parse_minutes
    from kimaisync.fixtures import TimekeeperData

    tk = TimekeeperData()
    tasks = []
    for p in range(1, PROJECTS + 1):
        proj = tk.project(p, f"Project {p}")
        tasks += [(tk.activity((p - 1) * PER_PROJECT + a + 1, proj, f"Activity {a}"), p, (p - 1) * PER_PROJECT + a + 1)
                  for a in range(PER_PROJECT)]
    persons = [tk.person(f"Person {i}", 100 + i) for i in range(people)]
    iris, uuids, expected, days = [], {}, {}, {}
    for i in range(work_logs):
        task, project, activity = tasks[i % len(tasks)]
        duration = DURATIONS[(i + i // people) % len(DURATIONS)]  # each person's days mix them (under 24 h)
        day = START + dt.timedelta(days=(i // people) % DAYS)
        iri = tk.work_log(persons[i % people], task, day, duration)
        uuid = iri.rsplit("/", 1)[1]
        iris.append(iri)
        uuids[iri] = uuid
        expected[uuid] = (100 + i % people, project, activity, parse_minutes(duration))
        days[uuid] = day
    tk.load(sparql)
    return Seeded(iris, uuids, expected, days)


def use(kimai_url: str, oxigraph, concurrency: int, **extra: str) -> None:
    """Point the sync's settings (environment variables, as in production) at these servers."""
    os.environ.update(API_TOKEN=TOKEN, KIMAI_ENDPOINT=kimai_url, MU_SPARQL_ENDPOINT=oxigraph.query_url,
                      MU_SPARQL_UPDATE_ENDPOINT=oxigraph.update_url, KIMAI_GRAPH=KIMAI_GRAPH,
                      TIMEKEEPER_GRAPH=TIMEKEEPER_GRAPH, KIMAI_CONCURRENCY=str(concurrency),
                      PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def prefect_server(home: Path):
    """A Prefect server in a process of its own (`prefect server start`, SQLite under `home`), and
    PREFECT_API_URL pointing at it: the measuring process then holds what a worker holds, not the
    server's modules that Prefect's test harness imports into it. Call before Prefect is imported."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the Prefect server did not start")
            time.sleep(0.5)
        os.environ.update(PREFECT_API_URL=f"http://127.0.0.1:{port}/api", PREFECT_HOME=str(home))
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def warm_up() -> None:
    """One empty flow run on the fresh Prefect server before the clock starts.

    A new server answers its first requests slowly (its database and query caches are cold).
    `serve`, workers and `prefect server start` talk to a server that has long been up; the push
    is measured against one like that."""
    from prefect import flow

    @flow(name="bench-warm-up")
    def nothing() -> None:
        return None

    nothing()


def push_twice(start, end) -> tuple[dict, float, dict, float]:
    """The period flow over start..end, then again with nothing to do (the no-op rerun): each
    summary and its seconds. Run inside a Prefect server (the harness), after `warm_up`."""
    from flows.worklog_period import sync_work_log_period

    t0 = time.perf_counter()
    first = sync_work_log_period(start=start, end=end)
    push = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = sync_work_log_period(start=start, end=end)
    return first, push, again, time.perf_counter() - t0
