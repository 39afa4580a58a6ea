"""prefect.yaml (workers on a real engine) and `kimai-sync serve` (one machine) deploy the same
things: names, entry points, schedules, the delta deployment's concurrency limit; and the deploy
build step turns FALLBACK_SYNC_CRON, also in the old 6-field form, into a schedule Prefect takes.
No Prefect server is needed."""

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


def _yaml_view() -> dict:
    out = {}
    for d in load_yaml()["deployments"]:
        crons = sorted((s["cron"], s.get("active", True)) for s in d.get("schedules", []))
        limit = d.get("concurrency_limit")
        out[d["name"]] = (d["entrypoint"], crons, limit["limit"] if isinstance(limit, dict) else limit)
    return out


def test_serve_deploys_what_prefect_yaml_deploys(monkeypatch):
    from deployments.serve import build_deployments
    from kimaisync.settings import load_settings

    monkeypatch.setenv("API_TOKEN", "t")
    monkeypatch.setenv("KIMAI_ENDPOINT", "https://kimai.example.org/api")
    monkeypatch.setenv("FALLBACK_SYNC_CRON", "0 0 */2 * * *")
    settings = load_settings()
    served = {}
    for d in build_deployments(settings).values():
        crons = sorted((s.schedule.cron, s.active) for s in d.schedules or [])
        assert all(s.schedule.timezone == settings.timezone for s in d.schedules or [])
        served[d.name] = (d.entrypoint, crons, d.concurrency_limit)
    view = _yaml_view()
    if view["fallback"][1] == [("{{ values.fallback_cron }}", True)]:  # computed at deploy time
        view["fallback"] = (view["fallback"][0], [(DEFAULT_5_FIELDS, True)], None)
    assert served == view
    assert view["delta"][2] == 1  # across processes: never two delta runs at once


def test_the_standalone_receiver_finds_the_deployments_prefect_yaml_creates():
    import re

    from deployments.receiver import flows_by_route
    from deployments.receiver_only import DEPLOYMENTS

    assert set(DEPLOYMENTS) == set(flows_by_route())
    entry = {d["name"]: d["entrypoint"] for d in load_yaml()["deployments"]}
    for route, full in DEPLOYMENTS.items():
        flow_name, dep = full.split("/")
        path, func = entry[dep].split(":")
        src = (REPO / path).read_text()
        assert re.search(rf'@flow\(name="{re.escape(flow_name)}".*\)\n(async )?def {func}\(', src), full
        assert flows_by_route()[route].name == flow_name
