"""Peak memory of the period flow over 100,000 work logs.

Loads N work logs (default 100,000) into Oxigraph (the same data as bench/period_push.py,
from bench/world.py; loaded from a child process, so this process's heap holds nothing of the
seeding) and seeds the Kimai emulator (its own process, latency 0), starts a Prefect server in
a process of its own (`--harness`: Prefect's test harness instead, which imports the server's
modules into this process, about 80 MiB), then runs the period flow in this process, as a
worker would. For each run it prints the time taken and the peak resident memory of that
run alone (the kernel's high-water mark is reset before it, /proc/self/clear_refs), beside
what the process held before, and what it still holds after (also once glibc returned its free
memory, malloc_trim: what stays is held by Python, not merely cached by the allocator):

- always: a dry run (read both sides, plan, report; no Kimai write);
- `--push`: the real push, then a no-op rerun;
- `--tracemalloc`: instead, the flow's steps as plain calls (no Prefect) under tracemalloc
  (read and plan; with `--push` the writes, read-back, report and reconciliation too):
  Python's own peak per step, what each result holds, and the lines that allocated what is
  held at the end (slow: tracemalloc about doubles the time of the steps it watches).

Not a test: it asserts nothing.

    .venv/bin/python bench/memory_100k.py                 # read + plan + report
    .venv/bin/python bench/memory_100k.py --push          # and every write, and a rerun
    .venv/bin/python bench/memory_100k.py --tracemalloc   # where the memory of read + plan goes
    .venv/bin/python bench/memory_100k.py --tracemalloc --push --work-logs 20000   # and of a push
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import tempfile
import time
from pathlib import Path

import world

MiB = 2**20


def rss_mib() -> float:
    """Current resident memory of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MiB


def hwm_mib() -> float:
    """Peak resident memory since the last reset_hwm() (or since the start)."""
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) / 1024


def reset_hwm() -> bool:
    """Reset the kernel's high-water mark of this process to its current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measured(what: str, run, can_reset: bool):
    """Run `run()`; print its time and this run's peak RSS (the process's, if it cannot be reset)."""
    import gc

    gc.collect()
    before = rss_mib()
    can_reset and reset_hwm()
    t0 = time.perf_counter()
    result = run()
    took = time.perf_counter() - t0
    peak = hwm_mib() if can_reset else world.peak_rss_mib()
    print(f"{what}: {took:.1f} s; peak RSS {peak:.0f} MiB ({peak - before:+.0f} MiB over the "
          f"{before:.0f} MiB held before{'' if can_reset else '; the peak is the process lifetime’s'})", flush=True)
    gc.collect()
    after = rss_mib()
    trimmed = malloc_trim()
    print(f"  held after it: {after:.0f} MiB" + (f", {rss_mib():.0f} MiB once the C allocator gave back its free "
                                                 f"memory (malloc_trim)" if trimmed else ""), flush=True)
    return result


def malloc_trim() -> bool:
    """Ask glibc to return freed memory to the system: what stays is held, not merely cached."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


def _seed(query_url: str, update_url: str, work_logs: int, people: int) -> None:
    from kimaisync.sparql.client import SparqlClient

    world.seed_timekeeper(SparqlClient(query_url, update_url), work_logs, people)


def seed_in_child(ox, work_logs: int, people: int) -> None:
    proc = multiprocessing.get_context("spawn").Process(target=_seed, args=(ox.query_url, ox.update_url,
                                                                             work_logs, people))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"seeding the store failed (exit code {proc.exitcode})")


def deep_size_mib(obj) -> float:
    """What an object graph holds (each object once; classes, modules and functions not followed)."""
    import gc
    import sys
    import types

    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    seen, todo, total = set(), [obj], 0
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, skip):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        todo.extend(gc.get_referents(o))
    return total / MiB


def traced_steps(push: bool, top: int) -> None:
    """The flow's steps as plain calls (no Prefect) under tracemalloc: for each, its time, Python's
    peak over what was held before it, and what its result holds; then the lines that allocated
    what is held at the end. Read and plan; with `push` also the writes, the read-back, the report
    and the reconciliation of hours (what the flow does after the plan)."""
    import tracemalloc

    from flows.worklog_period import plan_options
    from kimaisync.rdf.graphs import Graphs
    from kimaisync.reconcile import reconciliation
    from kimaisync.settings import load_settings
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.trackers import open_tracker
    from kimaisync.worklog_report import work_log_report
    from tasks.worklogs import (list_entries, list_kimai_timesheets, plan_work_logs, read_kimai_period,
                                read_timekeeper_period, sync_work_logs)

    settings = load_settings()
    sparql = SparqlClient.from_settings(settings)
    start, end = world.START, world.END
    tracemalloc.start()
    kept: dict = {}
    with open_tracker(settings) as kimai:
        steps = [
            ("Timekeeper snapshot", "snap", lambda: read_timekeeper_period.fn(sparql, settings, start, end, kimai)),
            ("Kimai listing", "listed", lambda: list_kimai_timesheets.fn(kimai, start, end)),
            ("Kimai side (users, held)", "kimai",
             lambda: read_kimai_period.fn(kimai, kept["snap"], start, end, listed=kept["listed"])),
            ("plan", "plan", lambda: plan_work_logs.fn(sparql, kept["snap"], kept["kimai"],
                                                       plan_options(settings, kimai, period=(start, end), force=False),
                                                       kimai)),
        ]
        if push:
            steps += [
                ("Kimai writes + ids recorded", "outcomes",
                 lambda: sync_work_logs(kept["plan"], kimai, sparql, Graphs.from_settings(settings),
                                        concurrency=settings.kimai_concurrency, plain=True)),
                ("Kimai read back", "after", lambda: list_entries(kimai, kept["snap"], start, end)[0]),
                ("report", "report", lambda: work_log_report("bench", kept["outcomes"], kept["plan"], dry_run=False,
                                                             tracker=kimai, names=kept["snap"].person_names)),
                ("reconciliation of hours", "hours",
                 lambda: reconciliation(kept["snap"], kept["after"], kept["kimai"].users, period=(start, end),
                                        default_zone=settings.timezone)),
            ]
        for what, key, step in steps:
            tracemalloc.reset_peak()
            held = tracemalloc.get_traced_memory()[0]
            t0 = time.perf_counter()
            kept[key] = step()
            took = time.perf_counter() - t0
            now, peak = tracemalloc.get_traced_memory()
            print(f"  {what}: {took:.1f} s (traced); Python peak {(peak - held) / MiB:+.0f} MiB over what was held, "
                  f"result holds {(now - held) / MiB:.0f} MiB traced, {deep_size_mib(kept[key]):.0f} MiB by size",
                  flush=True)
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(s.size for s in snapshot.statistics("filename"))
    print(f"  all of it held at the end: {total / MiB:.0f} MiB traced; the lines that allocated most of it:")
    for stat in snapshot.statistics("lineno")[:top]:
        frame = stat.traceback[0]
        print(f"    {stat.size / MiB:6.1f} MiB in {stat.count:>8} blocks  {frame.filename.split('/work/main/')[-1]}"
              f":{frame.lineno}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=100_000)
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--push", action="store_true", help="write to Kimai too (and rerun)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="instead of the flow runs, its steps as plain calls under tracemalloc")
    ap.add_argument("--top", type=int, default=12, help="lines listed by --tracemalloc")
    ap.add_argument("--harness", action="store_true",
                    help="Prefect's test harness in this process (it imports the server's modules into it) "
                         "instead of a Prefect server of its own")
    args = ap.parse_args()

    from kimaisync.triplestores import OxigraphServer

    can_reset = reset_hwm()
    with tempfile.TemporaryDirectory() as tmp, OxigraphServer() as ox:
        seed = Path(tmp) / "kimai.json"
        seed.write_text(json.dumps(world.kimai_seed(args.people)))
        emu, url = world.start_emulator(str(seed), 0.0, Path(tmp) / "emulator.log")
        try:
            t0 = time.perf_counter()
            seed_in_child(ox, args.work_logs, args.people)
            print(f"{args.work_logs} work logs of {args.people} people loaded into Oxigraph in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            world.use(url, ox, args.concurrency)  # before Prefect is imported: its logging settings
            if args.tracemalloc:
                print(f"the flow's steps as plain calls under tracemalloc ({'push' if args.push else 'read + plan'}):",
                      flush=True)
                traced_steps(args.push, args.top)
                return
            if args.harness:
                from prefect.testing.utilities import prefect_test_harness

                server = prefect_test_harness(server_startup_timeout=90)
            else:
                server = world.prefect_server(Path(tmp) / "prefect")
            period = dict(start=world.START, end=world.END)
            with server:
                from flows.worklog_period import sync_work_log_period

                sync_work_log_period(start=world.START, end=world.START, dry_run=True)  # warm up: imports, server
                dry = measured("dry run (read both sides, plan, report)",
                               lambda: sync_work_log_period(**period, dry_run=True), can_reset)
                print(f"  planned: {', '.join(f'{n} {k}' for k, n in sorted(dry['counts'].items()) if n)}")
                if args.push:
                    push = measured("push (emulator latency 0)", lambda: sync_work_log_period(**period), can_reset)
                    print(f"  created {push['counts']['created']}, failed {push['counts']['failed']}, "
                          f"Kimai requests {push['stats']['kimai_requests']}")
                    again = measured("no-op rerun", lambda: sync_work_log_period(**period), can_reset)
                    print(f"  unchanged {again['counts']['unchanged']}, Kimai writes "
                          f"{again['counts']['created'] + again['counts']['updated'] + again['counts']['deleted']}")
            print(f"peak RSS of this process over everything: {world.peak_rss_mib():.0f} MiB", flush=True)
        finally:
            emu.terminate()
            emu.wait(timeout=10)


if __name__ == "__main__":
    main()
