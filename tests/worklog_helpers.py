"""Seeding shared by flow and serve tests: one person with a Kimai account and one work log."""

from __future__ import annotations

import datetime as dt

from kimaisync.fixtures import TimekeeperData


def one_new_work_log(kimai_state, store, day: dt.date = dt.date(2025, 3, 12), duration: str = "PT2H",
                     submitted: bool = False) -> str:
    """Lotte (a Kimai user in Brussels), a project with an activity on both sides, and one work log
    of hers not yet in Kimai (with `submitted`, her timesheet of that month too, SUBMITTED);
    returns the work log's IRI."""
    user = kimai_state.add_user("lotte", timezone="Europe/Brussels")
    proj = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    lotte = tk.person("Lotte", user.id)
    log = tk.work_log(lotte, tk.activity(act.id, tk.project(proj.id, "P"), "General"), day, duration)
    if submitted:
        tk.timesheet(lotte, day)
    tk.load(store.client())
    return log
