"""Which work logs a delta-notifier body names, in both formats it may arrive in.

v0.0.1 is a JSON array of `{"inserts": [...], "deletes": [...]}`; the format mu-authorization
sends to the delta-notifier is `{"changeSets": [{"insert", "delete", "effectiveInsert",
"effectiveDelete", ...}]}`. A subject is named when a triple about it, inserted or deleted,
has type cal:Vevent or one of the predicates the old service's delta rules watch. Whether it
really is a work log is for the sync to find out (timesheets also use prov:wasAssociatedWith).

The body's frame (the lists and change sets) must be right, or nothing in it can be trusted: a
DeltaFormatError. A bad part inside a right frame (a triple without a predicate, a subject that
is no IRI: a blank node, a literal, text with spaces or a NUL, an injection attempt) is dropped
and described in `Delta.dropped`, and the rest is synced: one bad triple never holds up the
work logs beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from kimaisync.inputs import iri_problem
from kimaisync.rdf.vocab import RDF_TYPE, VEVENT, WORK_LOG_PREDICATES

MAX_DESCRIBED = 20  # dropped parts named one by one; the rest are counted


class DeltaFormatError(ValueError):
    """The body is not a delta-notifier message; the text says what was expected."""


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class V001ChangeSet(_Frame):
    inserts: list[Any] | None = None
    deletes: list[Any] | None = None


class MuAuthChangeSet(_Frame):
    insert: list[Any] | None = None
    delete: list[Any] | None = None
    effectiveInsert: list[Any] | None = None  # noqa: N815 - the wire's names
    effectiveDelete: list[Any] | None = None  # noqa: N815


class MuAuthBody(_Frame):
    changeSets: list[MuAuthChangeSet]  # noqa: N815


class Term(_Frame):
    type: str | None = None
    value: str


class Triple(_Frame):
    subject: Term
    predicate: Term
    object: Term | None = None


_V001 = TypeAdapter(list[V001ChangeSet])
_EXPECTED = ("expected a JSON array of {inserts, deletes} change sets (delta-notifier v0.0.1) or an object with "
             "'changeSets'")


@dataclass
class Delta:
    work_logs: list[str] = field(default_factory=list)  # valid IRIs, first-seen order, each once
    dropped: list[str] = field(default_factory=list)  # the first MAX_DESCRIBED parts dropped, one ASCII line each
    dropped_count: int = 0  # distinct parts dropped
    _known: set[str] = field(default_factory=set, repr=False)

    def drop(self, what: str) -> None:
        if what in self._known:
            return
        self._known.add(what)
        self.dropped_count += 1
        if len(self.dropped) < MAX_DESCRIBED:
            self.dropped.append(what)


def _frame_error(err: ValidationError) -> DeltaFormatError:
    e = err.errors(include_url=False, include_input=False)[0]
    loc = [p for p in e["loc"] if isinstance(p, str)]
    if e["type"] in ("list_type",) and loc:
        what = "'changeSets' must be a list" if loc[-1] == "changeSets" else f"'{loc[-1]}' must be a list of triples"
        return DeltaFormatError(what)
    if e["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return DeltaFormatError("each change set must be an object with inserts/deletes lists")
    return DeltaFormatError(_EXPECTED)


def parse_delta(body: Any) -> Delta:
    """The work logs a (JSON-decoded) body names, and what of it was dropped; DeltaFormatError for a
    wrong frame, or for a body of which nothing could be used."""
    try:
        if isinstance(body, dict) and "changeSets" in body:
            sets = [(c.insert, c.delete, c.effectiveInsert, c.effectiveDelete)
                    for c in MuAuthBody.model_validate(body).changeSets]
        elif isinstance(body, list):
            sets = [(c.inserts, c.deletes) for c in _V001.validate_python(body)]
        else:
            raise DeltaFormatError(_EXPECTED)
    except ValidationError as err:
        raise _frame_error(err) from None
    out = Delta()
    seen: dict[str, None] = {}
    first_problem = ""
    for lists in sets:
        for triples in lists:
            for raw in triples or ():
                problem = _take(raw, seen, out)
                first_problem = first_problem or problem
    out.work_logs = list(seen)
    if not out.work_logs and out.dropped_count:
        raise DeltaFormatError(f"nothing in the body could be used: {first_problem}"
                               + (f" (and {out.dropped_count - 1} more)" if out.dropped_count > 1 else ""))
    return out


def _take(raw: Any, seen: dict[str, None], out: Delta) -> str:
    """Add the work log a triple names to `seen`; a problem's description when it is dropped."""
    if not isinstance(raw, dict):
        problem = "each triple must be an object with subject, predicate and object"
        out.drop(problem)
        return problem
    try:
        t = Triple.model_validate(raw)
    except ValidationError:
        problem = "a triple lacks its subject or predicate value"
        out.drop(problem)
        return problem
    p, o = t.predicate.value, t.object.value if t.object else None
    if not (p in WORK_LOG_PREDICATES or (p == RDF_TYPE and o == VEVENT)):
        return ""
    s = t.subject
    if s.value in seen:
        return ""
    why = f"is of type {ascii(s.type)}, not 'uri'" if s.type != "uri" else iri_problem(s.value)
    if why:
        shown = ascii(s.value)
        problem = f"subject {shown if len(shown) <= 80 else shown[:77] + '...'} {why}"
        out.drop(problem)
        return problem
    seen[s.value] = None
    return ""


def work_logs_named(body) -> list[str]:
    """The subjects of relevant triples, in first-seen order, each once (parts dropped: see parse_delta)."""
    return parse_delta(body).work_logs
