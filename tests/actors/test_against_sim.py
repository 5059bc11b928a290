"""The whole runtime against the in-process simulator, under virtual time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

from adapters.simulated import OPERATIONS, SimulatedMarketplace, catalog_settings
from adapters.simulated.run import build_run
from engine.actors.recorder import Recorder
from engine.daemon import MarketRuntime, RuntimeConfig
from engine.model import ChannelSettings
from engine.pricing.baselines import BASELINES, make_baseline
from engine.pricing.search import EngineSearch
from engine.pricing.view import Strategy
from engine.store import MemoryStore
from sim.buybox import NO_HOLDER, BuyBoxParams
from sim.competitors import CompetitorSpec
from sim.market import Market
from sim.metrics import run_metrics
from sim.scenarios import RunParams, build_market
from sim.spec import OurSpec, RowSpec, spec_from_rows
from sim.trajectory import UNWINNABLE
from tests.actors.fakes import daemon_of


async def test_offers_facing_one_static_competitor_win_and_settle_near_p_star(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Holding at least half the views in expectation within 2% of p* on half the rows or more, within 2% of p* at
    the median. Since every segment draws its featured offer at each recompute (issue 22), a status read near p* is
    a draw, which the search still takes as a verdict: 6 of 11 rows settle so (against 9 of 11 on the simulator
    with a majority holder), the median at 0.992 of p*. Winning that back is the engine issue's (23)."""
    run = build_run(scenario="S1a", seed=7, skus=12, strategy=EngineSearch())
    await run.run_for(4 * 3600)
    market = run.markets[0]
    # Rows where no price within bounds wins are counted apart.
    winnable = np.flatnonzero(market.p_star != UNWINNABLE)
    price, p_star = market.price[winnable, 0], market.p_star[winnable]
    holding = market.our_share[winnable] >= 0.5  # the expected share: the featured offer itself is a draw
    settled = holding & (price <= p_star) & (price >= 0.98 * p_star)
    assert len(winnable) >= 9
    assert settled.mean() >= 0.5, list(zip(price.tolist(), p_star.tolist(), holding.tolist(), strict=True))
    assert np.median(price / p_star) >= 0.98
    # Never outside the bounds on the way.
    assert run.results[0].trajectory.our_price.max() <= market.spec.max_price.max()


async def test_a_batch_of_seeds_runs_each_market_as_its_own_seller_account(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Seeds side by side in one simulated market: one runtime and one quota per seed, each seed's own rows,
    and each one priced to the Buy Box as it would be alone."""
    seeds, skus = [7, 8, 9], 4
    run = build_run(scenario="S1a", seed=0, skus=skus, strategy=EngineSearch(), batch=seeds)
    (market,) = run.markets
    assert [a.rows for a in run.adapters] == [list(range(i * skus, (i + 1) * skus)) for i in range(3)]
    assert [len(r.catalog) for r in run.runtimes] == [skus] * 3
    assert len({row.seller for a in run.adapters for row in map(market.catalog, a.rows)}) == 3
    alone = build_market("S1a", 8, skus, RunParams())
    await run.run_for(3 * 3600)
    assert [r.seed for r in run.results] == seeds
    second = run.results[1].trajectory
    assert second.n_rows == skus
    np.testing.assert_array_equal(second.max_price, alone.spec.max_price)
    # Priced to the Buy Box: every row of every seed wins it within 30 minutes (15 at most on this run) and holds
    # half the views or more over the run (0.55-0.98). The last instant is no measure: who is featured is a draw at
    # each recompute, and the search may be probing above p* just then.
    for result in run.results:
        for row in run_metrics(result.trajectory, reacting=False):
            assert row.t_buybox is not None and row.t_buybox <= 30 * 60, (result.seed, row)
            assert row.mean_share >= 0.5, (result.seed, row)
    assert all(r.updates_sent > 0 for r in run.results)


@pytest.mark.parametrize("rival_price", [1080, 1180], ids=["disqualified", "suppressed"])
@pytest.mark.parametrize("name", ["engine", *BASELINES])
async def test_an_offer_capped_by_amazons_competitive_price_threshold_is_not_left_without_the_buybox(
    name: str, rival_price: int, autojump_clock: trio.testing.MockClock
) -> None:
    """Amazon features no landed price above its competitive price threshold, 1100. Against the rival at 1080 our
    FBA offer would win up to about 1135: p* is 1100, and we start disqualified at max (2000). With the rival at
    1180, above the threshold too, Amazon features nobody (the Buy Box is suppressed) until our price comes under
    it: p* is 1100 again. Either way every strategy ends at or under the threshold, holding the Buy Box, instead of
    holding a price that cannot win (the channel's action, hold, would keep max all day)."""
    rival = CompetitorSpec(price=rival_price, feedback=0.85, handling_days=5)
    row = RowSpec(our=OurSpec(2000, 500, 2000, fba=True, handling_days=1), competitors=[rival], ref_price=1100)
    market = Market(spec_from_rows([row] * 4), seed=3, buybox=BuyBoxParams(tau=0.005, spread=0.0))
    assert (market.p_star == 1100).all()
    if rival_price > 1100:
        assert (market.holder == NO_HOLDER).all()  # nobody is featured
    strategy: Strategy[Any] = EngineSearch() if name == "engine" else make_baseline(name)
    store = MemoryStore()
    recorder = Recorder(store)
    adapter = SimulatedMarketplace(market, code="DE")
    config = RuntimeConfig()
    runtime = MarketRuntime(
        adapter, catalog_settings(market), ChannelSettings(), store, recorder, strategy, tick=market.tick, config=config
    )
    daemon = daemon_of([runtime], recorder, config)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(6 * 3600)
        daemon.stop.set()
    assert (market.price[:, 0] <= 1100).all(), market.price[:, 0]
    assert not market.our_disqualified.any()
    assert (market.our_share >= 0.5).all(), market.our_share  # in expectation: who is featured is a draw
    if name == "engine":
        assert (market.price[:, 0] >= 0.998 * 1100).all(), market.price[:, 0]


async def test_one_seller_quota_across_marketplaces(autojump_clock: trio.testing.MockClock) -> None:
    """A seller on DE, FR and GB has one quota at Amazon, not three: the simulator's buckets are the seller's,
    shared by the three markets, and the daemon paces the three runtimes on one set of pacers, so it is never
    refused and never calls more often than one seller's bucket allows.

    Half an hour shows what two hours did: it holds the start, when every offer of the three markets wants its
    first reads at once, and 60 SKUs a market keep the polls near the shared bucket (84% of the calls it allows,
    against 92% over two hours; the featured-offer reads at 99% either way). With each market paced on pacers of
    its own instead, Amazon refuses calls over half an hour as over two hours (732 polls and 120 featured-offer
    price reads here)."""
    hours = 0.5
    run = build_run(scenario="S1b", seed=3, skus=60, strategy=EngineSearch(), marketplaces=("DE", "FR", "GB"))
    assert len({id(feed.quotas) for feed in run.feeds}) == 1  # one book for the three markets
    await run.run_for(hours * 3600)
    book = run.feeds[0].quotas
    for operation, name in OPERATIONS.items():
        calls = sum(adapter.calls[operation] for adapter in run.adapters)
        assert sum(adapter.throttled[operation] for adapter in run.adapters) == 0, operation
        limit = book.operation(name)
        tokens = 1 if limit.batch > 1 else run.adapters[0].quota(operation).batch  # per-SKU calls: a token each
        # Calls (batch operations) or SKUs (per-SKU ones) over the run: at most the burst plus the refill.
        assert calls <= (limit.burst + limit.rate * hours * 3600) * (1 if tokens == 1 else tokens), operation
    assert all(adapter.calls["poll_offers"] > 0 and adapter.calls["submit"] > 0 for adapter in run.adapters)
