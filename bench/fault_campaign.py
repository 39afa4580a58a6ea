"""Fault campaign: ONE period sync of N work logs while Kimai fails, measured as it ends, for many seeds.

What runs: the real Prefect flow `flows.worklog_period.sync_work_log_period` (what
`kimai-sync to-kimai START END` runs), on one Prefect test server for all seeds; a run over
10,000 work logs takes about a minute here, so Prefect's own cost is affordable and part of what
is measured. Per seed the Oxigraph store is emptied and loaded with `--work-logs` work logs of
`--people` people over 61 days (bench/world.py, shared with the other benchmarks; every work log
can sync: each person has a Kimai account, each task a Kimai activity), and a fresh Kimai emulator
(in this process, so its state and request log can be read) starts with no timesheets and these
faults on /api/timesheets, drawn from `random.Random(seed)`:

  10% 5xx      500, or a proxy's 502/503 page; nothing committed
   5% timeouts the reply would come after twice KIMAI_TIMEOUT; the client gives up; nothing committed
   3% lost     Kimai commits the write, then the reply is cut off halfway
  429 bursts   three 429s in a row every `--burst-every` requests (Retry-After: 0)

After that one faulty run (no clean follow-up run), it counts from Kimai's state and the store:

  dupl     work logs with more than one timesheet carrying their marker [tk:<uuid>]
  miss     work logs without a timesheet
  wrong    work logs whose one timesheet has another user, project, activity, duration or day, or
           whose dct:identifier in the store (any graph) is not exactly that timesheet's id; plus
           timesheets overlapping an earlier one of the same user; plus strays (timesheets that
           carry no work log's marker: Kimai started empty, so there must be none)
  failed   records the run itself reported as failed (-1: the flow run itself died)
  retries  Kimai requests the client retried (its own count; a create's retry included)
  faults   faults the emulator injected (its request log), and requests it received
  time     wall clock of the flow run

The bar: all zero but retries, faults, requests and time. Exit status 1 when a seed misses it.

`--edits SHARE` (default 0: the campaign above) makes the faulty run update, move and delete
instead of create: a clean run first syncs every work log, then SHARE of them get another
duration (so they and the later ones of their person's day move), SHARE / 2 move a day or two,
and SHARE / 2 are deleted the way mu-cl-resources deletes (their dct:identifier stays behind);
only the run after that is faulty and measured. Then `wrong` also counts deleted work logs still holding a dct:identifier, and a
deleted work log's timesheet left in Kimai is a stray.

Settings are the product's, through its environment variables: KIMAI_TIMEOUT=`--timeout` (0.5 s,
so a timeout costs half a second, not thirty), KIMAI_CONCURRENCY=`--concurrency`, KIMAI_RETRIES
as configured (default 7). One thing is not the product's: the retry waits run on a shorter clock
(`--backoff`, the first wait, normally 0.5 s; the cap keeps its ratio, 60 x), by changing the
defaults of kimaisync.retry.retry_delay for this process. What is retried, how often and in what
order stays the product's own, and the emulator's faults are drawn per request, not per second,
so the shorter clock changes the time, not the outcome. `--backoff 0.5` runs on the real clock.
The emulator adds no latency unless `--latency` says so.

    .venv/bin/python bench/fault_campaign.py --seeds 20 --work-logs 10000
    .venv/bin/python bench/fault_campaign.py --seeds 3 --work-logs 1000     # a quick try
    .venv/bin/python bench/fault_campaign.py --seeds 20 --work-logs 2000 --edits 0.1
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import world

BAR = ("duplicates", "missing", "wrong", "failed")


@dataclass
class Found:
    duplicates: int = 0
    missing: int = 0
    wrong: int = 0
    failed: int = 0
    why: Counter = field(default_factory=Counter)  # what the wrong ones were

    @property
    def clean(self) -> bool:
        return not any(getattr(self, k) for k in BAR)


def stored_ids(sparql) -> dict[str, set[str]]:
    """Every work log's dct:identifier values, whatever graph holds them."""
    out = defaultdict(set)
    for r in sparql.select("PREFIX dct: <http://purl.org/dc/terms/> "
                           "SELECT ?log ?kid WHERE { GRAPH ?g { ?log dct:identifier ?kid } }"):
        out[r["log"]].add(r["kid"])
    return out


def overlapping(sheets) -> int:
    """Timesheets that begin before an earlier-beginning one of the same user has ended."""
    per_user = defaultdict(list)
    for t in sheets:
        per_user[t.user].append(t)
    n = 0
    for ts in per_user.values():
        ts.sort(key=lambda t: (t.begin, t.id))
        reach = None
        for t in ts:
            end = t.end or t.begin
            if reach is not None and t.begin < reach:
                n += 1
            reach = end if reach is None else max(reach, end)
    return n


def check(state, sparql, seeded: world.Seeded, deleted: list[str] = ()) -> Found:
    """Duplicates, missing and wrong, from Kimai's state and the store (`deleted`: work logs deleted before the run)."""
    from kimaisync.marker import marker_of

    with state.lock:
        sheets = list(state.timesheets.values())
    by_marker = defaultdict(list)
    for t in sheets:
        by_marker[marker_of(t.description)].append(t)
    ids = stored_ids(sparql)
    found = Found()
    for iri in seeded.work_logs:
        uuid = seeded.uuids[iri]
        mine = by_marker.get(uuid, [])
        if not mine:
            found.missing += 1
            continue
        if len(mine) > 1:
            found.duplicates += 1
            continue
        t = mine[0]
        user, project, activity, minutes = seeded.expected[uuid]
        problems = [name for name, bad in (
            ("user/project/activity", (t.user, t.project, t.activity) != (user, project, activity)),
            ("duration", t.end is None or (t.end - t.begin).total_seconds() != minutes * 60),
            ("day", t.begin.astimezone(ZoneInfo(t.timezone)).date() != seeded.days[uuid]),
            ("dct:identifier", ids.get(iri, set()) != {str(t.id)}),
        ) if bad]
        found.why.update(problems)
        found.wrong += bool(problems)
    overlaps = overlapping(sheets)
    strays = sum(len(v) for k, v in by_marker.items() if k not in seeded.days)
    dangling = sum(1 for iri in deleted if ids.get(iri))
    found.why.update({"overlap": overlaps, "stray": strays, "dangling id": dangling})
    found.wrong += overlaps + strays + dangling
    found.why = +found.why  # without the zero counts
    return found


ROOM = 15 * 60  # minutes from WORKDAY_START (09:00) to midnight


def edit_store(sparql, seeded: world.Seeded, share: float, rng: random.Random) -> list[str]:
    """Give `share` of the work logs another duration, move `share` / 2 to another day (a day or
    two earlier or later) and delete `share` / 2 (their id stays behind, as mu-cl-resources leaves
    it); `seeded` follows. Returns the deleted IRIs.

    No edit makes a person's day hold more than 15 hours (unless it already did, then it does
    not grow): the layout starts at 09:00 and does not stop at midnight, so a fuller day puts
    records on the next day, and one of more than 24 hours overlaps the next day's records (a
    limit of the planner, not of the fault handling this measures; see the closing report)."""
    from kimaisync.durations import parse_minutes
    from kimaisync.sparql.client import chunked

    totals: Counter = Counter()
    for uuid, (user, _, _, minutes) in seeded.expected.items():
        totals[(user, seeded.days[uuid])] += minutes
    n = int(len(seeded.work_logs) * share)
    changed, moved, deleted = [], [], []
    new: dict[str, str] = {}  # IRI -> the triple that replaces its old value
    for iri in rng.sample(seeded.work_logs, len(seeded.work_logs)):
        uuid = seeded.uuids[iri]
        user, project, activity, minutes = seeded.expected[uuid]
        day = seeded.days[uuid]
        if len(changed) < n:
            room = max(ROOM, totals[(user, day)]) - totals[(user, day)] + minutes
            options = [d for d in world.DURATIONS if parse_minutes(d) != minutes and parse_minutes(d) <= room]
            if options:
                duration = rng.choice(options)
                seeded.expected[uuid] = (user, project, activity, parse_minutes(duration))
                totals[(user, day)] += parse_minutes(duration) - minutes
                new[iri] = f'<{iri}> cal:duration "{duration}" .'
                changed.append(iri)
        elif len(moved) < n // 2:
            days = [d for k in (-2, -1, 1, 2) if world.START <= (d := day + dt.timedelta(days=k)) <= world.END
                    and totals[(user, d)] + minutes <= ROOM]
            if days:
                seeded.days[uuid] = rng.choice(days)
                totals[(user, day)] -= minutes
                totals[(user, seeded.days[uuid])] += minutes
                new[iri] = f'<{iri}> cal:dtstart "{seeded.days[uuid]}"^^xsd:date .'
                moved.append(iri)
        elif len(deleted) < n // 2:
            deleted.append(iri)
        else:
            break
    for part, predicate in ((changed, "cal:duration"), (moved, "cal:dtstart")):
        for chunk in chunked(part, 500):
            values = " ".join(f"<{iri}>" for iri in chunk)
            sparql.update(f"DELETE {{ GRAPH ?g {{ ?log {predicate} ?v }} }} WHERE {{ VALUES ?log {{ {values} }} "
                          f"GRAPH ?g {{ ?log {predicate} ?v }} }} ; INSERT DATA {{ GRAPH <{world.TIMEKEEPER_GRAPH}> "
                          f"{{ {' '.join(new[iri] for iri in chunk)} }} }}")
    for chunk in chunked(deleted, 500):
        values = " ".join(f"<{iri}>" for iri in chunk)
        sparql.update(f"DELETE {{ GRAPH ?g {{ ?log ?p ?o }} }} WHERE {{ VALUES ?log {{ {values} }} "
                      f"GRAPH ?g {{ ?log ?p ?o }} FILTER (?p != dct:identifier) }}")
    gone = set(deleted)
    seeded.work_logs[:] = [iri for iri in seeded.work_logs if iri not in gone]
    for iri in deleted:
        uuid = seeded.uuids.pop(iri)
        del seeded.expected[uuid], seeded.days[uuid]
    return deleted


def shorter_backoff(first_wait: float) -> None:
    """The product's retry_delay, on a shorter clock: every module holding it sees the new defaults."""
    from kimaisync.retry import retry_delay

    retry_delay.__kwdefaults__ = {"base": first_wait, "cap": first_wait * 60}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20, help="how many seeds (runs); default 20")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--work-logs", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=8, help="KIMAI_CONCURRENCY")
    ap.add_argument("--timeout", type=float, default=0.5, help="KIMAI_TIMEOUT; a timeout fault answers after twice this")
    ap.add_argument("--backoff", type=float, default=0.01, help="first retry wait in seconds (the product's: 0.5)")
    ap.add_argument("--latency", type=float, default=0.0, help="emulated seconds per Kimai timesheet request")
    ap.add_argument("--error-rate", type=float, default=0.10)
    ap.add_argument("--timeout-rate", type=float, default=0.05)
    ap.add_argument("--lost-rate", type=float, default=0.03)
    ap.add_argument("--burst-every", type=int, default=400, help="a burst of 429s every this many requests")
    ap.add_argument("--burst-length", type=int, default=3)
    ap.add_argument("--edits", type=float, default=0.0, metavar="SHARE",
                    help="sync cleanly first, then change SHARE of the work logs, move SHARE/2, delete SHARE/2 (see above)")
    args = ap.parse_args()

    os.environ.update(PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false")  # before Prefect
    from prefect.testing.utilities import prefect_test_harness

    from flows.worklog_period import sync_work_log_period
    from emulators.kimai2.server import EmulatorServer
    from emulators.kimai2.state import Faults, KimaiState
    from kimaisync.settings import Settings
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    shorter_backoff(args.backoff)
    retries = os.environ.get("KIMAI_RETRIES") or Settings.model_fields["kimai_retries"].default
    print(f"{args.work_logs} work logs, {args.people} people, KIMAI_CONCURRENCY {args.concurrency}, KIMAI_TIMEOUT "
          f"{args.timeout:g} s, KIMAI_RETRIES {retries}, first retry wait {args.backoff:g} s, latency {args.latency:g} s; faults on "
          f"/api/timesheets: {args.error_rate:.0%} 5xx, {args.timeout_rate:.0%} timeouts, {args.lost_rate:.0%} lost "
          f"responses, {args.burst_length} x 429 every {args.burst_every} requests", flush=True)
    print(f"{'seed':>5} {'dupl':>5} {'miss':>5} {'wrong':>5} {'failed':>6} {'retries':>7} {'faults':>6} "
          f"{'requests':>8} {'time':>7}", flush=True)
    totals, kinds, outcomes, times, bad = Counter(), Counter(), Counter(), [], 0
    with OxigraphServer() as ox, prefect_test_harness(server_startup_timeout=90):
        sparql = SparqlClient(ox.query_url, ox.update_url)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            sparql.update("DROP SILENT ALL")
            seeded = world.seed_timekeeper(sparql, args.work_logs, args.people)
            state = KimaiState.seed_from_dict(world.kimai_seed(args.people))
            campaign = Faults(seed=seed, latency=args.latency, error_rate=args.error_rate,
                              timeout_rate=args.timeout_rate, timeout_delay=2 * args.timeout,
                              lost_response_rate=args.lost_rate, rate_limit_every=args.burst_every,
                              rate_limit_burst=args.burst_length, retry_after=0)
            deleted = []
            with EmulatorServer(state) as emu:
                world.use(emu.url, ox, args.concurrency, KIMAI_TIMEOUT=str(args.timeout))
                if args.edits:
                    first = sync_work_log_period(start=world.START, end=world.END)
                    assert first["counts"]["created"] == args.work_logs, first["counts"]
                    deleted = edit_store(sparql, seeded, args.edits, random.Random(seed))
                    with state.lock:
                        state.requests.clear()
                        state.fault_log.clear()
                state.faults = campaign
                t0 = time.perf_counter()
                try:
                    summary = sync_work_log_period(start=world.START, end=world.END)
                    error = None
                except Exception as exc:  # noqa: BLE001 - a run that dies is a result too
                    summary, error = {"counts": {"failed": -1}, "stats": {}, "failures": []}, exc
                took = time.perf_counter() - t0
                state.faults = Faults()
                found = check(state, sparql, seeded, deleted)
            found.failed = summary["counts"].get("failed", 0)
            with state.lock:
                faults = Counter(r.fault for r in state.requests if r.fault)
                requests = sum(1 for r in state.requests if r.path.startswith("/api/timesheets"))
            retries = summary["stats"].get("kimai_retries", -1)
            bad += not found.clean
            times.append(took)
            kinds.update(faults)
            totals.update({k: max(getattr(found, k), 0) for k in BAR})
            outcomes.update({k: n for k, n in summary["counts"].items() if k != "failed" and n > 0})
            totals.update(retries=max(retries, 0), faults=sum(faults.values()), requests=requests)
            note = ""
            if not found.clean:
                reasons = [f"{r.get('key', '?')}: {r.get('reason', '')}"[:160] for r in summary.get("failures", [])[:3]]
                note = "  <- " + "; ".join(filter(None, [
                    f"flow died: {type(error).__name__}: {str(error)[:200]}" if error else "",
                    ", ".join(f"{n} {k}" for k, n in found.why.items()), *reasons]))
            print(f"{seed:>5} {found.duplicates:>5} {found.missing:>5} {found.wrong:>5} {found.failed:>6} {retries:>7} "
                  f"{sum(faults.values()):>6} {requests:>8} {took:>6.1f}s{note}", flush=True)
    print(f"{args.seeds - bad} of {args.seeds} seeds clean; in all: duplicates {totals['duplicates']}, missing "
          f"{totals['missing']}, wrong {totals['wrong']}, failed {totals['failed']}; retries {totals['retries']}, "
          f"faults {totals['faults']} ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) in "
          f"{totals['requests']} requests; outcomes {', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))}; "
          f"run time mean {sum(times) / len(times):.1f} s, max {max(times):.1f} s, "
          f"total {sum(times) / 60:.1f} min", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
