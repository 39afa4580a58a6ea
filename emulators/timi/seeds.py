"""Seeded accounts: ``small_state()`` for tests (the document's examples, fixed ids) and
``demo_state()`` for ``python -m emulators.timi --demo``."""

from __future__ import annotations

import random
from datetime import date, timedelta

from .state import TimiState

DEMO_EMAIL = "ann@example.org"
DEMO_TOKEN = "abc123"


def small_state() -> TimiState:
    """Three users (tokens ``<name>-token``), two clients, three projects, three services and the
    document's two listed entries (one of Jankees, one of Rowan)."""
    s = TimiState()
    s.add_user("jankees@example.org", "jankees-token", "Jankees", id=1)
    s.add_user("rowan@example.org", "rowan-token", "Rowan", id=2)
    s.add_user("ann@example.org", "ann-token", "Ann", id=3)
    s.add_client("Timi", id=1)
    s.add_client("Klant A", id=618)
    s.add_project("Timi", 1, aliases=["Jankees", "Rowan", "Tango"], id=47)
    s.add_project("Website", 1, id=3327)
    s.add_project("Banners", 618, aliases=["Erik", "Martijn", "Wilco"], id=3328)
    s.add_service("Development", aliases=["coden", "css", "html", "programmeren", "rails"], id=1)
    s.add_service("Design", aliases=["ontwerp"], id=2)
    s.add_service("Overleg", aliases=["vergadering", "meeting"], id=3)
    s.add_entry(1, "8 uur voor Timi gewerkt vanuit huis", "2016-01-20", 28800, 3327, 1, id=108085)
    s.add_entry(2, "1 uur voor Timi vanuit huis", "2016-01-19", 3600, 3327, 1, id=107991)
    return s


def demo_state(*, people: int = 5, days: int = 20, seed: int = 7) -> TimiState:
    """A company with ``people`` users (``ann@example.org`` / ``abc123`` first, then
    ``person<N>@example.org`` / ``token-<N>``), a few clients, projects and services, and some
    entries typed into Timi by hand over the last ``days`` days."""
    rng = random.Random(seed)
    s = TimiState()
    s.add_user(DEMO_EMAIL, DEMO_TOKEN, "Ann")
    for n in range(2, people + 1):
        s.add_user(f"person{n}@example.org", f"token-{n}", f"Person {n}")
    for client_name, projects in (("Timi", ["Timi", "Website"]), ("Klant A", ["Banners", "Campagne"]),
                                  ("Gemeente", ["Portaal"])):
        client = s.add_client(client_name)
        for name in projects:
            s.add_project(name, client.id)
    for name, aliases in (("Development", ["coden", "programmeren"]), ("Design", ["ontwerp"]),
                          ("Overleg", ["vergadering"]), ("Support", [])):
        s.add_service(name, aliases=aliases)
    projects, services = list(s.projects.values()), list(s.services.values())
    today = date.today()
    for user in list(s.users.values()):
        for back in range(days):
            if rng.random() < 0.3:
                hours = rng.choice([1, 2, 2.5, 4])
                project, service = rng.choice(projects), rng.choice(services)
                s.add_entry(user.id, f"{str(hours).replace('.', ',')} uur {service.name.lower()} {project.name}",
                            today - timedelta(days=back), int(hours * 3600), project.id, service.id)
    return s
