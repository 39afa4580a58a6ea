"""``/api/customers``, ``/api/projects`` and ``/api/activities``: full, unpaginated lists.

None of them declares ``page``/``size``, so those parameters are ignored like any undeclared one.
``visible`` is 1 (visible, default), 2 (hidden) or 3 (both); visible projects and activities also
need visible parents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from .. import serialize
from ..auth import Authenticator
from ..dates import parse_date_or_datetime, zone
from ..permissions import has
from ..query import Query
from ..state import EmuActivity, EmuProject, EmuUser, KimaiState
from . import contains, ok, text_sort_key


def _sorted(rows: list[Any], order_by: str, descending: bool, name_of: Callable[[Any], str | None]) -> list[Any]:
    """By id, or by a text key with the id as tie-breaker."""
    if order_by == "id":
        return sorted(rows, key=lambda r: r.id, reverse=descending)
    return sorted(rows, key=lambda r: (text_sort_key(name_of(r)), r.id), reverse=descending)


def router(state: KimaiState, auth: Authenticator) -> APIRouter:
    routes = APIRouter()

    def customer_visible(customer_id: int) -> bool:
        return state.customers[customer_id].visible

    def project_shown(p: EmuProject, visible: str) -> bool:
        """1: project and customer visible; 2: hidden project of a visible customer; 3: all."""
        if visible == "3":
            return True
        return p.visible == (visible == "1") and customer_visible(p.customer)

    def project_in_dates(p: EmuProject, start: datetime | None, end: datetime | None) -> bool:
        if start is not None and p.end is not None and p.end < start.date():
            return False
        return not (end is not None and p.start is not None and p.start > end.date())

    def activity_shown(a: EmuActivity, visible: str) -> bool:
        """1: visible, and for non-global activities visible project and customer; 2: hidden."""
        if visible == "3":
            return True
        if visible == "2":
            return not a.visible
        if not a.visible or a.project is None:
            return a.visible
        return project_shown(state.projects[a.project], "1")

    @routes.get("/customers")
    async def list_customers(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        q = Query(request.query_params)
        visible = q.visible()
        order_by, descending = q.order("id|name", "name", "ASC")
        term = q.text("term")
        details = bool(q.flag("full")) and has(caller, "details_customer")
        with state.lock:
            rows = [c for c in state.customers.values()
                    if (visible == "3" or c.visible == (visible == "1"))
                    and (term is None or contains(term, c.name, c.number, c.comment, c.company))]
            rows = _sorted(rows, order_by, descending, lambda c: c.name)
            return ok([serialize.customer(c, details=details) for c in rows])

    @routes.get("/projects")
    async def list_projects(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Without ``start``/``end`` only projects running today are listed (``ignoreDates=1``
        lifts that); dates are read in the caller's timezone."""
        q = Query(request.query_params)
        customers = q.ids("customer", "customers[]")
        visible = q.visible()
        start = q.parsed("start", lambda v: parse_date_or_datetime(v, caller.timezone))
        end = q.parsed("end", lambda v: parse_date_or_datetime(v, caller.timezone))
        ignore_dates = q.text("ignoreDates") == "1"
        global_activities = q.flag("globalActivities")
        order_by, descending = q.order("id|name|customer", "name", "ASC")
        term = q.text("term")
        if start is None and end is None:
            start = end = state.clock().astimezone(zone(caller.timezone))
        with state.lock:
            rows = [p for p in state.projects.values()
                    if project_shown(p, visible)
                    and (not customers or p.customer in customers)
                    and (ignore_dates or project_in_dates(p, start, end))
                    and (global_activities is None or p.global_activities == global_activities)
                    and (term is None or contains(term, p.name, p.number, p.comment))]
            key = (lambda p: state.customers[p.customer].name) if order_by == "customer" else (lambda p: p.name)
            rows = _sorted(rows, order_by, descending, key)
            return ok([serialize.project(p, state) for p in rows])

    @routes.get("/activities")
    async def list_activities(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """A project filter also returns global activities -- unless exactly one project is
        given and it does not allow global activities."""
        q = Query(request.query_params)
        projects = q.ids("project", "projects[]")
        visible = q.visible()
        globals_only = q.flag("globals", "0|1|true|false")
        order_by, descending = q.order("id|name|project", "name", "ASC")
        term = q.text("term")
        with state.lock:
            with_globals = True
            if len(projects) == 1:
                (only,) = projects
                with_globals = only not in state.projects or state.projects[only].global_activities

            def in_projects(a: EmuActivity) -> bool:
                if not projects:
                    return True
                return a.project in projects if a.project is not None else with_globals

            rows = [a for a in state.activities.values()
                    if activity_shown(a, visible) and in_projects(a)
                    and (not globals_only or a.project is None)
                    and (term is None or contains(term, a.name, a.number, a.comment))]

            def sort_name(a: EmuActivity) -> str | None:
                if order_by == "project":
                    return state.projects[a.project].name if a.project is not None else None
                return a.name

            rows = _sorted(rows, order_by, descending, sort_name)
            return ok([serialize.activity(a, state) for a in rows])

    return routes
