"""Planning Kimai users against the store's accounts: plain code, no servers."""

from __future__ import annotations

from test_plan_reference import apply, counter, lit, res

from kimaisync.trackers.port import TrackerUser
from kimaisync.plan.accounts import ACCOUNT_NAME, HOMEPAGE, UNLINKED, plan_accounts
from kimaisync.plan.reference import IDENTIFIER, UUID
from kimaisync.rdf.vocab import ONLINE_ACCOUNT, iri
from kimaisync.report import CREATED, UNCHANGED, UPDATED, WARNING
from kimaisync.sparql.client import Term

BASE = "http://timekeeper.redpencil.io"
KIMAI = "http://kimai.redpencil.io"
LOGIN = "http://timekeeper.redpencil.io"


def plan(users, stored=None, linked=()):
    return plan_accounts(users, stored or {}, set(linked), base_uri=BASE, homepage=KIMAI, new_uuid=counter())


def account(uri, name, kimai_id=None, homepage=KIMAI):
    values = dict(a=ONLINE_ACCOUNT, mu__uuid=uri.rsplit("/", 1)[1], foaf__accountName=name,
                  foaf__accountServiceHomepage=homepage)
    if kimai_id is not None:
        values["dct__identifier"] = kimai_id
    return res(uri, **values)


def users():
    return [TrackerUser(14, "lverhaegen"), TrackerUser(3, "jdoe"), TrackerUser(9, "gone", enabled=False)]


def test_accounts_created_with_the_model_and_unlinked_ones_reported():
    login = account(BASE + "/accounts/login", "lverhaegen", homepage=LOGIN)  # same name, other service
    p = plan(users(), {login.uri: login})
    store = apply({login.uri: login}, p.changes)
    created = [r for r in store.values() if KIMAI in r.texts(HOMEPAGE)]
    assert len(created) == 2
    acc = next(r for r in created if r.texts(ACCOUNT_NAME) == {"lverhaegen"})
    assert acc.types == {ONLINE_ACCOUNT} and acc.uri.startswith(BASE + "/accounts/")
    assert acc.get(UUID) == lit(acc.uri.rsplit("/", 1)[1])
    assert acc.get(IDENTIFIER) == lit("14")
    assert acc.get(HOMEPAGE) == {Term("uri", KIMAI)}  # an IRI, not a string
    assert store[login.uri] == login
    rows = {(r.key, r.outcome, r.reason) for r in p.report.rows}
    assert ("9 gone", WARNING, "disabled in Kimai: not created") in rows
    assert ("14 lverhaegen", WARNING, UNLINKED) in rows and ("3 jdoe", WARNING, UNLINKED) in rows
    again = plan(users(), store, linked=[acc.uri])
    assert again.changes == [] and again.report.counts()[UNCHANGED] == 2
    assert [r.key for r in again.report.of(WARNING) if r.reason == UNLINKED] == ["3 jdoe"]


def test_changed_username_is_updated():
    acc = account(BASE + "/accounts/a14", "lotte", "14")
    p = plan([TrackerUser(14, "lverhaegen")], {acc.uri: acc}, linked=[acc.uri])
    (change,) = p.changes
    assert change.clear == frozenset({ACCOUNT_NAME})
    assert apply({acc.uri: acc}, p.changes)[acc.uri].texts(ACCOUNT_NAME) == {"lverhaegen"}
    assert [(r.key, r.outcome, r.reason) for r in p.report.rows] == [("14 lverhaegen", UPDATED, "foaf:accountName")]


def test_legacy_account_without_identifier_gets_it_and_ambiguous_ones_are_reported():
    legacy = account(BASE + "/accounts/old", "jdoe")
    twin1, twin2 = account(BASE + "/accounts/t1", "lverhaegen"), account(BASE + "/accounts/t2", "lverhaegen")
    stored = {a.uri: a for a in (legacy, twin1, twin2)}
    p = plan(users()[:2], stored, linked=stored)
    store = apply(stored, p.changes)
    assert store[legacy.uri].get(IDENTIFIER) == lit("3")
    assert [c.uri for c in p.changes] == [legacy.uri]  # no new account for either user
    (warn,) = p.report.of(WARNING)
    assert warn.key == "14 lverhaegen" and "several accounts" in warn.reason
    assert p.report.of(UPDATED)[0].reason.startswith("legacy account")


def test_vanished_user_and_unknown_legacy_account_are_reported_not_deleted():
    stored = {a.uri: a for a in (account(BASE + "/accounts/x", "ghost", "77"), account(BASE + "/accounts/y", "nobody"))}
    p = plan([], stored)
    assert p.changes == []
    assert {(r.key, r.reason) for r in p.report.of(WARNING)} == {
        ("77 ghost", "not in Kimai: kept (never deleted: work logs may point at it)"),
        (BASE + "/accounts/y", "no dct:identifier and no Kimai user is named 'nobody': left alone")}


def test_typed_identifier_and_literal_homepage_are_normalised():
    acc = res(BASE + "/accounts/a", a=ONLINE_ACCOUNT, mu__uuid="a", foaf__accountName="jdoe",
              foaf__accountServiceHomepage=Term("literal", KIMAI),
              dct__identifier=Term("literal", "3", iri("xsd:integer")))
    p = plan([TrackerUser(3, "jdoe")], {acc.uri: acc}, linked=[acc.uri])
    store = apply({acc.uri: acc}, p.changes)
    assert store[acc.uri].get(HOMEPAGE) == {Term("uri", KIMAI)} and store[acc.uri].get(IDENTIFIER) == lit("3")
    assert [r.outcome for r in p.report.rows] == [UPDATED]
    assert plan([TrackerUser(3, "jdoe")], store, linked=[acc.uri]).changes == []
    assert p.report.counts()[CREATED] == 0
