"""The whole runtime against the in-process simulator, under virtual time."""

from __future__ import annotations

import numpy as np
import trio
import trio.testing

from bench.harness import build_run
from engine.pricing.search import EngineSearch
from sim.trajectory import UNWINNABLE


async def test_offers_facing_one_static_competitor_win_and_settle_within_998_of_p_star(
    autojump_clock: trio.testing.MockClock,
) -> None:
    run = build_run(scenario="S1a", seed=7, skus=12, strategy=EngineSearch())
    await run.run_for(4 * 3600)
    market = run.markets[0]
    # Rows whose Buy Box is suppressed (every offer above Amazon's reference price) follow the channel's action
    # (hold, by default), not the search; rows where no price within bounds wins are counted apart.
    suppressed = ~market.available[:, 1:].any(axis=1) | (market.holder < 0)
    winnable = np.flatnonzero((market.p_star != UNWINNABLE) & ~suppressed)
    price, p_star = market.price[winnable, 0], market.p_star[winnable]
    holding = market.holder[winnable] == 0
    settled = holding & (price <= p_star) & (price >= 0.998 * p_star)
    assert len(winnable) >= 9
    assert settled.mean() >= 0.8, list(zip(price.tolist(), p_star.tolist(), holding.tolist(), strict=True))
    # Never outside the bounds on the way.
    assert run.results[0].trajectory.our_price.max() <= market.spec.max_price.max()
