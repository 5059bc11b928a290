"""How fast the simulator runs: simulated events per second of wall time, with no engine attached.

The market is advanced in fixed steps, as an engine's clock would drive it; our prices are either static or set
by a trivial vectorised policy (every ``policy_every_s``: 1% down where we do not hold the Buy Box, 0.5% up where
we do, within bounds), which exercises the submit path. The CLI prints the `SpeedReport`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.market import Market
from sim.scenarios import RunParams, build_market

__all__ = ["SpeedReport", "measure"]


@dataclass(frozen=True, slots=True)
class SpeedReport:
    """One measurement. ``events`` counts processed market events (recomputes, go-lives, checks, views,
    FOEP refreshes); ``wall_s`` excludes building the market."""

    scenario: str
    rows: int
    hours: float
    step_s: float
    policy: str
    events: int
    submits: int
    build_s: float
    wall_s: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def speedup(self) -> float:
        """Simulated seconds per wall second."""
        return self.hours * 3600.0 / self.wall_s if self.wall_s > 0 else float("inf")

    def __str__(self) -> str:
        return (
            f"{self.scenario}: {self.rows} rows × {self.hours:g} h in {self.step_s:g} s steps ({self.policy}): "
            f"{self.events:,} events in {self.wall_s:.2f} s = {self.events_per_s:,.0f} events/s, "
            f"{self.speedup:,.0f}× real time ({self.submits:,} submits; build {self.build_s:.2f} s)"
        )


def measure(
    n_rows: int = 10_000,
    hours: float = 4.0,
    *,
    scenario: str = "S5",
    step_s: float = 1.0,
    seed: int = 1,
    policy: Literal["static", "nudge"] = "static",
    policy_every_s: float = 600.0,
    notifications: bool = False,
    params: RunParams | None = None,
) -> SpeedReport:
    """Advance a fresh market over ``hours`` in ``step_s`` steps and time it."""
    started = time.perf_counter()
    market = build_market(scenario, seed, n_rows, params, notifications=notifications)
    built = time.perf_counter()
    end = market.now + hours * 3600.0
    next_policy = market.now + policy_every_s
    submits = 0
    t = market.now
    while t < end:
        t = min(end, t + step_s)
        market.advance_to(t)
        if policy == "nudge" and t >= next_policy:
            submits += _nudge(market, t)
            next_policy += policy_every_s
        if notifications:
            market.pop_notifications(t)
    done = time.perf_counter()
    return SpeedReport(scenario, n_rows, hours, step_s, policy, market.events, submits, built - started, done - built)


def _nudge(market: Market, t: float) -> int:
    """The trivial policy: 1% down where we do not hold the Buy Box, 0.5% up where we do, within bounds."""
    spec = market.spec
    current = market.price[:, 0]
    factor = np.where(market.holder == 0, 1.005, 0.99)
    target = np.clip(np.round(current * factor).astype(np.int64), spec.min_price, spec.max_price)
    rows = np.flatnonzero(target != current)
    market.submit(rows, target[rows], t)
    return len(rows)
