"""Role -> permission mapping of a default Kimai installation (kimai-api.md section 9).

Only the permissions the emulated endpoints consult are modelled. Kimai splits some of them per
record owner (``edit_export_own_timesheet`` / ``..._other_...``); the emulator keeps one name where
the split never matters for the default roles. Teams are not emulated, so a team lead sees every
user's data (in Kimai: the members of the teams they lead).
"""

from __future__ import annotations

from .state import EmuUser, EmuTimesheet

_USER = frozenset({
    "api_access",
    "view_own_timesheet", "create_own_timesheet", "edit_own_timesheet", "delete_own_timesheet",
    "start_own_timesheet", "create_tag",
})
_TEAMLEAD = _USER | {
    "view_other_timesheet", "create_other_timesheet", "edit_other_timesheet", "delete_other_timesheet",
    "edit_export", "edit_billable", "view_rate", "manage_tag", "delete_tag",
}
_ADMIN = _TEAMLEAD | {
    "edit_rate", "edit_exported_timesheet", "lockdown_override_timesheet", "details_customer",
}
_SUPER_ADMIN = _ADMIN | {"view_user"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "ROLE_USER": _USER,
    "ROLE_TEAMLEAD": _TEAMLEAD,
    "ROLE_ADMIN": _ADMIN,
    "ROLE_SUPER_ADMIN": _SUPER_ADMIN,
}


def permissions(user: EmuUser) -> frozenset[str]:
    """Union over the user's roles; ROLE_USER is implicit for everybody, as in Kimai."""
    result = _USER
    for role in user.roles:
        result = result | ROLE_PERMISSIONS[role]
    return result


def has(user: EmuUser, permission: str) -> bool:
    return permission in permissions(user)


def may_on_timesheet(user: EmuUser, action: str, record: EmuTimesheet) -> bool:
    """``action`` in view/edit/delete: the ``_own_`` or ``_other_`` permission, by owner."""
    scope = "own" if record.user == user.id else "other"
    return has(user, f"{action}_{scope}_timesheet")
