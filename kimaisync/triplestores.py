"""Throw-away local triplestores for the demo and the tests: Oxigraph and Virtuoso.

Each binds 127.0.0.1 on a free port with a temporary folder, waits until it answers an ASK,
and is stopped by its PID. Oxigraph is the embedded default (PyPI `oxigraph` ships the
server binary); Virtuoso (Debian `virtuoso-opensource`) is what production runs.

Oxigraph runs with the union default graph, so reads without a GRAPH clause see every graph,
as they do on Virtuoso and through mu-authorization.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Self

VIRTUOSO_BIN = "/usr/bin/virtuoso-t"
VIRTUOSO_ISQL = "/usr/bin/isql-vt"
VIRTUOSO_INI_CANDIDATES = ("/etc/virtuoso-opensource-7/virtuoso.ini", "/usr/share/virtuoso-opensource-7/virtuoso.ini")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ask(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    q = url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"triplestore exited with {proc.returncode}; see {log}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(q, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"triplestore did not answer within {timeout:.0f}s; see {log}")


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def oxigraph_binary() -> str | None:
    """The `oxigraph` server installed beside this Python (the venv), else on PATH."""
    here = Path(sys.executable).parent / "oxigraph"
    if here.exists():
        return str(here)
    return shutil.which("oxigraph")


class _Server:
    name = "triplestore"
    query_url: str
    update_url: str

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir: Path | None = None

    def start(self) -> Self:  # each server says how it starts
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self.dir and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


class OxigraphServer(_Server):
    """`oxigraph serve` on a free port; in memory by default (fast start, nothing left on disk)."""

    name = "oxigraph"

    def __init__(self, *, port: int | None = None, union_default_graph: bool = True, on_disk: bool = False):
        super().__init__()
        self.port = port or free_port()
        self.union = union_default_graph
        self.on_disk = on_disk
        self.query_url = f"http://127.0.0.1:{self.port}/query"
        self.update_url = f"http://127.0.0.1:{self.port}/update"

    def start(self) -> "OxigraphServer":
        binary = oxigraph_binary()
        if not binary:
            raise RuntimeError("the oxigraph server is not installed: pip install 'oxigraph==0.5.13'")
        self.dir = Path(tempfile.mkdtemp(prefix="oxigraph-"))
        args = [binary, "serve", "--bind", f"127.0.0.1:{self.port}"]
        if self.on_disk:
            args += ["--location", str(self.dir / "db")]
        if self.union:
            args.append("--union-default-graph")
        log = self.dir / "server.log"
        self.proc = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_ask(self.query_url, self.proc, 30, log)
        return self


def virtuoso_available() -> str | None:
    """None when Virtuoso can run here, else the one-line reason it cannot."""
    if not Path(VIRTUOSO_BIN).exists():
        return "Virtuoso is not installed (Debian package virtuoso-opensource; `make test` installs it as root)"
    if not Path(VIRTUOSO_ISQL).exists():
        return "isql-vt is missing (Debian package virtuoso-opensource)"
    if not any(Path(p).exists() for p in VIRTUOSO_INI_CANDIDATES):
        return "no virtuoso.ini template found"
    return None


class VirtuosoServer(_Server):
    """virtuoso-t in the foreground with a temporary database, SPARQL_UPDATE granted."""

    name = "virtuoso"

    def __init__(self, *, http_port: int | None = None, sql_port: int | None = None,
                 max_rows: int = 1_000_000):
        super().__init__()
        self.http_port = http_port or free_port()
        self.sql_port = sql_port or free_port()
        self.max_rows = max_rows
        self.query_url = self.update_url = f"http://127.0.0.1:{self.http_port}/sparql"

    def _ini(self) -> str:
        src = next(p for p in VIRTUOSO_INI_CANDIDATES if Path(p).exists())
        out, section = [], ""
        for line in Path(src).read_text().splitlines():
            s = line.strip()
            if s.startswith("["):
                section = s
                out.append(line)
                if section == "[Parameters]":
                    out.append(f"MaxSortedTopRows = {self.max_rows}")
                continue
            key = s.split("=", 1)[0].strip() if "=" in s else ""
            if key == "ServerPort" and section == "[Parameters]":
                line = f"ServerPort = 127.0.0.1:{self.sql_port}"
            elif key == "ServerPort" and section == "[HTTPServer]":
                line = f"ServerPort = 127.0.0.1:{self.http_port}"
            elif key == "DefaultHost":
                line = f"DefaultHost = 127.0.0.1:{self.http_port}"
            elif key == "DirsAllowed":
                line = f"DirsAllowed = ., {self.dir}, /tmp"
            elif key == "ResultSetMaxRows":
                line = f"ResultSetMaxRows = {self.max_rows}"
            elif key == "NumberOfBuffers":
                line = "NumberOfBuffers = 20000"
            elif key == "MaxDirtyBuffers":
                line = "MaxDirtyBuffers = 15000"
            elif key == "ServerRoot":
                line = "ServerRoot = /var/lib/virtuoso-opensource-7/vsp"
            line = line.replace("/var/lib/virtuoso-opensource-7/db", str(self.dir))
            out.append(line)
        return "\n".join(out) + "\n"

    def start(self) -> "VirtuosoServer":
        reason = virtuoso_available()
        if reason:
            raise RuntimeError(reason)
        self.dir = Path(tempfile.mkdtemp(prefix="virtuoso-"))
        ini = self.dir / "virtuoso.ini"
        ini.write_text(self._ini())
        log = self.dir / "stdout.log"
        self.proc = subprocess.Popen([VIRTUOSO_BIN, "+foreground", "+configfile", str(ini)],
                                     cwd=self.dir, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_ask(self.query_url, self.proc, 90, log)
        for stmt in ('GRANT SPARQL_UPDATE TO "SPARQL";', "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);"):
            subprocess.run([VIRTUOSO_ISQL, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={stmt}"],
                           check=True, capture_output=True, timeout=60, env={**os.environ})
        return self
