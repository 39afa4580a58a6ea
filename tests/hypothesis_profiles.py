"""Hypothesis settings for the model-based convergence test, picked by HYPOTHESIS_PROFILE.

The default keeps the normal test run around a minute and is the same every run; `nightly` runs many more and longer
sequences. They are looked up by the state machine only (not loaded globally), so other
property tests keep their own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                      HealthCheck.data_too_large])

# The suite's profile is derandomized: the same sequences on every run, so main stays green
# unless the code changes; `nightly` draws new ones each time to look for what those miss.
settings.register_profile("convergence", max_examples=8, stateful_step_count=22, derandomize=True, **_COMMON)
settings.register_profile("nightly", max_examples=200, stateful_step_count=60, **_COMMON)


def convergence_settings() -> settings:
    """`nightly` when HYPOTHESIS_PROFILE=nightly, else the quick default (also for unknown names)."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "convergence")
    return settings.get_profile("nightly" if name == "nightly" else "convergence")
