"""Settings from the environment, under the old service's variable names.

An existing semantic.works stack keeps its docker-compose environment: `API_TOKEN`,
`KIMAI_ENDPOINT`, `DEFAULT_MU_AUTH_SCOPE`, ... A missing or invalid value fails at start with
one line per problem that names the variable, says what was wrong and gives an example.

`TRACKER` selects the time tracker (`kimai`, the default, is Kimai 2). Each tracker's settings
have names of their own and are required only when that tracker is selected
(`REQUIRED_BY_TRACKER`); Kimai 2's are the old service's `API_TOKEN` and `KIMAI_ENDPOINT`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (AnyHttpUrl, Field, ModelWrapValidatorHandler, SecretStr, ValidationError, ValidationInfo,
                      field_validator, model_validator)
from pydantic_core import ErrorDetails, InitErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from kimaisync.errors import ConfigurationError
from kimaisync.inputs import InputLimits
from kimaisync.pg_lock import plain_dsn
from kimaisync.pg_lock import where as lock_where

DEFAULT_RESOURCE_BASE_URI = "http://timekeeper.redpencil.io"
DEFAULT_WORKSPACE_URI = "http://timekeeper.redpencil.io/workspaces/7530c9c9-4905-4fae-b63f-7a8d29232377"
DEFAULT_KIMAI_ACCOUNT_SERVICE_HOMEPAGE = "http://kimai.redpencil.io"
DEFAULT_TIMI_ENDPOINT = "https://timiapp.com/api/v1"
DEFAULT_TIMI_ACCOUNT_SERVICE_HOMEPAGE = "https://timiapp.com"

TrackerName = Literal["kimai", "egroupware", "timi", "kimai1"]  # the keys of kimaisync.trackers.TRACKERS

# Settings a tracker cannot start without (field names); required only when it is the TRACKER.
REQUIRED_BY_TRACKER: dict[str, tuple[str, ...]] = {
    "kimai": ("api_token", "kimai_endpoint"),
    "egroupware": ("egroupware_url", "egroupware_user", "egroupware_password"),
    "timi": ("timi_credentials_file",),
    "kimai1": ("kimai1_endpoint", "kimai1_user", "kimai1_password"),
}

EXAMPLES = {
    "TRACKER": "TRACKER=kimai (or: egroupware, timi, kimai1)",
    "KIMAI1_ENDPOINT": "KIMAI1_ENDPOINT=https://kimai.example.org/core/json.php",
    "KIMAI1_USER": "KIMAI1_USER=<a Kimai 1 login that may list users, e.g. an admin>",
    "KIMAI1_PASSWORD": "KIMAI1_PASSWORD=<that login's password>",
    "KIMAI1_CREDENTIALS_FILE": "KIMAI1_CREDENTIALS_FILE=/run/secrets/kimai1.json (chmod 600; {\"ann\": \"s3cret\"})",
    "API_TOKEN": "API_TOKEN=<the token from your Kimai profile, 'API tokens'>",
    "KIMAI_ENDPOINT": "KIMAI_ENDPOINT=https://kimai.example.org/api",
    "TIMI_ENDPOINT": f"TIMI_ENDPOINT={DEFAULT_TIMI_ENDPOINT}",
    "TIMI_CREDENTIALS_FILE": "TIMI_CREDENTIALS_FILE=/run/secrets/timi.json (mode 600; {\"ann@example.org\": \"<her token>\"})",
    "TIMI_ACCOUNT_SERVICE_HOMEPAGE": f"TIMI_ACCOUNT_SERVICE_HOMEPAGE={DEFAULT_TIMI_ACCOUNT_SERVICE_HOMEPAGE}",
    "FALLBACK_SYNC_CRON": "FALLBACK_SYNC_CRON='0 0 */2 * * *'",
    "RESOURCE_BASE_URI": "RESOURCE_BASE_URI=http://timekeeper.redpencil.io",
    "WORKSPACE_URI": f"WORKSPACE_URI={DEFAULT_WORKSPACE_URI}",
    "KIMAI_ACCOUNT_SERVICE_HOMEPAGE": "KIMAI_ACCOUNT_SERVICE_HOMEPAGE=http://kimai.redpencil.io",
    "EGROUPWARE_URL": "EGROUPWARE_URL=https://egw.example.org/egroupware/groupdav.php",
    "EGROUPWARE_USER": "EGROUPWARE_USER=timekeeper-sync",
    "EGROUPWARE_PASSWORD": "EGROUPWARE_PASSWORD=<the user's password, or an app token for all users: token<id>_...>",
    "EGROUPWARE_ACCOUNT_SERVICE_HOMEPAGE": "EGROUPWARE_ACCOUNT_SERVICE_HOMEPAGE=https://egw.example.org",
    "EGROUPWARE_MIRROR_DIR": "EGROUPWARE_MIRROR_DIR=/data/egroupware-mirror",
    "MU_SPARQL_ENDPOINT": "MU_SPARQL_ENDPOINT=http://database:8890/sparql",
    "MU_SPARQL_UPDATE_ENDPOINT": "MU_SPARQL_UPDATE_ENDPOINT=http://127.0.0.1:7878/update",
    "KIMAI_GRAPH": "KIMAI_GRAPH=http://mu.semte.ch/graphs/kimai",
    "TIMEKEEPER_GRAPH": "TIMEKEEPER_GRAPH=http://mu.semte.ch/graphs/redpencil",
    "TIMEZONE": "TIMEZONE=Europe/Brussels",
    "WORKDAY_START": "WORKDAY_START=09:00",
    "KIMAI_CONCURRENCY": "KIMAI_CONCURRENCY=4",
    "DELETE_SCOPE": "DELETE_SCOPE=created (or: linked, all)",
    "DELETE_GUARD_SHARE": "DELETE_GUARD_SHARE=0.2",
    "KIMAI_TIMEOUT": "KIMAI_TIMEOUT=30",
    "SPARQL_TIMEOUT": "SPARQL_TIMEOUT=60",
    "WRITER_LOCK_DATABASE_URL": "WRITER_LOCK_DATABASE_URL=postgresql://kimai_sync:<password>@db-host:5432/prefect",
    "PREFECT_API_URL": "PREFECT_API_URL=http://prefect:4200/api",
    "PREFECT_SERVER_API_PORT": "PREFECT_SERVER_API_PORT=4200",
    "PREFECT_SERVER_API_AUTH_STRING": "PREFECT_SERVER_API_AUTH_STRING=operator:<a long random password>",
    "PREFECT_API_AUTH_STRING": "PREFECT_API_AUTH_STRING=operator:<the server's PREFECT_SERVER_API_AUTH_STRING>",
    "RUN_RETENTION_DAYS": "RUN_RETENTION_DAYS=90 (0 keeps every run)",
    "RECEIVER_HOST": "RECEIVER_HOST=0.0.0.0",
    "RECEIVER_PORT": "RECEIVER_PORT=80",
    "RECEIVER_GRACE_SECONDS": "RECEIVER_GRACE_SECONDS=60",
    "RECEIVER_HEADER_TIMEOUT": "RECEIVER_HEADER_TIMEOUT=10",
    "RECEIVER_BODY_TIMEOUT": "RECEIVER_BODY_TIMEOUT=60",
    "YEAR_MIN": "YEAR_MIN=2000",
    "YEAR_MAX": "YEAR_MAX=2100",
}

MIN_RECEIVER_GRACE = 20.0  # runners and workers take runs due within 10 s; a renewal every grace/4 must stay ahead


def validate_cron(expr: str) -> str:
    """A cron expression Prefect can run: 5 fields, or the old service's 6 with a leading seconds
    field that must be 0 (Prefect fires on the minute; other seconds would be silently lost)."""
    from cronsim import CronSim, CronSimError

    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValueError(f"not a cron expression: expected 5 fields (or 6 with seconds first), got {len(fields)}")
    if len(fields) == 6 and fields[0] not in ("0", "00"):
        raise ValueError(f"the seconds field must be 0 (runs start on the minute), not {fields[0]!r}")
    try:
        CronSim(" ".join(fields[-5:]), dt.datetime(2025, 1, 1))
    except CronSimError as err:
        raise ValueError(f"not a cron expression: {str(err).lower() or 'invalid'}") from None
    return expr


def cron_for_prefect(expr: str) -> str:
    """Prefect takes 5 fields: drop a leading seconds field (it only ever says 'on the minute')."""
    fields = expr.split()
    return " ".join(fields[1:]) if len(fields) == 6 else expr


class Settings(BaseSettings):
    """All configuration. Field names are the environment variable names, lower-cased."""

    # hide_input_in_errors: pydantic's own message would quote every rejected value, the token too
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_file=None, hide_input_in_errors=True)

    tracker: TrackerName = "kimai"
    # Kimai 2 (TRACKER=kimai): required then, see REQUIRED_BY_TRACKER.
    api_token: SecretStr | None = None
    kimai_endpoint: AnyHttpUrl | None = None
    kimai_api_user: str | None = None
    # EGroupware (TRACKER=egroupware): the groupdav.php base, and one credential for every person's
    # collection (a password with grants, or an app token for all users).
    egroupware_url: AnyHttpUrl | None = None
    egroupware_user: str | None = None
    egroupware_password: SecretStr | None = None
    egroupware_account_service_homepage: str | None = None  # default: the origin of EGROUPWARE_URL
    # Where each person's collection is kept between runs, so the next run reads only what changed
    # (kimaisync/trackers/egroupware/mirror.py); unset: every run reads each collection whole.
    egroupware_mirror_dir: str | None = None
    fallback_sync_cron: str = "0 0 */2 * * *"
    resource_base_uri: str = DEFAULT_RESOURCE_BASE_URI
    workspace_uri: str = DEFAULT_WORKSPACE_URI
    kimai_account_service_homepage: str = DEFAULT_KIMAI_ACCOUNT_SERVICE_HOMEPAGE
    default_mu_auth_scope: str | None = None
    mu_sparql_endpoint: AnyHttpUrl = AnyHttpUrl("http://database:8890/sparql")
    mu_sparql_update_endpoint: AnyHttpUrl | None = None
    kimai_graph: str | None = None
    timekeeper_graph: str | None = None
    timezone: str = "Europe/Brussels"
    workday_start: str = "09:00"
    kimai_concurrency: int = Field(default=4, ge=1, le=64)
    delete_scope: Literal["created", "linked", "all"] = "created"
    delete_guard_share: float = Field(default=0.2, ge=0.0, le=1.0)
    lock_mark_exported_in_kimai: bool = False
    kimai_timeout: float = Field(default=30.0, gt=0)
    # Extra attempts for a transient Kimai failure (kimaisync.retry: backoff 0.5 s doubling to 30 s,
    # about a minute in all): enough that a Kimai failing one request in seven still gets every write.
    kimai_retries: int = Field(default=7, ge=0, le=20)
    sparql_timeout: float = Field(default=60.0, gt=0)
    # Unset: one work-log writer at a time on this machine (a file lock). Set, for workers on several
    # machines: a PostgreSQL advisory lock in this database (kimaisync.pg_lock).
    writer_lock_database_url: SecretStr | None = None
    # The Prefect server: an external one (PREFECT_API_URL, Prefect's own name), or the one serve runs
    # itself on this host and port (Prefect's names too, so its server reads the same values).
    prefect_api_url: str | None = None
    prefect_server_api_host: str = "127.0.0.1"
    prefect_server_api_port: int = Field(default=4200, ge=1, le=65535)
    # The login the server asks for (PREFECT_SERVER_API_AUTH_STRING) and the one our clients send
    # (PREFECT_API_AUTH_STRING; unset: the server's, one stack). Secrets like the Kimai token.
    prefect_server_api_auth_string: SecretStr | None = None
    prefect_api_auth_string: SecretStr | None = None
    # serve refuses a server bound beyond loopback without a login unless this says the network is private.
    open_ui_on_private_network: bool = False
    # Runs, their logs and artifacts older than this many days are deleted (the maintenance flow); 0 keeps all.
    run_retention_days: int = Field(default=90, ge=0)
    # Kimai 1 (TRACKER=kimai1): the json.php URL, a login for pull, each person's password (a
    # file: Kimai 1 writes records only as the key's own user). Concurrency, timeout and retries
    # are KIMAI_CONCURRENCY, KIMAI_TIMEOUT, KIMAI_RETRIES.
    kimai1_endpoint: AnyHttpUrl | None = None
    kimai1_user: str | None = None
    kimai1_password: SecretStr | None = None
    kimai1_credentials_file: str | None = None
    kimai1_account_service_homepage: str | None = None  # default: the origin of KIMAI1_ENDPOINT
    # Where `kimai-sync serve` and the standalone receiver listen (a semantic.works stack: 0.0.0.0:80).
    receiver_host: str = "127.0.0.1"
    receiver_port: int = Field(default=8080, ge=0, le=65535)
    # How long an accepted request's recorded run waits for the receiver that took it before serve
    # or a worker may run it (deployments.run_queue).
    receiver_grace_seconds: float = 60.0
    # A client gets this long to send a request's headers, and then its body (a slow client holds a
    # connection and its memory: it is closed).
    receiver_header_timeout: float = Field(default=10.0, gt=0, le=600)
    receiver_body_timeout: float = Field(default=60.0, gt=0, le=3600)
    # Years a period, a month or a date we are sent may lie in (kimaisync.inputs).
    year_min: int = Field(default=2000, ge=1900, le=9000)
    year_max: int = Field(default=2100, ge=1900, le=9000)
    # Timi (TRACKER=timi; docs/trackers/timi.md): personal tokens, one per login e-mail, in a JSON file.
    timi_endpoint: AnyHttpUrl = AnyHttpUrl(DEFAULT_TIMI_ENDPOINT)
    timi_credentials_file: Path | None = None
    timi_account_service_homepage: str = DEFAULT_TIMI_ACCOUNT_SERVICE_HOMEPAGE
    timi_timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="wrap")
    @classmethod
    def _tracker_settings(cls, data: Any, handler: ModelWrapValidatorHandler[Settings]) -> Settings:
        """The selected tracker's required settings, reported with every other problem at once."""
        problems: list[InitErrorDetails] = []
        try:
            settings = handler(data)
        except ValidationError as err:
            problems = [_again(e) for e in err.errors()]
        given = data if isinstance(data, dict) else {}
        name = str(given.get("tracker") or "kimai").strip().lower()
        for var in REQUIRED_BY_TRACKER.get(name, ()):
            value = given.get(var)
            if value is None or (isinstance(value, str) and not value):
                problems.append(InitErrorDetails(type="missing", loc=(var,), input=None))
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems, hide_input=True)
        return settings  # bound: a failed handler leaves problems, which raised above

    @field_validator("fallback_sync_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        return validate_cron(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone name") from None
        return v

    @field_validator("workday_start")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parts = v.split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"{v!r} is not HH:MM")
        h, m = int(parts[0]), int(parts[1])
        if not (0 <= h < 24 and 0 <= m < 60):
            raise ValueError(f"{v!r} is not a time of day")
        return f"{h:02d}:{m:02d}"

    @field_validator("egroupware_user")
    @classmethod
    def _egw_user(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.strip() or ":" in v or any(c.isspace() for c in v.strip()):
            raise ValueError("is empty or holds a ':' or spaces (an EGroupware login name)")
        return v.strip()

    @field_validator("egroupware_password")
    @classmethod
    def _egw_password(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().strip():
            raise ValueError("is empty")
        return v

    @field_validator("resource_base_uri", "workspace_uri", "kimai_account_service_homepage",
                     "egroupware_account_service_homepage", "timi_account_service_homepage",
                     "kimai1_account_service_homepage",
                     "kimai_graph", "timekeeper_graph", "default_mu_auth_scope")
    @classmethod
    def _iri(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None if v == "" else v
        if any(c in v for c in ' <>"{}|^`\\') or ":" not in v:
            raise ValueError(f"{v!r} is not an absolute IRI")
        return v

    @field_validator("timi_credentials_file")
    @classmethod
    def _timi_credentials(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        """Checked at start when Timi is the tracker: present, private, one object of e-mail -> token."""
        if v is None or info.data.get("tracker") != "timi":
            return v
        from kimaisync.trackers.timi.credentials import VARIABLE, load_credentials

        try:
            load_credentials(v)
        except ConfigurationError as err:
            raise ValueError("; ".join(p.removeprefix(f"{VARIABLE}: ") for p in err.problems)) from None
        return v

    @field_validator("api_token")
    @classmethod
    def _token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return v
        if not v.get_secret_value().strip():
            raise ValueError("is empty")
        if not all("!" <= c <= "~" for c in v.get_secret_value().strip()):  # else every verb died in a traceback
            raise ValueError("contains characters that cannot be sent in an HTTP header (spaces, line breaks or "
                             "non-ASCII)")
        return v

    @field_validator("receiver_grace_seconds", mode="before")
    @classmethod
    def _grace(cls, v: Any) -> float:
        try:
            value = float(v)
        except (TypeError, ValueError):
            raise ValueError("must be a number of seconds") from None
        if value < MIN_RECEIVER_GRACE:
            raise ValueError(f"must be at least {MIN_RECEIVER_GRACE:g} s (runners and workers take runs due "
                             "within 10 s)")
        return value

    @field_validator("writer_lock_database_url", mode="before")
    @classmethod
    def _lock_url(cls, v: Any) -> SecretStr | None:
        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        if raw is None or not str(raw).strip():
            return None
        dsn = plain_dsn(str(raw).strip())  # Prefect's form postgresql+asyncpg:// is taken too
        if not dsn.startswith("postgresql://"):
            raise ValueError("is not a PostgreSQL URL (it starts with postgresql://)")
        if not urlsplit(dsn).hostname:
            raise ValueError("names no host")
        return SecretStr(dsn)

    @field_validator("year_max")
    @classmethod
    def _years(cls, v: int, info: ValidationInfo) -> int:
        if "year_min" in info.data and info.data["year_min"] > v:
            raise ValueError(f"is before YEAR_MIN {info.data['year_min']}")
        return v

    @field_validator("receiver_host")
    @classmethod
    def _host(cls, v: str) -> str:
        v = v.strip()
        if not v or any(c.isspace() or c in "/@?#" for c in v) or not v.isascii():
            raise ValueError(f"{v!r} is not a host name or address to listen on")
        return v

    @field_validator("prefect_server_api_auth_string", "prefect_api_auth_string", mode="before")
    @classmethod
    def _auth_string(cls, v: Any) -> SecretStr | None:
        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        if raw is None or raw == "":
            return None
        if not all(" " <= c <= "~" for c in str(raw)):  # base64 of it goes in a header; say so before a 401
            raise ValueError("contains characters other than printable ASCII")
        return SecretStr(str(raw))

    @field_validator("prefect_api_url", mode="before")
    @classmethod
    def _api_url(cls, v: Any) -> str | None:
        if v is None or not str(v).strip():
            return None
        url = str(v).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL (e.g. http://prefect:4200/api)")
        return url

    @field_validator("kimai1_credentials_file")
    @classmethod
    def _kimai1_credentials(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        from kimaisync.trackers.kimai1.credentials import load_credentials

        try:
            load_credentials(v)  # exists, private, one object of passwords; never shown
        except ConfigurationError as err:
            raise ValueError("; ".join(p.split(": ", 1)[-1] for p in err.problems)) from None
        return v

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        if self.mu_sparql_update_endpoint is None:
            self.mu_sparql_update_endpoint = self.mu_sparql_endpoint
        if self.egroupware_account_service_homepage is None and self.egroupware_url is not None:
            # the field itself, not only a property: the tracker's Links name it for the store
            url = self.egroupware_url
            port = f":{url.port}" if url.port and url.port not in (80, 443) else ""
            self.egroupware_account_service_homepage = f"{url.scheme}://{url.host}{port}"
        if self.kimai1_endpoint is not None and not self.kimai1_account_service_homepage:
            url = self.kimai1_endpoint
            port = f":{url.port}" if url.port and url.port not in (80, 443) else ""
            self.kimai1_account_service_homepage = f"{url.scheme}://{url.host}{port}"
        return self

    # ------------------------------------------------------------------ derived values

    @property
    def kimai_base(self) -> str:
        """The endpoint without a trailing slash (the old service wanted `.../api`)."""
        return str(self.kimai_endpoint).rstrip("/") if self.kimai_endpoint is not None else ""

    @property
    def egroupware_base(self) -> str:
        """EGROUPWARE_URL without a trailing slash: the groupdav.php base."""
        return str(self.egroupware_url).rstrip("/") if self.egroupware_url is not None else ""

    @property
    def egroupware_homepage(self) -> str:
        """The `foaf:accountServiceHomepage` of EGroupware accounts: EGROUPWARE_ACCOUNT_SERVICE_HOMEPAGE,
        by default the origin of EGROUPWARE_URL (`https://egw.example.org` for
        `https://egw.example.org/egroupware/groupdav.php`)."""
        return self.egroupware_account_service_homepage or ""

    @property
    def sparql_query_url(self) -> str:
        return str(self.mu_sparql_endpoint)

    @property
    def sparql_update_url(self) -> str:
        return str(self.mu_sparql_update_endpoint)

    @property
    def writer_lock_dsn(self) -> str | None:
        """Where the work-log writer lock lives across machines (a secret: it may hold a password)."""
        return self.writer_lock_database_url.get_secret_value() if self.writer_lock_database_url else None

    @property
    def input_limits(self) -> InputLimits:
        return InputLimits(self.year_min, self.year_max)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def warnings(self) -> list[str]:
        """What the old service warned about: plain http and a trailing slash."""
        out = []
        if self.tracker == "kimai1" and self.kimai1_endpoint is not None:
            k1 = self.kimai1_endpoint
            if k1.scheme == "http" and k1.host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
                out.append("KIMAI1_ENDPOINT uses http://: the passwords travel unencrypted; use https://")
            if not (k1.path or "").endswith("/json.php"):
                out.append("KIMAI1_ENDPOINT should be the URL of json.php, e.g. https://kimai.example.org/core/json.php")
            if not self.kimai1_credentials_file:
                out.append("KIMAI1_CREDENTIALS_FILE is unset: no one's work logs can be pushed to Kimai 1 "
                           "(it writes records only as the key's own user)")
        if self.kimai_endpoint is None:
            return out
        raw = str(self.kimai_endpoint)
        if raw.startswith("http://") and self.kimai_endpoint.host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            out.append("KIMAI_ENDPOINT uses http://: the API token travels unencrypted; use https://")
        if raw.endswith("/"):
            out.append("KIMAI_ENDPOINT ends with '/': it is ignored; write it without, e.g. https://kimai.example.org/api")
        if not self.kimai_base.endswith("/api"):
            out.append("KIMAI_ENDPOINT should end with /api, e.g. https://kimai.example.org/api")
        return out

    def shown(self) -> list[tuple[str, str]]:
        """Every setting as (VARIABLE, value as in effect), secrets masked: what `kimai-sync check` prints."""
        secrets = [v.get_secret_value().strip() for v in (self.api_token, self.egroupware_password, self.kimai1_password) if v is not None]

        def scrubbed(text: str) -> str:
            for secret in secrets:
                text = _scrubbed(text, secret)
            return _scrubbed(text, None)

        out = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):  # a password or token: masked; a URL: without its password
                text = "***" if name.upper() in _SECRET_VARS else scrubbed(value.get_secret_value())
            else:
                text = "(unset)" if value is None else scrubbed(str(value))
            out.append((name.upper(), text))
        return out

    def describe(self) -> str:
        """One line naming the endpoints we talk to; the token is never part of it."""
        graphs = (f" graphs kimai={self.kimai_graph} timekeeper={self.timekeeper_graph}"
                  if self.kimai_graph or self.timekeeper_graph else "")

        def shown(url: str) -> str:  # without the password of a proxy login in the URL
            return _scrubbed(url, self.api_token.get_secret_value().strip() if self.api_token else None)

        tracker = (f"Kimai {shown(self.kimai_base)}"
                   + (f" (legacy auth as {self.kimai_api_user})" if self.kimai_api_user else "")
                   if self.tracker == "kimai"
                   else f"Timi {self.timi_endpoint} (credentials {self.timi_credentials_file})"
                   if self.tracker == "timi"
                   else f"Kimai 1 {shown(str(self.kimai1_endpoint))} (login {self.kimai1_user})"
                   if self.tracker == "kimai1" else f"tracker {self.tracker}")
        return (tracker
                + f"; SPARQL query {shown(self.sparql_query_url)} update {shown(self.sparql_update_url)}"
                + (f" scope {self.default_mu_auth_scope}" if self.default_mu_auth_scope else "")
                + graphs + f"; timezone {self.timezone}"
                + "; work-log writer lock " + (f"PostgreSQL {lock_where(self.writer_lock_dsn)}" if self.writer_lock_dsn
                                               else "on this machine only (WRITER_LOCK_DATABASE_URL unset)")
                + "; Prefect " + (shown(self.prefect_api_url) if self.prefect_api_url
                                  else f"server {self.prefect_server_api_host}:{self.prefect_server_api_port}")
                + ", auth string " + ("set" if self.prefect_api_auth_string or self.prefect_server_api_auth_string
                                      else "unset")
                + (f"; run history kept {self.run_retention_days} days" if self.run_retention_days
                   else "; run history kept for good"))


_USERINFO_PASSWORD = re.compile(r"(//[^/@\s:]*):[^/@\s]*@")


def _scrubbed(text: str, secret: str | None) -> str:
    """Text an error may show: without a password in a URL, without the token."""
    text = _USERINFO_PASSWORD.sub(r"\1:***@", text)
    return text.replace(secret, "***") if secret else text


def _again(e: ErrorDetails) -> InitErrorDetails:
    """A caught error as one to raise again with others: its type, place, input and context."""
    again = InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"])
    if "ctx" in e:
        again["ctx"] = e["ctx"]
    return again


def _shown(value: Any, secret: str | None) -> str:
    """A rejected value as an error may quote it: without a password in a URL, without the token."""
    return _scrubbed(repr(value), secret)


def _problem_lines(err: ValidationError, secret: str | None = None) -> list[str]:
    lines = []
    for e in err.errors():
        var = str(e["loc"][0]).upper() if e["loc"] else "?"
        # our validators' messages quote the value too ("'…' is not an absolute IRI")
        what = "is required but not set" if e["type"] == "missing" else _scrubbed(e["msg"], secret)
        if e["type"] != "missing" and "input" in e and var not in _SECRET_VARS:
            what = f"{what} (got {_shown(e['input'], secret)})"
        example = EXAMPLES.get(var)
        lines.append(f"{var}: {what}" + (f"; example: {example}" if example else ""))
    return lines


_SECRET_VARS = {"API_TOKEN", "EGROUPWARE_PASSWORD", "KIMAI1_PASSWORD", "PREFECT_SERVER_API_AUTH_STRING",
                "PREFECT_API_AUTH_STRING"}  # never quoted back in a problem line


def _token_given(overrides: dict[str, Any]) -> str | None:
    given = overrides.get("api_token") or os.environ.get("API_TOKEN")
    secret = given.get_secret_value() if isinstance(given, SecretStr) else given
    return str(secret).strip() or None if secret else None


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus explicit overrides); raise ConfigurationError listing every problem."""
    try:
        s = Settings(**overrides)
    except ValidationError as err:  # (no local holds the token: a traceback rendered with locals shows them)
        raise ConfigurationError(_problem_lines(err, _token_given(overrides))) from None
    for w in s.warnings():
        warnings.warn(w, stacklevel=2)
    return s


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
