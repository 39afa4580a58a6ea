"""Planning Kimai customers/projects/activities against the store's view: plain code, no servers."""

from __future__ import annotations

import itertools
import re

from kimaisync.trackers.kimai2.models import KimaiActivity, KimaiCustomer, KimaiProject
from kimaisync.plan.reference import (ATTRIBUTED_TO, BROADER, COLOR, IDENTIFIER, IN_SCHEME, LABEL,
                                      TOP_CONCEPT_OF, UUID, plan_reference)
from kimaisync.rdf.vocab import KIMAI_ACTIVITY, ORGANIZATION, PROJECT, RDF_TYPE, TASK, XSD_STRING, iri
from kimaisync.report import CREATED, FAILED, UNCHANGED, UPDATED, WARNING
from kimaisync.sparql.client import Term
from kimaisync.store.reference import StoredResource, triple

BASE = "http://timekeeper.redpencil.io"
WS = "http://timekeeper.redpencil.io/workspaces/7530c9c9-4905-4fae-b63f-7a8d29232377"


# ------------------------------------------------------------------ an in-memory store for plans


def _unescape(raw: str) -> str:
    simple = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}

    def one(m: re.Match) -> str:
        s = m.group(1)
        return chr(int(s[1:], 16)) if s[0] in "uU" else simple[s]

    return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", one, raw)


def parse_object(text: str) -> Term:
    if text.startswith("<"):
        return Term("uri", text[1:-1])
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"(?:@([A-Za-z-]+)|\^\^<([^>]*)>)?', text)
    assert m, text
    return Term("literal", _unescape(m.group(1)), m.group(3), m.group(2))


def parse_triple(line: str) -> tuple[str, str, Term]:
    m = re.fullmatch(r"<([^>]*)> <([^>]*)> (.*) \.", line)
    assert m, line
    return m.group(1), m.group(2), parse_object(m.group(3))


def apply(stored: dict[str, StoredResource], changes) -> dict[str, StoredResource]:
    """What the store holds after the changes (deletes first, then inserts, per change)."""
    data = {s: {p: set(v) for p, v in r.values.items()} for s, r in stored.items()}
    for ch in changes:
        for p in ch.clear:
            data.get(ch.uri, {}).pop(p, None)
        for line in (triple(ch.uri, p, o) for p, o in ch.insert):  # as the store side writes them
            s, p, o = parse_triple(line)
            data.setdefault(s, {}).setdefault(p, set()).add(o)
    return {s: StoredResource(s, {p: frozenset(v) for p, v in d.items()}) for s, d in data.items() if d}


def res(uri: str, **values) -> StoredResource:
    """A stored resource from `curie_with_underscore=[values]`; strings starting with http are IRIs."""
    out = {}
    for name, vals in values.items():
        pred = RDF_TYPE if name == "a" else iri(name.replace("__", ":", 1))
        terms = set()
        for v in vals if isinstance(vals, (list, tuple, set)) else [vals]:
            terms.add(v if isinstance(v, Term) else Term("uri", v) if v.startswith("http") else Term("literal", v))
        out[pred] = frozenset(terms)
    return StoredResource(uri, out)


def counter():
    n = itertools.count(1)
    return lambda: f"00000000-0000-0000-0000-{next(n):012d}"


def plan(customers=(), projects=(), activities=(), stored=None, **kw):
    kw.setdefault("new_uuid", counter())
    return plan_reference(customers, projects, activities, stored or {}, base_uri=BASE, workspace_uri=WS, **kw)


def by_label(stored, label) -> StoredResource:
    found = [r for r in stored.values() if label in r.texts(LABEL)]
    assert len(found) == 1, (label, found)
    return found[0]


def outcomes(p, kind=None):
    return [(r.kind, r.key, r.outcome) for r in p.report.rows if kind is None or r.kind == kind]


def lit(v):
    return {Term("literal", v)}


# ------------------------------------------------------------------ tests


def world():
    customers = [KimaiCustomer(id=31, name="Havenbedrijf", color="#0ea5e9"), KimaiCustomer(id=2, name="Stad", color=None)]
    projects = [KimaiProject(id=31, name="Publicatieplatform", customer=31, color=None),
                KimaiProject(id=5, name="Website", customer=2, color="#ff0000"),
                KimaiProject(id=6, name="Bare", customer=2, color=None)]
    activities = [KimaiActivity(id=31, name="General", project=31, color=None),
                  KimaiActivity(id=5, name="Design", project=5, color=None),
                  KimaiActivity(id=7, name="Own colour", project=31, color="#123456"),
                  KimaiActivity(id=8, name="Meeting", project=None, color=None)]
    return customers, projects, activities


def test_fresh_store_gets_the_model_exactly_with_overlapping_ids_linked_by_type():
    p = plan(*world())
    store = apply({}, p.changes)
    cust = by_label(store, "Havenbedrijf")
    assert cust.types == {ORGANIZATION}
    assert cust.uri.startswith(BASE + "/customers/")
    assert cust.get(UUID) == lit(cust.uri.rsplit("/", 1)[1])
    assert cust.get(IDENTIFIER) == lit("31") and cust.get(COLOR) == lit("#0ea5e9")

    proj = by_label(store, "Publicatieplatform")
    assert proj.types == {TASK, PROJECT} and proj.uri.startswith(BASE + "/tasks/")
    assert proj.get(UUID) == lit(proj.uri.rsplit("/", 1)[1])
    assert proj.get(IDENTIFIER) == lit("31")
    assert proj.get(TOP_CONCEPT_OF) == proj.get(IN_SCHEME) == {Term("uri", WS)}
    assert proj.get(ATTRIBUTED_TO) == {Term("uri", cust.uri)}
    assert not proj.get(BROADER)

    act = by_label(store, "General")
    assert act.types == {TASK, KIMAI_ACTIVITY}
    assert act.get(IDENTIFIER) == lit("31") and act.uri != proj.uri
    assert act.get(IN_SCHEME) == {Term("uri", WS)} and not act.get(TOP_CONCEPT_OF)
    assert act.get(BROADER) == {Term("uri", proj.uri)}  # project 31, not activity 31
    assert by_label(store, "Design").get(BROADER) == {Term("uri", by_label(store, "Website").uri)}
    assert {k for k, _, o in outcomes(p) if o == CREATED} == {"customer", "project", "activity"}
    assert len(outcomes(p, "activity")) == 4 + 1  # four created + the global activity's warning


def test_colour_inheritance():
    store = apply({}, plan(*world()).changes)
    assert by_label(store, "Publicatieplatform").get(COLOR) == lit("#0ea5e9")  # from its customer
    assert by_label(store, "General").get(COLOR) == lit("#0ea5e9")  # from its project (inherited)
    assert by_label(store, "Website").get(COLOR) == lit("#ff0000")  # its own
    assert by_label(store, "Design").get(COLOR) == lit("#ff0000")
    assert by_label(store, "Own colour").get(COLOR) == lit("#123456")
    assert not by_label(store, "Bare").get(COLOR) and not by_label(store, "Stad").get(COLOR)
    assert not by_label(store, "Meeting").get(COLOR)


def test_rerun_plans_nothing():
    store = apply({}, plan(*world()).changes)
    again = plan(*world(), stored=store)
    assert again.changes == []
    assert {o for _, _, o in outcomes(again)} == {UNCHANGED, WARNING}
    assert again.report.counts()[UNCHANGED] == 2 + 3 + 4


def test_rename_and_colour_change_update_only_those_values():
    store = apply({}, plan(*world()).changes)
    customers, projects, activities = world()
    projects[0] = KimaiProject(id=31, name='Publicatie "platform"', customer=31, color="#00ff00")
    p = plan(customers, projects, activities, stored=store)
    by_key = {(r.kind, r.key): r for r in p.report.rows if r.outcome == UPDATED}
    assert set(by_key) == {("project", '31 Publicatie "platform"'), ("activity", "31 General")}
    assert "rdfs:label" in by_key[("project", '31 Publicatie "platform"')].reason
    assert by_key[("activity", "31 General")].reason == "ui:color"  # inherited colour follows
    store = apply(store, p.changes)
    assert by_label(store, 'Publicatie "platform"').get(COLOR) == lit("#00ff00")
    assert by_label(store, "General").get(COLOR) == lit("#00ff00")
    assert plan(customers, projects, activities, stored=store).changes == []


def test_project_synced_before_its_customer_is_linked_on_the_next_run():
    customers, projects, activities = world()
    first = plan(customers, projects, activities, sync_customers=False)
    assert not [r for r in first.report.rows if r.kind == "customer"]
    store = apply({}, first.changes)
    assert not by_label(store, "Publicatieplatform").get(ATTRIBUTED_TO)
    assert any("not in the triplestore yet" in r.reason for r in first.report.of(WARNING, "project"))
    store = apply(store, plan(customers, [], [], stored=store, sync_tasks=False).changes)  # customers only
    healed = plan(customers, projects, activities, stored=store)
    store = apply(store, healed.changes)
    assert by_label(store, "Publicatieplatform").get(ATTRIBUTED_TO) == {Term("uri", by_label(store, "Havenbedrijf").uri)}
    assert {r.key for r in healed.report.of(UPDATED)} == {"31 Publicatieplatform", "5 Website", "6 Bare"}


def test_wrong_relations_are_repaired_and_stray_ones_removed():
    store = apply({}, plan(*world()).changes)
    proj, act = by_label(store, "Publicatieplatform"), by_label(store, "General")
    stray = {**proj.values, ATTRIBUTED_TO: frozenset({Term("uri", by_label(store, "Stad").uri)}),
             BROADER: frozenset({Term("uri", "http://example.org/x")})}
    store[proj.uri] = StoredResource(proj.uri, stray)
    store[act.uri] = StoredResource(act.uri, {**act.values, BROADER: frozenset({Term("uri", by_label(store, "Website").uri)})})
    p = plan(*world(), stored=store)
    store = apply(store, p.changes)
    assert by_label(store, "Publicatieplatform").get(ATTRIBUTED_TO) == {Term("uri", by_label(store, "Havenbedrijf").uri)}
    assert not by_label(store, "Publicatieplatform").get(BROADER)
    assert by_label(store, "General").get(BROADER) == {Term("uri", proj.uri)}
    assert plan(*world(), stored=store).changes == []


def test_legacy_tasks_are_adopted_by_shape_and_ambiguous_ones_block_twins():
    customers = [KimaiCustomer(id=1, name="C")]
    projects = [KimaiProject(id=7, name="P7", customer=1), KimaiProject(id=9, name="P9", customer=1)]
    activities = [KimaiActivity(id=8, name="A8", project=7), KimaiActivity(id=9, name="A9", project=7)]
    stored = {r.uri: r for r in [
        res(BASE + "/customers/c1", a=ORGANIZATION, mu__uuid="c1", rdfs__label="C", dct__identifier="1"),
        res(BASE + "/tasks/p7", a=TASK, mu__uuid="p7", rdfs__label="P7", dct__identifier="7",
            skos__topConceptOf=WS, skos__inScheme=WS, prov__wasAttributedTo=BASE + "/customers/c1"),
        res(BASE + "/tasks/a8", a=TASK, mu__uuid="a8", rdfs__label="A8", dct__identifier="8",
            skos__inScheme=WS, skos__broader=BASE + "/tasks/p7"),
        res(BASE + "/tasks/x9", a=TASK, mu__uuid="x9", rdfs__label="?", dct__identifier="9", skos__inScheme=WS),
    ]}
    p = plan(customers, projects, activities, stored=stored)
    store = apply(stored, p.changes)
    assert store[BASE + "/tasks/p7"].types == {TASK, PROJECT}
    assert store[BASE + "/tasks/a8"].types == {TASK, KIMAI_ACTIVITY}
    rows = {(r.kind, r.key): r for r in p.report.rows if r.outcome == UPDATED}
    assert rows[("project", "7 P7")].reason.startswith("legacy project")
    assert rows[("project", "7 P7")].reason.endswith("type doap:Project")  # nothing else differed
    # Neither project 9 nor activity 9 is created while x9 could be either.
    assert not [c for c in p.changes if c.uri not in stored]
    assert {r.key for r in p.report.of(WARNING)} >= {"9 P9", "9 A9", BASE + "/tasks/x9"}
    assert plan(customers, projects, activities, stored=store).changes == []


def test_an_activity_with_a_projects_id_is_not_taken_for_the_project():
    stored = {r.uri: r for r in [res(BASE + "/tasks/a31", a=[TASK, KIMAI_ACTIVITY], mu__uuid="a31",
                                     rdfs__label="General", dct__identifier="31", skos__inScheme=WS)]}
    p = plan([KimaiCustomer(id=1, name="C")], [KimaiProject(id=31, name="P", customer=1)], [], stored=stored)
    created = [c for c in p.changes if c.uri not in stored]
    assert len(created) == 2 and all(c.uri != BASE + "/tasks/a31" for c in p.changes)
    assert ("activity", "31 General", WARNING) in outcomes(p)  # vanished from Kimai: reported, kept


def test_global_activity_is_unlinked_and_listed():
    store = apply({}, plan(*world()).changes)
    meeting = by_label(store, "Meeting")
    store[meeting.uri] = StoredResource(meeting.uri, {**meeting.values, BROADER: frozenset({Term("uri", BASE + "/tasks/x")})})
    p = plan(*world(), stored=store)
    assert [c.clear for c in p.changes] == [frozenset({BROADER})]
    assert any(r.key == "8 Meeting" and "global activity" in r.reason for r in p.report.of(WARNING))


def test_vanished_and_hidden_records_are_reported_never_deleted():
    store = apply({}, plan(*world()).changes)
    customers, projects, activities = world()
    projects = [p for p in projects if p.id != 6] + [KimaiProject(id=40, name="Secret", customer=2, visible=False)]
    activities[1] = KimaiActivity(id=5, name="Design", project=5, visible=False)
    p = plan(customers, projects, activities, stored=store)
    assert p.changes == []
    warnings = {(r.key, r.reason) for r in p.report.of(WARNING)}
    assert ("6 Bare", "not in Kimai: kept (never deleted: work logs may point at it)") in warnings
    assert ("40 Secret", "hidden in Kimai (or its customer is): not created") in warnings
    assert any(k == "5 Design" and r.startswith("hidden in Kimai") for k, r in warnings)


def test_one_bad_record_fails_alone():
    customers, projects, activities = world()
    projects.append(KimaiProject(id=50, name="bad\x00name", customer=2))
    p = plan(customers, projects, activities)
    assert [(r.key, r.outcome) for r in p.report.of(FAILED)] == [("50 bad\x00name", FAILED)]
    assert "NUL" in p.report.of(FAILED)[0].reason
    assert len([r for r in p.report.of(CREATED)]) == 2 + 3 + 4


def test_typed_literals_are_rewritten_as_plain_strings_and_missing_uuid_added():
    store = apply({}, plan(*world()).changes)
    cust = by_label(store, "Havenbedrijf")
    values = dict(cust.values)
    values[IDENTIFIER] = frozenset({Term("literal", "31", XSD_STRING)})
    del values[UUID]
    store[cust.uri] = StoredResource(cust.uri, values)
    p = plan(*world(), stored=store)
    (change,) = p.changes
    assert change.clear == frozenset({IDENTIFIER})
    store = apply(store, p.changes)
    assert store[cust.uri].get(IDENTIFIER) == lit("31")
    assert store[cust.uri].get(UUID) == lit(cust.uri.rsplit("/", 1)[1])


def test_duplicates_in_the_store_are_reported_and_left_alone():
    stored = {r.uri: r for r in [res(BASE + f"/customers/{n}", a=ORGANIZATION, mu__uuid=n, rdfs__label="old",
                                     dct__identifier="1") for n in ("a", "b")]}
    p = plan([KimaiCustomer(id=1, name="C")], [KimaiProject(id=2, name="P", customer=1)], [], stored=stored)
    assert not [c for c in p.changes if c.uri in stored]
    assert any(r.key == "1 C" and "2 resources" in r.reason for r in p.report.of(WARNING))
    assert any(r.key == "2 P" and "ambiguous" in r.reason for r in p.report.of(WARNING))
    # the project is still created, without a customer link
    (created,) = p.changes
    assert not any(p == ATTRIBUTED_TO for p, _ in created.insert)


def test_text_is_kept_exactly():
    names = ['quote " and \' apostrophe', "back\\slash \\n not a newline", "two\nlines\r\tand tab",
             "Ελληνικά 日本語 emoji 🎉", "trailing space "]
    customers = [KimaiCustomer(id=i, name=n) for i, n in enumerate(names, 1)]
    store = apply({}, plan(customers).changes)
    assert sorted(t for r in store.values() for t in r.texts(LABEL)) == sorted(names)
    assert plan(customers, stored=store).changes == []
