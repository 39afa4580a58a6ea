"""`kimai-sync check`: validate the settings and ping both sides, saying plainly what failed."""

from __future__ import annotations

from kimaisync.cli.common import settings_or_exit
from kimaisync.errors import SparqlError, WriterLockUnavailable


def register(sub) -> None:
    p = sub.add_parser("check", help="validate settings and reach the tracker and the triplestore",
                       description="Validates the settings, reaches the configured tracker (Kimai: /api/version "
                                   "and the API user), "
                                   "sends an ASK to the triplestore, reaches the writer lock's database when "
                                   "WRITER_LOCK_DATABASE_URL is set, and the Prefect server (a 401 says the auth "
                                   "string is missing or wrong). Exit 1 when anything fails.")
    p.set_defaults(run=run)


def _check_prefect(settings) -> bool:
    """One line on the Prefect server the verbs would use; True when that is a failure (a 401, or an
    explicit PREFECT_API_URL that does not answer). The auth string is shown as set/unset only."""
    from kimaisync import prefect_server

    auth = "auth string " + ("set" if prefect_server.client_auth(settings) else "unset")
    url = settings.prefect_api_url or prefect_server.local_api_url(settings)
    found = prefect_server.probe(url, prefect_server.client_auth(settings), timeout=5)
    if found.up:
        print(f"prefect: ok, {found.detail} ({auth})")
        return False
    if found.state == "unauthorized":
        print(f"prefect: FAILED: {found.detail}")
        return True
    if settings.prefect_api_url:
        print(f"prefect: FAILED: PREFECT_API_URL does not answer: {found.detail} ({auth})")
        return True
    print(f"prefect: no server at {url} (PREFECT_API_URL unset): the verbs start a temporary one; "
          "`kimai-sync serve` runs one")
    return False


def run(args) -> int:
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.trackers import open_tracker

    settings = settings_or_exit()
    if settings is None:
        return 2
    print(f"settings: ok ({settings.describe()})")
    for var, value in settings.shown():
        print(f"  {var}={value}")
    failed = False

    with open_tracker(settings) as tracker:
        for ok, line in tracker.check():
            failed = failed or not ok
            print(f"{tracker.name}: {line}")

    sparql = SparqlClient.from_settings(settings)
    sparql.retries = 0
    try:
        sparql.ask("ASK { }")
        print(f"triplestore: ok ({settings.sparql_query_url})")
    except SparqlError as err:
        failed = True
        print(f"triplestore: FAILED: {err}")

    if settings.writer_lock_dsn:
        from kimaisync.pg_lock import probe, where

        try:
            free = probe(settings.writer_lock_dsn)
            print(f"writer lock: ok (PostgreSQL {where(settings.writer_lock_dsn)}; "
                  + ("free)" if free else "held by a sync writing work logs right now)"))
        except WriterLockUnavailable as err:
            failed = True
            print(f"writer lock: FAILED: {err}")

    failed = _check_prefect(settings) or failed
    print("all is well" if not failed else "check FAILED")
    return 1 if failed else 0
