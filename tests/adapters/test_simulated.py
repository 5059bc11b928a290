"""The simulated marketplace adapter charges Amazon's quotas as a seller account would be charged."""

from __future__ import annotations

import pytest
import trio.testing

from adapters.simulated import SimulatedMarketplace
from adapters.simulated.marketplace import SIM_SELLER, MarketFeed
from engine.model import OfferKey, OfferUpdate
from engine.ports import ItemFailure, Throttled
from sim.market import Market
from sim.quotas import QuotaBook
from sim.spec import OurSpec, RowSpec, spec_from_rows


def _market(sellers: list[int], *, seed: int = 3) -> Market:
    our = OurSpec(price=10_000, min_price=8_000, max_price=12_000)
    return Market(spec_from_rows([RowSpec(our=our, seller=s) for s in sellers]), seed=seed)


def _keys(market: Market) -> list[OfferKey]:
    return [OfferKey(SIM_SELLER, c.marketplace, c.sku) for c in market.catalog_rows()]


def _adapter(sellers: list[int]) -> tuple[SimulatedMarketplace, list[OfferKey], QuotaBook]:
    """An adapter over a market of those sellers' rows, its keys, and the quota book it charges (kept here: the
    adapter keeps its own private)."""
    market = _market(sellers)
    book = QuotaBook(max(sellers) + 1, start=market.now)
    return SimulatedMarketplace(market, code="DE", api_latency_s=0.0, quotas=book), _keys(market), book


def _tokens_left(book: QuotaBook, seller: int, operation: str) -> int:
    """Whole tokens in a seller's bucket now (the clock does not move in these tests)."""
    now = trio.current_time()
    return max(n for n in range(21) if book.wait_time(seller, operation, now, n) == 0.0)


def _update(key: OfferKey, update_id: int, price: int = 10_100) -> OfferUpdate:
    return OfferUpdate(key, update_id, "EUR", price, 8_000, 12_000)


async def test_a_call_charges_each_seller_of_its_rows_and_a_throttled_one_charges_none(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter, (a0, a1, a2, b0), book = _adapter([0, 0, 0, 1])
    # getListingsItem takes one SKU a call: each seller pays one token per row of theirs (burst 10).
    await adapter.read_back([a0, b0, a1, a2])
    assert (_tokens_left(book, 0, "getListingsItem"), _tokens_left(book, 1, "getListingsItem")) == (7, 9)
    await adapter.read_back([b0] * 9)
    assert _tokens_left(book, 1, "getListingsItem") == 0
    # A batch operation is one call for each seller in it, whatever the number of rows (burst 1).
    await adapter.poll_offers([a0, a1, b0])
    assert _tokens_left(book, 0, "getListingOffersBatch") == 0
    assert _tokens_left(book, 1, "getListingOffersBatch") == 0
    with pytest.raises(Throttled):
        await adapter.poll_offers([a2])
    # One seller without a token refuses the whole batch call, and the seller with one keeps it.
    adapter2, (c0, d0), book2 = _adapter([0, 1])
    await adapter2.poll_offers([d0])
    with pytest.raises(Throttled):
        await adapter2.poll_offers([c0, d0])
    assert _tokens_left(book2, 0, "getListingOffersBatch") == 1
    assert adapter2.throttled["poll_offers"] == 1 and adapter2.calls["poll_offers"] == 1


async def test_a_batch_larger_than_the_limit_is_a_client_error(autojump_clock: trio.testing.MockClock) -> None:
    adapter, keys, book = _adapter([0] * 41)
    with pytest.raises(ValueError, match="at most 20"):
        await adapter.poll_offers(keys[:30])
    with pytest.raises(ValueError, match="at most 20"):
        await adapter.featured_shares(keys[:21])
    with pytest.raises(ValueError, match="at most 40"):
        await adapter.featured_offer_prices(keys)
    with pytest.raises(ValueError, match="at most 5"):
        await adapter.submit([_update(key, i) for i, key in enumerate(keys[:6])])
    with pytest.raises(ValueError, match="at most 10"):
        await adapter.read_back(keys[:11])
    # Nothing was charged for the refused calls.
    assert _tokens_left(book, 0, "getListingOffersBatch") == 1
    assert _tokens_left(book, 0, "patchListingsItem") == 5
    assert len(await adapter.poll_offers(keys[:20])) == 20
    assert len(await adapter.featured_offer_prices(keys[:40])) == 40


async def test_a_submit_with_fewer_tokens_than_updates_accepts_as_many_and_throttles_the_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter, keys, _ = _adapter([0] * 5)
    await adapter.submit([_update(keys[0], 1), _update(keys[1], 2)])  # 3 of 5 patchListingsItem tokens left
    results = await adapter.submit([_update(key, 10 + i) for i, key in enumerate(keys)])
    assert [r.status for r in results] == ["accepted"] * 3 + ["throttled"] * 2
    assert [r.update_id for r in results] == [10, 11, 12, 13, 14]
    assert adapter.throttled_items["submit"] == 2 and adapter.throttled["submit"] == 0
    # With no token for any of them the call is refused whole.
    with pytest.raises(Throttled):
        await adapter.submit([_update(keys[3], 20), _update(keys[4], 21)])
    assert adapter.throttled["submit"] == 1
    # A fifth of a second later one token is back: one patch, one throttled.
    await trio.sleep(0.2)
    results = await adapter.submit([_update(keys[3], 30), _update(keys[4], 31)])
    assert [r.status for r in results] == ["accepted", "throttled"]


async def test_a_read_back_answers_quota_exceeded_for_the_skus_without_a_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter, (a0, a1, b0), book = _adapter([0, 0, 1])
    await adapter.read_back([a0] * 9)  # seller 0 has one getListingsItem token left
    answers = await adapter.read_back([a0, a1, b0])
    assert [type(answer).__name__ for answer in answers] == ["ListingState", "ItemFailure", "ListingState"]
    failure = answers[1]
    assert isinstance(failure, ItemFailure)
    assert (failure.key, failure.code, failure.transient) == (a1, "QuotaExceeded", True)
    assert _tokens_left(book, 1, "getListingsItem") == 9
    with pytest.raises(Throttled):
        await adapter.read_back([a0, a1])


async def test_the_engine_paces_on_every_seller_sharing_the_adapter(autojump_clock: trio.testing.MockClock) -> None:
    one, _, _ = _adapter([0, 0])
    two, _, _ = _adapter([0, 1, 1])
    assert one.quota("poll_offers").rate * 2 == two.quota("poll_offers").rate
    assert two.quota("submit").batch == 5


async def test_two_marketplaces_sharing_a_quota_book_draw_from_one_bucket(
    autojump_clock: trio.testing.MockClock,
) -> None:
    book = QuotaBook(1, start=trio.current_time())
    de_market, fr_market = _market([0, 0], seed=3), _market([0, 0], seed=4)
    de_feed = MarketFeed(de_market, quotas=book)
    de = SimulatedMarketplace(de_market, code="DE", api_latency_s=0.0, feed=de_feed)
    fr = SimulatedMarketplace(fr_market, code="FR", api_latency_s=0.0, quotas=book)
    assert de_feed.quotas is book
    de_keys, fr_keys = _keys(de_market), _keys(fr_market)
    # getListingOffersBatch has a burst of one: DE's poll takes the seller's token, so FR's is refused.
    await de.poll_offers(de_keys)
    with pytest.raises(Throttled):
        await fr.poll_offers(fr_keys)
    await trio.sleep(2.0)  # 0.5 tokens a second
    await fr.poll_offers(fr_keys)
    with pytest.raises(Throttled):
        await de.poll_offers(de_keys)
    # Five patches a burst for the seller, whichever marketplace they go to.
    first = await de.submit([_update(key, i) for i, key in enumerate(de_keys)])
    second = await fr.submit([_update(key, 10 + i) for i, key in enumerate(fr_keys * 2)])
    assert [r.status for r in first + second] == ["accepted"] * 5 + ["throttled"]


def test_a_shared_quota_book_needs_a_bucket_for_every_seller_of_the_market() -> None:
    market = _market([0, 1, 2])
    with pytest.raises(ValueError, match="buckets for 2 sellers; the market has 3"):
        MarketFeed(market, quotas=QuotaBook(2))
    with pytest.raises(ValueError, match="buckets for 1 sellers"):
        SimulatedMarketplace(market, code="DE", quotas=QuotaBook(1))
