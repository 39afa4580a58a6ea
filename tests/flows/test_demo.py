"""`kimai-sync demo`, run as a new user would: it ends with the tracker matching Timekeeper, stopping all it
started, and prints no secret."""

from __future__ import annotations

import re

from demo_helpers import run_demo


def test_demo_ends_with_kimai_matching_timekeeper(tmp_path):
    out, err = run_demo(tmp_path)
    assert "Kimai matches Timekeeper." in out
    assert "812 created" in out and "15 locked" in out  # the seeded month, every syncable work log
    assert "demo-token" not in out + err  # the API token is never printed


def test_demo_with_timi_ends_matching_and_prints_no_token(tmp_path):
    out, err = run_demo(tmp_path, "timi")
    assert "Timi matches Timekeeper for everyone with a token." in out
    assert "144 created" in out and "36 skipped" in out  # every work log of the four people with a token
    assert "set to 0 h and marked [verwijderd in Timekeeper]" in out and "rerun: 0 writes" in out
    assert "abc123" not in out + err and "token-2" not in out + err  # tokens are never printed


def test_demo_with_egroupware_ends_matching_and_prints_no_token(tmp_path):
    out, err = run_demo(tmp_path, "egroupware")
    assert "512 created" in out and "push again: 512 unchanged, 5 skipped" in out and "; 0 writes" in out
    assert "1 updated, 1 deleted" in out  # an edit and a deletion in Timekeeper; the hand-typed title stays
    assert "5 differ only for the person without an account" in out and "UNEXPECTED" not in out
    assert "AllUsersSecret" not in out + err  # the app token is never printed


def test_kimai1_demo_ends_with_each_work_log_once_in_kimai1(tmp_path):
    out, err = run_demo(tmp_path, "kimai1")
    assert re.search(r"Kimai 1 holds each of the \d+ work logs once\.", out)
    assert "4. rerun:" in out and out.split("4. rerun:")[1].split("\n")[0].endswith("0 writes")
    assert "demo-admin-password" not in out + err and "-password" not in out + err
