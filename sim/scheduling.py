"""One seed, one run: trio's order of ready tasks fixed for virtual-time runs (tests, demo, benchmarks).

Trio runs each batch of ready tasks in a random order (it reverses half of them) to shake out code that leans on
one order. Under virtual time that order decides which of two things due at the same instant happens first, so
two runs of one seed could end apart. Trio keeps a seeded, deterministic mode for Hypothesis; this switches it on.
It reaches into trio's private scheduler, so it checks the version it was written against: trio is pinned below
its next major in pyproject.toml, and a trio that moved the switch is an error here, not a silently random run.
"""

from __future__ import annotations

import trio

__all__ = ["fix_scheduling"]

# The trio versions whose private scheduler this was checked against: 0.2x and 0.3x.
_CHECKED_MAJOR = 0
_CHECKED_MINORS = range(25, 40)


def fix_scheduling(seed: int) -> None:
    """Make trio's scheduler pick the same order on every run of this process from here on."""
    major, minor = (int(part) for part in trio.__version__.split(".")[:2])
    if major != _CHECKED_MAJOR or minor not in _CHECKED_MINORS:
        raise RuntimeError(
            f"fix_scheduling was checked against trio 0.25-0.39, not {trio.__version__}: check trio._core._run"
        )
    from trio._core import _run

    if not hasattr(_run, "_ALLOW_DETERMINISTIC_SCHEDULING") or not hasattr(_run, "_r"):
        raise RuntimeError(f"trio {trio.__version__} has no deterministic scheduling switch where it used to be")
    _run._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    _run._r.seed(seed)
