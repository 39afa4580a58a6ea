"""The image, built and run as a stack runs it, with Debian's podman (no daemon, no registry).

A local Debian bookworm base stands in for the official Python one (nothing can be pulled here);
it trusts the machine's extra CAs so the build's `pip install` reaches PyPI. The image is started
with host networking against the Kimai emulator and Oxigraph on 127.0.0.1 (its receiver and its
Prefect server on free loopback ports, given through the environment as a stack would give port
80 and 4200). Through the container: a `mu script` command run the way mu-cli runs it (the
scripts copied out of the service's container, the script's folder at /script, the service's own
image) and a `/delta`; Kimai is checked after each. The image runs as a non-root user, answers its
HEALTHCHECK, and stops on SIGTERM.

See ../shared/reference/containers.md for the recipe. Slow the first time (the base: 60-90 s, the
build's pip install: a few minutes); the base and the layers are kept under build/image-test.
Skips with a one-line reason without root or the tools (scripts/ensure-system-deps.sh installs them).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from kimaisync.triplestores import free_port
from worklog_helpers import one_new_work_log

pytestmark = pytest.mark.image

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "build" / "image-test"
BASE = "localhost/debian-python:bookworm"
IMAGE = "localhost/kimai-sync:test"
DAY = dt.date(2025, 3, 12)
AUTH = "operator:image-test-Secret-5"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# podman's default and `host` ulimits are refused here ("setrlimit ... operation not permitted")
LIMITS = ("--ulimit", "nofile=16384:16384", "--ulimit", "nproc=16384:16384")


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the image test runs podman as root (run make test as root)"
    missing = [t for t in ("podman", "runc", "mmdebstrap") if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed (Debian packages; scripts/ensure-system-deps.sh installs them)"
    return None


def podman(*args: str, timeout: float = 120, check: bool = True, **kw) -> subprocess.CompletedProcess:
    cmd = ["podman", "--root", str(WORK / "storage"), "--runroot", str(WORK / "run"), "--storage-driver", "overlay",
           "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode:
        raise AssertionError(f"podman {' '.join(args[:3])} ... failed ({done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _apt_sources() -> list[str]:
    """The machine's Debian mirror, for the base's bookworm, -updates and -security."""
    uris = {"debian": "http://deb.debian.org/debian", "security": "http://deb.debian.org/debian-security"}
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for uri in (line.split(":", 1)[1].strip() for line in sources.read_text().splitlines()
                    if line.startswith("URIs:")):
            uris["security" if "security" in uri else "debian"] = uri
    return [f"deb {uris['debian']} bookworm main", f"deb {uris['debian']} bookworm-updates main",
            f"deb {uris['security']} bookworm-security main"]


def ensure_base() -> None:
    """The stand-in for python:3.11-slim: Debian bookworm's python3, trusting this machine's CAs."""
    if podman("image", "exists", BASE, check=False).returncode == 0:
        return
    tar = WORK / "debian-python-bookworm.tar"
    if not tar.exists():
        cas = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
        hooks = [f"--customize-hook=copy-in {ca} /usr/local/share/ca-certificates/" for ca in cas]
        hooks.append('--customize-hook=chroot "$1" update-ca-certificates')
        done = subprocess.run(["mmdebstrap", "--variant=minbase", "--format=tar", "--include=python3,python3-venv,ca-certificates",
                               *hooks, "bookworm", str(tar) + ".part", *_apt_sources()],
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        os.replace(str(tar) + ".part", tar)
    podman("import", *[f"--change=ENV {k}={CA_BUNDLE}" for k in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE")],
           str(tar), BASE, timeout=300)


@pytest.fixture(scope="module")
def image():
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_base()
    podman("build", "--isolation", "chroot", "--format", "docker", "--build-arg", f"BASE={BASE}", "-t", IMAGE,
           str(REPO), timeout=1800)
    yield IMAGE


def test_the_image_serves_a_stack_runs_mu_scripts_and_stays_unprivileged(image, kimai_state, kimai, oxigraph,
                                                                          tmp_path):
    from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

    inspect = podman("image", "inspect", "--format", "{{.Config.User}}|{{json .Config.Healthcheck}}", image).stdout
    user, healthcheck = inspect.strip().split("|", 1)
    assert user == "kimaisync" and "kimaisync.healthcheck" in healthcheck, inspect

    log = one_new_work_log(kimai_state, oxigraph, DAY)
    receiver_port, prefect_port = free_port(), free_port()
    env_file = tmp_path / "stack.env"  # the auth string stays out of podman's command line
    env_file.write_text("\n".join(f"{k}={v}" for k, v in {
        "API_TOKEN": API_TOKEN, "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
        "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": KIMAI_GRAPH,
        "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH, "TIMEZONE": "Europe/Brussels",
        # Host networking shares this machine's ports: both listen on loopback, on free ports.
        "RECEIVER_HOST": "127.0.0.1", "RECEIVER_PORT": receiver_port,
        "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": prefect_port,
        "PREFECT_SERVER_API_AUTH_STRING": AUTH}.items()) + "\n")
    name, volume = f"kimai-sync-test-{uuid.uuid4().hex[:8]}", f"kimai-sync-test-{uuid.uuid4().hex[:8]}"
    receiver = f"http://127.0.0.1:{receiver_port}"
    podman("volume", "create", volume)
    try:
        podman("run", "-d", "--name", name, "--network", "host", *LIMITS, "--env-file", str(env_file), "-v", f"{volume}:/data", image)
        deadline = time.monotonic() + 300
        while podman("healthcheck", "run", name, check=False).returncode != 0:
            state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            assert state == "running" and time.monotonic() < deadline, podman("logs", name).stdout[-3000:] + \
                podman("logs", name).stderr[-3000:]
            time.sleep(2)
        assert podman("exec", name, "id", "-u").stdout.strip() != "0"
        assert podman("exec", name, "id", "-un").stdout.strip() == "kimaisync"
        # The Prefect API behind its login; the UI's health route open.
        api = f"http://127.0.0.1:{prefect_port}/api"
        assert httpx.post(api + "/flow_runs/filter", json={}, timeout=10).status_code == 401
        assert httpx.get(api + "/health", timeout=10).status_code == 200

        # `mu script kimai-sync to-kimai START END`, as mu-cli runs it.
        scripts = tmp_path / "mu-cache"
        podman("cp", f"{name}:/app/scripts", str(scripts))
        assert {s["documentation"]["command"] for s in __import__("json").loads(
            (scripts / "config.json").read_text())["scripts"]} == {"from-kimai", "to-kimai", "lock-timesheets"}
        done = podman("run", "--rm", "--network", "host", *LIMITS, "-e", f"KIMAI_SYNC_URL={receiver}",
                      "-v", f"{scripts / 'to-kimai'}:/script", "-w", "/script", "--entrypoint", "./run", image,
                      str(DAY), str(DAY), timeout=120, check=False)
        assert done.returncode == 0 and "202" in done.stdout, done.stdout + done.stderr
        deadline = time.monotonic() + 90
        while not kimai_state.timesheets and time.monotonic() < deadline:
            time.sleep(0.3)
        sheets = list(kimai_state.timesheets.values())
        assert len(sheets) == 1 and sheets[0].end - sheets[0].begin == dt.timedelta(hours=2), sheets

        # A delta through the container: the work log's new duration reaches Kimai.
        oxigraph.client().update(
            f"DELETE {{ GRAPH ?g {{ <{log}> <http://www.w3.org/2002/12/cal/ical#duration> ?d }} }} "
            f"INSERT {{ GRAPH ?g {{ <{log}> <http://www.w3.org/2002/12/cal/ical#duration> \"PT3H\" }} }} "
            f"WHERE {{ GRAPH ?g {{ <{log}> <http://www.w3.org/2002/12/cal/ical#duration> ?d }} }}")
        body = [{"inserts": [{"subject": {"type": "uri", "value": log},
                              "predicate": {"type": "uri", "value": "http://www.w3.org/2002/12/cal/ical#duration"},
                              "object": {"type": "literal", "value": "PT3H"}}], "deletes": []}]
        assert httpx.post(receiver + "/delta", json=body, timeout=30).status_code == 204
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sheets = list(kimai_state.timesheets.values())
            if len(sheets) == 1 and sheets[0].end - sheets[0].begin == dt.timedelta(hours=3):
                break
            time.sleep(0.3)
        assert len(sheets) == 1 and sheets[0].end - sheets[0].begin == dt.timedelta(hours=3), sheets

        # SIGTERM (podman stop) ends serve, and with it its Prefect server, cleanly.
        podman("stop", "-t", "30", name, timeout=60)
        code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        logs = podman("logs", name)
        assert code == "0", logs.stdout[-3000:] + logs.stderr[-8000:]  # a slow stop writes its threads' stacks
        for text in (logs.stdout, logs.stderr):
            assert AUTH not in text and AUTH.split(":")[1] not in text
    finally:
        podman("rm", "-f", "-t", "5", name, check=False, timeout=60)
        podman("volume", "rm", "-f", volume, check=False)
