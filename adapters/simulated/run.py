"""A simulated deployment: the daemon's own composition (`engine.daemon.compose`) over simulated markets.

What `run --sim`, `demo` and the benchmarks share. Nothing here re-implements the engine: a run builds the
simulated markets, a plan of one seller account per market group, and hands both to `compose` with the simulated
adapter as the marketplace factory and the strategy under test plugged into the offer actors. Under
`MockClock(autojump_threshold=0)` hours of market pass in seconds; with a rate instead (``--speed``) they pass at
that many times real time.

One seller on several marketplaces (``run --sim --marketplaces DE,FR,GB``) is one account: its markets share one
quota book, so it has one seller's quota, as on Amazon. A benchmark runs many independent markets (seeds); a batch
of them can share one run: one simulated market holds every seed's rows side by side (each with its own
coefficients, random numbers and seller account, so each behaves exactly as it would alone) and the plan has one
seller per seed. The simulator then handles the seeds' events in the same vectorised rounds, which is most of
what a run costs. The markets' feeds run as services of the daemon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import trio

from adapters.simulated.marketplace import SIM_SELLER, MarketFeed, SimulatedMarketplace, catalog_settings
from engine.daemon import (
    Daemon,
    DaemonPlan,
    MarketplacePlan,
    MarketRuntime,
    MarketStatus,
    RuntimeConfig,
    SellerPlan,
    compose,
)
from engine.marketplaces import by_code
from engine.model import ChannelSettings
from engine.ports import Store
from engine.pricing.view import Strategy
from engine.store import MemoryStore
from sim.market import Market
from sim.quotas import QuotaBook
from sim.scenarios import SCENARIOS, RunParams, build_market, build_spec
from sim.spec import MarketSpec
from sim.trajectory import Trajectory

__all__ = ["MarketResult", "Placement", "SimRun", "build_run"]


@dataclass(frozen=True, slots=True)
class MarketResult:
    """What one simulated marketplace (one seed's market) leaves behind for the metrics."""

    marketplace: str
    seed: int
    trajectory: Trajectory
    updates_sent: int
    reacting: bool


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one adapter's offers are in the simulator: its market and its rows of it."""

    market: Market
    rows: list[int]


# An adapter and where its offers are in the simulator.
_Adapted = tuple[SimulatedMarketplace, Placement]


@dataclass(slots=True)
class SimRun:
    """A running simulated deployment: markets, adapters, runtimes and the daemon over them.

    ``adapters``, ``placements`` and ``runtimes`` go together, one per (seed, marketplace). The run, not the
    adapter, is the way to the simulator: an adapter keeps its market private, since the engine holds it, and the
    metrics (p*, trajectories) read the markets here. ``feeds`` advance the markets (one per market, run by the
    daemon as services) and hold their quota books.
    """

    scenario: str
    markets: list[Market]
    adapters: list[SimulatedMarketplace]
    placements: list[Placement]
    runtimes: list[MarketRuntime]
    daemon: Daemon
    store: Store
    started_at: float
    seeds: list[int]
    feeds: list[MarketFeed] = field(default_factory=list)
    results: list[MarketResult] = field(default_factory=list)
    owns_store: bool = True  # the run made its store (in memory), so `run_for` closes it

    def status(self) -> list[MarketStatus]:
        return self.daemon.status()

    async def run_for(self, seconds: float) -> None:
        """Run the daemon for ``seconds`` of trio time, then stop it, close the store (if the run made it) and the
        markets' records."""
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.daemon.run)
                await trio.sleep(seconds)
                self.daemon.stop.set()
        finally:
            if self.owns_store:
                await self.store.aclose()
        self.finish()

    def finish(self) -> list[MarketResult]:
        """Close every market's record at the current time (once)."""
        if not self.results:
            now = trio.current_time()
            reacting = SCENARIOS[self.scenario].reacting
            whole = {id(market): market.finish(now) for market in self.markets}
            for seed, placement, runtime in zip(self.seeds, self.placements, self.runtimes, strict=True):
                traj = whole[id(placement.market)]
                if len(placement.rows) != placement.market.n_rows:
                    traj = traj.rows(placement.rows[0], len(placement.rows))
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
    store: Store | None = None,
) -> SimRun:
    """Build a run inside `trio.run`: one simulated market of ``skus`` rows per marketplace, one seller account.

    Each marketplace gets its own seed (``seed``, ``seed + 1``, ...) so the markets differ, and its own currency.
    With ``batch`` (seeds; ``seed`` is then ignored) the run is that many independent markets of ``skus`` rows on
    the first marketplace, in one simulated market, each its own seller account. ``store``: the caller's, opened
    and closed by the caller (default: one in memory, closed by `SimRun.run_for`).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    base = params or RunParams()
    now = trio.current_time()
    if batch:
        return _build_batch(scenario, list(batch), skus, strategy, marketplaces[0], base, channel, config, store)
    markets = []
    for i, code in enumerate(marketplaces):
        info = by_code(code)
        params_i = replace(base, marketplace=info.code, currency=info.currency_code)
        markets.append(build_market(scenario, seed + i, skus, params_i, start_at=now))
    # One account on every marketplace: one quota book for all of them.
    book = QuotaBook(max(m.spec.n_sellers for m in markets), start=now)
    feeds = [MarketFeed(market, quotas=book) for market in markets]
    by_key: dict[tuple[str, str], _Adapted] = {}
    plans = []
    for market, code, feed in zip(markets, marketplaces, feeds, strict=True):
        info = by_code(code)
        adapter = SimulatedMarketplace(market, code=info.code, feed=feed)
        by_key[(SIM_SELLER, info.code)] = (adapter, Placement(market, list(adapter.rows)))
        offers = tuple(catalog_settings(market))
        plans.append(MarketplacePlan(info.code, offers, channel or ChannelSettings(), market.tick))
    plan = DaemonPlan((SellerPlan(SIM_SELLER, tuple(plans)),))
    seeds = [seed + i for i in range(len(markets))]
    return _compose(scenario, plan, by_key, markets, strategy, config, now, seeds, feeds, store)


def _build_batch(
    scenario: str,
    seeds: list[int],
    skus: int,
    strategy: Strategy[Any],
    code: str,
    base: RunParams,
    channel: ChannelSettings | None,
    config: RuntimeConfig | None,
    store: Store | None,
) -> SimRun:
    info = by_code(code)
    params = replace(base, marketplace=info.code, currency=info.currency_code)
    now = trio.current_time()
    spec = MarketSpec.concat([build_spec(scenario, s, skus, params) for s in seeds])
    market = Market(spec, latency=params.latency, buybox=params.buybox, orders=params.orders, start_at=now)
    feed = MarketFeed(market)
    by_key: dict[tuple[str, str], _Adapted] = {}
    sellers = []
    for i, seed in enumerate(seeds):
        rows = range(i * skus, (i + 1) * skus)
        seller = f"{SIM_SELLER}-{seed}"
        adapter = SimulatedMarketplace(market, code=info.code, rows=rows, feed=feed, seller=seller)
        by_key[(seller, info.code)] = (adapter, Placement(market, list(rows)))
        offers = tuple(catalog_settings(market, rows, seller=seller))
        sellers.append(
            SellerPlan(seller, (MarketplacePlan(info.code, offers, channel or ChannelSettings(), market.tick),))
        )
    return _compose(scenario, DaemonPlan(tuple(sellers)), by_key, [market], strategy, config, now, seeds, [feed], store)


def _compose(
    scenario: str,
    plan: DaemonPlan,
    adapters: dict[tuple[str, str], _Adapted],
    markets: list[Market],
    strategy: Strategy[Any],
    config: RuntimeConfig | None,
    now: float,
    seeds: list[int],
    feeds: list[MarketFeed],
    store: Store | None,
) -> SimRun:
    owns_store = store is None
    store = store if store is not None else MemoryStore()

    def factory(seller: str, code: str) -> SimulatedMarketplace:
        return adapters[(seller, code)][0]

    services = [_FeedService(feed) for feed in feeds]
    daemon = compose(plan, factory, store, strategy, config=config, services=services)
    runtimes = daemon.markets
    ordered = [adapters[(r.seller, r.code)] for r in runtimes]
    return SimRun(
        scenario,
        markets,
        [adapter for adapter, _ in ordered],
        [placement for _, placement in ordered],
        runtimes,
        daemon,
        store,
        now,
        seeds,
        feeds,
        owns_store=owns_store,
    )


class _FeedService:
    """A market's feed as a daemon service: it advances the market with trio's clock while the daemon runs. The
    daemon holds its services, so the feed (and the market behind it) is private here too."""

    def __init__(self, feed: MarketFeed) -> None:
        self._feed = feed
        self.name = "simulated market feed"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._feed.run(task_status=task_status)

    async def finish(self) -> None:
        return None
