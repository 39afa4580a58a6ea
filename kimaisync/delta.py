"""Which work logs a delta-notifier body names, in both formats it may arrive in.

v0.0.1 is a JSON array of `{"inserts": [...], "deletes": [...]}`; the format mu-authorization
sends to the delta-notifier is `{"changeSets": [{"insert", "delete", "effectiveInsert",
"effectiveDelete", ...}]}`. A subject is named when a triple about it, inserted or deleted,
has type cal:Vevent or one of the predicates the old service's delta rules watch. Whether it
really is a work log is for the sync to find out (timesheets also use prov:wasAssociatedWith).
"""

from __future__ import annotations

from kimaisync.rdf.vocab import RDF_TYPE, VEVENT, WORK_LOG_PREDICATES

MAX_SUBJECTS = 10_000


class DeltaFormatError(ValueError):
    """The body is not a delta-notifier message; the text says what was expected."""


def _term(quad: dict, key: str) -> str | None:
    t = quad.get(key)
    if isinstance(t, dict):
        v = t.get("value")
        return v if isinstance(v, str) else None
    return t if isinstance(t, str) else None


def _quads(change: dict, keys: tuple[str, ...]) -> list:
    out = []
    for k in keys:
        v = change.get(k, [])
        if v is None:
            continue
        if not isinstance(v, list):
            raise DeltaFormatError(f"'{k}' must be a list of triples")
        out.extend(v)
    return out


def work_logs_named(body) -> list[str]:
    """The subjects of relevant triples, in first-seen order, each once."""
    if isinstance(body, dict) and "changeSets" in body:
        changes, keys = body["changeSets"], ("insert", "delete", "effectiveInsert", "effectiveDelete")
    elif isinstance(body, list):
        changes, keys = body, ("inserts", "deletes")
    else:
        raise DeltaFormatError("expected a JSON array of {inserts, deletes} change sets (delta-notifier v0.0.1) "
                               "or an object with 'changeSets'")
    if not isinstance(changes, list):
        raise DeltaFormatError("'changeSets' must be a list")
    seen: dict[str, None] = {}
    for change in changes:
        if not isinstance(change, dict):
            raise DeltaFormatError("each change set must be an object with inserts/deletes lists")
        for quad in _quads(change, keys):
            if not isinstance(quad, dict):
                raise DeltaFormatError("each triple must be an object with subject, predicate and object")
            s, p, o = _term(quad, "subject"), _term(quad, "predicate"), _term(quad, "object")
            if not s or not p:
                raise DeltaFormatError("a triple lacks its subject or predicate value")
            if p in WORK_LOG_PREDICATES or (p == RDF_TYPE and o == VEVENT):
                seen.setdefault(s, None)
                if len(seen) > MAX_SUBJECTS:
                    raise DeltaFormatError(f"more than {MAX_SUBJECTS} work logs in one delta")
    return list(seen)
