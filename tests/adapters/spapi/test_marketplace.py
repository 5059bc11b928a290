"""The SP-API adapter keeps the port's promises against a fake Amazon: batches of Amazon's size, one answer per key in
order, an item's failure kept to that item, a refused call raised as the port's error, and a submit or read-back
refused part way answering what was answered and reporting the rest throttled or failed."""

from __future__ import annotations

import json
from collections import deque
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import trio
import trio.testing

from adapters.spapi.auth import AccessTokens
from adapters.spapi.client import SpApiClient
from adapters.spapi.encode import patch_request
from adapters.spapi.marketplace import LISTINGS_DATA, SpApiMarketplace
from adapters.spapi.quotas import engine_quota
from adapters.spapi.requests import featured_offer_price_request, listing_offers_request
from engine.model import (
    FoepReading,
    ListingState,
    Observation,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OfferUpdate,
    ShareReading,
)
from engine.ports import ItemFailure, Throttled, TransientError
from tests.adapters.spapi.replies import batch, buybox_price, encode, failed_item, listing, offer, offers_item, payload
from tests.adapters.spapi.test_client import ACCOUNT, THROTTLED, Handler, Lwa

DE = "A1PA6795UKMFR9"
OURS = ACCOUNT.merchant_id
OFFERS = [
    OfferSettings(OfferKey("acme", "DE", f"SKU/{n}"), f"B0000{n:05d}", "EUR", OfferBounds(900, 2900)) for n in range(45)
]
KEYS = [offer.key for offer in OFFERS]
HTTP_503 = {"errors": [{"code": "ServiceUnavailable", "message": "Service temporarily unavailable."}]}


class FakeAmazon:
    """Answers the pricing batches, getListingsItem and patchListingsItem for any SKU; ``unknown`` SKUs fail on their
    own (a batch item's 404 or 400, a 404 listing), ``invalid`` SKUs' patches are INVALID; ``script`` is a queue of
    whole-call replies (a status and its error body) taken before answering normally. Keeps every request."""

    def __init__(self, *script: tuple[int, dict[str, Any]]) -> None:
        self.script: deque[tuple[int, dict[str, Any]]] = deque(script)
        self.unknown: set[str] = set()
        self.invalid: set[str] = set()
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await trio.sleep(0.2)
        if self.script:
            status, body = self.script.popleft()
            return httpx.Response(status, json=body)
        path = request.url.path
        if path.endswith("/listingOffers"):
            return self._offers(json.loads(request.content))
        if path.endswith("/featuredOfferExpectedPrice"):
            return self._foep(json.loads(request.content))
        if path.endswith("/competitiveSummary"):
            return self._summaries(json.loads(request.content))
        sku = unquote(request.url.raw_path.decode().split("?")[0].rsplit("/", 1)[1])
        if sku in self.unknown:
            errors = {"errors": [{"code": "NOT_FOUND", "message": f"SKU '{sku}' not found in marketplace {DE}"}]}
            return httpx.Response(404, json=errors)
        if request.method == "GET":
            return httpx.Response(200, content=encode(listing(price="19.99")))
        return httpx.Response(
            200, content=payload("patch_invalid.json" if sku in self.invalid else "patch_accepted.json")
        )

    def _offers(self, body: dict[str, Any]) -> httpx.Response:
        items = []
        for item in body["requests"]:
            sku = unquote(item["uri"].split("/")[-2])
            if sku in self.unknown:
                items.append(failed_item(sku, 404, "Not Found", ("InvalidInput", f"{sku} is not a SKU of yours")))
            else:
                ours = offer(OURS, "19.99", mine=True, winner=True)
                items.append(offers_item(sku, [ours, offer("A2OTHER", "21.00")], [buybox_price("19.99", seller=OURS)]))
        return httpx.Response(200, content=batch(*items))

    def _foep(self, body: dict[str, Any]) -> httpx.Response:
        items = []
        for item in body["requests"]:
            sku = item["sku"]
            if sku in self.unknown:
                status, reply = (
                    {"statusCode": 400, "reasonPhrase": "Bad Request"},
                    {"errors": [{"code": "INVALID_SKU", "message": f"{sku} does not exist for the seller"}]},
                )
            else:
                status = {"statusCode": 200, "reasonPhrase": "Success"}
                price = {"listingPrice": {"amount": Decimal("18.50"), "currencyCode": "EUR"}}
                reply = {
                    "offerIdentifier": {"sku": sku, "marketplaceId": DE, "sellerId": OURS},
                    "featuredOfferExpectedPriceResults": [
                        {"featuredOfferExpectedPrice": price, "resultStatus": "VALID_FOEP"}
                    ],
                }
            items.append({"request": {"marketplaceId": DE, "sku": sku}, "status": status, "headers": {}, "body": reply})
        return httpx.Response(200, content=batch(*items))

    def _summaries(self, body: dict[str, Any]) -> httpx.Response:
        items = []
        for item in body["requests"]:
            featured = {
                "sellerId": OURS,
                "condition": "New",
                "fulfillmentType": "MFN",
                "listingPrice": {"amount": Decimal("19.99"), "currencyCode": "EUR"},
                "featuredOfferSegments": [
                    {"customerMembership": "PRIME", "segmentDetails": {"glanceViewWeightPercentage": 60}}
                ],
            }
            reply = {
                "asin": item["asin"],
                "marketplaceId": DE,
                "featuredBuyingOptions": [{"buyingOptionType": "New", "segmentedFeaturedOffers": [featured]}],
            }
            items.append({"status": {"statusCode": 200, "reasonPhrase": "Success"}, "body": reply})
        return httpx.Response(200, content=batch(*items))


def market_for(amazon: FakeAmazon) -> SpApiMarketplace:
    return market_through(amazon)


def market_through(amazon: Handler) -> SpApiMarketplace:
    tokens = AccessTokens(ACCOUNT, httpx.AsyncClient(transport=httpx.MockTransport(Lwa())))
    client = SpApiClient(ACCOUNT, httpx.AsyncClient(transport=httpx.MockTransport(amazon)), tokens)
    return SpApiMarketplace(ACCOUNT, "DE", client, OFFERS)


def update(n: int, price: int = 1899) -> OfferUpdate:
    return OfferUpdate(KEYS[n], update_id=100 + n, currency="EUR", price=price, min_price=900, max_price=2900)


def test_quotas_are_amazons_derated_with_amazons_batch_sizes() -> None:
    market = market_for(FakeAmazon())
    assert (market.code, market.seller) == ("DE", "acme")
    for operation in ("poll_offers", "featured_offer_prices", "featured_shares", "submit", "read_back"):
        assert market.quota(operation) == engine_quota(operation)
    assert [market.quota(op).batch for op in ("poll_offers", "featured_offer_prices", "featured_shares")] == [
        20,
        40,
        20,
    ]


async def test_polls_go_out_in_batches_of_twenty_and_answer_each_key_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FakeAmazon()
    answers = await market_for(amazon).poll_offers(KEYS)
    assert [len(json.loads(r.content)["requests"]) for r in amazon.requests] == [20, 20, 5]
    assert [r.content for r in amazon.requests] == [
        listing_offers_request(OFFERS[:20]),
        listing_offers_request(OFFERS[20:40]),
        listing_offers_request(OFFERS[40:]),
    ]
    assert all(r.url.path == "/batches/products/pricing/v0/listingOffers" for r in amazon.requests)
    assert [a.key for a in answers] == KEYS
    first = answers[0]
    assert isinstance(first, OfferSnapshot) and first.source == "poll"
    assert first.our is not None and first.our.listing_price == 1999
    assert [c.seller_id for c in first.competitors] == ["A2OTHER"]


async def test_an_items_own_failure_stays_with_that_item(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FakeAmazon()
    amazon.unknown = {"SKU/3"}
    answers = await market_for(amazon).poll_offers(KEYS[:5])
    assert [type(a) for a in answers] == [OfferSnapshot] * 3 + [ItemFailure] + [OfferSnapshot]
    failed = answers[3]
    assert isinstance(failed, ItemFailure)
    assert (failed.key, failed.code, failed.transient) == (KEYS[3], "InvalidInput", False)


@pytest.mark.parametrize(("status", "error"), [(429, Throttled), (503, TransientError)])
async def test_a_refused_first_batch_raises_the_ports_error(
    autojump_clock: trio.testing.MockClock, status: int, error: type[Exception]
) -> None:
    market = market_for(FakeAmazon((status, THROTTLED if status == 429 else HTTP_503)))
    with pytest.raises(error):
        await market.poll_offers(KEYS[:20])
    assert market.throttled["poll_offers"] == (status == 429)


async def test_a_later_batch_throttled_keeps_the_answers_had_and_fails_the_rest_transiently(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FakeAmazon()

    async def throttle_second(request: httpx.Request) -> httpx.Response:
        if len(amazon.requests) == 1:
            amazon.script.append((429, THROTTLED))
        return await amazon(request)

    market = market_through(throttle_second)
    answers = await market.poll_offers(KEYS)
    assert len(amazon.requests) == 2  # nothing sent after the 429
    assert all(isinstance(a, OfferSnapshot) for a in answers[:20])
    rest = answers[20:]
    assert [a.key for a in rest] == KEYS[20:]
    assert all(isinstance(a, ItemFailure) and a.code == "QuotaExceeded" and a.transient for a in rest)
    assert market.throttled_items["poll_offers"] == 25


async def test_featured_offer_prices_go_out_forty_at_a_time(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FakeAmazon()
    amazon.unknown = {"SKU/41"}
    answers = await market_for(amazon).featured_offer_prices(KEYS)
    assert [r.content for r in amazon.requests] == [
        featured_offer_price_request(KEYS[:40]),
        featured_offer_price_request(KEYS[40:]),
    ]
    first = answers[0]
    assert isinstance(first, FoepReading)
    assert first == FoepReading(KEYS[0], first.as_of, 1850, "VALID_FOEP", None)
    unknown = answers[41]
    assert isinstance(unknown, ItemFailure) and unknown.code == "INVALID_SKU" and not unknown.transient
    assert [a.key for a in answers] == KEYS


async def test_featured_shares_read_our_segments_per_asin(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FakeAmazon()
    answers = await market_for(amazon).featured_shares(KEYS[:21])
    assert [len(json.loads(r.content)["requests"]) for r in amazon.requests] == [20, 1]
    assert all(isinstance(a, ShareReading) and a.share == pytest.approx(0.6) and a.price == 1999 for a in answers)
    assert [a.key for a in answers] == KEYS[:21]


async def test_read_back_asks_each_sku_and_a_404_is_that_keys_failure(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FakeAmazon()
    amazon.unknown = {"SKU/1"}
    answers = await market_for(amazon).read_back(KEYS[:3])
    assert [r.method for r in amazon.requests] == ["GET"] * 3
    first = amazon.requests[0]
    assert first.url.raw_path.decode().split("?")[0] == "/listings/2021-08-01/items/A1OURS/SKU%2F0"
    assert first.url.params["marketplaceIds"] == DE and first.url.params["includedData"] == LISTINGS_DATA
    assert isinstance(answers[0], ListingState)
    assert answers[0] == ListingState(KEYS[0], answers[0].as_of, 1999, True)
    missing = answers[1]
    assert isinstance(missing, ItemFailure)
    assert (missing.key, missing.code, missing.transient) == (KEYS[1], "NOT_FOUND", False)
    assert isinstance(answers[2], ListingState)


async def test_submit_answers_each_update_with_amazons_verdict(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FakeAmazon()
    amazon.invalid = {"SKU/1"}
    amazon.unknown = {"SKU/2"}
    updates = [update(0), update(1), update(2)]
    results = await market_for(amazon).submit(updates)
    assert [r.content for r in amazon.requests] == [patch_request(u) for u in updates]
    assert all(r.method == "PATCH" and r.url.params["marketplaceIds"] == DE for r in amazon.requests)
    assert [(r.key, r.update_id, r.status, r.price) for r in results] == [
        (KEYS[0], 100, "accepted", 1899),
        (KEYS[1], 101, "invalid", 1899),
        (KEYS[2], 102, "invalid", 1899),
    ]
    assert results[0].submission_id == "f1dc2914-75dd-11ea-bc55-0242ac130003"
    assert any("90000900" in issue for issue in results[1].issues)
    assert any("NOT_FOUND" in issue for issue in results[2].issues)


async def test_a_429_part_way_reports_that_update_and_the_rest_throttled_unsent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FakeAmazon()
    sent = 0

    async def throttle_third(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        if sent == 3:
            amazon.script.append((429, THROTTLED))
        return await amazon(request)

    market = market_through(throttle_third)
    results = await market.submit([update(n) for n in range(5)])
    assert len(amazon.requests) == 3
    assert [r.status for r in results] == ["accepted", "accepted", "throttled", "throttled", "throttled"]
    assert all(r.issues == ("QuotaExceeded",) for r in results[2:])
    assert [r.update_id for r in results] == [100, 101, 102, 103, 104]
    assert market.throttled_items["submit"] == 3


async def test_a_transient_failure_part_way_fails_the_rest_unsent(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FakeAmazon()
    sent = 0

    async def fail_second(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        if sent == 2:
            amazon.script.append((503, HTTP_503))
        return await amazon(request)

    market = market_through(fail_second)
    results = await market.submit([update(n) for n in range(3)])
    assert len(amazon.requests) == 2
    assert [r.status for r in results] == ["accepted", "failed", "failed"]
    assert "503" in results[1].issues[0]


@pytest.mark.parametrize(("status", "error"), [(429, Throttled), (503, TransientError)])
async def test_a_submit_refused_at_its_first_update_is_refused_whole(
    autojump_clock: trio.testing.MockClock, status: int, error: type[Exception]
) -> None:
    amazon = FakeAmazon((status, THROTTLED if status == 429 else HTTP_503))
    with pytest.raises(error):
        await market_for(amazon).submit([update(0), update(1)])
    assert len(amazon.requests) == 1


async def test_unknown_offers_fail_before_anything_is_sent(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FakeAmazon()
    market = market_for(amazon)
    stranger = OfferKey("acme", "DE", "NOT-OURS")
    with pytest.raises(KeyError):
        await market.poll_offers([KEYS[0], stranger])
    assert amazon.requests == []


async def test_the_stream_pushes_nothing_and_closes_its_channel_when_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = market_for(FakeAmazon())
    send, receive = trio.open_memory_channel[Observation](1)
    async with trio.open_nursery() as nursery:
        await nursery.start(market.stream_observations, send)
        await trio.sleep(3600)
        with pytest.raises(trio.WouldBlock):
            receive.receive_nowait()
        nursery.cancel_scope.cancel()
    with pytest.raises(trio.EndOfChannel):
        await receive.receive()
