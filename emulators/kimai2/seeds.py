"""A deterministic, realistic demo dataset.

It deliberately contains what trips up sync clients: names with quotes and non-Latin scripts,
users in several timezones, a disabled user, a hidden customer and a hidden project, a project
without global activities, projects outside "today", customers/projects without colour, global
activities, project and activity ids that coincide while meaning different things, exported and
running records.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, timedelta

from .dates import zone
from .state import KimaiState

DEMO_TOKEN = "demo-token-0123456789abcd"
DEMO_PERIOD_START = date(2026, 6, 1)

_PEOPLE = (
    ("Zoë", "Ångström"), ("Łukasz", "Żółć"), ("Андрей", "Иванов"), ("李", "雷"), ("Siobhán", "O'Neill"),
    ("José", "Núñez"), ("Ayşe", "Yılmaz"), ("Björn", "Ødegård"), ("Amélie", "Dubois"), ("Kenji", "Satō"),
    ("Fatima", "El-Amin"), ("Jan", "de Vries"), ("Chloé", "Lefèvre"), ("Mateus", "Conceição"),
    ("Nguyễn", "Văn An"), ("Priya", "Raman"), ("Søren", "Kierkegaard"), ("Olga", "Novák"),
    ("Tomás", "Ó Briain"), ("Hannah", "Schmidt"),
)
_CUSTOMERS = (
    'Acme "Rocket" Supplies', "O'Reilly & Söhne GmbH", "Brasserie « Le Zinc »", "株式会社さくら",
    "Ελληνική Λύση ΑΕ", "Nordlys AS", "Café Ümlaut", "Zeta <Labs>", "Kraków Software Sp. z o.o.",
    "Dormant Holdings",
)
_PROJECT_TOPICS = (
    "Website relaunch", "Mobile app", "Data migration", "Support contract", 'Project "Phoenix"',
    "ERP rollout", "Intranet", "Brand refresh", "Security audit", "Cloud move", "Ремонт сайта",
    "Kundenportal", "システム更新", "Training", "Analytics",
)
_GLOBAL_ACTIVITIES = ("Meeting", "Support / Hotline", "Réunion « interne »")
_ACTIVITY_TOPICS = (
    "Development", "Design", "Project management", "Testing", "Documentation", "Consulting",
    "Deployment", "Code review", "Workshop", "Research",
)
_TAGS = ("onsite", "remote", "überstunden", "call", "review")
_COLOURS = ("#1e90ff", "#e8590c", "#2f9e44", "#c2255c", "#6f42c1", "#0b7285")
_ZONES = ("Europe/Brussels", "Europe/Brussels", "Europe/Brussels", "America/New_York", "Asia/Tokyo")


def _slug(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def demo_state(seed: int = 0, people: int = 20, customers: int = 10, projects: int = 30,
               activities: int = 80, timesheets: int = 200) -> KimaiState:
    """Build the demo state. The admin (user 1, ROLE_SUPER_ADMIN) authenticates with
    ``DEMO_TOKEN``; people get 25-hex-digit tokens derived from ``seed``."""
    rng = random.Random(seed)
    state = KimaiState()
    state.add_user("admin", alias="Kimai Admin", email="admin@example.org", roles=["ROLE_SUPER_ADMIN"],
                   api_token=DEMO_TOKEN, api_password="demo-password-admin")
    for i in range(people):
        first, last = _PEOPLE[i % len(_PEOPLE)]
        first_slug, last_slug = _slug(first), _slug(last)
        username = f"{first_slug}.{last_slug}" if first_slug and last_slug else f"user{i + 1:02d}"
        if i >= len(_PEOPLE):
            username += str(i // len(_PEOPLE))
        role = {0: "ROLE_TEAMLEAD", 1: "ROLE_ADMIN"}.get(i, "ROLE_USER")
        state.add_user(username, alias=f"{first} {last}", email=f"{username}@example.org",
                       enabled=i != people - 1, timezone=_ZONES[i % len(_ZONES)], roles=[role],
                       api_token="".join(rng.choice("0123456789abcdef") for _ in range(25)),
                       language=("de", "en", "fr")[i % 3])

    for i in range(customers):
        name = _CUSTOMERS[i] if i < len(_CUSTOMERS) else f"Customer {i + 1}"
        state.add_customer(name, number=f"C-{i + 1:03d}", visible=i != len(_CUSTOMERS) - 1,
                           color=rng.choice(_COLOURS) if i % 2 == 0 else None,
                           country=("BE", "DE", "FR", "JP", "GR")[i % 5])

    visible_customers = [c.id for c in state.customers.values() if c.visible]
    for i in range(projects):
        topic = _PROJECT_TOPICS[i % len(_PROJECT_TOPICS)]
        customer_id = visible_customers[i % len(visible_customers)] if i != 8 else max(state.customers)
        extra = {
            3: {"visible": False},
            5: {"global_activities": False},
            7: {"start": date(2021, 1, 1), "end": date(2021, 12, 31)},
            9: {"start": date(2099, 1, 1)},
        }.get(i, {})
        state.add_project(f"{topic} {2024 + i // len(_PROJECT_TOPICS)}", customer_id, number=f"P-{i + 1:03d}",
                          color=rng.choice(_COLOURS) if i % 3 == 0 else None, **extra)

    for name in _GLOBAL_ACTIVITIES[:activities]:
        state.add_activity(name, color=rng.choice(_COLOURS))
    for i in range(max(activities - len(_GLOBAL_ACTIVITIES), 0)):
        # A stride through the projects so activity n rarely belongs to project n.
        project_id = (i * 7 + 3) % projects + 1 if projects else None
        state.add_activity(_ACTIVITY_TOPICS[i % len(_ACTIVITY_TOPICS)], project_id, visible=i != 10,
                           color=rng.choice(_COLOURS) if i % 4 == 0 else None)

    for name in _TAGS:
        state.add_tag(name)
    _add_timesheets(state, rng, timesheets)
    return state


def _add_timesheets(state: KimaiState, rng: random.Random, count: int) -> None:
    """Weekday records between 08:00 and 18:00 local time, one per person and day, so the demo
    data has no overlaps; a few exported, the last one running."""
    workers = [u for u in state.users.values() if u.enabled and u.username != "admin"]
    bookable = [(p.id, a.id) for a in state.activities.values() if a.visible
                for p in state.projects.values()
                if p.visible and state.customers[p.customer].visible and p.start is None and p.end is None
                and (a.project == p.id or (a.project is None and p.global_activities))]
    if not workers or not bookable:
        return
    days = [d for d in (DEMO_PERIOD_START + timedelta(days=n) for n in range(120)) if d.weekday() < 5]
    for n in range(count):
        person = workers[n % len(workers)]
        day = days[(n // len(workers)) % len(days)]
        project_id, activity_id = rng.choice(bookable)
        start = datetime(day.year, day.month, day.day, rng.randint(8, 13), rng.choice((0, 15, 30, 45)),
                         tzinfo=zone(person.timezone))
        running = n == count - 1
        end = None if running else start + timedelta(minutes=rng.choice((30, 45, 60, 90, 120, 240)))
        state.add_timesheet(person.id, project_id, activity_id, start, end,
                            description=rng.choice((None, "Daily stand-up", 'Fixed "urgent" bug', "Réunion client",
                                                    "Code review — sprint 12", "打ち合わせ")),
                            tags=rng.sample(_TAGS, rng.randint(0, 2)), exported=n % 17 == 0 and not running,
                            hourly_rate=float(rng.choice((60, 75, 90))), modified_at=start)


SMALL_NOW = datetime(2026, 8, 19, 10, 0, tzinfo=zone("UTC"))


def small_state() -> KimaiState:
    """A tiny dataset with fixed ids and a frozen clock (``SMALL_NOW``), for tests.

    Users (token = ``<username>-token``): 1 admin (ROLE_SUPER_ADMIN, Europe/Brussels), 2 lead
    (ROLE_TEAMLEAD), 3 alice (ROLE_USER, America/New_York, legacy password ``alice-password``,
    email alice@example.org), 4 bob (ROLE_USER), 5 carol (disabled, legacy password
    ``carol-password``), 6 dora (ROLE_ADMIN).
    Customers: 1 Acme, 2 Hidden Corp (hidden). Projects: 1 Website, 2 Internal (no global
    activities), 3 Archived (hidden), 4 Secret (of the hidden customer), 5 Old (ended 2025),
    6 Future (starts 2027), 31 Thirty-one. Activities: 1 Meeting (global), 2 Development (project 1),
    3 Ops (project 2), 4 Retired (project 1, hidden), 31 Design (project 1 -- not project 31!).
    Tags: onsite, remote. No timesheets.
    """
    state = KimaiState(clock=lambda: SMALL_NOW)
    for username, extra in (
        ("admin", {"roles": ["ROLE_SUPER_ADMIN"]}),
        ("lead", {"roles": ["ROLE_TEAMLEAD"]}),
        ("alice", {"timezone": "America/New_York", "api_password": "alice-password",
                   "email": "alice@example.org", "alias": "Alice Adams"}),
        ("bob", {}),
        ("carol", {"enabled": False, "api_password": "carol-password"}),
        ("dora", {"roles": ["ROLE_ADMIN"]}),
    ):
        state.add_user(username, api_token=f"{username}-token", **extra)
    state.add_customer("Acme", color="#1e90ff")
    state.add_customer("Hidden Corp", visible=False)
    state.add_project("Website", 1, color="#2f9e44")
    state.add_project("Internal", 1, global_activities=False)
    state.add_project("Archived", 1, visible=False)
    state.add_project("Secret", 2)
    state.add_project("Old", 1, start=date(2025, 1, 1), end=date(2025, 12, 31))
    state.add_project("Future", 1, start=date(2027, 1, 1))
    state.add_project("Thirty-one", 1, id=31)
    state.add_activity("Meeting")
    state.add_activity("Development", 1)
    state.add_activity("Ops", 2)
    state.add_activity("Retired", 1, visible=False)
    state.add_activity("Design", 1, id=31)
    state.add_tag("onsite")
    state.add_tag("remote")
    return state
