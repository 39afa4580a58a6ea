"""Timi's text recognition, as far as the API document shows it: "2,5 uur met Rowan aan Timi
gewerkt" is registered as 9000 seconds on the project named Timi (or aliased Rowan).

Recognised: a duration (``2,5 uur``, ``8 uur``, ``1.5u``, ``45 min``, ``1:30``, ``2 uur en 15
minuten``), a project and a service by name or alias (whole words, any case). Explicit form fields
(``duration``, ``project_id``, ``service_id``) override what is recognised, as the document says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_HOURS = re.compile(_NUMBER + r"\s*(?:uur|uren|u|h|hours?)\b", re.IGNORECASE)
_MINUTES = re.compile(r"(\d+)\s*(?:minuten|minuut|min|m)\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2}):([0-5]\d)\b")


@dataclass(frozen=True)
class Recognised:
    duration: int | None = None
    project: int | None = None
    service: int | None = None


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def duration_in(body: str) -> int | None:
    """Seconds named in ``body``, or None when it names no time."""
    hours = _HOURS.search(body)
    minutes = _MINUTES.search(body)
    if hours or minutes:
        seconds = 0.0
        if hours:
            seconds += _number(hours.group(1)) * 3600
        if minutes:
            seconds += int(minutes.group(1)) * 60
        return int(round(seconds))
    clock = _CLOCK.search(body)
    if clock:
        return int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
    return None


def _named(body: str, candidates: Iterable[tuple[int, str, list[str]]]) -> int | None:
    words = {w.lower() for w in re.findall(r"\w+", body)}
    candidates = list(candidates)
    for ident, name, _aliases in candidates:  # a name beats an alias
        if name and name.lower() in words:
            return ident
    for ident, _name, aliases in candidates:
        if any(alias.lower() in words for alias in aliases):
            return ident
    return None


def recognise(body: str, projects: Iterable[tuple[int, str, list[str]]],
              services: Iterable[tuple[int, str, list[str]]]) -> Recognised:
    return Recognised(duration_in(body), _named(body, projects), _named(body, services))
