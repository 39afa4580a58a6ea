"""Why a record was not synced, as a short cause an operator can count, beside the full reason.

A reason names the record and says what to do ("person Ann has no Kimai account linked ...");
its cause is what many reasons share, so a summary can say "48 skipped (2 people without an
account, 1 disabled in Kimai)" and name the people once instead of 48 times. Causes about a
person's account are counted in people, the others in records. Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """Texts name the tracker as `{t}` ("Kimai", "EGroupware"): filled in where they are read."""

    code: str
    one: str  # "person without a {t} account": read after a count of 1
    many: str  # "people without a {t} account"
    per_person: bool
    todo: str  # what to do about it, one sentence

    def counted(self, n: int, t: str = "Kimai") -> str:
        return f"{n} {(self.one if n == 1 else self.many).format(t=t)}"

    def todo_for(self, t: str = "Kimai") -> str:
        return self.todo.format(t=t)


def _person(code: str, one: str, many: str, todo: str) -> Cause:
    return Cause(code, one, many, True, todo)


NO_ACCOUNT = _person("no-account", "person without a {t} account", "people without a {t} account",
                     "link the person to their {t} account in Timekeeper (foaf:account); a {t} user new "
                     "since the last from-kimai run needs that run first")
DISABLED = _person("disabled", "person disabled in {t}", "people disabled in {t}",
                   "enable the user in {t} if the person still books hours (then run from-kimai), "
                   "else nothing: their work logs stay out of {t}")
USER_GONE = _person("user-gone", "person whose {t} user was deleted", "people whose {t} user was deleted",
                    "link the person to their current {t} account in Timekeeper, or remove the stale link")
NO_CREDENTIAL = _person("no-credential", "person whose {t} login has no working credential for the sync",
                        "people whose {t} login has no working credential for the sync",
                        "add or renew their login and personal token or password in the tracker's credentials file "
                        "(Timi: TIMI_CREDENTIALS_FILE, Kimai 1: KIMAI1_CREDENTIALS_FILE)")
SEVERAL_ACCOUNTS = _person("several-accounts", "person with several {t} accounts",
                           "people with several {t} accounts", "unlink all but one in Timekeeper")


STAYS_SUBMITTED = _person("stays-submitted", "timesheet stays SUBMITTED", "timesheets stay SUBMITTED",
                          "see each one's blockers in the people table; fix them and lock again, or lock with force")


def _record(code: str, one: str, todo: str) -> Cause:
    return Cause(code, one, one.replace("work log ", "work logs ", 1), False, todo)


CONFLICTING = _record("conflicting", "work log with conflicting values", "keep one value of each field in Timekeeper")
NO_DATE = _record("no-date", "work log without a readable date", "fix its date (cal:dtstart) in Timekeeper")
BAD_DURATION = _record("bad-duration", "work log with an unreadable duration", "fix its duration in Timekeeper")
NO_TASK = _record("no-task", "work log without a task", "give it a task in Timekeeper")
NOT_BOOKABLE = _record("not-bookable", "work log on a task {t} cannot book",
                       "book it on a {t} activity with a project, or run from-kimai if the activity is new")
NO_PERSON = _record("no-person", "work log without a person", "give it a person in Timekeeper")
NO_UUID = _record("no-uuid", "work log without a mu:uuid", "give it a mu:uuid in Timekeeper")
EXPORTED = Cause("exported", "record exported in {t}", "records exported in {t}", False,
                 "leave it, or un-export it in {t} if it must change")
GUARD = Cause("guard", "deletion held back by the guard", "deletions held back by the guard", False,
              "check that Timekeeper's data is complete, then rerun with --force")

BY_CODE = {c.code: c for c in (NO_ACCOUNT, NO_CREDENTIAL, DISABLED, USER_GONE, SEVERAL_ACCOUNTS, STAYS_SUBMITTED, CONFLICTING, NO_DATE,
                               BAD_DURATION, NO_TASK, NOT_BOOKABLE, NO_PERSON, NO_UUID, EXPORTED, GUARD)}


def cause(code: str) -> Cause | None:
    return BY_CODE.get(code)


class Reason(str):
    """A reason string that also carries its cause's code (and is a plain str everywhere else)."""

    cause: str = ""

    def __new__(cls, text: str, cause: str = "") -> "Reason":
        obj = super().__new__(cls, text)
        obj.cause = cause
        return obj
