"""Delta-notifier bodies: which work logs they name, and clear refusals of what is not one."""

from __future__ import annotations

import pytest

from kimaisync.delta import DeltaFormatError, parse_delta, work_logs_named

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


POISON = ["bad subject", "_:b0", "http://x/a\x00b", "http://x/a b", "http://x/\ud800",
          "http://x> } ; DROP ALL ; { <http://y"]


@pytest.mark.parametrize("bad", POISON)
def test_a_subject_that_is_no_iri_is_dropped_and_named_the_rest_kept(bad):
    body = [{"inserts": [quad(bad, CAL + "duration", "PT1H", True), quad(LOG, CAL + "duration", "PT2H", True)],
             "deletes": []}]
    found = parse_delta(body)
    assert found.work_logs == [LOG]
    assert found.dropped_count == 1 and found.dropped[0].startswith("subject ")
    assert found.dropped[0].isascii() and "\n" not in found.dropped[0]


def test_a_literal_subject_is_dropped_too_and_a_blank_node_typed_as_such():
    bnode = {"subject": {"type": "bnode", "value": "b0"}, "predicate": {"type": "uri", "value": CAL + "duration"},
             "object": {"type": "literal", "value": "PT1H"}}
    literal = {**bnode, "subject": {"type": "literal", "value": LOG + "X"}}
    found = parse_delta([{"inserts": [bnode, literal, quad(LOG, CAL + "duration", "PT2H", True)]}])
    assert found.work_logs == [LOG] and found.dropped_count == 2


def test_a_malformed_triple_beside_good_ones_is_dropped_not_the_body():
    found = parse_delta([{"inserts": [5, {"subject": {"value": "x"}}, quad(LOG, CAL + "duration", "PT2H", True)]}])
    assert found.work_logs == [LOG] and found.dropped_count == 2


def test_poison_in_an_unrelated_triple_is_not_counted():
    found = parse_delta([{"inserts": [quad("_:b0", "http://x/other", "o"), quad(LOG, CAL + "duration", "PT2H", True)]}])
    assert found.work_logs == [LOG] and found.dropped_count == 0


@pytest.mark.parametrize("body", [[{"inserts": [quad(bad, CAL + "duration", "PT1H", True) for bad in POISON]}],
                                  [{"inserts": [7, 8]}]])
def test_a_body_with_nothing_usable_says_why(body):
    with pytest.raises(DeltaFormatError, match="nothing in the body could be used"):
        parse_delta(body)


def test_twenty_thousand_work_logs_in_one_change_are_all_named():
    logs = [f"{LOG}-{i}" for i in range(20_000)]
    assert parse_delta([{"inserts": [quad(log, CAL + "duration", "PT1H", True) for log in logs]}]).work_logs == logs
