"""The maintenance flow deletes runs that ended before the retention period, with their logs and
artifacts, through Prefect's API, keeps the rest (recent runs, and runs still scheduled however
old), and reports what it removed. RUN_RETENTION_DAYS=0 keeps everything."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("own_prefect_server")]


@pytest.fixture(scope="module")
def own_prefect_server(tmp_path_factory):
    """A Prefect server of this module's own: the flow deletes every old run it finds, and on the
    session's server that is every earlier test's run (slow, and not this test's to remove)."""
    import socket
    from types import SimpleNamespace

    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from kimaisync.prefect_server import PrefectServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = SimpleNamespace(prefect_server_api_host="127.0.0.1", prefect_server_api_port=port,
                               prefect_server_api_auth_string=None, prefect_api_auth_string=None)
    server = PrefectServer(settings, home=tmp_path_factory.mktemp("retention-prefect")).start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server
            APILogHandler().flush()  # this module's run logs go to its server before the server goes
    finally:
        server.stop()

NOW = dt.datetime.now(dt.timezone.utc)


def _run(client, ended: bool, tag: str) -> uuid.UUID:
    """A flow run that ran and completed now (or, not `ended`, one scheduled 200 days ago and still
    waiting), with one log line and one artifact. (Prefect's server stamps states with its own
    clock: the test moves the flow's "now" forward instead of dating runs back.)"""
    from prefect.client.schemas.actions import ArtifactCreate, LogCreate
    from prefect.states import Completed, Running, Scheduled

    fr = client.create_flow_run(flow=_flows()[0], tags=[tag], state=Scheduled(
        scheduled_time=NOW - dt.timedelta(days=200)))
    if ended:
        client.set_flow_run_state(fr.id, Running(), force=True)
        client.set_flow_run_state(fr.id, Completed(), force=True)
    client.create_logs([LogCreate(name="test", level=20, message=f"log of {tag}", timestamp=NOW,
                                  flow_run_id=fr.id)])
    client.create_artifact(ArtifactCreate(flow_run_id=fr.id, type="markdown", data=f"hours of {tag}",
                                          key=f"retention-test-{tag}"))
    return fr.id


def _flows():
    from prefect import flow

    @flow(name="retention-test-subject")
    def subject():
        return 1

    return [subject]


def _logs_of(client, ids) -> int:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    return len(client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids))))


def _exists(client, run_id) -> bool:
    from prefect.exceptions import ObjectNotFound

    try:
        client.read_flow_run(run_id)
        return True
    except ObjectNotFound:
        return False


def test_runs_ended_before_the_period_go_with_their_logs_and_artifacts_the_rest_stays():
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.maintenance import prune_run_history

    with get_client(sync_client=True) as client:
        old = [_run(client, True, f"old{n}") for n in range(3)]
        boundary = max(client.read_flow_run(i).end_time for i in old) + dt.timedelta(milliseconds=1)
        time.sleep(0.05)
        kept = [_run(client, True, f"new{n}") for n in range(2)]
        scheduled = _run(client, False, "scheduled")
        assert min(client.read_flow_run(i).end_time for i in kept) > boundary  # the set-up holds
        # 90 days after the boundary: the old runs ended more than 90 days ago, the others did not
        as_of = boundary + dt.timedelta(days=90)

        dry = prune_run_history(retention_days=90, dry_run=True, as_of=as_of)
        assert all(_exists(client, i) for i in old)
        assert dry["runs"] >= 3

        summary = prune_run_history(retention_days=90, as_of=as_of)
        assert summary["runs"] >= 3 and summary["artifacts"] >= 3 and summary["logs"] >= 3
        assert summary["runs"] == dry["runs"]
        assert any(row["flow"] == "retention-test-subject" and row["runs"] >= 3 for row in summary["per_flow"])
        assert not any(_exists(client, i) for i in old)
        assert all(_exists(client, i) for i in kept + [scheduled])
        gone_artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=old)))
        assert gone_artifacts == []
        assert len(client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=kept + [scheduled])))) == 3
        deadline = time.monotonic() + 30  # the server removes a deleted run's logs in the background
        while _logs_of(client, old) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _logs_of(client, old) == 0
        assert _logs_of(client, kept + [scheduled]) == 3

        again = prune_run_history(retention_days=90, as_of=as_of)
        assert again["runs"] == 0


def test_retention_zero_keeps_every_run():
    from prefect import get_client

    from flows.maintenance import prune_run_history

    with get_client(sync_client=True) as client:
        ancient = _run(client, True, "ancient")
        summary = prune_run_history(retention_days=0, as_of=NOW + dt.timedelta(days=3000))
        assert summary["runs"] == 0 and summary["cutoff"] is None
        assert _exists(client, ancient)
