"""JSON shapes of Kimai entities (kimai-api.md section 3).

Kimai serializes nulls, keeps ``.0`` on floats and uses different field sets for collections,
entities and the expanded ("full") timesheet view; these functions mirror that so that clients
meet the same keys here as against a real server.
"""

from __future__ import annotations

import zlib
from typing import Any

from .dates import format_date, format_datetime
from .permissions import has
from .state import EmuActivity, EmuConfig, EmuCustomer, EmuProject, EmuTimesheet, EmuUser, KimaiState

# Fallback colours for ``color-safe``: Kimai derives one from the name when none is configured.
_PALETTE = (
    "#5319e7", "#1e90ff", "#2f9e44", "#e8590c", "#c2255c", "#0b7285", "#6f42c1", "#3b5bdb",
    "#d6336c", "#087f5b", "#f08c00", "#5c940d", "#862e9c", "#1864ab", "#a61e4d", "#495057",
)

_FIRST_VERSION_WITH_BREAK = 22300
_FIRST_VERSION_HIDING_RATES = 26600


def color_safe(color: str | None, name: str) -> str:
    """The configured colour, or a stable one picked by the name (never null)."""
    return color or _PALETTE[zlib.crc32(name.encode("utf-8")) % len(_PALETTE)]


def _colors(color: str | None, name: str) -> dict[str, Any]:
    return {"color": color, "color-safe": color_safe(color, name)}


# ---------------------------------------------------------------------------------- customers

def _customer_base(c: EmuCustomer) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "number": c.number, "comment": c.comment, "visible": c.visible,
        "billable": c.billable, "company": c.company, "country": c.country, "language": c.language,
        "currency": c.currency, "phone": None, "fax": None, "mobile": None, "homepage": None,
        "timezone": c.timezone, "metaFields": [],
    }


def customer(c: EmuCustomer, *, details: bool = False) -> dict[str, Any]:
    """``GET /api/customers`` item; ``details`` adds the address block of ``full=1``."""
    result = {**_customer_base(c), "teams": [], **_colors(c.color, c.name)}
    if details:
        result.update({
            "vatId": c.vat_id, "addressLine1": c.address_line1, "addressLine2": c.address_line2,
            "addressLine3": c.address_line3, "postCode": c.post_code, "city": c.city,
        })
    return result


def _customer_nested(c: EmuCustomer) -> dict[str, Any]:
    return {**_customer_base(c), **_colors(c.color, c.name)}


# ----------------------------------------------------------------------------------- projects

def _project_fields(p: EmuProject) -> dict[str, Any]:
    return {
        "orderNumber": p.order_number, "orderDate": format_date(p.order_date),
        "start": format_date(p.start), "end": format_date(p.end), "comment": p.comment,
        "visible": p.visible, "billable": p.billable, "globalActivities": p.global_activities,
        "number": p.number, "metaFields": [],
    }


def project(p: EmuProject, state: KimaiState) -> dict[str, Any]:
    """``GET /api/projects`` item: the customer as id plus its name as ``parentTitle``."""
    return {
        "id": p.id, "name": p.name, "parentTitle": state.customers[p.customer].name, "customer": p.customer,
        **_project_fields(p), "teams": [], **_colors(p.color, p.name),
    }


def _project_nested(p: EmuProject, state: KimaiState) -> dict[str, Any]:
    return {
        "id": p.id, "name": p.name, "customer": _customer_nested(state.customers[p.customer]),
        **_project_fields(p), **_colors(p.color, p.name),
    }


# --------------------------------------------------------------------------------- activities

def _activity_fields(a: EmuActivity) -> dict[str, Any]:
    return {"comment": a.comment, "visible": a.visible, "billable": a.billable, "number": a.number, "metaFields": []}


def activity(a: EmuActivity, state: KimaiState) -> dict[str, Any]:
    """``GET /api/activities`` item; ``project``/``parentTitle`` are null for global activities."""
    parent = state.projects[a.project].name if a.project is not None else None
    return {
        "id": a.id, "name": a.name, "parentTitle": parent, "project": a.project,
        **_activity_fields(a), "teams": [], **_colors(a.color, a.name),
    }


def _activity_nested(a: EmuActivity, state: KimaiState) -> dict[str, Any]:
    nested = _project_nested(state.projects[a.project], state) if a.project is not None else None
    return {"id": a.id, "name": a.name, "project": nested, **_activity_fields(a), **_colors(a.color, a.name)}


# -------------------------------------------------------------------------------------- users

def initials(u: EmuUser) -> str:
    """Two letters from the display name: word initials, or its first letters for one word."""
    name = u.alias or u.username
    words = name.split()
    letters = "".join(w[0] for w in words) if len(words) > 1 else name
    return letters[:2].upper()


def user(u: EmuUser) -> dict[str, Any]:
    """``GET /api/users`` item (also the user embedded in expanded timesheets)."""
    return {
        "id": u.id, "username": u.username, "email": u.email, "enabled": u.enabled,
        "apiToken": u.api_password is not None, "systemAccount": False, **_colors(u.color, u.username),
        "avatar": None, "alias": u.alias, "accountNumber": None, "initials": initials(u), "title": None,
        "language": u.language, "locale": u.language, "timezone": u.timezone,
    }


def user_entity(u: EmuUser) -> dict[str, Any]:
    """``/api/users/me`` and ``full=1`` lists. ``roles`` lists stored roles; ROLE_USER is implicit."""
    return {
        **user(u), "supervisor": None, "teams": [], "roles": [r for r in u.roles if r != "ROLE_USER"],
        "memberships": [], "preferences": [],
    }


# --------------------------------------------------------------------------------- timesheets

def timesheet(ts: EmuTimesheet, state: KimaiState, viewer: EmuUser, *,
              entity: bool = False, expanded: bool = False) -> dict[str, Any]:
    """A timesheet as the collection item, the entity (adds the rate inputs), or expanded.

    Datetimes are shown in the record's timezone. From 2.66 on, rate fields are only present for
    callers allowed to see rates; earlier versions always send them.
    """
    config = state.config
    result: dict[str, Any] = {
        "id": ts.id,
        "begin": format_datetime(ts.begin, ts.timezone),
        "end": format_datetime(ts.end, ts.timezone),
        "duration": ts.duration,
    }
    if config.version_id >= _FIRST_VERSION_WITH_BREAK:
        result["break"] = 0
    result["description"] = ts.description
    if expanded:
        result.update({"tags": list(ts.tags), "metaFields": [], "exported": ts.exported, "billable": ts.billable,
                       "activity": _activity_nested(state.activities[ts.activity], state),
                       "project": _project_nested(state.projects[ts.project], state),
                       "user": user(state.users[ts.user])})
    else:
        result.update({"activity": ts.activity, "project": ts.project, "user": ts.user, "tags": list(ts.tags),
                       "metaFields": [], "exported": ts.exported, "billable": ts.billable})
    if config.version_id < _FIRST_VERSION_HIDING_RATES or has(viewer, "view_rate"):
        result["rate"] = ts.rate
        result["internalRate"] = ts.rate
        if entity:
            result["fixedRate"] = None if ts.fixed_rate is None else float(ts.fixed_rate)
            result["hourlyRate"] = None if ts.hourly_rate is None else float(ts.hourly_rate)
    return result


# ---------------------------------------------------------------------------------- settings

def version(config: EmuConfig) -> dict[str, Any]:
    return {"version": config.version, "versionId": config.version_id,
            "copyright": f"Kimai {config.version} by Kevin Papst."}


def timesheet_config(config: EmuConfig) -> dict[str, Any]:
    return {
        "trackingMode": config.tracking_mode, "defaultBeginTime": "now",
        "activeEntriesHardLimit": config.active_entries_hard_limit,
        "isAllowFutureTimes": config.allow_future_times, "isAllowOverlapping": config.allow_overlapping,
    }
