"""The Applier's create: retried after a transient failure, and never reported failed (nor made
twice) when an attempt did land in Kimai although its reply was lost or unreadable."""

from __future__ import annotations

import datetime as dt

import pytest

from kimaisync.apply.timesheets import Applier
from kimaisync.errors import (
    KimaiAuthError,
    KimaiProtocolError,
    KimaiRateLimitedError,
    KimaiServerError,
    KimaiTransportError,
    KimaiValidationError,
)
from kimaisync.marker import description
from kimaisync.plan.worklogs import Action, Desired
from kimaisync.trackers.kimai2.adapter import CAPABILITIES as KIMAI2

UUID = "5f0c2a8e-create"
T0 = dt.datetime(2025, 3, 12, 9, tzinfo=dt.timezone.utc)


class Kimai:
    """Answers each POST with the next scripted step: ("ok",), (error, committed) or ("late", error).

    A committed step stores the record and then fails; a late step fails at once and stores the
    record only after the next marker search (a slow Kimai finishing the POST after the client left).
    """

    retries = 7
    title, entry_word, capabilities = "Kimai", "timesheet", KIMAI2  # a tracker with one session: itself

    def session(self, user=None):
        return self

    def create(self, w):
        return self.create_timesheet(w)

    def find_marked(self, term):
        return self.timesheets(None, None, term=term)

    def __init__(self, *steps):
        self.steps = list(steps)
        self.stored: list = []
        self.posts = self.searches = self.retried = 0
        self._late = None

    def _store(self, w):
        t = type("T", (), {"id": 100 + len(self.stored), "description": w.description})()
        self.stored.append(t)
        return t

    def create_timesheet(self, w):
        self.posts += 1
        step = self.steps.pop(0)
        if step[0] == "ok":
            return self._store(w)
        if step[0] == "late":
            self._late = w
            raise step[1]
        exc, committed = step
        if committed:
            self._store(w)
        raise exc

    def timesheets(self, begin, end, term=None):
        self.searches += 1
        found = [t for t in self.stored if term in t.description]
        if self._late is not None:
            self._store(self._late)
            self._late = None
        return found

    def count_retry(self):
        self.retried += 1


def create() -> Action:
    return Action("create", work_log=f"http://example.org/work-logs/{UUID}", work_log_uuid=UUID,
                  desired=Desired(14, 1, 1, T0, T0 + dt.timedelta(hours=1), description(UUID), "UTC"))


def run(kimai, attempts=3):
    with Applier(kimai, concurrency=1, attempts=attempts, sleep=lambda s: None) as applier:
        return applier.run_one(create())


def lost():
    return KimaiTransportError("connection failed (RemoteProtocolError)")


def test_a_lost_reply_is_found_by_its_marker_and_not_created_again():
    kimai = Kimai((lost(), True))
    out = run(kimai)
    assert (out.status, out.entry_id, kimai.posts, len(kimai.stored)) == ("created", 100, 1, 1)


def test_a_reply_lost_on_the_last_attempt_is_adopted_not_reported_failed():
    kimai = Kimai((KimaiServerError("503", status=503), False), (lost(), False), (lost(), True))
    out = run(kimai, attempts=3)
    assert out.status == "created" and out.entry_id == 100 and "found by its marker" in out.message
    assert kimai.posts == 3 and len(kimai.stored) == 1


def test_an_unreadable_2xx_reply_is_adopted():
    kimai = Kimai((KimaiProtocolError("answered invalid or truncated JSON (201, 17 bytes)"), True))
    out = run(kimai)
    assert (out.status, out.entry_id, kimai.posts) == ("created", 100, 1)


def test_a_refusal_after_a_late_landing_post_adopts_that_record():
    # The first POST times out and lands only after the search; the retry meets the overlap rule.
    overlap = KimaiValidationError("Kimai refused the request (400)")
    kimai = Kimai(("late", KimaiTransportError("no answer within 0.5 s")), (overlap, False))
    out = run(kimai)
    assert (out.status, out.entry_id, kimai.posts, len(kimai.stored)) == ("created", 100, 2, 1)


def test_a_429_is_retried_without_a_search_and_gives_up_with_its_own_error():
    kimai = Kimai(*[(KimaiRateLimitedError("too many requests (429)", retry_after=0), False)] * 3)
    out = run(kimai, attempts=3)
    assert out.status == "failed" and "429" in out.message
    assert (kimai.posts, kimai.searches, kimai.retried) == (3, 0, 2)


def test_giving_up_still_says_why_when_nothing_landed():
    kimai = Kimai(*[(KimaiServerError("Kimai or a proxy in front of it failed (502)", status=502), False)] * 3)
    out = run(kimai, attempts=3)
    assert out.status == "failed" and "502" in out.message and kimai.stored == []
    assert kimai.searches == 3  # after each uncertain attempt, the last one included


@pytest.mark.parametrize("exc", [KimaiValidationError("Kimai refused the request (400)")])
def test_a_plain_refusal_is_not_searched_for(exc):
    kimai = Kimai((exc, False))
    out = run(kimai)
    assert out.status == "failed" and kimai.searches == 0 and kimai.posts == 1


def test_a_failing_last_look_reports_the_create_error_unless_the_credentials_broke():
    for search_error, fatal in ((KimaiServerError("503", status=503), False), (KimaiAuthError("401"), True)):
        kimai = Kimai((lost(), False))

        def timesheets(begin, end, term=None, error=search_error):
            raise error
        kimai.timesheets = timesheets
        with Applier(kimai, concurrency=1, attempts=1, sleep=lambda s: None) as applier:
            out = applier.run_one(create())
        assert out.status == "failed" and ("401" if fatal else "RemoteProtocolError") in out.message
        assert (applier.fatal is not None) == fatal
