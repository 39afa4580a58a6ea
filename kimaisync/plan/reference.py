"""Plan the tracker → Timekeeper reference data (customers, projects, activities) in plain code.

The tracker's store links (`trackers.port.Links`: the predicate holding its ids, the type of its
activities) and its name come in as arguments; Kimai 2's (`dct:identifier`, `ext:KimaiActivity`,
the seed's model) are the defaults. Below, "Kimai" stands for whichever tracker it is.

Input: Kimai's lists and the store's resources as read; output: the `Change`s to write and a
`RunReport`. No I/O and no Prefect, so every rule below is tested in milliseconds.

The rules, and why:
- A record matches a resource by type AND Kimai id: project and activity ids overlap.
- Every managed value is compared with what Kimai says on every run, relations included, so
  an import-order accident (a project synced before its customer) heals on the next run.
  Values are compared as exact terms: a label or id stored with a datatype is rewritten as the
  plain string Timekeeper (and Virtuoso's plain-literal matching) expects.
- Colour: a project without one takes its customer's, an activity its project's (the
  project's own or inherited colour).
- Legacy tasks typed only `wf:Task` are adopted when their shape says what they are
  (`skos:topConceptOf` the workspace: project; `skos:broader`: activity). Anything ambiguous is
  reported and blocks creating a twin; nothing is guessed.
- Records that vanished from Kimai or are hidden there are reported, never deleted (work logs
  point at them); hidden records are not created.
- A record whose values cannot be written (say, a NUL in a name) fails alone; the rest goes on.
"""

from __future__ import annotations

import re
import uuid as _uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kimaisync.rdf.vocab import KIMAI_ACTIVITY, ORGANIZATION, PROJECT, RDF_TYPE, TASK, curie, iri
from kimaisync.report import CREATED, FAILED, UNCHANGED, UPDATED, WARNING, RunReport
from kimaisync.sparql.client import Term
from kimaisync.store.reference import Change, StoredResource, writable

UUID = iri("mu:uuid")
LABEL = iri("rdfs:label")
IDENTIFIER = iri("dct:identifier")
COLOR = iri("ui:color")
TOP_CONCEPT_OF = iri("skos:topConceptOf")
IN_SCHEME = iri("skos:inScheme")
BROADER = iri("skos:broader")
ATTRIBUTED_TO = iri("prov:wasAttributedTo")

REFERENCE_TYPES = (ORGANIZATION, TASK)
REFERENCE_PREDICATES = (RDF_TYPE, UUID, LABEL, IDENTIFIER, COLOR, TOP_CONCEPT_OF, IN_SCHEME, BROADER, ATTRIBUTED_TO)


def reference_predicates(ref_predicate: str = IDENTIFIER) -> tuple[str, ...]:
    """The predicates a reference read needs when the tracker's ids sit on `ref_predicate`."""
    return tuple(dict.fromkeys(REFERENCE_PREDICATES + (ref_predicate,)))

NEVER_DELETED = "kept (never deleted: work logs may point at it)"


@dataclass
class Plan:
    """The changes to write, and the report of what they mean."""

    changes: list[Change] = field(default_factory=list)
    report: RunReport = field(default_factory=lambda: RunReport("sync"))

    @property
    def triples(self) -> int:
        return sum(len(c.insert) for c in self.changes)


# ------------------------------------------------------------------------------ shared helpers


def text(value: str) -> Term:
    """A plain literal to write (what Timekeeper and Virtuoso's plain-literal matching expect);
    ValueError / TypeError when the store could not hold it, so that record fails alone."""
    return writable(Term("literal", value))


def ref(value: str) -> Term:
    """An IRI to write; ValueError / TypeError when it is not a valid one."""
    return writable(Term("uri", value))


def _order(term: Term) -> tuple:
    return term.type, term.value, term.datatype or "", term.lang or ""


def diff(stored: StoredResource | None, subject: str, types: Iterable[str],
         exact: Mapping[str, set[Term]]) -> tuple[Change | None, list[str]]:
    """The change that makes `stored` hold `types` (added to any others) and exactly `exact`.

    `exact` maps a predicate to the wanted objects (typed terms, compared exactly: a stored label
    with a datatype is not the wanted plain one); an empty set means "none". Returns the change
    (None when nothing differs) and the names of what changed. The store side writes it.
    """
    ref(subject)
    inserts: list[tuple[str, Term]] = []
    clear: set[str] = set()
    changed: list[str] = []
    have_types = stored.types if stored else set()
    for t in sorted(set(types) - have_types):
        inserts.append((RDF_TYPE, ref(t)))
        changed.append(f"type {curie(t)}")
    for p, want in exact.items():
        have = set(stored.get(p)) if stored else set()
        if have == want:
            continue
        if have < want:
            add = want - have
        else:
            clear.add(p)
            add = want
        inserts.extend((p, o) for o in sorted(add, key=_order))
        changed.append(curie(p))
    if not inserts and not clear:
        return None, []
    return Change(subject, tuple(inserts), frozenset(clear)), changed


_UUID_TAIL = re.compile(r"^[A-Za-z0-9-]{8,}$")


def uuid_values(stored: StoredResource | None, subject: str, new_uuid: Callable[[], Any]) -> dict[str, set[str]]:
    """`mu:uuid` to write: none when the resource has one; else its IRI's last segment, or a new one."""
    if stored is not None and stored.get(UUID):
        return {}
    tail = subject.rstrip("/").rsplit("/", 1)[-1]
    return {UUID: {text(tail if _UUID_TAIL.match(tail) else str(new_uuid()))}}


def mint(base_uri: str, collection: str, new_uuid: Callable[[], Any]) -> tuple[str, str]:
    """A new resource IRI `{base}/{collection}/{uuid}` and its uuid."""
    u = str(new_uuid())
    return f"{base_uri.rstrip('/')}/{collection}/{u}", u


def key(record_id: Any, name: str | None) -> str:
    return f"{record_id} {name}" if name else str(record_id)


def record_change(plan: Plan, kind: str, record_key: str, stored: StoredResource | None, subject: str,
                  types: Iterable[str], exact: Mapping[str, set[str]], *, legacy: str | None = None) -> None:
    """Diff one record, queue its change, and give it its primary report row."""
    change, changed = diff(stored, subject, types, exact)
    if stored is None:
        plan.changes.append(change)
        plan.report.add(kind, record_key, CREATED, subject)
    elif change is None:
        plan.report.add(kind, record_key, UNCHANGED)
    else:
        plan.changes.append(change)
        why = ", ".join(changed)
        plan.report.add(kind, record_key, UPDATED, f"{legacy}; {why}" if legacy else why)


# ------------------------------------------------------------------------------ the store's view


@dataclass
class Candidates:
    """Stored resources of one kind by Kimai id, plus what could not be classified."""

    typed: dict[str, list[StoredResource]] = field(default_factory=dict)
    legacy: dict[str, list[StoredResource]] = field(default_factory=dict)

    def all_ids(self) -> set[str]:
        return set(self.typed) | set(self.legacy)


@dataclass
class StoreIndex:
    customers: Candidates = field(default_factory=Candidates)
    projects: Candidates = field(default_factory=Candidates)
    activities: Candidates = field(default_factory=Candidates)
    # Kimai id -> resources that may be a project or an activity with that id, and why unclear.
    ambiguous_tasks: dict[str, list[tuple[StoredResource, str]]] = field(default_factory=dict)
    ambiguous_customers: dict[str, list[tuple[StoredResource, str]]] = field(default_factory=dict)


def index_store(stored: Mapping[str, StoredResource], workspace_uri: str, *, ref_predicate: str = IDENTIFIER,
                activity_type: str = KIMAI_ACTIVITY) -> StoreIndex:
    idx = StoreIndex()
    for res in stored.values():
        ids = res.texts(ref_predicate)
        if not ids:
            continue  # not Kimai-derived (or not yet): nothing to match on
        types = res.types
        if ORGANIZATION in types:
            if len(ids) > 1:
                for i in ids:
                    idx.ambiguous_customers.setdefault(i, []).append(
                        (res, f"has several {curie(ref_predicate)} values {sorted(ids)}"))
            else:
                idx.customers.typed.setdefault(next(iter(ids)), []).append(res)
        if TASK not in types and PROJECT not in types and activity_type not in types:
            continue
        problem = None
        target: dict[str, list[StoredResource]] | None = None
        is_project, is_activity = PROJECT in types, activity_type in types
        if len(ids) > 1:
            problem = f"has several {curie(ref_predicate)} values {sorted(ids)}"
        elif is_project and is_activity:
            problem = f"is typed both doap:Project and {curie(activity_type)}"
        elif is_project:
            target = idx.projects.typed
        elif is_activity:
            target = idx.activities.typed
        else:
            top = workspace_uri in res.texts(TOP_CONCEPT_OF)
            broader = bool(res.get(BROADER))
            if top and not broader:
                target = idx.projects.legacy
            elif broader and not top:
                target = idx.activities.legacy
            else:
                problem = ("is typed only wf:Task and its shape does not say whether it is a project "
                           "(skos:topConceptOf the workspace) or an activity (skos:broader)")
        for i in ids:
            if problem:
                idx.ambiguous_tasks.setdefault(i, []).append((res, problem))
            elif target is not None:
                target.setdefault(i, []).append(res)
    return idx


def resolve(cands: Candidates, kid: str, ambiguous: Mapping[str, list[tuple[StoredResource, str]]],
            kind: str) -> tuple[StoredResource | None, str | None, str | None]:
    """(resource, legacy note, problem) for Kimai id `kid`; a problem means: touch nothing."""
    typed = cands.typed.get(kid, [])
    if len(typed) > 1:
        return None, None, f"{len(typed)} resources in the store are {kind} {kid}: " + ", ".join(sorted(r.uri for r in typed))
    if typed:
        return typed[0], None, None
    if kid in ambiguous:
        return None, None, "a resource with this id cannot be classified: " + ", ".join(sorted(r.uri for r, _ in ambiguous[kid]))
    legacy = cands.legacy.get(kid, [])
    if len(legacy) > 1:
        return None, None, f"{len(legacy)} legacy resources could be {kind} {kid}: " + ", ".join(sorted(r.uri for r in legacy))
    if legacy:
        return legacy[0], f"legacy {kind} (typed only wf:Task) adopted", None
    return None, None, None


# ------------------------------------------------------------------------------ the plan


def _color(value: str | None) -> str | None:
    return value if value else None


def plan_reference(customers: Iterable[Any], projects: Iterable[Any], activities: Iterable[Any],
                   stored: Mapping[str, StoredResource], *, base_uri: str, workspace_uri: str,
                   sync_customers: bool = True, sync_tasks: bool = True,
                   new_uuid: Callable[[], Any] = _uuid.uuid1, report: RunReport | None = None,
                   ref_predicate: str = IDENTIFIER, activity_type: str = KIMAI_ACTIVITY, tracker: str = "Kimai") -> Plan:
    """Changes and report for Kimai's customers/projects/activities against the stored resources.

    With `sync_customers=False` customers are only looked up (to link projects); with
    `sync_tasks=False` projects and activities are left alone.
    """
    plan = Plan(report=report or RunReport(f"{tracker} reference data"))
    idx = index_store(stored, workspace_uri, ref_predicate=ref_predicate, activity_type=activity_type)
    T, IDENTIFIER = tracker, ref_predicate  # noqa: N806 - the tracker's id predicate, below as everywhere
    customers = {c.id: c for c in customers}
    projects = {p.id: p for p in projects}
    activities = {a.id: a for a in activities}

    # Colours and visibility as Kimai sees them, inheritance included.
    cust_color = {i: _color(c.color) for i, c in customers.items()}
    cust_visible = {i: c.visible for i, c in customers.items()}
    proj_color = {i: _color(p.color) or cust_color.get(p.customer) for i, p in projects.items()}
    proj_visible = {i: p.visible and cust_visible.get(p.customer, True) for i, p in projects.items()}

    reported_ambiguous: set[str] = set()

    def report_ambiguous(table: Mapping[str, list[tuple[StoredResource, str]]], kind: str) -> None:
        for entries in table.values():
            for res, why in entries:
                if res.uri not in reported_ambiguous:
                    reported_ambiguous.add(res.uri)
                    plan.report.add(kind, res.uri, WARNING, f"{why}; left alone, fix it by hand")

    # ---------------------------------------------------------------- customers
    customer_uri: dict[int, str] = {}
    customer_problem: dict[int, str] = {}
    for cid in sorted(customers):
        c = customers[cid]
        res, legacy, problem = resolve(idx.customers, str(cid), idx.ambiguous_customers, "customer")
        if problem:
            customer_problem[cid] = problem
        elif res is not None:
            customer_uri[cid] = res.uri
        if not sync_customers:
            continue
        k = key(cid, c.name)
        if problem:
            plan.report.add("customer", k, WARNING, f"not synced: {problem}")
            continue
        if res is None and not c.visible:
            plan.report.add("customer", k, WARNING, f"hidden in {T}: not created")
            continue
        try:
            subject = res.uri if res else mint(base_uri, "customers", new_uuid)[0]
            exact = {
                **uuid_values(res, subject, new_uuid),
                LABEL: {text(c.name)},
                IDENTIFIER: {text(str(cid))},
                COLOR: {text(cust_color[cid])} if cust_color[cid] else set(),
            }
            record_change(plan, "customer", k, res, subject, [ORGANIZATION], exact, legacy=legacy)
        except (ValueError, TypeError) as err:
            plan.report.add("customer", k, FAILED, str(err))
            continue
        customer_uri[cid] = subject
        if res is not None and not c.visible:
            plan.report.add("customer", k, WARNING, f"hidden in {T}: " + NEVER_DELETED)
    if sync_customers:
        report_ambiguous(idx.ambiguous_customers, "customer")
        for cid in sorted(idx.customers.all_ids() - {str(i) for i in customers}, key=_num):
            for res in idx.customers.typed.get(cid, []):
                plan.report.add("customer", key(cid, _label(res)), WARNING, f"not in {T}: {NEVER_DELETED}")

    if not sync_tasks:
        return plan

    # ---------------------------------------------------------------- projects
    ws = ref(workspace_uri)
    project_uri: dict[int, str] = {}
    for pid in sorted(projects):
        p = projects[pid]
        k = key(pid, p.name)
        res, legacy, problem = resolve(idx.projects, str(pid), idx.ambiguous_tasks, "project")
        if problem:
            plan.report.add("project", k, WARNING, f"not synced: {problem}")
            continue
        if res is None and not proj_visible[pid]:
            plan.report.add("project", k, WARNING, f"hidden in {T} (or its customer is): not created")
            continue
        try:
            subject = res.uri if res else mint(base_uri, "tasks", new_uuid)[0]
            exact = {
                **uuid_values(res, subject, new_uuid),
                LABEL: {text(p.name)},
                IDENTIFIER: {text(str(pid))},
                TOP_CONCEPT_OF: {ws},
                IN_SCHEME: {ws},
                BROADER: set(),
                COLOR: {text(proj_color[pid])} if proj_color[pid] else set(),
            }
            link_note = None
            if p.customer in customer_uri:
                exact[ATTRIBUTED_TO] = {ref(customer_uri[p.customer])}
            elif p.customer in customer_problem:
                link_note = f"customer {p.customer} is ambiguous in the store, link left as it is: {customer_problem[p.customer]}"
            else:
                link_note = f"customer {p.customer} is not in the triplestore yet: linked on a later run"
            record_change(plan, "project", k, res, subject, [TASK, PROJECT], exact, legacy=legacy)
        except (ValueError, TypeError) as err:
            plan.report.add("project", k, FAILED, str(err))
            continue
        project_uri[pid] = subject
        if link_note:
            plan.report.add("project", k, WARNING, link_note)
        if res is not None and not proj_visible[pid]:
            plan.report.add("project", k, WARNING, f"hidden in {T} (or its customer is): " + NEVER_DELETED)

    # ---------------------------------------------------------------- activities
    for aid in sorted(activities):
        a = activities[aid]
        k = key(aid, a.name)
        res, legacy, problem = resolve(idx.activities, str(aid), idx.ambiguous_tasks, "activity")
        if problem:
            plan.report.add("activity", k, WARNING, f"not synced: {problem}")
            continue
        visible = a.visible and (proj_visible.get(a.project, True) if a.project is not None else True)
        if res is None and not visible:
            plan.report.add("activity", k, WARNING, f"hidden in {T} (or its project or customer is): not created")
            continue
        color = _color(a.color) or (proj_color.get(a.project) if a.project is not None else None)
        try:
            subject = res.uri if res else mint(base_uri, "tasks", new_uuid)[0]
            exact = {
                **uuid_values(res, subject, new_uuid),
                LABEL: {text(a.name)},
                IDENTIFIER: {text(str(aid))},
                IN_SCHEME: {ws},
                TOP_CONCEPT_OF: set(),
                ATTRIBUTED_TO: set(),
                COLOR: {text(color)} if color else set(),
            }
            link_note = None
            if a.project is None:
                exact[BROADER] = set()
                link_note = f"global activity (no project in {T}): not linked, work logs cannot use it"
            elif a.project in project_uri:
                exact[BROADER] = {ref(project_uri[a.project])}
            else:
                link_note = f"project {a.project} is not in the triplestore yet: linked on a later run"
            record_change(plan, "activity", k, res, subject, [TASK, activity_type], exact, legacy=legacy)
        except (ValueError, TypeError) as err:
            plan.report.add("activity", k, FAILED, str(err))
            continue
        if link_note:
            plan.report.add("activity", k, WARNING, link_note)
        if res is not None and not visible:
            plan.report.add("activity", k, WARNING, f"hidden in {T} (or its project or customer is): " + NEVER_DELETED)

    report_ambiguous(idx.ambiguous_tasks, "task")
    for kind, cands, known in (("project", idx.projects, projects), ("activity", idx.activities, activities)):
        for kid in sorted(cands.all_ids() - {str(i) for i in known}, key=_num):
            for res in cands.typed.get(kid, []) + cands.legacy.get(kid, []):
                plan.report.add(kind, key(kid, _label(res)), WARNING, f"not in {T}: {NEVER_DELETED}")
    return plan


def _num(text: str) -> tuple[int, str]:
    return (int(text), text) if text.isdigit() else (1 << 62, text)


def _label(res: StoredResource) -> str:
    labels = sorted(res.texts(LABEL))
    return labels[0] if labels else res.uri
