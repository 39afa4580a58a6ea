"""`kimai-sync check`: validate the settings and ping both sides, saying plainly what failed."""

from __future__ import annotations

from kimaisync.cli.common import settings_or_exit
from kimaisync.errors import KimaiError, SparqlError, WriterLockUnavailable


def register(sub) -> None:
    p = sub.add_parser("check", help="validate settings and reach Kimai and the triplestore",
                       description="Validates the settings, asks Kimai for /api/version and the API user, "
                                   "sends an ASK to the triplestore, and reaches the writer lock's database when "
                                   "WRITER_LOCK_DATABASE_URL is set. Exit 1 when anything fails.")
    p.set_defaults(run=run)


def run(args) -> int:
    from kimaisync.trackers.kimai2 import KimaiClient
    from kimaisync.sparql.client import SparqlClient

    settings = settings_or_exit()
    if settings is None:
        return 2
    print(f"settings: ok ({settings.describe()})")
    for var, value in settings.shown():
        print(f"  {var}={value}")
    failed = False

    with KimaiClient.from_settings(settings) as kimai:
        try:
            version = kimai.version()
            me = kimai.me()
            print(f"kimai: ok, version {version.get('version', '?')}, API user {me.username!r} "
                  f"(id {me.id}, timezone {me.timezone})")
        except KimaiError as err:
            failed = True
            print(f"kimai: FAILED: {err}")
        else:
            try:
                users = kimai.users()
                print(f"kimai: can list users ({len(users)}), as the accounts sync needs")
            except KimaiError as err:
                print(f"kimai: warning: cannot list users, the accounts sync will fail: {err}")
            try:
                config = kimai.timesheet_config()
                overlap = config.get("isAllowOverlapping")
                print(f"kimai: timesheet tracking mode {config.get('trackingMode')!r}, overlapping records "
                      f"{'allowed' if overlap else 'refused (the sync lays out days back to back)'}")
            except KimaiError as err:
                print(f"kimai: warning: cannot read /api/config/timesheet: {err}")

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

    print("all is well" if not failed else "check FAILED")
    return 1 if failed else 0
