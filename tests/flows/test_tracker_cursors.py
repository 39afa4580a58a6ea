"""Incremental cursors between runs (tasks/cursors.py) against a real Prefect server."""

from __future__ import annotations

import pytest

from tasks import cursors


@pytest.fixture
def prefect(prefect_server):
    return prefect_server


def test_cursors_survive_between_runs_per_partition(prefect):
    token = "https://egw.example.org/egroupware/groupdav.php/anna.b@example.org/timesheet/1780000123"
    cursors.save("egroupware", {"anna.b@example.org": token, "Anna.B@example.org": "other"})
    got = cursors.load("egroupware", ["anna.b@example.org", "Anna.B@example.org", "ralf"])
    assert got == {"anna.b@example.org": token, "Anna.B@example.org": "other", "ralf": None}
    assert cursors.load("timi", ["anna.b@example.org"]) == {"anna.b@example.org": None}  # per tracker


def test_saving_none_forgets_and_a_newer_cursor_replaces(prefect):
    cursors.save("egroupware", {"piet": "t1"})
    cursors.save("egroupware", {"piet": "t2"})
    assert cursors.load("egroupware", ["piet"]) == {"piet": "t2"}
    cursors.save("egroupware", {"piet": None})
    assert cursors.load("egroupware", ["piet"]) == {"piet": None}


def test_names_are_valid_and_distinct():
    names = {cursors.variable_name("egroupware", p) for p in ("a.b@x", "a-b@x", "A.B@x", "", "ü")}
    assert len(names) == 5
    assert all(n.replace("-", "").isalnum() and n == n.lower() for n in names)


def test_an_oversized_cursor_is_refused_clearly(prefect):
    with pytest.raises(ValueError, match="does not fit"):
        cursors.save("egroupware", {"x": "y" * 6000})
