"""The simulated marketplace adapter charges Amazon's quotas as a seller account would be charged."""

from __future__ import annotations

import pytest
import trio.testing

from adapters.simulated import SimulatedMarketplace
from engine.model import OfferKey
from engine.ports import Throttled
from sim.market import Market
from sim.spec import OurSpec, RowSpec, spec_from_rows


def _adapter(sellers: list[int]) -> tuple[SimulatedMarketplace, list[OfferKey]]:
    our = OurSpec(price=10_000, min_price=8_000, max_price=12_000)
    market = Market(spec_from_rows([RowSpec(our=our, seller=s) for s in sellers]), seed=3)
    adapter = SimulatedMarketplace(market, code="DE", api_latency_s=0.0)
    catalog = [market.catalog(row) for row in range(market.n_rows)]
    return adapter, [OfferKey(c.marketplace, c.sku) for c in catalog]


def _tokens_left(adapter: SimulatedMarketplace, seller: int, operation: str) -> int:
    """Whole tokens in a seller's bucket now (the clock does not move in these tests)."""
    now = trio.current_time()
    return max(n for n in range(21) if adapter.quotas.wait_time(seller, operation, now, n) == 0.0)


async def test_a_call_charges_each_seller_of_its_rows_and_a_throttled_one_charges_none(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter, (a0, a1, a2, b0) = _adapter([0, 0, 0, 1])
    # getListingsItem takes one SKU a call: each seller pays one token per row of theirs (burst 10).
    await adapter.read_back([a0, b0, a1, a2])
    assert (_tokens_left(adapter, 0, "getListingsItem"), _tokens_left(adapter, 1, "getListingsItem")) == (7, 9)
    await adapter.read_back([b0] * 9)
    assert _tokens_left(adapter, 1, "getListingsItem") == 0
    # One seller without the tokens throttles the whole call, and the other seller keeps theirs.
    with pytest.raises(Throttled):
        await adapter.read_back([a0, b0])
    assert _tokens_left(adapter, 0, "getListingsItem") == 7
    assert adapter.throttled["read_back"] == 1 and adapter.calls["read_back"] == 2
    # A batch operation is one call for each seller in it, whatever the number of rows (burst 1).
    await adapter.poll_offers([a0, a1, b0])
    assert _tokens_left(adapter, 0, "getListingOffersBatch") == 0
    assert _tokens_left(adapter, 1, "getListingOffersBatch") == 0
    with pytest.raises(Throttled):
        await adapter.poll_offers([a2])


async def test_the_engine_paces_on_every_seller_sharing_the_adapter(autojump_clock: trio.testing.MockClock) -> None:
    one, _ = _adapter([0, 0])
    two, _ = _adapter([0, 1, 1])
    assert one.quota("poll_offers").rate * 2 == two.quota("poll_offers").rate
    assert two.quota("submit").batch == 5
