"""The values `prefect deploy` cannot know by itself, computed by a build step of prefect.yaml.

prefect.yaml is static, but the fallback schedule comes from `FALLBACK_SYNC_CRON` (the old
service's 6-field form with seconds must keep working, and Prefect takes 5 fields), its time zone
from `TIMEZONE`, and a worker must find the code where the clone is. The build step runs once at
deploy time on the machine that deploys; its outputs are templated into the schedules and the
pull step. Only these two variables are read: deploying needs no Kimai token.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kimaisync.settings import Settings, cron_for_prefect, validate_cron

DEFAULT_CRON = Settings.model_fields["fallback_sync_cron"].default
DEFAULT_TIMEZONE = Settings.model_fields["timezone"].default


def deploy_values(directory: str | None = None) -> dict[str, str]:
    """`fallback_cron` (5 fields), `timezone` and `directory` (absolute: where the code is)."""
    cron = os.environ.get("FALLBACK_SYNC_CRON", "").strip() or DEFAULT_CRON
    try:
        validate_cron(cron)
    except ValueError as err:
        raise ValueError(f"FALLBACK_SYNC_CRON {cron!r}: {err}; example: FALLBACK_SYNC_CRON='0 0 */2 * * *'") from None
    zone = os.environ.get("TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"TIMEZONE {zone!r} is not an IANA time zone name; "
                         "example: TIMEZONE=Europe/Brussels") from None
    where = Path(directory or os.getcwd()).resolve()
    if not (where / "flows").is_dir():
        raise ValueError(f"{where} holds no flows/ directory: run `prefect deploy` in the project's clone")
    return {"fallback_cron": cron_for_prefect(cron), "timezone": zone, "directory": str(where)}
