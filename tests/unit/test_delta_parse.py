"""Delta-notifier bodies: which work logs they name, and clear refusals of what is not one."""

from __future__ import annotations

import pytest

from kimaisync.delta import DeltaFormatError, work_logs_named

CAL = "http://www.w3.org/2002/12/cal/ical#"
LOG = "http://timekeeper.redpencil.io/work-logs/67D184E2A3B8E1000A000077"


def quad(s, p, o, literal=False):
    return {"subject": {"type": "uri", "value": s}, "predicate": {"type": "uri", "value": p},
            "object": {"type": "literal" if literal else "uri", "value": o},
            "graph": {"type": "uri", "value": "http://mu.semte.ch/graphs/redpencil"}}


def test_v001_inserts_and_deletes():
    body = [{"deletes": [quad(LOG, CAL + "duration", "PT4H45M", True)], "inserts": []},
            {"deletes": [], "inserts": [quad(LOG, CAL + "duration", "PT5H15M", True),
                                        quad(LOG + "X", "http://mu.semte.ch/vocabularies/core/uuid", "x", True)]}]
    assert work_logs_named(body) == [LOG]


def test_same_work_log_five_times_is_named_once():
    body = [{"inserts": [quad(LOG, CAL + "duration", f"PT{h}H", True) for h in range(1, 6)], "deletes": []}]
    assert work_logs_named(body) == [LOG]


def test_changesets_format_and_type_triple():
    body = {"changeSets": [{"insert": [quad(LOG, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", CAL + "Vevent")],
                            "delete": [], "effectiveInsert": [], "effectiveDelete": []}]}
    assert work_logs_named(body) == [LOG]


def test_unrelated_triples_name_nothing():
    body = [{"inserts": [quad(LOG, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "http://x/Other")],
             "deletes": []}]
    assert work_logs_named(body) == []


@pytest.mark.parametrize("body", [{}, "text", 5, None, [1], [{"inserts": "x"}], [{"inserts": [5]}],
                                  [{"inserts": [{"subject": {"value": LOG}}]}], {"changeSets": {}}])
def test_malformed_bodies_are_refused_with_a_reason(body):
    with pytest.raises(DeltaFormatError):
        work_logs_named(body)
