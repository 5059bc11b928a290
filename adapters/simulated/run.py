"""The real engine on the in-process simulator, under trio's clock: what `run --sim`, `demo` and `bench` share.

Nothing here re-implements the engine: a run builds the simulated markets, wraps each in the simulated adapter,
and starts the daemon's own `MarketRuntime`s with the strategy under test plugged into the offer actors. Under
`MockClock(autojump_threshold=0)` hours of market pass in seconds; with a rate instead (``--speed``) they pass
at that many times real time.

A benchmark runs many independent markets (seeds). A batch of them can share one run: one simulated market holds
every seed's rows side by side (each with its own coefficients, random numbers and seller account, so each
behaves exactly as it would alone) and the daemon gets one `MarketRuntime` per seed, as it would for that many
seller accounts. The simulator then handles the seeds' events in the same vectorised rounds, which is most of
what a run costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import trio

from adapters.simulated.marketplace import MarketFeed, SimulatedMarketplace, catalog_settings
from engine.actors.recorder import Recorder
from engine.daemon import Daemon, MarketRuntime, MarketStatus, RuntimeConfig
from engine.marketplaces import by_code
from engine.model import ChannelSettings
from engine.pricing.view import Strategy
from engine.store import MemoryStore
from sim.market import Market
from sim.scenarios import SCENARIOS, RunParams, build_market, build_spec
from sim.spec import MarketSpec
from sim.trajectory import Trajectory

__all__ = ["MarketResult", "SimRun", "build_run"]


@dataclass(frozen=True, slots=True)
class MarketResult:
    """What one simulated marketplace (one seed's market) leaves behind for the metrics."""

    marketplace: str
    seed: int
    trajectory: Trajectory
    updates_sent: int
    reacting: bool


@dataclass(slots=True)
class SimRun:
    """A running simulated deployment: markets, adapters, runtimes and the daemon over them.

    ``adapters`` and ``runtimes`` go together, one per (seed, marketplace); each adapter knows its market and rows.
    ``feeds`` are the shared market feeds the run itself must drive (batches of seeds).
    """

    scenario: str
    markets: list[Market]
    adapters: list[SimulatedMarketplace]
    runtimes: list[MarketRuntime]
    daemon: Daemon
    store: MemoryStore
    started_at: float
    seeds: list[int]
    feeds: list[MarketFeed] = field(default_factory=list)
    results: list[MarketResult] = field(default_factory=list)

    def status(self) -> list[MarketStatus]:
        return self.daemon.status()

    async def run_for(self, seconds: float) -> None:
        """Run the daemon for ``seconds`` of trio time, then stop it and close the markets' records."""
        async with trio.open_nursery() as feeds:
            for feed in self.feeds:
                await feeds.start(feed.run)
            async with trio.open_nursery() as nursery:
                await nursery.start(self.daemon.run)
                await trio.sleep(seconds)
                self.daemon.stop.set()
            feeds.cancel_scope.cancel()
        self.finish()

    def finish(self) -> list[MarketResult]:
        """Close every market's record at the current time (once)."""
        if not self.results:
            now = trio.current_time()
            reacting = SCENARIOS[self.scenario].reacting
            whole = {id(market): market.finish(now) for market in self.markets}
            for seed, adapter, runtime in zip(self.seeds, self.adapters, self.runtimes, strict=True):
                traj = whole[id(adapter.market)]
                if len(adapter.rows) != adapter.market.n_rows:
                    traj = traj.rows(adapter.rows[0], len(adapter.rows))
                updates = runtime.batcher.counters.updates_sent
                self.results.append(MarketResult(runtime.code, seed, traj, updates, reacting))
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
    batch: Sequence[int] = (),
) -> SimRun:
    """Build a run inside `trio.run`: one simulated market of ``skus`` rows per marketplace.

    Each marketplace gets its own seed (``seed``, ``seed + 1``, ...) so the markets differ, and its own currency.
    With ``batch`` (seeds; ``seed`` is then ignored) the run is that many independent markets of ``skus`` rows on
    the first marketplace, in one simulated market, each its own seller account with its own runtime.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    base = params or RunParams()
    config = config or RuntimeConfig()
    store = MemoryStore()
    recorder = Recorder(store)
    now = trio.current_time()
    if batch:
        parts = (list(batch), skus, strategy, marketplaces[0], base, channel, config)
        return _build_batch(scenario, *parts, store, recorder)
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
    seeds = [seed + i for i in range(len(marketplaces))]
    return SimRun(scenario, markets, adapters, runtimes, daemon, store, now, seeds)


def _build_batch(
    scenario: str,
    seeds: list[int],
    skus: int,
    strategy: Strategy[Any],
    code: str,
    base: RunParams,
    channel: ChannelSettings | None,
    config: RuntimeConfig,
    store: MemoryStore,
    recorder: Recorder,
) -> SimRun:
    info = by_code(code)
    params = replace(base, marketplace=info.code, currency=info.currency_code)
    now = trio.current_time()
    spec = MarketSpec.concat([build_spec(scenario, s, skus, params) for s in seeds])
    market = Market(spec, latency=params.latency, buybox=params.buybox, orders=params.orders, start_at=now)
    feed = MarketFeed(market)
    adapters, runtimes = [], []
    for i in range(len(seeds)):
        rows = range(i * skus, (i + 1) * skus)
        adapter = SimulatedMarketplace(market, code=info.code, rows=rows, feed=feed)
        offers = catalog_settings(market, rows)
        runtime = MarketRuntime(
            adapter, offers, channel or ChannelSettings(), store, recorder, strategy, tick=market.tick, config=config
        )
        adapters.append(adapter)
        runtimes.append(runtime)
    daemon = Daemon(runtimes, store, recorder, config)
    return SimRun(scenario, [market], adapters, runtimes, daemon, store, now, seeds, [feed])
