"""JsTimesheet: a stored timesheet as the API shows it, and a request body read into one.

Output follows EGroupware's rendering: empty values are left out (a duration or quantity of 0, an
empty description, no category), times are UTC ``YYYY-MM-DDTHH:MM:SSZ``, ``owner``/``modifier``
are the account's email, ``category`` is ``{"<name>": true}``, ``status`` is a label, ``etag`` is
``<id>:<modified>`` (the ETag header adds the double quotes).

Input: POST and PUT give the whole record (attributes left out are cleared on PUT), PATCH a
PatchObject (``"a/b": value`` paths, ``null`` removes). ``id``, ``etag``, ``created``,
``modified``, ``modifier``, ``@type`` and ``pm_id`` are read-only and ignored; unknown attributes
are ignored too. Bad values raise ``ParseError`` (answered 422, like EGroupware's
JsParseException), naming the attribute.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .state import STATUS_LABELS, EGroupwareState, EmuTimesheet

READ_ONLY = {"@type", "id", "etag", "created", "modified", "modifier", "pm_id", "prodId"}
REQUIRED = ("title", "start", "duration")


class ParseError(Exception):
    """A body EGroupware would refuse with 422."""


def utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(state: EGroupwareState, ts: EmuTimesheet) -> dict[str, Any]:
    owner = state.accounts.get(ts.owner)
    modifier = state.accounts.get(ts.modifier)
    project = state.projects.get(ts.pm_id) if ts.pm_id else ts.project
    data = {
        "@type": "timesheet",
        "id": ts.id,
        "title": ts.title,
        "description": ts.description,
        "start": utc(ts.start),
        "duration": ts.duration,
        "paused": ts.paused,
        "project": project,
        "pm_id": ts.pm_id,
        "quantity": float(ts.quantity) if ts.quantity is not None else None,
        "unitprice": float(ts.unitprice) if ts.unitprice is not None else None,
        "category": {state.categories[ts.cat_id]: True} if ts.cat_id in state.categories else None,
        "owner": owner.email if owner else ts.owner,
        "created": utc(ts.created),
        "modified": utc(ts.modified),
        "modifier": modifier.email if modifier else ts.modifier,
        "pricelist": ts.pl_id,
        "status": STATUS_LABELS.get(ts.status) if ts.status is not None else None,
        "egroupware.org:customfields": ts.customfields or None,
        "etag": ts.etag,
    }
    return {k: v for k, v in data.items() if v}  # PHP's array_filter: every falsy value goes


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise ParseError(f"Error parsing JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ParseError("Error parsing JSON: a JSON object is required")
    return data


def apply_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 8984 PatchObject onto the rendered record: ``a/b`` paths, ``null`` removes."""
    out = json.loads(json.dumps(current))
    for path, value in patch.items():
        parts = path.split("/")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ParseError(f"Error parsing JsTimesheet attribute '{path}': not an object")
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return out


def _datetime(name: str, value: Any) -> int:
    if not isinstance(value, str):
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': expected a UTCDateTime string")
    text = value.strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': invalid date-time '{value}'") from None
    if when.tzinfo is None:
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': '{value}' has no time zone "
                         "(a UTCDateTime ends in Z)")
    return int(when.timestamp())


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': integer expected")
    try:
        number = float(value)
    except ValueError:
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': integer expected, got '{value}'") from None
    if number != int(number):
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': integer expected, got {value}")
    return int(number)


def _float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': number expected")
    try:
        return float(value)
    except ValueError:
        raise ParseError(f"Error parsing JsTimesheet attribute '{name}': number expected, got '{value}'") from None


def fields_from(state: EGroupwareState, data: dict[str, Any]) -> dict[str, Any]:
    """The stored fields a whole JsTimesheet sets (every writable field; cleared when absent).

    POST and PUT need every attribute, title, start and duration at least (PATCH reaches here
    with the stored record under its changes)."""
    missing = [name for name in REQUIRED if not data.get(name)]
    if missing:
        raise ParseError(f"Required field(s) {', '.join(missing)} missing")
    fields: dict[str, Any] = {"description": None, "project": None, "cat_id": None, "pl_id": None,
                              "status": None, "unitprice": None, "paused": 0, "customfields": {}}
    for name, value in data.items():
        if name in READ_ONLY or name == "owner":  # the owner is the collection's, never the body's
            continue
        if name in ("title", "description", "project"):
            if value is not None and not isinstance(value, str):
                raise ParseError(f"Error parsing JsTimesheet attribute '{name}': string expected")
            fields[name] = value
        elif name == "start":
            fields["start"] = _datetime(name, value)
        elif name in ("duration", "paused"):
            fields[name] = _int(name, value)
        elif name == "pricelist":
            fields["pl_id"] = _int(name, value) if value is not None else None
        elif name in ("quantity", "unitprice"):
            fields[name] = _float(name, value) if value is not None else None
        elif name == "category":
            fields["cat_id"] = _category(state, value)
        elif name == "status":
            fields["status"] = _status(value)
        elif name == "egroupware.org:customfields":
            if not isinstance(value, dict):
                raise ParseError(f"Error parsing JsTimesheet attribute '{name}': object expected")
            fields["customfields"] = value
        # anything else: EGroupware logs it and goes on
    if fields.get("duration") is not None and data.get("quantity") is None:
        fields["quantity"] = fields["duration"] / 60.0
    return fields


def _category(state: EGroupwareState, value: Any) -> int | None:
    if value is None or value == {}:
        return None
    if not isinstance(value, dict) or not all(v is True for v in value.values()):
        raise ParseError("Error parsing JsTimesheet attribute 'category': expected {\"<category name>\": true}")
    if len(value) > 1:
        raise ParseError("Error parsing JsTimesheet attribute 'category': only a single category is supported")
    name = next(iter(value))
    for cat_id, cat_name in state.categories.items():
        if cat_name == name:
            return cat_id
    return state.add_category(name)  # EGroupware adds an unknown category by that name


def _status(value: Any) -> int | None:
    if value is None:
        return None
    for number, label in STATUS_LABELS.items():
        if value == label:
            return number
    allowed = "', '".join(STATUS_LABELS.values())
    raise ParseError(f"Invalid status value '{value}', allowed '{allowed}'")
