"""The timesheet write form: allowed fields, value conversion and Kimai's rules (section 4).

Kimai submits POST/PATCH bodies into a Symfony form with "missing fields unchanged" semantics.
Which fields exist depends on the caller's permissions, and anything else is an "extra field".
Values arrive through FOSRest's JSON-to-form decoding (``false`` -> null, ``true`` -> "1", numbers
-> strings) and are then converted by the field types; rule violations are collected per field or
globally and reported together, and nothing is stored unless the whole form is valid.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .dates import parse_form_datetime, zone
from .errors import ValidationFailed
from .permissions import has
from .state import EmuTimesheet, EmuUser, KimaiState

INVALID_VALUE = "This value is not valid."
INVALID_CHOICE = "The selected choice is invalid."
INVALID_DATETIME = "Please enter a valid date and time."
INVALID_NUMBER = "Please enter a number."
NEGATIVE_RATE = "This value should be greater than or equal to 0."
NOT_NULL = "This value should not be null."
PROJECT_REQUIRED = "A project needs to be selected."
ACTIVITY_REQUIRED = "An activity needs to be selected."
PROJECT_MISMATCH = "Project mismatch, project specific activity and timesheet project are different."
GLOBAL_ACTIVITY_FORBIDDEN = "Global activities are forbidden for the selected project."
END_BEFORE_BEGIN = "The end date must not be earlier than the start date."
ZERO_DURATION = "An empty duration is not allowed."
BEGIN_IN_FUTURE = "The begin date cannot be in the future."
END_IN_FUTURE = "The end date cannot be in the future."
MAX_DURATION = "Maximum duration exceeded."
PROJECT_NOT_STARTED = "The project has not started at that time."
PROJECT_FINISHED = "The project is finished at that time."
OVERLAPPING = "You already have an entry for this time."
LOCKED_PERIOD = "This period is locked. Please choose a later date."
CANNOT_STOP_RUNNING = "You have an active time record which cannot be stopped automatically."
EXTRA_FIELDS = "This form should not contain extra fields."

MAX_DURATION_SECONDS = 365 * 24 * 3600
_TOUCH_TOLERANCE = timedelta(seconds=1)


class _Invalid(Exception):
    """A value the field type cannot convert; carries the field error message."""


@dataclass
class Draft:
    """The record as it would look after the write (before rounding)."""

    user: int
    project: int | None
    activity: int | None
    begin: datetime | None
    end: datetime | None
    description: str | None
    tags: list[str]
    exported: bool
    fixed_rate: float | None
    hourly_rate: float | None
    billable: bool | None = None  # only set when the caller sent ``billable``
    stop_running: list[EmuTimesheet] = field(default_factory=list)


def form_fields(state: KimaiState, caller: EmuUser, creating: bool) -> list[str]:
    """Fields of the form for this caller, in Kimai's order (also the ``children`` order)."""
    fields = []
    if state.config.tracking_mode == "default" or has(caller, "view_other_timesheet"):
        fields += ["begin", "end"]
    fields += ["project", "activity", "description", "tags"]
    if has(caller, "edit_rate"):
        fields += ["fixedRate", "hourlyRate"]
    if not creating or has(caller, "create_other_timesheet"):
        fields.append("user")
    if has(caller, "edit_export"):
        fields.append("exported")
    if has(caller, "edit_billable"):
        fields.append("billable")
    return fields


def _camel(key: str) -> str:
    """FOSRest's camel-key normaliser: ``fixed_rate`` is the same field as ``fixedRate``."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def _text(value: Any) -> str | None:
    """A decoded JSON value as the string the form field receives (None for null/false/"")."""
    if isinstance(value, (list, dict)):
        raise _Invalid(INVALID_VALUE)
    if value is None or value is False or value == "":
        return None
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rate(text: str | None) -> float | None:
    try:
        number = None if text is None else float(text)
    except ValueError:
        raise _Invalid(INVALID_NUMBER) from None
    if number is not None and not math.isfinite(number):
        raise _Invalid(INVALID_NUMBER)
    if number is not None and number < 0:
        raise _Invalid(NEGATIVE_RATE)
    return number


def _checkbox(value: Any) -> bool:
    """Symfony checkbox: only a missing/null value is false -- even ``"0"`` checks the box."""
    if isinstance(value, (list, dict)):
        raise _Invalid(INVALID_VALUE)
    return value is not None and value is not False


class TimesheetForm:
    """One submission of the timesheet form; ``submit`` returns a valid ``Draft`` or raises."""

    def __init__(self, state: KimaiState, caller: EmuUser, record: EmuTimesheet | None) -> None:
        self.state = state
        self.caller = caller
        self.record = record
        self.creating = record is None
        self.fields = form_fields(state, caller, self.creating)
        self.children: dict[str, list[str]] = {name: [] for name in self.fields}
        self.global_errors: list[str] = []
        # POST reads wall clocks in the caller's zone, PATCH in the record's.
        self.model_tz = caller.timezone if record is None else record.timezone

    def submit(self, data: dict[str, Any]) -> Draft:
        data = {_camel(k): v for k, v in data.items()}
        draft = self._initial_draft()
        if "billable" in data and "billable" in self.fields:
            self.children["billableMode"] = []
        for name in self.fields:
            if name in data:
                try:
                    self._assign(draft, name, data[name])
                except _Invalid as invalid:
                    self.children[name].append(str(invalid))
        self._check_required(draft)
        self._check_relations(draft)
        self._check_times(draft)
        if self.creating and draft.end is None and not self._has_errors():
            self._check_running_limit(draft)
        if any(key not in self.fields for key in data):
            self.global_errors.append(EXTRA_FIELDS)
        if self._has_errors():
            raise ValidationFailed(self.global_errors, self.children)
        return draft

    # ------------------------------------------------------------------------------ helpers

    def _has_errors(self) -> bool:
        return bool(self.global_errors) or any(self.children.values())

    def _initial_draft(self) -> Draft:
        if self.record is None:
            return Draft(user=self.caller.id, project=None, activity=None, begin=self.state.clock(), end=None,
                         description=None, tags=[], exported=False, fixed_rate=None, hourly_rate=None)
        r = self.record
        return Draft(user=r.user, project=r.project, activity=r.activity, begin=r.begin, end=r.end,
                     description=r.description, tags=list(r.tags), exported=r.exported,
                     fixed_rate=r.fixed_rate, hourly_rate=r.hourly_rate)

    def _assign(self, draft: Draft, name: str, value: Any) -> None:
        if name in ("begin", "end"):
            text = _text(value)
            try:
                parsed = None if text is None else parse_form_datetime(text, self.model_tz)
            except ValueError:
                raise _Invalid(INVALID_DATETIME) from None
            setattr(draft, name, parsed)
        elif name in ("project", "activity", "user"):
            text = _text(value)
            chosen = None if text is None else self._choice(name, text, draft)
            setattr(draft, name, chosen)
        elif name == "description":
            draft.description = _text(value)
        elif name == "tags":
            draft.tags = self._tags(_text(value))
        elif name in ("fixedRate", "hourlyRate"):
            setattr(draft, "fixed_rate" if name == "fixedRate" else "hourly_rate", _rate(_text(value)))
        elif name == "exported":
            draft.exported = _checkbox(value)
        else:  # billable
            draft.billable = _checkbox(value)

    def _choice(self, name: str, text: str, draft: Draft) -> int:
        """An id that must be among the field's choices, else "The selected choice is invalid."."""
        if not text.isdigit():
            raise _Invalid(INVALID_CHOICE)
        chosen = int(text)
        current = getattr(self.record, name) if self.record else None
        if chosen != current and not getattr(self, f"_selectable_{name}")(chosen, draft):
            raise _Invalid(INVALID_CHOICE)
        return chosen

    def _selectable_project(self, project_id: int, draft: Draft) -> bool:
        project = self.state.projects.get(project_id)
        return project is not None and project.visible and self.state.customers[project.customer].visible

    def _selectable_activity(self, activity_id: int, draft: Draft) -> bool:
        """Visible activities of the submitted (or current) project, plus global ones.

        Relies on ``project`` being assigned before ``activity`` (form field order).
        """
        activity = self.state.activities.get(activity_id)
        if activity is None or not activity.visible:
            return False
        if activity.project is None:
            return True
        if draft.project is not None and activity.project != draft.project:
            return False
        return self._selectable_project(activity.project, draft)

    def _selectable_user(self, user_id: int, draft: Draft) -> bool:
        user = self.state.users.get(user_id)
        if user is None or not user.enabled:
            return False
        may_pick_others = has(self.caller, "create_other_timesheet" if self.creating else "view_other_timesheet")
        return may_pick_others or user_id == self.caller.id

    def _tags(self, text: str | None) -> list[str]:
        """Comma-separated names; names that are not existing tags are dropped silently."""
        known = {tag.name for tag in self.state.tags.values()}
        names = [part.strip() for part in (text or "").split(",")]
        return list(dict.fromkeys(name for name in names if name in known))

    # -------------------------------------------------------------------------------- rules

    def _check_required(self, draft: Draft) -> None:
        for name, message in (("project", PROJECT_REQUIRED), ("activity", ACTIVITY_REQUIRED)):
            if getattr(draft, name) is None and not self.children[name]:
                self.children[name] += [message, NOT_NULL]
        if draft.begin is None and "begin" in self.children and not self.children["begin"]:
            self.children["begin"].append(NOT_NULL)
        if "user" in self.children and draft.user is None and not self.children["user"]:
            self.children["user"].append(NOT_NULL)

    def _check_relations(self, draft: Draft) -> None:
        if draft.project is None or draft.activity is None or self.children["project"] or self.children["activity"]:
            return
        project = self.state.projects[draft.project]
        activity = self.state.activities[draft.activity]
        if activity.project is not None and activity.project != project.id:
            self.children["project"].append(PROJECT_MISMATCH)
        elif activity.project is None and not project.global_activities:
            self.children["activity"].append(GLOBAL_ACTIVITY_FORBIDDEN)

    def _check_times(self, draft: Draft) -> None:
        if draft.begin is None or self.children.get("begin") or self.children.get("end"):
            return
        config = self.state.config
        begin, end = draft.begin, draft.end
        if end is not None and end < begin:
            self.global_errors.append(END_BEFORE_BEGIN)
            return
        if end is not None and end == begin and not config.allow_zero_duration:
            self.global_errors.append(ZERO_DURATION)
        if not config.allow_future_times:
            limit = self.state.clock() + timedelta(seconds=config.rounding_minutes * 60 + 60)
            if begin > limit:
                self.global_errors.append(BEGIN_IN_FUTURE)
            if end is not None and end > limit:
                self.global_errors.append(END_IN_FUTURE)
        if end is not None and (end - begin).total_seconds() > MAX_DURATION_SECONDS:
            self.global_errors.append(MAX_DURATION)
        self._check_project_dates(draft)
        if not config.allow_overlapping and draft.user is not None and self._overlaps(draft):
            self.global_errors.append(OVERLAPPING)
        lockdown = config.lockdown_end
        if lockdown is not None and begin <= lockdown and not has(self.caller, "lockdown_override_timesheet"):
            self.global_errors.append(LOCKED_PERIOD)

    def _check_project_dates(self, draft: Draft) -> None:
        if draft.project is None or self.children["project"]:
            return
        project = self.state.projects[draft.project]
        tz = self.model_tz
        if project.start is not None and draft.begin.astimezone(zone(tz)).date() < project.start:
            self.global_errors.append(PROJECT_NOT_STARTED)
        last = draft.end or draft.begin
        if project.end is not None and last.astimezone(zone(tz)).date() > project.end:
            self.global_errors.append(PROJECT_FINISHED)

    def _overlaps(self, draft: Draft) -> bool:
        """Against the same user's stopped records; touching boundaries (1 s tolerance) is fine.
        A running draft only checks that its begin is not inside another record."""
        lo = draft.begin + _TOUCH_TOLERANCE
        hi = (draft.end - _TOUCH_TOLERANCE) if draft.end is not None else lo
        own_id = self.record.id if self.record else None
        return any(
            other.end is not None and other.id != own_id and other.begin <= hi and other.end >= lo
            for other in self.state.timesheets.of_user_around(draft.user, lo, hi)
        )

    def _check_running_limit(self, draft: Draft) -> None:
        """A new running record stops the owner's oldest running ones beyond the hard limit;
        one whose begin lies after "now" cannot be stopped, which fails the whole write."""
        running = sorted((t for t in self.state.timesheets.of_user(draft.user) if t.end is None),
                         key=lambda t: (t.begin, t.id))
        excess = len(running) - (self.state.config.active_entries_hard_limit - 1)
        draft.stop_running = running[:max(excess, 0)]
        now = self.state.clock()
        if any(t.begin > now for t in draft.stop_running):
            self.global_errors.append(CANNOT_STOP_RUNNING)

