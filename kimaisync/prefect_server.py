"""Which Prefect server a process talks to, and running one for a stack.

`kimai-sync serve` either uses the server in PREFECT_API_URL or runs Prefect's own server (with
its UI) as a child process on PREFECT_SERVER_API_HOST:PREFECT_SERVER_API_PORT, its database in
PREFECT_HOME. The CLI verbs use PREFECT_API_URL, else that local server when it answers, else
Prefect's temporary one. No Prefect import here: the environment must be settled before Prefect
reads its settings (at its import).

The auth string is a secret: it travels in environment variables only (never in argv, where
process listings show it) and is shown as set/unset.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

log = logging.getLogger("kimaisync.serve")

OPT_OUT = "OPEN_UI_ON_PRIVATE_NETWORK"


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def bind_refusal(settings) -> str | None:
    """Why serve must not run its Prefect server as configured (one line), or None."""
    host = settings.prefect_server_api_host
    if is_loopback(host) or settings.prefect_server_api_auth_string or settings.open_ui_on_private_network:
        return None
    return (f"the Prefect server would listen on {host}:{settings.prefect_server_api_port} with no login: set "
            f"PREFECT_SERVER_API_AUTH_STRING=user:password (the UI asks for it; our clients send it), or "
            f"{OPT_OUT}=true on a network only operators reach, or PREFECT_SERVER_API_HOST=127.0.0.1")


def open_ui_warning(settings) -> str | None:
    """The warning serve logs at every start while the opt-out leaves the UI open."""
    host = settings.prefect_server_api_host
    if is_loopback(host) or settings.prefect_server_api_auth_string or not settings.open_ui_on_private_network:
        return None
    return (f"WARNING: the Prefect UI and API on {host}:{settings.prefect_server_api_port} need no login "
            f"({OPT_OUT}=true): whoever reaches that port sees everyone's hours and can start syncs")


def client_auth(settings) -> str | None:
    """The string our clients send: PREFECT_API_AUTH_STRING, else the server's own (one stack)."""
    secret = settings.prefect_api_auth_string or settings.prefect_server_api_auth_string
    return secret.get_secret_value() if secret else None


def export_client_auth(settings) -> None:
    """Let Prefect's client (and every run subprocess and worker started from here) send the string."""
    auth = client_auth(settings)
    if auth and not os.environ.get("PREFECT_API_AUTH_STRING"):
        os.environ["PREFECT_API_AUTH_STRING"] = auth


def local_api_url(settings) -> str:
    """Where a process on this machine reaches the server serve runs."""
    host = settings.prefect_server_api_host
    if host in ("0.0.0.0", "::", "", "[::]") or not host:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.prefect_server_api_port}/api"


@dataclass(frozen=True)
class Probe:
    """What a Prefect API answered: up (and our credentials taken), refused them (401), or nothing."""

    state: str  # "up", "unauthorized", "unreachable", "error"
    detail: str = ""

    @property
    def up(self) -> bool:
        return self.state == "up"


def _headers(auth: str | None) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}


def probe(api_url: str, auth: str | None, timeout: float = 2.0) -> Probe:
    """Ask the health route (open), then one that needs the credentials when the server has any."""
    api_url = api_url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout, headers=_headers(auth)) as client:
            health = client.get(api_url + "/health")
            if health.status_code != 200:
                return Probe("error", f"{api_url}/health answered {health.status_code}")
            version = client.get(api_url + "/admin/version")
    except httpx.HTTPError as err:
        return Probe("unreachable", f"{type(err).__name__} at {api_url}")
    if version.status_code == 401:
        said = "PREFECT_API_AUTH_STRING is not set" if not auth else "PREFECT_API_AUTH_STRING is wrong"
        return Probe("unauthorized", f"{api_url} refused the request (401 Unauthorized): {said}; "
                                     "it must equal the server's PREFECT_SERVER_API_AUTH_STRING")
    if version.status_code != 200:
        return Probe("error", f"{api_url}/admin/version answered {version.status_code}")
    return Probe("up", f"Prefect {version.json()} at {api_url}")


def choose_for_cli(settings) -> tuple[str | None, Probe | None]:
    """(API URL, probe) for a CLI verb: PREFECT_API_URL when set, else serve's local server when it
    answers, else (None, probe): Prefect starts a temporary server for the run."""
    explicit = settings.prefect_api_url
    if not explicit and "prefect.settings" in sys.modules:  # already read (a caller inside a test harness)
        from prefect.settings import PREFECT_API_URL

        explicit = PREFECT_API_URL.value()
    if explicit:
        return explicit, None
    url = local_api_url(settings)
    found = probe(url, client_auth(settings))
    if found.state == "unreachable":
        return None, found
    return url, found


class ServerFailed(RuntimeError):
    """Prefect's server exited or did not answer in time; the message ends with its last lines."""


def drain_prefect_clients(timeout: float = 5.0) -> None:
    """Send the logs and events this process still holds for Prefect, while its server is up.

    Prefect's workers send them at exit otherwise: to a server already stopped, through a client
    that retries with growing waits (2, 4, 8 ... s), which can hold `serve` up past a container's
    stop timeout."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - on the way out: what could not be sent is said, not raised
            log.warning("could not send Prefect %s before stopping its server: %s", worker.__name__, exc)


class PrefectServer:
    """`prefect server start` as a child process (same process group: killing serve's group ends it)."""

    def __init__(self, settings, home: Path | None = None, startup_timeout: float = 180.0):
        self.settings = settings
        self.host = settings.prefect_server_api_host
        self.port = settings.prefect_server_api_port
        self.api_url = local_api_url(settings)
        self.home = Path(home or os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
        self.log_path = self.home / "kimai-sync-prefect-server.log"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env.update(PREFECT_HOME=str(self.home), PREFECT_SERVER_API_HOST=self.host,
                   PREFECT_SERVER_API_PORT=str(self.port))
        # The browser reaches the UI at whatever address the operator opened: relative API URL.
        env.setdefault("PREFECT_UI_API_URL", "/api")
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        if self.settings.prefect_server_api_auth_string:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.settings.prefect_server_api_auth_string.get_secret_value()
        return env

    def start(self) -> "PrefectServer":
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:  # this run's lines only: the file never grows across starts
            self.proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", self.host,
                                          "--port", str(self.port)], env=self._env(), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.startup_timeout
        auth = client_auth(self.settings)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"Prefect's server exited with {self.proc.returncode} (port {self.port} taken? "
                                   f"PREFECT_SERVER_API_PORT sets it); its last lines:\n{self.tail()}")
            found = probe(self.api_url, auth, timeout=1.0)
            if found.up:
                return self
            time.sleep(0.25)
        self.stop()
        raise ServerFailed(f"Prefect's server did not answer at {self.api_url} within {self.startup_timeout:.0f} s; "
                           f"its last lines:\n{self.tail()}")

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        drain_prefect_clients()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
