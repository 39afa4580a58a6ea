"""Running `kimai-sync demo` as a new user would: a process, none of this machine's settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SETTINGS = ("PREFECT_", "API_TOKEN", "KIMAI_", "KIMAI1_", "MU_", "TIMI_", "EGROUPWARE_", "TRACKER")


def oxigraph_serving(address: str) -> bool:
    """Whether an Oxigraph server bound to `address` (host:port) still runs."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\x00")
            except OSError:
                continue
            if b"serve" in args and address.encode() in args:
                return True
    return False


def run_demo(tmp_path: Path, tracker: str | None = None) -> tuple[str, str]:
    """The demo's stdout and stderr, once it has ended well and stopped everything it started."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS)}
    cli = Path(sys.executable).parent / "kimai-sync"
    proc = subprocess.run([str(cli), "demo", *(["--tracker", tracker] if tracker else []),
                           "--dir", str(tmp_path / "demo")], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "everything started is stopped" in proc.stdout
    address = re.search(r"Oxigraph at http://([\d.]+:\d+)/", proc.stdout).group(1)
    assert not oxigraph_serving(address)  # the store it started is gone (other runs' stores may come and go)
    return proc.stdout, proc.stderr
