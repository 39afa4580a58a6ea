"""`kimai-sync demo`, run as a new user would: it ends with Kimai matching Timekeeper, stopping all it started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def _oxigraph_serving(address: str) -> bool:
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


def test_demo_ends_with_kimai_matching_timekeeper(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "API_TOKEN", "KIMAI_", "MU_"))}
    cli = Path(sys.executable).parent / "kimai-sync"
    proc = subprocess.run([str(cli), "demo", "--dir", str(tmp_path / "demo")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Kimai matches Timekeeper." in out
    assert "812 created" in out and "15 locked" in out  # the seeded month, every syncable work log
    assert "everything started is stopped" in out
    address = re.search(r"Oxigraph at http://([\d.]+:\d+)/", out).group(1)
    assert not _oxigraph_serving(address)  # the store it started is gone (other runs' stores may come and go)
    assert "demo-token" not in out + proc.stderr  # the API token is never printed


def test_demo_with_timi_ends_matching_and_prints_no_token(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "API_TOKEN", "KIMAI_", "MU_", "TIMI_", "TRACKER"))}
    cli = Path(sys.executable).parent / "kimai-sync"
    proc = subprocess.run([str(cli), "demo", "--tracker", "timi", "--dir", str(tmp_path / "demo")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Timi matches Timekeeper for everyone with a token." in out
    assert "144 created" in out and "36 skipped" in out  # every work log of the four people with a token
    assert "set to 0 h and marked [verwijderd in Timekeeper]" in out and "rerun: 0 writes" in out
    assert "everything started is stopped" in out
    address = re.search(r"Oxigraph at http://([\d.]+:\d+)/", out).group(1)
    assert not _oxigraph_serving(address)
    assert "abc123" not in out + proc.stderr and "token-2" not in out + proc.stderr  # tokens are never printed


def test_demo_with_egroupware_ends_matching_and_prints_no_token(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "API_TOKEN", "KIMAI_", "MU_", "EGROUPWARE_", "TRACKER"))}
    cli = Path(sys.executable).parent / "kimai-sync"
    proc = subprocess.run([str(cli), "demo", "--tracker", "egroupware", "--dir", str(tmp_path / "demo")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "512 created" in out and "push again: 512 unchanged, 5 skipped" in out and "; 0 writes" in out
    assert "1 updated, 1 deleted" in out  # an edit and a deletion in Timekeeper; the hand-typed title stays
    assert "5 differ only for the person without an account" in out and "UNEXPECTED" not in out
    assert "everything started is stopped" in out
    address = re.search(r"Oxigraph at http://([\d.]+:\d+)/", out).group(1)
    assert not _oxigraph_serving(address)
    assert "AllUsersSecret" not in out + proc.stderr  # the app token is never printed
