"""`kimai-sync demo --tracker kimai1`, run as a new user would: every pushable work log once in Kimai 1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_kimai1_demo_ends_with_each_work_log_once_in_kimai1(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "API_TOKEN", "KIMAI_", "KIMAI1_", "MU_", "TRACKER"))}
    cli = Path(sys.executable).parent / "kimai-sync"
    proc = subprocess.run([str(cli), "demo", "--tracker", "kimai1", "--dir", str(tmp_path / "demo")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"Kimai 1 holds each of the \d+ work logs once\.", out)
    assert "4. rerun:" in out and out.split("4. rerun:")[1].split("\n")[0].endswith("0 writes")
    assert "everything started is stopped" in out
    assert "demo-admin-password" not in out + proc.stderr and "-password" not in out + proc.stderr
