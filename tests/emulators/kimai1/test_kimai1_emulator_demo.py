"""``python -m emulators.kimai1 --demo`` serves the demo data on 127.0.0.1, and seeds round-trip."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx

from emulators.kimai1.seeds import DEMO_ADMIN, demo_state
from emulators.kimai1.state import Kimai1State


def test_demo_state_is_realistic_and_round_trips_through_a_seed_file(tmp_path):
    state = demo_state()
    assert len(state.entries) == 200 and any(e.cleared for e in state.entries.values())
    assert any(not u.active for u in state.users.values())
    zones = {u.timezone for u in state.users.values()}
    assert len(zones) >= 5
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(state.to_dict()))
    again = Kimai1State.from_json_file(path)
    assert again.to_dict() == state.to_dict()


def test_the_module_serves_the_demo(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "emulators.kimai1", "--demo", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/core/json\.php)", line).group(1)
        reply = httpx.post(url, json={"jsonrpc": "2.0", "method": "authenticate", "params": list(DEMO_ADMIN),
                                      "id": 1}, timeout=10).json()
        key = reply["result"]["items"][0]["apiKey"]
        users = httpx.post(url, json={"jsonrpc": "2.0", "method": "getUsers", "params": [key], "id": 2},
                           timeout=10).json()["result"]["items"]
        assert len(users) == 12
    finally:
        proc.terminate()
        proc.wait(timeout=10)
