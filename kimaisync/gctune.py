"""Fewer garbage-collector passes while a sync run holds tens of thousands of small objects.

A run keeps its snapshot, plan and outcomes alive to the end; CPython's cyclic collector
would rescan all of them again and again, a large share of a no-op rerun's time. Raising the first-generation threshold for the run keeps collection, only less often.
Runs may overlap in one process (serve), so the setting is reference-counted.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None
RUN_THRESHOLDS = (100_000, 50, 100)


@contextmanager
def fewer_collections():
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*RUN_THRESHOLDS)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
