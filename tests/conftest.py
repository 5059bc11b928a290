"""Shared test set-up: a derandomised Hypothesis profile for CI and trio's scheduler on a fixed seed, so landing
never hinges on luck."""

import os

import pytest
import trio.testing
from hypothesis import HealthCheck, settings

from sim.scheduling import fix_scheduling

settings.register_profile(
    "ci", derandomize=True, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture(autouse=True)
def fixed_scheduling() -> None:
    """Trio runs the tasks ready at one instant in a random order; every test gets the same order on every run."""
    # Another order, to explore: REPRICER_SCHEDULING_SEED=7 make unit.
    fix_scheduling(int(os.environ.get("REPRICER_SCHEDULING_SEED", "0")))
