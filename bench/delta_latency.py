"""Benchmark: from `POST /delta` to the Kimai write, with `kimai-sync serve` on this machine.

Starts a Prefect server, Oxigraph and the Kimai emulator on free local ports, then
`kimai-sync serve` against them; sends one delta per new work log, one after the other, and
times each from the POST to the moment the emulator received that work log's timesheet.
Prints p50/p95 (and the first, cold, one apart). Not a test: it asserts nothing.

    .venv/bin/python bench/delta_latency.py --deltas 30
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import world  # noqa: E402 - beside this script

CAL = "http://www.w3.org/2002/12/cal/ical#"
TOKEN = "bench-token-0123456789abcdef"


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deltas", type=int, default=30)
    ap.add_argument("--pause", type=float, default=0.0, help="seconds between one delta's Kimai write and the next")
    args = ap.parse_args()

    import httpx

    from emulators.kimai2.server import EmulatorServer
    from emulators.kimai2.state import KimaiState
    from kimaisync.fixtures import TimekeeperData
    from kimaisync.marker import marker_of
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer, free_port

    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        state = KimaiState()
        state.add_user("bot", roles=["ROLE_SUPER_ADMIN"], api_token=TOKEN, timezone="Europe/Brussels")
        user = state.add_user("lotte", timezone="Europe/Brussels")
        project = state.add_project("P", state.add_customer("C").id)
        activity = state.add_activity("General", project.id)
        with world.prefect_server(Path(home)):  # PREFECT_API_URL names it from here on
            api = os.environ["PREFECT_API_URL"]
            with OxigraphServer() as ox, EmulatorServer(state) as kimai:
                sparql = SparqlClient(ox.query_url, ox.update_url)
                tk = TimekeeperData()
                task = tk.activity(activity.id, tk.project(project.id, "P"), "General")
                person = tk.person("Lotte", user.id)
                tk.load(sparql)
                rport = free_port()
                log = Path(home) / "serve.log"
                serve_env = {**env, "PREFECT_API_URL": api, "API_TOKEN": TOKEN,
                             "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": ox.query_url,
                             "MU_SPARQL_UPDATE_ENDPOINT": ox.update_url,
                             "KIMAI_GRAPH": "http://mu.semte.ch/graphs/kimai",
                             "TIMEKEEPER_GRAPH": "http://mu.semte.ch/graphs/redpencil"}
                serve = subprocess.Popen([str(bin_dir / "kimai-sync"), *(["-v"] if os.environ.get("KEEP_SERVE_LOG") else []), "serve", "--port", str(rport)], env=serve_env,
                                         stdout=log.open("w"), stderr=subprocess.STDOUT)
                try:
                    wait_for(lambda: "receiver on" in log.read_text(), 120, "kimai-sync serve")
                    times, answers = [], []
                    load_before = os.getloadavg()[0]
                    # One client for every POST, made before the clock starts (a new httpx client per
                    # POST loads the CA bundle first: tens of ms that are the sender's, not ours).
                    poster = httpx.Client(timeout=30)
                    for i in range(args.deltas):
                        day = dt.date(2025, 3, 3) + dt.timedelta(days=i)
                        iri = tk.work_log(person, task, day, "PT2H")
                        tk.load(sparql)
                        uid = iri.rsplit("/", 1)[1]
                        body = [{"inserts": [{"subject": {"type": "uri", "value": iri},
                                              "predicate": {"type": "uri", "value": CAL + "duration"},
                                              "object": {"type": "literal", "value": "PT2H"}}], "deletes": []}]
                        answer: list = []

                        def send(body=body, answer=answer):
                            answer.append(poster.post(f"http://127.0.0.1:{rport}/delta", json=body))
                            answer.append(time.perf_counter())

                        post = threading.Thread(target=send)
                        t0 = time.perf_counter()
                        post.start()  # the answer and the write are independent: time each
                        wait_for(lambda: any(marker_of(t.description) == uid for t in list(state.timesheets.values())),
                                 60, "the Kimai write")
                        times.append(time.perf_counter() - t0)
                        post.join()
                        answers.append(answer[1] - t0)
                        assert answer and answer[0].status_code == 204, answer
                        time.sleep(args.pause)
                    poster.close()
                    load_after = os.getloadavg()[0]
                finally:
                    serve.send_signal(signal.SIGTERM)
                    serve.wait(60)
                    if os.environ.get("KEEP_SERVE_LOG"):
                        Path(os.environ["KEEP_SERVE_LOG"]).write_text(log.read_text())
    warm = sorted(times[1:])
    p50 = statistics.median(warm)
    p95 = warm[min(len(warm) - 1, int(round(0.95 * (len(warm) - 1))))]
    print(f"deltas: {len(times)}, {args.pause} s apart; first (cold) {times[0]:.3f} s; then p50 {p50:.3f} s, p95 {p95:.3f} s, "
          f"max {warm[-1]:.3f} s (POST /delta -> Kimai write, kimai-sync serve, Prefect server on SQLite); "
          f"the 204 itself: p50 {statistics.median(answers):.3f} s, max {max(answers):.3f} s; "
          f"load average {load_before:.1f} before, {load_after:.1f} after ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
