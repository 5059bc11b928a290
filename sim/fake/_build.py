"""A fake over a scenario's markets: what `repricer sim serve` serves, one seller account on several marketplaces.

Each marketplace is one market of the scenario, drawn with its own seed (``seed``, ``seed + 1``, ...) in its own
currency, as `adapters.simulated.run.build_run` builds the in-process run, so a served run and an in-process one of
the same seeds meet the same markets. The account is seller 0 of every market (`sim.ids.our_seller_id(0)`), with
one quota book for all of them, and its refresh token is `SIM_REFRESH_TOKEN`. The markets' notifications go to
the queue of a seller that subscribes (`sim.fake._subscriptions`): the fake hosts `SIM_QUEUE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final

import trio

from engine.marketplaces import by_code
from sim.api import MarketApi
from sim.fake._app import DEFAULT_WALL_ORIGIN, SpApiFake
from sim.fake._faults import Faults
from sim.quotas import QuotaBook
from sim.scenarios import RunParams, build_market

__all__ = ["SIM_REFRESH_TOKEN", "scenario_fake"]

SIM_REFRESH_TOKEN: Final = "Atzr|sim"  # examples/sim.toml's REPRICER_SIM_REFRESH_TOKEN


def scenario_fake(
    *,
    scenario: str,
    seed: int,
    skus: int,
    marketplaces: Sequence[str],
    faults: Faults | None = None,
    time_scale: float = 1.0,
    wall_origin: datetime | None = None,
    params: RunParams | None = None,
    latency_s: float = 0.0,
) -> SpApiFake:
    """The fake of ``skus`` offers of one seller in each of ``marketplaces`` (country codes), built inside the
    trio run that will serve it (the markets start at its current time). ``latency_s``: how long each call takes
    to answer (`SpApiFake`; `bench spapi` gives it the in-process adapter's)."""
    if not marketplaces:
        raise ValueError("name at least one marketplace")
    now = trio.current_time()
    base = params or RunParams()
    markets = []
    for n, code in enumerate(marketplaces):
        info = by_code(code)
        local = replace(base, marketplace=info.code, currency=info.currency_code, sellers="one")
        markets.append(build_market(scenario, seed + n, skus, local, start_at=now))
    book = QuotaBook(1, start=now)
    apis = [MarketApi(market, book) for market in markets]
    return SpApiFake(
        apis,
        {SIM_REFRESH_TOKEN: 0},
        latency_s=latency_s,
        faults=faults,
        seed=seed,
        time_scale=time_scale,
        wall_origin=DEFAULT_WALL_ORIGIN if wall_origin is None else wall_origin,
    )
