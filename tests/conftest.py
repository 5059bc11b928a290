"""Shared test set-up: a derandomised Hypothesis profile for CI and trio's scheduler on a fixed seed, so landing
never hinges on luck."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(autouse=True)
def private_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test its own runtime directory, so a daemon it starts (in process or as a child, which inherits the
    environment) binds its default control socket there: never the developer's own, never another test's. Short,
    under /tmp, as a Unix socket's path must be. Its own data directory too, so a command left to its default
    database opens one of its own, never the developer's nor that of a test running beside it (`make unit` runs
    the suite in several processes at once); tests that look at the default set their own."""
    with tempfile.TemporaryDirectory(prefix="rp-", dir="/tmp") as directory:
        monkeypatch.setenv("XDG_RUNTIME_DIR", directory)
        monkeypatch.setenv("XDG_DATA_HOME", str(Path(directory) / "data"))
        yield Path(directory)
