"""`kimai-sync serve`: one process for one machine: every deployment's schedule and the receiver.

The deployments are prefect.yaml's (deployments.definitions), as workers on a real engine get them. The
receiver records each request as a run of its deployment, then executes it here at once
(deployments.run_queue); `serve` itself runs the schedules, and any recorded run this process
did not get to (it died) when it comes due. On start it schedules again the runs a killed serve
left under way (recover_interrupted_runs). One serve per Prefect server.
"""

from __future__ import annotations

import datetime as dt
import logging

log = logging.getLogger("kimaisync.serve")

def build_deployments(settings) -> dict:
    """Deployment name → RunnerDeployment: every deployment of prefect.yaml, with its schedules in
    the configured time zone and the fallback's cron from FALLBACK_SYNC_CRON."""
    from prefect.schedules import Cron

    from deployments.definitions import load_deployments, values_from_settings

    deps = {}
    for d in load_deployments(values_from_settings(settings)):
        schedules = [Cron(s.cron, timezone=s.timezone, active=s.active) for s in d.schedules]
        deps[d.name] = d.flow().to_deployment(name=d.name, description=d.description, schedules=schedules or None,
                                              concurrency_limit=d.concurrency_limit)
    return deps


def route_deployment_names(settings) -> dict[str, str]:
    """Receiver route → the name of the deployment its runs are recorded as."""
    from deployments.definitions import load_deployments, route_deployments, values_from_settings
    from deployments.receiver import flows_by_route

    deps = load_deployments(values_from_settings(settings))
    return {route: d.name for route, d in route_deployments(flows_by_route(), deps).items()}


def recover_interrupted_runs(deployment_ids) -> list[str]:
    """Put right what a `serve` that died (SIGKILL, power loss) left under way; one line per run.

    Runs of these deployments still Running or Pending were started by that process's runner
    (one serve per Prefect server): they are scheduled again, now, so the work they were doing
    gets done. Until then they would hold their deployment's concurrency slot for the rest of
    the engine's 300 s lease, and the delta runs waiting behind it would wait as long. One still
    Cancelling is Cancelled. Runs the receiver executed in that process itself (tagged
    RECEIVER_TAG, no deployment) are marked Crashed: any of their work a 2xx was given for is
    also recorded as a run of its deployment, still scheduled (deployments.run_queue).
    """
    from prefect import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterState,
                                                FlowRunFilterStateType, FlowRunFilterTags)
    from prefect.client.schemas.objects import StateType
    from prefect.states import AwaitingRetry, Cancelled, Crashed

    from deployments.run_queue import RECEIVER_TAG

    under_way = FlowRunFilterState(type=FlowRunFilterStateType(
        any_=[StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]))
    filters = [FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=list(deployment_ids)), state=under_way),
               FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(is_null_=True),
                             tags=FlowRunFilterTags(all_=[RECEIVER_TAG]), state=under_way)]
    said = "kimai-sync serve stopped while this run was under way"
    lines: list[str] = []
    with get_client(sync_client=True) as client:
        for flow_run_filter in filters:
            for _ in range(50):  # 200 at a time; each one handled no longer matches
                stuck = client.read_flow_runs(flow_run_filter=flow_run_filter, limit=200)
                for fr in stuck:
                    if fr.state.type == StateType.CANCELLING:
                        state, did = Cancelled(message=f"{said}; cancelled as asked"), "cancelled"
                    elif fr.deployment_id is None:
                        state, did = Crashed(message=f"{said} (executed in it)"), "marked crashed"
                    else:
                        state, did = AwaitingRetry(scheduled_time=dt.datetime.now(dt.timezone.utc),
                                                   message=f"{said}; run again"), "scheduled again"
                    client.set_flow_run_state(fr.id, state, force=True)
                    lines.append(f"run {fr.name} ({fr.id}) was {fr.state.type.value.lower()} when serve stopped: {did}")
                if len(stuck) < 200:
                    break
    return lines


SHUTDOWN_PAUSE_SECONDS = 10.0  # pausing the schedules on the way out: never longer than this
# From SIGTERM to the end of run_serve (about 2 s as a rule); a stop that takes longer writes every
# thread's stack to stderr, to say what holds it up.
SHUTDOWN_LIMIT_SECONDS = 25.0


def _runner_class():
    from prefect.runner import Runner

    class TracedStopRunner(Runner):
        def handle_sigterm(self, *args, **kwargs) -> None:
            import faulthandler

            faulthandler.dump_traceback_later(SHUTDOWN_LIMIT_SECONDS)
            super().handle_sigterm(*args, **kwargs)

    return TracedStopRunner


def _without_userinfo(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def prefect_api_line() -> str:
    """Where this process's runs go and where to look at them, for serve's first lines."""
    from prefect.settings import get_current_settings

    current = get_current_settings()
    if current.api.url:
        api = _without_userinfo(str(current.api.url))
        ui = _without_userinfo(str(current.ui_url or api.rsplit("/api", 1)[0]))
        return f"Prefect API {api}; the runs in its UI: {ui.rstrip('/')}/runs"
    return (f"Prefect API: a temporary server inside this process, which has no UI; the runs are kept in "
            f"PREFECT_HOME={current.home}. To browse them, run `prefect server start` with that PREFECT_HOME "
            "and open http://127.0.0.1:4200/runs, or set PREFECT_API_URL to a running server before serve")


def pause_schedules(deployment_ids, timeout: float = SHUTDOWN_PAUSE_SECONDS) -> str:
    """Pause the deployments' schedules (nobody serves them once we are gone), within `timeout`
    seconds whatever the API does; one line saying what happened."""
    import asyncio

    from prefect import get_client

    ids = list(deployment_ids)

    async def pause() -> None:
        async with get_client() as client:
            for dep in ids:
                await client.pause_deployment(dep)

    async def bounded() -> str:
        try:
            await asyncio.wait_for(pause(), timeout)
        except asyncio.TimeoutError:
            return (f"schedules not paused: the Prefect API did not answer within {timeout:g} s (they are "
                    "registered again at the next start)")
        except Exception as exc:  # noqa: BLE001 - on the way out: say it, do not hang or raise
            return f"schedules not paused: {type(exc).__name__}: {exc}"
        return f"{len(ids)} deployment schedules paused"

    return asyncio.run(bounded())


def run_serve(host: str, port: int, settings=None) -> int:
    import asyncio

    from prefect.exceptions import TerminationSignal

    from deployments.journal import Journal
    from deployments.receiver import RunningReceiver, flows_by_route
    from deployments.run_queue import RunQueue
    from kimaisync.settings import load_settings
    from kimaisync.sparql.client import SparqlClient

    settings = settings or load_settings()
    deps = build_deployments(settings)
    # What prefect.serve() does, in two steps: each deployment is registered once (serve() would
    # register them all again after we did, to learn their ids, and every registration makes
    # the server redo the deployment's schedule: a burst of writes that held the first
    # requests' runs up for seconds), and the receiver is up before the runner starts polling.
    # The runner's own pause on shutdown waits on the API without a limit ("Pausing all
    # deployments..." for as long as the API is away): serve pauses them itself, bounded.
    runner = _runner_class()(pause_on_shutdown=False, limit=None)
    ids = {name: runner.add_deployment(d) for name, d in deps.items()}
    for line in recover_interrupted_runs(set(ids.values())):
        print(f"kimai-sync serve: {line}", flush=True)
    runs = RunQueue(flows_by_route(), {route: ids[name] for route, name in route_deployment_names(settings).items()},
                    grace=settings.receiver_grace_seconds, journal=Journal.in_prefect_home())
    receiver = RunningReceiver(runs, SparqlClient.from_settings(settings), host=host, port=port, settings=settings)
    print(f"kimai-sync serve: receiver on {receiver.url}, {len(deps)} deployments; {settings.describe()}",
          flush=True)
    print(f"kimai-sync serve: {prefect_api_line()}", flush=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal) as exc:
        log.info("received %s, shutting down", type(exc).__name__)
    finally:
        log.info("stopping: the receiver and its runs")
        receiver.stop()
        log.info("stopping: pausing the schedules")
        print(f"kimai-sync serve: {pause_schedules(ids.values())}", flush=True)
        import faulthandler

        faulthandler.cancel_dump_traceback_later()
    return 0
