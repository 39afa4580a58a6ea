"""The deployments, read from prefect.yaml: the one place they are defined.

`prefect deploy --all` reads that file for workers on a real engine; `kimai-sync serve` builds
the same deployments from it for one machine, and the standalone receiver finds the
deployments it records runs of by the names it gives. The file's only templates are the build
step's values (`{{ values.fallback_cron }}`, `{{ values.timezone }}`); here they come from the
settings, as the build step computes them at deploy time.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"

_VALUE = re.compile(r"\{\{\s*values\.(\w+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Schedule:
    cron: str
    timezone: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Deployment:
    name: str
    entrypoint: str  # path/to/module.py:function, relative to the clone
    description: str | None
    schedules: tuple[Schedule, ...]
    concurrency_limit: int | None

    @property
    def module(self) -> str:
        return self.entrypoint.split(":")[0].removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.split(":")[1]

    def flow(self):
        """The flow object, imported as the rest of the code imports it (not loaded by file path)."""
        return getattr(importlib.import_module(self.module), self.function)

    def runs(self, flow) -> bool:
        """Whether this deployment's entry point is `flow`."""
        fn = getattr(flow, "fn", flow)
        return (fn.__module__, fn.__name__) == (self.module, self.function)


def _render(text: Any, values: dict[str, str]) -> Any:
    if not isinstance(text, str):
        return text

    def value(m: re.Match) -> str:
        if m.group(1) not in values:
            raise ValueError(f"prefect.yaml uses {{{{ values.{m.group(1)} }}}}, which nothing computes")
        return values[m.group(1)]

    return _VALUE.sub(value, text)


def load_deployments(values: dict[str, str], path: Path = PREFECT_YAML) -> list[Deployment]:
    """Every deployment of prefect.yaml, its `{{ values.* }}` templates filled from `values`."""
    import yaml

    doc = yaml.safe_load(path.read_text())
    out = []
    for d in doc.get("deployments") or []:
        limit = d.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = limit.get("limit")
        schedules = tuple(
            Schedule(cron=_render(s["cron"], values), timezone=_render(s.get("timezone"), values),
                     active=bool(s.get("active", True)))
            for s in d.get("schedules") or [])
        out.append(Deployment(name=d["name"], entrypoint=d["entrypoint"], description=d.get("description"),
                              schedules=schedules, concurrency_limit=limit))
    return out


def values_from_settings(settings) -> dict[str, str]:
    """What prefect.yaml's build step computes at deploy time (deployments/deploy_values.py)."""
    from kimaisync.settings import cron_for_prefect

    return {"fallback_cron": cron_for_prefect(settings.fallback_sync_cron), "timezone": settings.timezone}


def route_deployments(routes: dict[str, Any], deployments: list[Deployment]) -> dict[str, Deployment]:
    """The deployment each receiver route records its runs as: the one that runs the route's flow,
    and of several such (a nightly schedule beside the route's own) the one named as the route."""
    out, problems = {}, []
    for route, flow in routes.items():
        candidates = [d for d in deployments if d.runs(flow)]
        if len(candidates) > 1:
            candidates = [d for d in candidates if d.name == route]
        if len(candidates) != 1:
            problems.append(f"route {route!r}: {len(candidates)} deployments of flow {flow.name!r}")
        else:
            out[route] = candidates[0]
    if problems:
        raise ValueError("prefect.yaml does not give each receiver route one deployment: " + "; ".join(problems))
    return out


def table(deployments: list[Deployment]) -> str:
    """The deployments as a markdown table (flow / deployment, schedule, description)."""
    lines = ["| Deployment | Schedule | Description |", "|---|---|---|"]
    for d in deployments:
        when = "; ".join(f"`{s.cron}` ({s.timezone})" + ("" if s.active else ", inactive") for s in d.schedules)
        if d.concurrency_limit:
            when = (when + "; " if when else "") + f"at most {d.concurrency_limit} at a time"
        lines.append(f"| `{d.flow().name}/{d.name}` | {when or 'none'} | {d.description or ''} |")
    return "\n".join(lines)


if __name__ == "__main__":
    from kimaisync.settings import Settings, cron_for_prefect

    fields = Settings.model_fields
    print(table(load_deployments({"fallback_cron": f"FALLBACK_SYNC_CRON ({cron_for_prefect(fields['fallback_sync_cron'].default)})",
                                  "timezone": "TIMEZONE"})))
