"""The remote API's methods, as Kimai 1's ``Kimai_Remote_Api`` and its database layer behave.

Each function takes the state and the call's positional parameters (Zend has already filled in
defaults) and returns the JSON-RPC ``result``. Facts the sync depends on:

* ``authenticate(username, password)`` returns the user's existing key, or makes one; an unknown
  user or a wrong password is ``{"success": false, "error": {"msg": "Unknown user or no
  permissions."}}`` -- the same answer every other method gives for a key it does not know. A
  deactivated (or deleted) user with the right password gets the logout page (``Kicked``).
* A key stands for its user. ``getTimesheet`` lists only that user's rows; ``setTimesheetRecord``
  writes ``userID`` = the key's user, whatever the record says -- an update of another user's row
  hands the row over to the key's user; ``getTimesheetRecord`` and ``removeTimesheetRecord``
  check no owner at all.
* Rows come back as mysqli gives them: every column a string (or null), times in unix seconds.
* ``getTimesheet`` orders by start, newest first, pages by ``LIMIT start, limit`` (without a
  limit: the first ``row_limit`` rows, 100 by default), counts ``total`` over all matching rows,
  keeps rows overlapping ``[from, to)``, and clamps the start and end it shows to that window.
* A list method with nothing to show (users, customers, projects, tasks) fails with the generic
  ``"An unhandled error occured."``; an update of an id that does not exist succeeds and changes
  nothing; a delete of one succeeds too; a row whose project or activity does not exist is
  stored but never listed (the listing joins those tables).
"""

from __future__ import annotations

from typing import Any, Callable

from .phpish import php_empty, php_float, php_int, php_isset, strtotime
from .state import REVISION, VERSION, EmuTimeEntry, EmuUser, Kimai1State

AUTH_ERROR = "Unknown user or no permissions."
UNHANDLED = "An unhandled error occured."  # sic: Kimai's own spelling


class PhpFatal(Exception):
    """An uncaught PHP error (a TypeError, an uncaught exception): the web server answers 500."""


class ZendFault(Exception):
    """A fault Zend_Json_Server turns into a JSON-RPC ``error`` object."""

    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.code = code


def success(items: list, total: Any = 0) -> dict:
    return {"success": True, "items": items, "total": total if not php_empty(total) else len(items)}


def failure(msg: str | None = None) -> dict:
    return {"success": False, "error": {"msg": msg if msg is not None else UNHANDLED}}


def _s(value: Any) -> str | None:
    """A column as mysqli returns it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# ---------------------------------------------------------------------------- session


def _init(state: Kimai1State, key: Any) -> EmuUser | None:
    """``init($apiKey)``: the key's user, or None (then the method answers AUTH_ERROR).
    A key of a deactivated user gets past the key lookup but not ``checkUserInternal``, which
    "kicks" the user: PHP prints a redirect script and stops (see ``Kicked``)."""
    user = state.user_by_key(key)
    if user is None:
        return None
    if not user.active:
        raise Kicked()
    return user


class Kicked(Exception):
    """``kickUser()``: ``die("<script ...>window.location.href = '../index.php?a=logout';</script>")``,
    a 200 text/html answer in place of JSON."""


def authenticate(state: Kimai1State, username: Any, password: Any) -> dict:
    with state.lock:
        user = state.user_by_name(username) if isinstance(username, str) else None
        if user is None or user.password != password or not username:
            return failure(AUTH_ERROR)
        if user.trash or not user.active:
            raise Kicked()  # the password is right; checkUserInternal then throws the user out
        if user.empty_key:
            return success([{"apiKey": ""}])
        if not user.apikey:
            user.apikey = state.new_key()
        return success([{"apiKey": user.apikey}])


def get_version(state: Kimai1State) -> str:
    return f"{VERSION}-{REVISION}"


# ---------------------------------------------------------------------------- reference data


def get_users(state: Kimai1State, key: Any) -> dict:
    with state.lock:
        me = _init(state, key)
        if me is None:
            return failure(AUTH_ERROR)
        if me.role == "admin":
            users = sorted((u for u in state.users.values() if not u.trash), key=lambda u: u.name)
        else:
            users = [me]
        if not users:
            return failure()
        return success([{"userID": _s(u.id), "name": u.name} for u in users])


def get_customers(state: Kimai1State, key: Any) -> dict:
    with state.lock:
        if _init(state, key) is None:
            return failure(AUTH_ERROR)
        rows = sorted((c for c in state.customers.values() if not c.trash), key=lambda c: (not c.visible, c.name))
        if not rows:
            return failure()
        return success([{"customerID": _s(c.id), "name": c.name, "contact": c.contact, "visible": _s(c.visible)}
                        for c in rows if c.visible])


def _tasks_of_project(state: Kimai1State, project_id: Any) -> list[dict]:
    pid = php_int(project_id)
    rows = [a for a in state.activities.values()
            if not a.trash and (not a.projects or pid in a.projects)]
    rows.sort(key=lambda a: (not a.visible, a.name))
    return [{"activityID": _s(a.id), "name": a.name, "visible": _s(a.visible), "budget": None if not a.projects else "0.00",
             "approved": None if not a.projects else "0.00", "effort": None if not a.projects else "0.00"}
            for a in rows if a.visible]


def get_projects(state: Kimai1State, key: Any, include_tasks: Any = False) -> dict:
    with state.lock:
        if _init(state, key) is None:
            return failure(AUTH_ERROR)
        rows = [p for p in state.projects.values() if not p.trash]
        if not rows:
            return failure()
        customers = state.customers
        rows.sort(key=lambda p: (not p.visible, not customers[p.customer].visible, p.name, customers[p.customer].name))
        out = []
        for p in rows:
            c = customers[p.customer]
            if not p.visible or not c.visible:
                continue
            item = {"projectID": _s(p.id), "customerID": _s(c.id), "name": p.name, "comment": p.comment,
                    "visible": _s(p.visible), "filter": "0", "trash": _s(p.trash), "budget": _s(p.budget),
                    "effort": _s(p.effort), "approved": _s(p.approved), "internal": _s(p.internal),
                    "customerName": c.name, "customerVisible": _s(c.visible)}
            if include_tasks:
                item["tasks"] = _tasks_of_project(state, p.id)
            out.append(item)
        return success(out)


def get_tasks(state: Kimai1State, key: Any, project_id: Any = None) -> dict:
    with state.lock:
        if _init(state, key) is None:
            return failure(AUTH_ERROR)
        if project_id is not None:
            tasks = _tasks_of_project(state, project_id)
        else:
            rows = sorted((a for a in state.activities.values() if not a.trash), key=lambda a: (not a.visible, a.name))
            tasks = [{"activityID": _s(a.id), "name": a.name, "visible": _s(a.visible)} for a in rows if a.visible]
        if not tasks:
            return failure()
        return success(tasks)


# ---------------------------------------------------------------------------- time sheet


def _joined(state: Kimai1State, e: EmuTimeEntry) -> tuple | None:
    """The rows the listing joins; None when one is missing (the row is then never shown)."""
    project = state.projects.get(e.project)
    activity = state.activities.get(e.activity)
    user = state.users.get(e.user)
    if project is None or activity is None or user is None or project.customer not in state.customers:
        return None
    return project, state.customers[project.customer], activity, user


def _duration_text(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def get_timesheet(state: Kimai1State, key: Any, from_: Any = 0, to: Any = 0, cleared: Any = -1,
                  start: Any = 0, limit: Any = 0) -> dict:
    with state.lock:
        me = _init(state, key)
        if me is None:
            return failure(AUTH_ERROR)
        zone = me.timezone or state.default_timezone
        lo = strtotime(from_, zone) or 0
        hi = strtotime(to, zone) or 0
        if isinstance(cleared, bool) or not isinstance(cleared, (int, float, str)) or \
                (isinstance(cleared, str) and not _numeric(cleared)):
            flag = 0 if state.hide_cleared else -1
        else:
            flag = php_int(cleared)
        rows = []
        for e in state.entries.values():
            if e.user != me.id:
                continue
            joined = _joined(state, e)
            if joined is None:
                continue
            if lo and not (e.end > lo or e.end == 0):
                continue
            if hi and not e.start < hi:
                continue
            if flag > -1 and int(e.cleared) != flag:
                continue
            rows.append((e, joined))
        total = len(rows)
        if state.tie_order is not None:
            state.tie_order.shuffle(rows)  # MySQL orders rows with equal starts as it likes, per query
        rows.sort(key=lambda r: r[0].start, reverse=True)
        count = php_int(limit)
        offset = max(php_int(start), 0) if not php_empty(limit) else 0
        count = count if not php_empty(limit) else state.row_limit
        page = rows[offset:offset + max(count, 0)]
        items = [_listed(e, joined, lo, hi) for e, joined in page]
        return success(items, str(total))


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _listed(e: EmuTimeEntry, joined: tuple, lo: int, hi: int) -> dict:
    project, customer, activity, user = joined
    start: Any = lo if lo and e.start <= lo else _s(e.start)  # the window's own bound is an int
    end: Any = hi if hi and e.end >= hi else _s(e.end)
    row: dict[str, Any] = {"timeEntryID": _s(e.id), "start": start, "end": end}
    if e.end != 0:
        row["duration"] = _s(e.duration)
        row["formattedDuration"] = _duration_text(e.duration)
        row["wage_decimal"] = e.duration / 3600 * e.rate
        row["wage"] = f"{e.fixedRate:.2f}" if e.fixedRate else f"{row['wage_decimal']:.2f}"
    else:
        row.update(duration=None, formattedDuration=None, wage_decimal=None, wage=None)
    row.update({
        "budget": _s(e.budget), "approved": _s(e.approved), "rate": _s(e.rate), "projectID": _s(e.project),
        "activityID": _s(e.activity), "userID": _s(e.user), "customerName": customer.name,
        "customerID": _s(customer.id), "activityName": activity.name, "projectName": project.name,
        "projectComment": project.comment, "location": e.location, "trackingNumber": e.trackingNumber,
        "statusID": _s(e.statusID), "status": "open", "billable": _s(e.billable), "description": e.description,
        "comment": e.comment, "cleared": _s(e.cleared), "commentType": _s(e.commentType),
        "userAlias": user.alias, "userName": user.name,
    })
    return row


def _row(state: Kimai1State, e: EmuTimeEntry) -> dict | None:
    """``timeSheet_get_data``: the table's columns plus the joined names, or None."""
    joined = _joined(state, e)
    if joined is None:
        return None
    project, customer, activity, _user = joined
    return {
        "timeEntryID": _s(e.id), "start": _s(e.start), "end": _s(e.end), "duration": _s(e.duration),
        "userID": _s(e.user), "projectID": _s(e.project), "activityID": _s(e.activity),
        "description": e.description, "comment": e.comment, "commentType": _s(e.commentType),
        "cleared": _s(e.cleared), "location": e.location, "trackingNumber": e.trackingNumber,
        "rate": _s(e.rate), "fixedRate": _s(e.fixedRate), "budget": _s(e.budget), "approved": _s(e.approved),
        "statusID": _s(e.statusID), "billable": _s(e.billable),
        "projectName": project.name, "customerName": customer.name, "activityName": activity.name,
        "customerID": _s(customer.id),
    }


def get_timesheet_record(state: Kimai1State, key: Any, id_: Any) -> dict:
    with state.lock:
        if _init(state, key) is None:
            return failure(AUTH_ERROR)
        rid = php_int(id_)
        if not rid:
            return failure("Invalid ID")
        entry = state.entries.get(rid)
        row = _row(state, entry) if entry is not None else None
        return success([row]) if row else failure()


_INVALID_TIMES = "Invalid from/to, make sure there is at least a second difference."


def set_timesheet_record(state: Kimai1State, key: Any, record: Any, do_update: Any) -> dict:
    if not isinstance(record, (dict, list)):
        # `array $record`: anything else is a TypeError before the method runs
        raise PhpFatal("Kimai_Remote_Api::setTimesheetRecord(): Argument #2 ($record) must be of type array")
    with state.lock:
        me = _init(state, key)
        if me is None:
            return failure(AUTH_ERROR)
        if not record:
            return failure("Invalid record")
        if isinstance(record, list):
            record = dict(enumerate(record))
        project = php_int(record.get("projectId"))
        if not project:
            return failure("Invalid projectId.")
        activity = php_int(record.get("taskId"))
        if not activity:
            return failure("Invalid taskId.")
        zone = me.timezone or state.default_timezone
        t_in = strtotime(record.get("start"), zone) or 0
        t_out = strtotime(record.get("end"), zone) or 0
        if t_in <= 0 or t_out <= 0 or t_out - t_in <= 0:
            return failure(_INVALID_TIMES)
        data: dict[str, Any] = {"user": me.id, "project": project, "activity": activity, "start": t_in,
                                "end": t_out, "duration": t_out - t_in}
        for name in ("location", "trackingNumber", "description", "comment"):
            if php_isset(record, name):
                data[name] = record[name] if isinstance(record[name], str) else _s(record[name])
        if php_isset(record, "commentType"):
            data["commentType"] = php_int(record["commentType"])
        data["rate"] = php_float(record["rate"]) if php_isset(record, "rate") else 0.0  # best fitting rate: none set
        for src, dst in (("fixedRate", "fixedRate"), ("budget", "budget"), ("approved", "approved")):
            if php_isset(record, src):
                data[dst] = php_float(record[src])
        for src, dst in (("flagCleared", "cleared"), ("statusId", "statusID"), ("flagBillable", "billable")):
            if php_isset(record, src):
                data[dst] = php_int(record[src])
        if "cleared" in data:
            data["cleared"] = bool(data["cleared"])
        if do_update:
            rid = php_int(record.get("id"))
            if not rid:
                return failure("Performed an update, but missing id property.")
            entry = state.entries.get(rid)
            if entry is not None:  # an unknown id updates nothing, and still succeeds
                for name, value in data.items():
                    setattr(entry, name, value)
            return success([])
        rid = state.next_id("entries")
        state.entries[rid] = EmuTimeEntry(id=rid, **data)
        return success([{"id": rid}])


def remove_timesheet_record(state: Kimai1State, key: Any, id_: Any) -> dict:
    with state.lock:
        if _init(state, key) is None:
            return failure(AUTH_ERROR)
        rid = php_int(id_)
        if not rid:
            return failure("Invalid ID")
        state.entries.pop(rid, None)  # DELETE ... WHERE: no row is no error
        return success([])


# ---------------------------------------------------------------------------- the table Zend serves

Param = tuple[str, bool, Any]  # name, optional, default


class Method:
    def __init__(self, fn: Callable[..., Any], params: list[Param], returns: str = "array") -> None:
        self.fn = fn
        self.params = params
        self.returns = returns


def _p(name: str, default: Any = ..., ) -> Param:
    return (name, default is not ..., None if default is ... else default)


METHODS: dict[str, Method] = {
    "authenticate": Method(authenticate, [_p("username"), _p("password")]),
    "getVersion": Method(get_version, [], "string"),
    "getUsers": Method(get_users, [_p("apiKey")]),
    "getCustomers": Method(get_customers, [_p("apiKey")]),
    "getProjects": Method(get_projects, [_p("apiKey"), _p("includeTasks", False)]),
    "getTasks": Method(get_tasks, [_p("apiKey"), _p("projectId", None)]),
    "getTimesheet": Method(get_timesheet, [_p("apiKey"), _p("from", 0), _p("to", 0), _p("cleared", -1),
                                           _p("start", 0), _p("limit", 0)]),
    "getTimesheetRecord": Method(get_timesheet_record, [_p("apiKey"), _p("id")]),
    "setTimesheetRecord": Method(set_timesheet_record, [_p("apiKey"), _p("record"), _p("doUpdate")]),
    "removeTimesheetRecord": Method(remove_timesheet_record, [_p("apiKey"), _p("id")]),
}
