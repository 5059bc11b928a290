"""How many examples each fuzz test runs: few and derandomised in CI, more locally with the "fuzz" profile.

tests/conftest.py loads ``HYPOTHESIS_PROFILE`` before anything here is imported, so it cannot name a profile
registered here; the longer run has a switch of its own:

    REPRICER_FUZZ_PROFILE=fuzz REPRICER_FUZZ_REPORT=1 python -m pytest tests/fuzz

Under CI the tests inherit the "ci" profile (derandomised), under neither the "dev" one, each capped at the
count its test names, so the directory stays well inside a minute on a slow machine.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["examples"]

settings.register_profile(
    "fuzz",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def examples(ci: int) -> settings:
    """At most ``ci`` examples under the loaded profile; the "fuzz" profile's count when it is asked for."""
    if os.environ.get("REPRICER_FUZZ_PROFILE") == "fuzz":
        return settings(settings.get_profile("fuzz"))
    return settings(max_examples=min(ci, settings().max_examples), suppress_health_check=[HealthCheck.too_slow])
