"""A real engine for the scale-out test: a throw-away PostgreSQL cluster, a Prefect server on it,
process workers. Everything binds 127.0.0.1 on free ports in one temporary folder and is stopped
by the PIDs started here.

PostgreSQL refuses to run as root, so as root its programs run as the `postgres` system user
(Debian's package creates it) through `runuser`; the folder is handed to that user.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from kimaisync.triplestores import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
VENV_BIN = Path(sys.executable).parent


def postgres_unavailable() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if not (PG_BIN / "initdb").exists():
        return "PostgreSQL 15 is not installed (Debian package postgresql; scripts/ensure-system-deps.sh)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser: PostgreSQL cannot be started as another user"
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


class PostgresCluster:
    """initdb + pg_ctl in `root`; database `prefect` owned by superuser `prefect`, trust auth on 127.0.0.1."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}\n"
                               f"{_tail(self.log)}")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://prefect@127.0.0.1:{self.port}/prefect"

    def start(self) -> "PostgresCluster":
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_root:  # the postgres user must reach its folder: let it traverse the parents
            shutil.chown(self.root, "postgres", "postgres")
            for parent in self.root.parents:
                if parent == Path(tempfile.gettempdir()) or parent == parent.parent:
                    break
                parent.chmod(parent.stat().st_mode | 0o111)
        self._run("initdb", "-D", str(self.data), "-U", "prefect", "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w", "-t", "60", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "prefect", "prefect")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")


class Processes:
    """Background processes in their own sessions, each stopped (TERM, then KILL) by its PID."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], *, env: dict, cwd: Path | str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.started.append((name, proc))
        return proc

    def log_of(self, name: str) -> str:
        return _tail(self.logs / f"{name}.log", 60)

    def stop_all(self) -> None:
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server's or worker's children too
        deadline = time.monotonic() + 20
        for _, proc in reversed(self.started):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def prefect_env(base: dict, home: Path, api_url: str | None = None, **extra: str) -> dict:
    env = {k: v for k, v in base.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore", PATH=f"{VENV_BIN}:{base.get('PATH', '')}")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def wait_healthy(api_url: str, proc: subprocess.Popen, procs: Processes, name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{procs.log_of(name)}")
        try:
            if httpx.get(api_url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{name} not healthy within {timeout:.0f}s:\n{procs.log_of(name)}")


def copy_clone(repo: Path, dest: Path) -> Path:
    """The files a clone of the project holds (tracked, plus new files not ignored): no venv, no caches."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = repo / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest
