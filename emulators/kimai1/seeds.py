"""Seeded datasets: ``small_state()`` (tiny, fixed ids, for tests) and ``demo_state()`` (realistic).

Both hold what trips a Kimai 1 client up: users in several time zones, a deactivated user, a
hidden customer and project, an activity bound to one project, a cleared (invoiced) record,
names with quotes and non-Latin scripts, and project and activity ids that coincide.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .state import Kimai1State

DEMO_ADMIN = ("admin", "demo-admin-password")


def _ts(day: date, hh: int, mm: int, zone: str) -> int:
    return int(datetime.combine(day, time(hh, mm), ZoneInfo(zone)).timestamp())


def small_state() -> Kimai1State:
    """Users (password ``<name>-pw``): 1 admin (role admin, Europe/Berlin), 2 ann (Europe/Brussels),
    3 bob (America/New_York), 4 carl (deactivated). Customers 1 Acme, 2 Dormant (hidden).
    Projects 1 Website, 2 Support (Acme), 3 Archive (hidden, Acme), 4 Old (Dormant).
    Activities 1 Development and 2 Meeting (every project), 3 Hotline (project 2 only).
    Entries: 1 ann 2026-06-01 09:00-12:00 Brussels, 2 bob same day 10:00-11:00 New York,
    3 ann 2026-05-29 13:00-14:00 (cleared)."""
    s = Kimai1State(default_timezone="Europe/Berlin")
    s.add_user("admin", "admin-pw", role="admin", timezone="Europe/Berlin", alias="Administrator")
    s.add_user("ann", "ann-pw", timezone="Europe/Brussels", alias="Ann Peeters")
    s.add_user("bob", "bob-pw", timezone="America/New_York", alias="Bob O'Brien")
    s.add_user("carl", "carl-pw", active=False)
    s.add_customer("Acme", contact="Wile E.")
    s.add_customer("Dormant", visible=False)
    s.add_project("Website", 1, comment="relaunch")
    s.add_project("Support", 1)
    s.add_project("Archive", 1, visible=False)
    s.add_project("Old", 2)
    s.add_activity("Development")
    s.add_activity("Meeting")
    s.add_activity("Hotline", projects=[2])
    day = date(2026, 6, 1)
    s.add_entry(2, 1, 1, _ts(day, 9, 0, "Europe/Brussels"), _ts(day, 12, 0, "Europe/Brussels"),
                description="ann's morning")
    s.add_entry(3, 2, 3, _ts(day, 10, 0, "America/New_York"), _ts(day, 11, 0, "America/New_York"),
                description="bob's call")
    s.add_entry(2, 1, 2, _ts(date(2026, 5, 29), 13, 0, "Europe/Brussels"),
                _ts(date(2026, 5, 29), 14, 0, "Europe/Brussels"), description="invoiced", cleared=True)
    return s


_PEOPLE = ("zoe", "lukasz", "andrej", "li", "siobhan", "jose", "ayse", "bjorn", "amelie", "kenji")
_ALIASES = ("Zoë Ångström", "Łukasz Żółć", "Андрей Иванов", "李雷", "Siobhán O'Neill", "José Núñez",
            "Ayşe Yılmaz", "Björn Ødegård", "Amélie Dubois", "Kenji Satō")
_ZONES = ("Europe/Brussels", "Europe/Brussels", "Europe/Berlin", "Asia/Shanghai", "Europe/Dublin",
          "America/New_York", "Europe/Istanbul", "Europe/Oslo", "Europe/Paris", "Asia/Tokyo")
_CUSTOMERS = ('Acme "Rocket" Supplies', "O'Reilly & Söhne GmbH", "株式会社さくら", "Nordlys AS", "Dormant Holdings")
_PROJECTS = ("Website relaunch", "Mobile app", "Data migration", "Support contract", 'Project "Phoenix"',
             "Ремонт сайта", "システム更新", "Training")
_ACTIVITIES = ("Development", "Meeting", "Support / Hotline", "Design", "Testing", "Réunion « interne »")


def demo_state(seed: int = 0, entries: int = 200) -> Kimai1State:
    """The admin logs in with ``DEMO_ADMIN``; person ``<name>`` with password ``<name>-password``."""
    rng = random.Random(seed)
    s = Kimai1State(default_timezone="Europe/Berlin")
    s.add_user(DEMO_ADMIN[0], DEMO_ADMIN[1], role="admin", alias="Kimai Admin", timezone="Europe/Berlin")
    for name, alias, zone in zip(_PEOPLE, _ALIASES, _ZONES):
        s.add_user(name, f"{name}-password", alias=alias, timezone=zone, mail=f"{name}@example.org")
    s.add_user("former", "former-password", active=False)
    for i, name in enumerate(_CUSTOMERS):
        s.add_customer(name, visible=i != len(_CUSTOMERS) - 1)
    for i, name in enumerate(_PROJECTS):
        s.add_project(name, 1 + i % (len(_CUSTOMERS) - 1), visible=i != len(_PROJECTS) - 1)
    for name in _ACTIVITIES:
        s.add_activity(name, projects=[4] if name.startswith("Support") else [])
    people = [u for u in s.users.values() if u.role == "user" and u.active]
    projects = [p for p in s.projects.values() if p.visible]
    first = date(2026, 6, 1)
    for n in range(entries):
        user = rng.choice(people)
        project = rng.choice(projects)
        activity = rng.choice([a for a in s.activities.values() if not a.projects or project.id in a.projects])
        day = first + timedelta(days=rng.randrange(20))
        begin = rng.randrange(7 * 4, 16 * 4) * 15
        length = rng.randrange(2, 16) * 15
        start = _ts(day, begin // 60, begin % 60, user.timezone)
        s.add_entry(user.id, project.id, activity.id, start, start + length * 60,
                    description=rng.choice(["", "standup", "call with client", "bug #42", "Überstunden"]),
                    cleared=n % 17 == 0)
    return s
