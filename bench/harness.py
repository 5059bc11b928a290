"""The real engine on the in-process simulator, under trio's clock: what `run --sim`, `demo` and `bench` share.

Nothing here re-implements the engine: a run builds the simulated markets, wraps each in the simulated adapter,
and starts the daemon's own `MarketRuntime`s with the strategy under test plugged into the offer actors. Under
`MockClock(autojump_threshold=0)` hours of market pass in seconds; with a rate instead (``--speed``) they pass
at that many times real time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import trio

from adapters.simulated import SimulatedMarketplace, catalog_settings
from engine.actors.recorder import Recorder
from engine.daemon import Daemon, MarketRuntime, MarketStatus, RuntimeConfig
from engine.marketplaces import by_code
from engine.model import ChannelSettings
from engine.pricing.view import Strategy
from engine.store import MemoryStore
from sim.market import Market
from sim.scenarios import SCENARIOS, RunParams, build_market
from sim.trajectory import Trajectory

__all__ = ["MarketResult", "SimRun", "build_run"]


@dataclass(frozen=True, slots=True)
class MarketResult:
    """What one simulated marketplace leaves behind for the metrics."""

    marketplace: str
    trajectory: Trajectory
    updates_sent: int
    reacting: bool


@dataclass(slots=True)
class SimRun:
    """A running simulated deployment: markets, adapters, runtimes and the daemon over them."""

    scenario: str
    markets: list[Market]
    adapters: list[SimulatedMarketplace]
    runtimes: list[MarketRuntime]
    daemon: Daemon
    store: MemoryStore
    started_at: float
    results: list[MarketResult] = field(default_factory=list)

    def status(self) -> list[MarketStatus]:
        return self.daemon.status()

    async def run_for(self, seconds: float) -> None:
        """Run the daemon for ``seconds`` of trio time, then stop it and close the markets' records."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.daemon.run)
            await trio.sleep(seconds)
            self.daemon.stop.set()
        self.finish()

    def finish(self) -> list[MarketResult]:
        """Close every market's record at the current time (once)."""
        if not self.results:
            now = trio.current_time()
            reacting = SCENARIOS[self.scenario].reacting
            for market, runtime in zip(self.markets, self.runtimes, strict=True):
                updates = runtime.batcher.counters.updates_sent
                self.results.append(MarketResult(runtime.code, market.finish(now), updates, reacting))
        return self.results


def build_run(
    *,
    scenario: str,
    seed: int,
    skus: int,
    strategy: Strategy[Any],
    marketplaces: Sequence[str] = ("DE",),
    params: RunParams | None = None,
    channel: ChannelSettings | None = None,
    config: RuntimeConfig | None = None,
) -> SimRun:
    """Build a run inside `trio.run`: one simulated market of ``skus`` rows per marketplace.

    Each marketplace gets its own seed (``seed``, ``seed + 1``, ...) so the markets differ, and its own currency.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    base = params or RunParams()
    config = config or RuntimeConfig()
    store = MemoryStore()
    recorder = Recorder(store)
    now = trio.current_time()
    markets, adapters, runtimes = [], [], []
    for i, code in enumerate(marketplaces):
        info = by_code(code)
        market = build_market(
            scenario, seed + i, skus, replace(base, marketplace=info.code, currency=info.currency_code), start_at=now
        )
        adapter = SimulatedMarketplace(market, code=info.code)
        runtime = MarketRuntime(
            adapter,
            catalog_settings(market),
            channel or ChannelSettings(),
            store,
            recorder,
            strategy,
            tick=market.tick,
            config=config,
        )
        markets.append(market)
        adapters.append(adapter)
        runtimes.append(runtime)
    daemon = Daemon(runtimes, store, recorder, config)
    return SimRun(scenario, markets, adapters, runtimes, daemon, store, now)
