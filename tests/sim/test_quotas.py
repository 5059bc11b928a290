"""Amazon's token buckets: a burst, then a refusal, then a refill at the rate; one bucket per seller."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.api import MarketApi
from sim.quotas import OPERATIONS, QuotaBook, QuotaExceeded
from sim.scenarios import RunParams, build_market


def test_calls_beyond_the_burst_are_refused_until_the_bucket_refills() -> None:
    book = QuotaBook(1)
    assert all(book.try_acquire(0, "patchListingsItem", 0.0) for _ in range(5))
    assert not book.try_acquire(0, "patchListingsItem", 0.0)
    assert book.wait_time(0, "patchListingsItem", 0.0) == pytest.approx(0.2)
    assert not book.try_acquire(0, "patchListingsItem", 0.19)
    assert book.try_acquire(0, "patchListingsItem", 0.2)


def test_a_slow_operation_refills_at_its_rate() -> None:
    book = QuotaBook(1)
    assert book.try_acquire(0, "getFeaturedOfferExpectedPriceBatch", 0.0)
    assert not book.try_acquire(0, "getFeaturedOfferExpectedPriceBatch", 29.0)
    assert book.wait_time(0, "getFeaturedOfferExpectedPriceBatch", 29.0) == pytest.approx(1 / 0.033 - 29.0)
    assert book.try_acquire(0, "getFeaturedOfferExpectedPriceBatch", 30.4)


def test_the_bucket_never_holds_more_than_its_burst() -> None:
    book = QuotaBook(1)
    granted = sum(book.try_acquire(0, "getOrders", 10_000.0) for _ in range(50))
    assert granted == OPERATIONS["getOrders"].burst == 20


def test_sellers_have_their_own_buckets_and_operations_are_independent() -> None:
    book = QuotaBook(3)
    assert book.try_acquire(0, "getListingOffersBatch", 0.0)
    assert not book.try_acquire(0, "getListingOffersBatch", 0.0)
    assert book.try_acquire(1, "getListingOffersBatch", 0.0)
    assert book.try_acquire(0, "getListingsItem", 0.0)
    granted = book.try_acquire_many(np.array([0, 1, 2]), "getListingOffersBatch", 1.0)
    assert list(granted) == [False, False, True]
    assert list(book.try_acquire_many(np.array([0, 1]), "getListingOffersBatch", 2.0)) == [True, True]


def test_unknown_operations_are_errors() -> None:
    with pytest.raises(KeyError, match="getPrices"):
        QuotaBook(1).try_acquire(0, "getPrices", 0.0)


def test_the_market_api_charges_every_call_to_the_sellers_quota() -> None:
    market = build_market("S2", 1, 100, RunParams(sellers="one"))
    api = MarketApi(market)
    assert len(api.listing_offers(0, list(range(20)), 1.0).answer()) == 20
    with pytest.raises(QuotaExceeded) as refused:
        api.listing_offers(0, [20, 21], 1.5)
    assert refused.value.operation == "getListingOffersBatch"
    assert refused.value.retry_after == pytest.approx(1.5)
    assert len(api.listing_offers(0, [20, 21], 3.0).answer()) == 2
    with pytest.raises(ValueError, match="at most 40"):
        api.featured_offer_expected_price(0, list(range(41)), 3.0)
    assert len(api.featured_offer_expected_price(0, list(range(40)), 3.0).answer()) == 40
    with pytest.raises(QuotaExceeded):
        api.featured_offer_expected_price(0, [0], 20.0)
    with pytest.raises(ValueError, match="at most 20"):
        api.competitive_summary(0, list(range(21)), 20.0)
    summaries = api.competitive_summary(0, list(range(20)), 20.0).answer()
    assert [json.loads(s)["body"]["asin"] for s in summaries] == list(market.spec.asin[:20])  # in the order asked
    with pytest.raises(QuotaExceeded):
        api.competitive_summary(0, [0], 21.0)
    for _ in range(5):
        assert api.patch_listing(0, 3, 1234, 30.0).answer()
    with pytest.raises(QuotaExceeded):
        api.patch_listing(0, 3, 1234, 30.0)
    assert api.get_listing(0, 3, 30.0).answer().listing_price == market.price[3, 0]


def test_a_call_is_charged_when_taken_and_answered_as_of_later() -> None:
    market = build_market("S1a", 1, 10, RunParams(sellers="one"))
    api = MarketApi(market)
    reply = api.listing_offers(0, [0, 1], 10.0)
    assert api.quotas.wait_time(0, "getListingOffersBatch", 10.0) > 0  # charged when taken
    assert [s.as_of for s in reply.answer(10.25)] == [10.25, 10.25]
    with pytest.raises(ValueError, match="cannot be answered"):
        api.get_listing(0, 0, 11.0).answer(10.9)


def test_a_quota_book_shared_by_markets_needs_a_bucket_for_each_seller() -> None:
    book = QuotaBook(1)
    one = MarketApi(build_market("S1a", 1, 10, RunParams(sellers="one")), book)
    two = MarketApi(build_market("S1a", 2, 10, RunParams(sellers="one")), book)
    assert book.n_sellers == 1
    one.listing_offers(0, [0], 1.0)
    with pytest.raises(QuotaExceeded):
        two.listing_offers(0, [0], 1.0)  # the same seller's bucket
    with pytest.raises(ValueError, match="buckets for 1 sellers; the market has 10"):
        MarketApi(build_market("S1a", 1, 10, RunParams(sellers="per-sku")), book)


def test_per_sku_sellers_do_not_share_quota_and_cannot_touch_each_others_rows() -> None:
    market = build_market("S1a", 1, 10, RunParams(sellers="per-sku"))
    api = MarketApi(market)
    for row in range(10):
        api.listing_offers(row, [row], 1.0)
    with pytest.raises(PermissionError):
        api.listing_offers(0, [1], 5.0)
