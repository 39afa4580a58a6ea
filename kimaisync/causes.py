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
    code: str
    one: str  # "person without a Kimai account": read after a count of 1
    many: str  # "people without a Kimai account"
    per_person: bool
    todo: str  # what to do about it, one sentence

    def counted(self, n: int) -> str:
        return f"{n} {self.one if n == 1 else self.many}"


def _person(code: str, one: str, many: str, todo: str) -> Cause:
    return Cause(code, one, many, True, todo)


NO_ACCOUNT = _person("no-account", "person without a Kimai account", "people without a Kimai account",
                     "link the person to their Kimai account in Timekeeper (foaf:account); a Kimai user new "
                     "since the last from-kimai run needs that run first")
DISABLED = _person("disabled", "person disabled in Kimai", "people disabled in Kimai",
                   "enable the user in Kimai if the person still books hours (then run from-kimai), "
                   "else nothing: their work logs stay out of Kimai")
USER_GONE = _person("user-gone", "person whose Kimai user was deleted", "people whose Kimai user was deleted",
                    "link the person to their current Kimai account in Timekeeper, or remove the stale link")
SEVERAL_ACCOUNTS = _person("several-accounts", "person with several Kimai accounts",
                           "people with several Kimai accounts", "unlink all but one in Timekeeper")



def _record(code: str, one: str, todo: str) -> Cause:
    return Cause(code, one, one.replace("work log ", "work logs ", 1), False, todo)


CONFLICTING = _record("conflicting", "work log with conflicting values", "keep one value of each field in Timekeeper")
NO_DATE = _record("no-date", "work log without a readable date", "fix its date (cal:dtstart) in Timekeeper")
BAD_DURATION = _record("bad-duration", "work log with an unreadable duration", "fix its duration in Timekeeper")
NO_TASK = _record("no-task", "work log without a task", "give it a task in Timekeeper")
NOT_BOOKABLE = _record("not-bookable", "work log on a task Kimai cannot book",
                       "book it on a Kimai activity with a project, or run from-kimai if the activity is new")
NO_PERSON = _record("no-person", "work log without a person", "give it a person in Timekeeper")
NO_UUID = _record("no-uuid", "work log without a mu:uuid", "give it a mu:uuid in Timekeeper")
EXPORTED = Cause("exported", "record exported in Kimai", "records exported in Kimai", False,
                 "leave it, or un-export it in Kimai if it must change")
GUARD = Cause("guard", "deletion held back by the guard", "deletions held back by the guard", False,
              "check that Timekeeper's data is complete, then rerun with --force")

BY_CODE = {c.code: c for c in (NO_ACCOUNT, DISABLED, USER_GONE, SEVERAL_ACCOUNTS, CONFLICTING, NO_DATE,
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
