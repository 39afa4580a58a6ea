"""``/api/timesheets``: the paginated list, single records, writes and the export toggle."""

from __future__ import annotations

import math
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from .. import serialize
from ..auth import Authenticator
from ..body import form_data
from ..dates import parse_query_datetime, round_begin, round_end, zone
from ..errors import bad_request, forbidden, not_found
from ..permissions import has, may_on_timesheet
from ..query import Query
from ..state import EmuTimesheet, EmuUser, KimaiState
from ..timesheet_form import Draft, TimesheetForm
from . import contains, ok

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def _sort_key(order_by: str):
    """Sort keys with the id as tie-breaker in the same direction (Kimai >= 2.63).
    Running records have no end and sort first in ascending ``end`` order, like SQL NULLs."""
    if order_by == "id":
        return lambda t: t.id
    if order_by == "end":
        return lambda t: (t.end is not None, t.end or t.begin, t.id)
    if order_by == "rate":
        return lambda t: (t.rate, t.id)
    return lambda t: (t.begin, t.id)


def _page_size(q: Query) -> int:
    """Since 2.45 out-of-range sizes are clamped: below 1 -> 50, above 500 -> 500."""
    size = int(q.match("size", r"\d+") or DEFAULT_PAGE_SIZE)
    return DEFAULT_PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)


def router(state: KimaiState, auth: Authenticator) -> APIRouter:
    routes = APIRouter()

    def find(record_id: str) -> EmuTimesheet:
        """The record, or 404 (also for ids that are not numbers: Kimai's route needs ``\\d+``)."""
        record = state.timesheets.get(int(record_id)) if record_id.isdigit() else None
        if record is None:
            raise not_found()
        return record

    def viewable(caller: EmuUser, record_id: str) -> EmuTimesheet:
        record = find(record_id)
        if not may_on_timesheet(caller, "view", record):
            raise forbidden()
        return record

    def modifiable(caller: EmuUser, record_id: str, action: str) -> EmuTimesheet:
        """Kimai's voter for edit/delete: ownership permission, exported and locked records."""
        record = find(record_id)
        lockdown = state.config.lockdown_end
        if (not may_on_timesheet(caller, action, record)
                or (record.exported and not has(caller, "edit_exported_timesheet"))
                or (lockdown is not None and record.begin <= lockdown
                    and not has(caller, "lockdown_override_timesheet"))):
            raise forbidden()
        return record

    def store(draft: Draft, record_id: int, tz_name: str) -> EmuTimesheet:
        """Persist a valid draft: round (begin down, end up), derive billable, stamp modifiedAt,
        and stop running records the new one pushes over the limit."""
        minutes = state.config.rounding_minutes
        project = state.projects[draft.project]
        activity = state.activities[draft.activity]
        billable = draft.billable
        if billable is None:
            billable = state.customers[project.customer].billable and project.billable and activity.billable
        now = state.clock()
        record = EmuTimesheet(
            id=record_id, user=draft.user, project=project.id, activity=activity.id,
            begin=round_begin(draft.begin.astimezone(zone(tz_name)), minutes, tz_name),
            end=None if draft.end is None else round_end(draft.end.astimezone(zone(tz_name)), minutes, tz_name),
            description=draft.description, exported=draft.exported, tags=draft.tags, timezone=tz_name,
            billable=billable, fixed_rate=draft.fixed_rate, hourly_rate=draft.hourly_rate, modified_at=now)
        state.timesheets[record_id] = record
        for running in draft.stop_running:
            running.end = round_end(now, minutes, running.timezone)
            running.modified_at = now
        return record

    @routes.get("/timesheets")
    async def list_timesheets(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Paginated (``X-Page``, ``X-Total-Count``, ``X-Total-Pages``, ``X-Per-Page``); a page
        past the end is a 404. Only this caller's records unless it may view others'."""
        q = Query(request.query_params)
        user_param = q.match("user", r"\d+|all")
        listed_users = q.ids(None, "users[]")
        users: set[int] | None = {caller.id}
        if has(caller, "view_other_timesheet"):
            if user_param == "all":
                users = None
            else:
                users = listed_users | ({int(user_param)} if user_param else set()) or {caller.id}
        customers = q.ids("customer", "customers[]")
        projects = q.ids("project", "projects[]")
        activities = q.ids("activity", "activities[]")
        tag_names = {name for name in request.query_params.getlist("tags[]") if name}
        begin = q.parsed("begin", lambda v: parse_query_datetime(v, caller.timezone))
        end = q.parsed("end", lambda v: parse_query_datetime(v, caller.timezone))
        modified_after = q.parsed("modified_after", lambda v: parse_query_datetime(v, "UTC"))
        exported, active, billable = q.flag("exported"), q.flag("active"), q.flag("billable")
        expanded = bool(q.flag("full", "0|1|true|false"))
        term = q.text("term")
        order_by, descending = q.order("id|begin|end|rate", "begin", "DESC")
        page = int(q.match("page", r"\d+") or 1) or 1
        size = _page_size(q)

        with state.lock:
            if tag_names:
                tag_names &= {t.name for t in state.tags.values() if t.visible}
                if not tag_names:
                    raise bad_request()  # "Given tags were not found"

            def wanted(t: EmuTimesheet) -> bool:
                return ((users is None or t.user in users)
                        and (not customers or state.projects[t.project].customer in customers)
                        and (not projects or t.project in projects)
                        and (not activities or t.activity in activities)
                        and (not tag_names or not tag_names.isdisjoint(t.tags))
                        and (begin is None or t.begin >= begin)
                        and (end is None or t.begin <= end)  # Kimai compares begin here, not end
                        and (modified_after is None or (t.modified_at is not None and t.modified_at >= modified_after))
                        and (exported is None or t.exported == exported)
                        and (active is None or (t.end is None) == active)
                        and (billable is None or t.billable == billable)
                        and (term is None or contains(term, t.description)))

            rows = sorted(filter(wanted, state.timesheets.values()), key=_sort_key(order_by), reverse=descending)
            pages = max(1, math.ceil(len(rows) / size))
            if page > pages:
                raise not_found()
            body = [serialize.timesheet(t, state, caller, expanded=expanded)
                    for t in rows[(page - 1) * size: page * size]]
        headers = {"X-Page": str(page), "X-Total-Count": str(len(rows)),
                   "X-Total-Pages": str(pages), "X-Per-Page": str(size)}
        return ok(body, headers)

    @routes.get("/timesheets/{record_id}")
    async def get_timesheet(record_id: str, caller: EmuUser = Depends(auth)) -> JSONResponse:
        with state.lock:
            return ok(serialize.timesheet(viewable(caller, record_id), state, caller, entity=True))

    @routes.post("/timesheets")
    async def create_timesheet(request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """200 with the entity; ``?full=<anything>`` expands it. Wall clocks are read in the
        caller's timezone, then the record is labelled with the owner's timezone."""
        data = await form_data(request)
        expanded = "full" in request.query_params
        with state.lock:
            draft = TimesheetForm(state, caller, None).submit(data)
            owner = state.users[draft.user]
            record = store(draft, state.next_id("timesheets"), owner.timezone)
            return ok(serialize.timesheet(record, state, caller, entity=True, expanded=expanded))

    @routes.patch("/timesheets/{record_id}")
    async def update_timesheet(record_id: str, request: Request, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Fields not sent stay unchanged; wall clocks are read in the record's timezone."""
        data = await form_data(request)
        with state.lock:
            record = modifiable(caller, record_id, "edit")
            draft = TimesheetForm(state, caller, record).submit(data)
            updated = store(draft, record.id, record.timezone)
            return ok(serialize.timesheet(updated, state, caller, entity=True))

    @routes.delete("/timesheets/{record_id}")
    async def delete_timesheet(record_id: str, caller: EmuUser = Depends(auth)) -> Response:
        with state.lock:
            record = modifiable(caller, record_id, "delete")
            del state.timesheets[record.id]
        return Response(status_code=204)

    @routes.patch("/timesheets/{record_id}/export")
    async def toggle_export(record_id: str, caller: EmuUser = Depends(auth)) -> JSONResponse:
        """Needs ``edit_export``; taking an exported record back also ``edit_exported_timesheet``."""
        with state.lock:
            record = viewable(caller, record_id)
            if not has(caller, "edit_export") or (record.exported and not has(caller, "edit_exported_timesheet")):
                raise forbidden()
            record.exported = not record.exported
            record.modified_at = state.clock()
            return ok(serialize.timesheet(record, state, caller, entity=True))

    return routes
