"""What serve tells an operator at start, and that its shutdown cannot hang on an absent API."""

from __future__ import annotations

import socket
import time
import uuid

from prefect.settings import PREFECT_API_URL, temporary_settings

from deployments.serve import pause_schedules, prefect_api_line


def test_serve_names_the_api_and_the_ui_without_credentials():
    with temporary_settings({PREFECT_API_URL: "http://ops:s3cret@127.0.0.1:4321/api"}):
        line = prefect_api_line()
    assert line == "Prefect API http://127.0.0.1:4321/api; the runs in its UI: http://127.0.0.1:4321/runs"


def test_without_an_api_serve_says_the_temporary_server_has_no_ui_and_what_to_do():
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        line = prefect_api_line()
    assert "temporary server" in line and "no UI" in line and "prefect server start" in line


def test_pausing_the_schedules_on_the_way_out_is_bounded_when_the_api_does_not_answer():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections are accepted by the kernel, and never answered
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api"
        with temporary_settings({PREFECT_API_URL: url}):
            t0 = time.monotonic()
            said = pause_schedules([uuid.uuid4(), uuid.uuid4()], timeout=2)
            took = time.monotonic() - t0
    finally:
        silent.close()
    assert took < 10, took
    assert said.startswith("schedules not paused")
