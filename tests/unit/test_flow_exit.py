"""The heartbeat that lets sync flow runs end with their last line (tasks/flow_exit.py)."""

from __future__ import annotations

import threading

from tasks.flow_exit import _heartbeats_until_stopped, end_sync_flows_promptly


class FakeEngine:
    def __init__(self, every, final=False):
        self.heartbeat_seconds = every
        self.sent = []
        state = type("State", (), {"is_final": lambda self: final})()
        self.flow_run = type("Run", (), {"state": state})()

    def _build_heartbeat_event_template(self):
        return {"prefect.resource.id": "run"}, []

    def _emit_flow_run_heartbeat(self, resource, related):
        self.sent.append((threading.current_thread().name, resource))


def heartbeat_threads():
    return [t for t in threading.enumerate() if t.name == "flow-run-heartbeat"]


def test_a_heartbeat_is_sent_when_the_run_starts_and_the_thread_is_gone_when_it_ends():
    engine = FakeEngine(every=30)
    with _heartbeats_until_stopped(engine):
        assert heartbeat_threads()
        for _ in range(100):
            if engine.sent:
                break
            threading.Event().wait(0.01)
    assert engine.sent == [("flow-run-heartbeat", {"prefect.resource.id": "run"})]
    assert not heartbeat_threads()  # stopped while waiting 30 s for its next beat


def test_no_heartbeat_when_they_are_off_or_the_run_has_ended():
    off = FakeEngine(every=None)
    with _heartbeats_until_stopped(off):
        assert not heartbeat_threads()
    ended = FakeEngine(every=30, final=True)
    with _heartbeats_until_stopped(ended):
        pass
    assert off.sent == [] and ended.sent == []


def test_installed_in_the_pinned_prefect_engine():
    """Guards an upgrade: the flow engine still has the hook it is installed in."""
    from prefect import flow_engine

    import flows.worklog_period  # noqa: F401 - installs it

    assert end_sync_flows_promptly() is True
    assert flow_engine._send_heartbeats is _heartbeats_until_stopped
