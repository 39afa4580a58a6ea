"""prefect.yaml defines the deployments; `kimai-sync serve` and the standalone receiver read it. The
deploy build step, and serve, turn FALLBACK_SYNC_CRON, also in the old 6-field form, into a
schedule Prefect takes, in TIMEZONE. No Prefect server is needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deployments.deploy_values import deploy_values

REPO = Path(__file__).resolve().parents[2]
DEFAULT_5_FIELDS = "0 */2 * * *"


def load_yaml() -> dict:
    return yaml.safe_load((REPO / "prefect.yaml").read_text())


@pytest.mark.parametrize("raw,cron", [(None, DEFAULT_5_FIELDS), ("0 0 */2 * * *", DEFAULT_5_FIELDS),
                                      ("0 30 */3 * * *", "30 */3 * * *"), ("15 6 * * 1-5", "15 6 * * 1-5")])
def test_build_step_gives_prefect_a_five_field_cron(monkeypatch, raw, cron):
    if raw is None:
        monkeypatch.delenv("FALLBACK_SYNC_CRON", raising=False)
    else:
        monkeypatch.setenv("FALLBACK_SYNC_CRON", raw)
    monkeypatch.setenv("TIMEZONE", "Europe/Brussels")
    values = deploy_values(str(REPO))
    assert values == {"fallback_cron": cron, "timezone": "Europe/Brussels", "directory": str(REPO)}


@pytest.mark.parametrize("env,word", [({"FALLBACK_SYNC_CRON": "every two hours"}, "FALLBACK_SYNC_CRON"),
                                      ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE")])
def test_build_step_refuses_bad_values_naming_the_variable(monkeypatch, env, word):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValueError, match=word):
        deploy_values(str(REPO))


def test_build_step_refuses_a_folder_without_the_code(tmp_path):
    with pytest.raises(ValueError, match="flows/"):
        deploy_values(str(tmp_path))


def test_yaml_entrypoints_exist_and_use_the_process_pool():
    for d in load_yaml()["deployments"]:
        path, func = d["entrypoint"].split(":")
        assert (REPO / path).is_file() and f"def {func}(" in (REPO / path).read_text(), d["entrypoint"]
        assert d["work_pool"]["name"] == "kimai-sync"


def test_serve_builds_prefect_yamls_deployments_with_the_settings_schedules(monkeypatch):
    from deployments.serve import build_deployments
    from kimaisync.settings import load_settings

    monkeypatch.setenv("API_TOKEN", "t")
    monkeypatch.setenv("KIMAI_ENDPOINT", "https://kimai.example.org/api")
    monkeypatch.setenv("FALLBACK_SYNC_CRON", "0 30 */3 * * *")
    monkeypatch.setenv("TIMEZONE", "America/New_York")
    deps = build_deployments(load_settings())
    assert set(deps) == {d["name"] for d in load_yaml()["deployments"]}
    fallback = deps["fallback"].schedules[0]
    assert (fallback.schedule.cron, fallback.schedule.timezone, fallback.active) == ("30 */3 * * *",
                                                                                   "America/New_York", True)
    assert [s.active for s in deps["timesheet-lock"].schedules] == [False]  # switched on by hand
    assert deps["delta"].concurrency_limit == 1  # never two delta runs at once
    assert all(s.schedule.timezone == "America/New_York" for d in deps.values() for s in d.schedules or [])


def test_each_receiver_route_records_its_runs_as_a_deployment_of_its_flow():
    from deployments.definitions import load_deployments, route_deployments
    from deployments.receiver import flows_by_route

    routes = flows_by_route()
    found = route_deployments(routes, load_deployments({"fallback_cron": "0 * * * *", "timezone": "UTC"}))
    assert set(found) == set(routes)
    for route, d in found.items():
        assert d.flow() is routes[route]
        assert not any(s.active for s in d.schedules)  # a route's deployment runs when asked, not on a clock


def test_a_template_nothing_computes_is_refused(tmp_path):
    from deployments.definitions import load_deployments

    bad = tmp_path / "prefect.yaml"
    bad.write_text("deployments:\n  - name: x\n    entrypoint: flows/accounts.py:sync_accounts\n"
                   "    schedules:\n      - cron: '{{ values.nightly }}'\n")
    with pytest.raises(ValueError, match="values.nightly"):
        load_deployments({}, bad)
