"""Seeded states: ``small_state()`` (tests: fixed ids, a pinned clock) and ``demo_state()``.

Accounts (ids from 5, as EGroupware's first users): ``sync`` (the service user, password
``sync-password``), ``ralf``, ``anna``, ``piet`` (password ``<name>-password``). App tokens:
``ALL_USERS_TOKEN`` is valid for every user (``token1_...``), ``RALF_TOKEN`` only for ralf.
``sync`` holds grants on ralf's and anna's timesheets (not piet's). Categories ``other`` and
``development``; one ProjectManager project. Ralf has the two records of the documentation's
listing example (ids 1 and 140) with their times.
"""

from __future__ import annotations

from typing import Callable

from .state import Config, EGroupwareState, EmuTimesheet

ALL_USERS_TOKEN = "token1_AllUsersSecret0001"
RALF_TOKEN = "token2_RalfOnlySecret0002"
PINNED_NOW = 1_780_000_000  # 2026-05-28T20:26:40Z


def _seed(state: EGroupwareState) -> EGroupwareState:
    sync = state.add_account("sync", password="sync-password", account_id=5)
    ralf = state.add_account("ralf", password="ralf-password", account_id=6)
    anna = state.add_account("anna", password="anna-password", account_id=7)
    state.add_account("piet", password="piet-password", account_id=8)
    state.add_token(ALL_USERS_TOKEN.split("_", 1)[1])
    state.add_token(RALF_TOKEN.split("_", 1)[1], for_account=ralf)
    state.grant(ralf, sync)
    state.grant(anna, sync)
    other = state.add_category("other")
    state.add_category("development")
    pm = state.add_project("2024-0001: Test Project")
    state.insert(EmuTimesheet(id=1, owner=ralf.account_id, title="Test", start=1134774000, duration=150,
                              quantity=2.5, unitprice=50.0, cat_id=other, created=1134774000,
                              modified=1307537480, modifier=ralf.account_id, status=2))
    state.insert(EmuTimesheet(id=140, owner=ralf.account_id, title="Test Ralf aus PM", start=1471867920,
                              duration=60, quantity=1.0, pm_id=pm, unitprice=100.0, created=1471867920,
                              modified=1471878802, modifier=ralf.account_id))
    return state


def small_state(clock: Callable[[], int] | None = None) -> EGroupwareState:
    return _seed(EGroupwareState(clock=clock or (lambda: PINNED_NOW), config=Config()))


def demo_state() -> EGroupwareState:
    return _seed(EGroupwareState())
