"""Plan the tracker users → Timekeeper accounts sync in plain code (users are `trackers.port.TrackerUser`).

A Kimai account is a `foaf:OnlineAccount` whose `foaf:accountServiceHomepage` is
`KIMAI_ACCOUNT_SERVICE_HOMEPAGE`; login accounts (another homepage) are never touched. Rules:
- match by Kimai id (`dct:identifier`); a changed username updates `foaf:accountName`;
- an account from before ids were written (no `dct:identifier`) is adopted when exactly one
  such account has the user's username: the id is added. Two candidates: reported, not guessed;
- a Kimai user without an account gets one (disabled users: reported, not created);
- accounts no person links to (`foaf:account`) are reported: their work logs can never sync;
- accounts whose user vanished from Kimai are reported, never deleted.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kimaisync.plan.reference import (IDENTIFIER, NEVER_DELETED, Plan, key, mint, record_change, ref, text,
                                      uuid_values)
from kimaisync.rdf.vocab import ONLINE_ACCOUNT, iri
from kimaisync.report import FAILED, WARNING, RunReport
from kimaisync.store.reference import StoredResource

ACCOUNT_NAME = iri("foaf:accountName")
HOMEPAGE = iri("foaf:accountServiceHomepage")

UNLINKED = "no person links to this account (foaf:account): its work logs can never sync"


def plan_accounts(users: Iterable[Any], stored: Mapping[str, StoredResource], linked: set[str], *,
                  base_uri: str, homepage: str, new_uuid: Callable[[], Any] = _uuid.uuid1,
                  report: RunReport | None = None) -> Plan:
    plan = Plan(report=report or RunReport("Kimai accounts"))
    users = {u.id: u for u in users}
    kimai_accounts = [r for r in stored.values() if ONLINE_ACCOUNT in r.types and homepage in r.texts(HOMEPAGE)]
    by_id: dict[str, list[StoredResource]] = {}
    legacy_by_name: dict[str, list[StoredResource]] = {}
    for acc in kimai_accounts:
        ids = acc.texts(IDENTIFIER)
        if ids:
            for i in ids:
                by_id.setdefault(i, []).append(acc)
        else:
            for name in acc.texts(ACCOUNT_NAME):
                legacy_by_name.setdefault(name, []).append(acc)
    several_ids = {acc.uri for acc in kimai_accounts if len(acc.texts(IDENTIFIER)) > 1}
    adopted: set[str] = set()

    for uid in sorted(users):
        u = users[uid]
        k = key(uid, u.name)
        matches = by_id.get(str(uid), [])
        legacy = None
        if len(matches) > 1 or (matches and matches[0].uri in several_ids):
            plan.report.add("account", k, WARNING, "not synced: more than one account (or more than one id) for this "
                            "user: " + ", ".join(sorted(a.uri for a in matches)))
            continue
        res = matches[0] if matches else None
        if res is None:
            named = legacy_by_name.get(u.name, [])
            if len(named) > 1:
                plan.report.add("account", k, WARNING, "not synced: several accounts without dct:identifier are named "
                                f"{u.name!r}: " + ", ".join(sorted(a.uri for a in named)))
                continue
            if named:
                res, legacy = named[0], "legacy account without dct:identifier adopted by its username"
                adopted.add(res.uri)
        if res is None and not u.enabled:
            plan.report.add("account", k, WARNING, "disabled in Kimai: not created")
            continue
        try:
            subject = res.uri if res else mint(base_uri, "accounts", new_uuid)[0]
            exact = {
                **uuid_values(res, subject, new_uuid),
                ACCOUNT_NAME: {text(u.name)},
                HOMEPAGE: {ref(homepage)},
                IDENTIFIER: {text(str(uid))},
            }
            record_change(plan, "account", k, res, subject, [ONLINE_ACCOUNT], exact, legacy=legacy)
        except (ValueError, TypeError) as err:
            plan.report.add("account", k, FAILED, str(err))
            continue
        if res is not None and not u.enabled:
            plan.report.add("account", k, WARNING, "disabled in Kimai: " + NEVER_DELETED)
        if subject not in linked:
            plan.report.add("account", k, WARNING, UNLINKED)

    for kid in sorted(set(by_id) - {str(i) for i in users}, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s)):
        for acc in by_id[kid]:
            names = sorted(acc.texts(ACCOUNT_NAME))
            plan.report.add("account", key(kid, names[0] if names else acc.uri), WARNING, f"not in Kimai: {NEVER_DELETED}")
    for name, accs in sorted(legacy_by_name.items()):
        for acc in accs:
            if acc.uri not in adopted and not any(u.name == name for u in users.values()):
                plan.report.add("account", acc.uri, WARNING,
                                f"no dct:identifier and no Kimai user is named {name!r}: left alone")
    return plan


__all__ = ["plan_accounts", "UNLINKED", "ACCOUNT_NAME", "HOMEPAGE"]
