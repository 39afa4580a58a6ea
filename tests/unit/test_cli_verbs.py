"""The neutral verbs `pull` and `push` are the old `from-kimai` and `to-kimai` for the configured tracker."""

from __future__ import annotations

import pytest

from kimaisync.cli import build_parser, from_kimai, main, to_kimai


@pytest.mark.parametrize("new, old, args", [("pull", "from-kimai", ["--only", "accounts", "--dry-run"]),
                                            ("push", "to-kimai", ["2025-03-01", "2025-03-31", "--force"])])
def test_the_neutral_verb_runs_what_the_old_one_runs_with_the_same_options(new, old, args):
    parser = build_parser()
    a, b = parser.parse_args([new, *args]), parser.parse_args([old, *args])
    assert a.run is b.run is {"pull": from_kimai.run, "push": to_kimai.run}[new]
    assert {k: v for k, v in vars(a).items() if k != "verb"} == {k: v for k, v in vars(b).items() if k != "verb"}


def test_push_refuses_a_bad_period_before_any_request_naming_the_verb_used(capsys):
    assert main(["push", "2025-03-31", "2025-03-01"]) == 2
    assert "kimai-sync push: start 2025-03-31 is after end 2025-03-01" in capsys.readouterr().err
    assert main(["to-kimai", "2025-02-30", "2025-03-01"]) == 2
    assert "kimai-sync to-kimai: 'start' '2025-02-30' is not a valid date" in capsys.readouterr().err
