"""The fake's pricing v0 offers batches: the model's shape, Amazon's Buy Box cases (two winners, none, nothing
buyable), a failed item kept to itself, a batch Amazon refuses refused whole and uncharged, and the real adapter's
decoder reading what the market shows."""

from __future__ import annotations

import json

import httpx
import pytest
import trio
import trio.testing

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import item_offers, item_offers_request, listing_offers, listing_offers_request
from engine.model import OfferSnapshot
from sim.fake import STATS_PATH
from tests.sim.fakes import (
    BASE,
    DE,
    MODELS,
    NOTHING_BUYABLE,
    OURS_WIN,
    SPLIT,
    SUPPRESSED,
    adapter,
    as_json,
    fake_of,
    shop,
    token,
    validator,
)

LISTING_OFFERS = "/batches/products/pricing/v0/listingOffers"
ITEM_OFFERS = "/batches/products/pricing/v0/itemOffers"
PRICING_V0 = "models/productPricingV0.json"
needs_models = pytest.mark.skipif(
    not MODELS.is_dir(), reason=f"Amazon's models are not beside the repository ({MODELS})"
)


async def _post(path: str, body: bytes | dict[str, object]) -> tuple[httpx.Response, dict[str, object]]:
    """One batch call to a fresh fake of the shop; the reply and the fake's stats after it."""
    fake = fake_of(shop())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        headers = await token(client)
        if isinstance(body, bytes):
            response = await client.post(path, content=body, headers=headers)
        else:
            response = await client.post(path, json=body, headers=headers)
        stats = (await client.get(STATS_PATH)).json()
    return response, stats


def _items(response: httpx.Response) -> list[dict[str, object]]:
    items: list[dict[str, object]] = response.json()["responses"]
    return items


@needs_models
async def test_both_batches_answer_in_the_shape_of_the_model(autojump_clock: trio.testing.MockClock) -> None:
    offers = catalog_settings(shop(), seller="acme")
    for path, body, definition in (
        (LISTING_OFFERS, listing_offers_request(offers), "GetListingOffersBatchResponse"),
        (ITEM_OFFERS, item_offers_request(offers), "GetItemOffersBatchResponse"),
    ):
        response, _ = await _post(path, body)
        assert response.status_code == 200
        validator(PRICING_V0, definition).validate(as_json(response.content))


async def test_two_buybox_winners_where_prime_and_non_prime_shoppers_differ(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = shop()
    prime, non_prime = market.snapshot(SPLIT, 0.0).segment_winners
    response, _ = await _post(LISTING_OFFERS, listing_offers_request(catalog_settings(market, [SPLIT], seller="acme")))
    payload = _items(response)[0]["body"]["payload"]  # type: ignore[index]
    winners = {offer["SellerId"]: offer for offer in payload["Offers"] if offer["IsBuyBoxWinner"]}
    assert set(winners) == {prime.seller_id, non_prime.seller_id}
    assert winners[prime.seller_id]["PrimeInformation"]["IsPrime"] is True
    assert winners[non_prime.seller_id]["PrimeInformation"]["IsPrime"] is False
    prices = {price["sellerId"]: price for price in payload["Summary"]["BuyBoxPrices"]}
    assert prices.keys() == winners.keys()
    assert prices[non_prime.seller_id]["condition"] == "new"
    # The adapter gives each winner's price its segment.
    key = catalog_settings(market, [SPLIT], seller="acme")[0].key
    (read,) = listing_offers(response.content, [key], at=0.0, currency="EUR", seller_id=market.seller_id(0, 0))
    assert isinstance(read, OfferSnapshot)
    segments = {(price.segment, price.seller_id, price.listing_price) for price in read.buybox}
    assert segments == {
        ("prime", prime.seller_id, prime.listing_price),
        ("non_prime", non_prime.seller_id, non_prime.listing_price),
    }


async def test_our_offer_is_marked_ours_and_winning_when_it_wins(autojump_clock: trio.testing.MockClock) -> None:
    market = shop()
    snapshot = market.snapshot(OURS_WIN, 0.0)
    assert snapshot.featured_seller_id == market.seller_id(OURS_WIN, 0)
    response, _ = await _post(
        LISTING_OFFERS, listing_offers_request(catalog_settings(market, [OURS_WIN], seller="acme"))
    )
    payload = _items(response)[0]["body"]["payload"]  # type: ignore[index]
    (mine,) = [offer for offer in payload["Offers"] if offer["MyOffer"]]
    assert (mine["SellerId"], mine["IsBuyBoxWinner"]) == (market.seller_id(OURS_WIN, 0), True)
    assert (mine["ListingPrice"]["Amount"], mine["Shipping"]["Amount"]) == (9.0, 1.0)
    assert [offer["IsBuyBoxWinner"] for offer in payload["Offers"]].count(True) == 1
    (price,) = payload["Summary"]["BuyBoxPrices"]
    assert (price["LandedPrice"]["Amount"], price["sellerId"]) == (10.0, market.seller_id(OURS_WIN, 0))


async def test_nothing_buyable_is_no_buyable_offers(autojump_clock: trio.testing.MockClock) -> None:
    market = shop()
    response, _ = await _post(
        LISTING_OFFERS, listing_offers_request(catalog_settings(market, [NOTHING_BUYABLE], seller="acme"))
    )
    (item,) = _items(response)
    assert item["status"] == {"statusCode": 200, "reasonPhrase": "OK"}
    payload = item["body"]["payload"]  # type: ignore[index]
    assert (payload["status"], payload["Offers"], payload["Summary"]) == ("NoBuyableOffers", [], {"TotalOfferCount": 0})


async def test_a_suppressed_buybox_lists_offers_without_a_winner(autojump_clock: trio.testing.MockClock) -> None:
    market = shop()
    assert market.snapshot(SUPPRESSED, 0.0).suppressed
    response, _ = await _post(
        LISTING_OFFERS, listing_offers_request(catalog_settings(market, [SUPPRESSED], seller="acme"))
    )
    payload = _items(response)[0]["body"]["payload"]  # type: ignore[index]
    assert payload["status"] == "Success"
    assert len(payload["Offers"]) == 2
    assert not any(offer["IsBuyBoxWinner"] or offer["IsFeaturedMerchant"] for offer in payload["Offers"])
    assert "BuyBoxPrices" not in payload["Summary"]
    assert payload["Summary"]["CompetitivePriceThreshold"] == {"CurrencyCode": "EUR", "Amount": 10.0}


async def test_a_condition_the_market_has_no_offers_in_has_nothing_buyable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    body = json.loads(listing_offers_request(catalog_settings(shop(), [OURS_WIN], seller="acme")))
    body["requests"][0]["ItemCondition"] = "Used"
    response, _ = await _post(LISTING_OFFERS, body)
    payload = _items(response)[0]["body"]["payload"]  # type: ignore[index]
    assert (payload["status"], payload["ItemCondition"]) == ("NoBuyableOffers", "Used")


async def test_an_unknown_sku_fails_its_own_item_as_amazon_words_it(autojump_clock: trio.testing.MockClock) -> None:
    body = json.loads(listing_offers_request(catalog_settings(shop(), seller="acme")))
    body["requests"][1]["uri"] = "/products/pricing/v0/listings/NOT%2FOURS/offers"
    response, stats = await _post(LISTING_OFFERS, body)
    items = _items(response)
    assert [item["status"]["statusCode"] for item in items] == [200, 400, 200, 200]  # type: ignore[index]
    assert items[1]["body"] == {
        "errors": [
            {"code": "InvalidInput", "message": f"NOT/OURS is an invalid SKU for marketplace {DE}", "details": ""}
        ]
    }
    assert items[1]["request"]["SellerSKU"] == "NOT/OURS"  # type: ignore[index]
    assert stats["answered"] == {"getListingOffersBatch": 1}


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda r: r[0].update(method="POST"), "method 'POST'"),
        (lambda r: r[0].update(uri="/products/pricing/v0/items/B0X/offers"), "expected /products/pricing/v0/listings"),
        (lambda r: r[0].pop("ItemCondition"), "ItemCondition"),
        (lambda r: r[0].update(ItemCondition="Mint"), "ItemCondition"),
        (lambda r: r.append(dict(r[0])), "Duplicate requests submitted."),
        (
            lambda r: r.extend([dict(r[0], uri=f"/products/pricing/v0/listings/S{n}/offers") for n in range(17)]),
            "1 to 20",
        ),
        (lambda r: r.clear(), "1 to 20"),
    ],
)
async def test_a_batch_amazon_would_refuse_is_a_400_and_charges_nothing(
    autojump_clock: trio.testing.MockClock, change: object, detail: str
) -> None:
    body = json.loads(listing_offers_request(catalog_settings(shop(), seller="acme")))
    change(body["requests"])  # type: ignore[operator]
    response, stats = await _post(LISTING_OFFERS, body)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["code"], error["message"]) == ("InvalidInput", "Invalid input")
    assert detail in error["details"]
    assert (stats["bad_requests"], stats["over_quota"], stats["answered"]) == (1, 0, {})


async def test_the_listing_batch_refills_at_amazon_s_rate(autojump_clock: trio.testing.MockClock) -> None:
    """getListingOffersBatch is 0.5 a second, burst 1: a second call at once is a 429, one two seconds later not."""
    fake = fake_of(shop())
    body = listing_offers_request(catalog_settings(fake.apis[0].market, seller="acme"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        headers = await token(client)
        statuses = [(await client.post(LISTING_OFFERS, content=body, headers=headers)).status_code for _ in range(2)]
        await trio.sleep(2.0)
        statuses.append((await client.post(LISTING_OFFERS, content=body, headers=headers)).status_code)
    assert statuses == [200, 429, 200]
    assert fake.stats.over_quota_by_operation == {"getListingOffersBatch": 1}


async def test_the_adapter_sees_what_the_market_shows(autojump_clock: trio.testing.MockClock) -> None:
    """poll_offers through the fake: our offer, the competitors and the single winner as the market has them."""
    market = shop()
    fake = fake_of(market)
    async with adapter(fake) as (amazon, _):
        await trio.sleep(300.0)
        keys = [offer.key for offer in catalog_settings(market, seller="acme")]
        answers = await amazon.poll_offers(keys)
    for row, answer in enumerate(answers):
        assert isinstance(answer, OfferSnapshot), answer
        truth = market.snapshot(row, trio.current_time())
        assert (answer.our is None) == (truth.our is None)
        if truth.our is not None and answer.our is not None:
            assert (answer.our.listing_price, answer.our.shipping) == (truth.our.listing_price, truth.our.shipping)
        if row != SPLIT:  # the split row marks two winners; the market's snapshot marks its plurality holder alone
            assert answer.competitors == truth.competitors
        else:
            assert [c.seller_id for c in answer.competitors] == [c.seller_id for c in truth.competitors]
        assert answer.competitive_price_threshold == truth.reference_price


async def test_the_item_batch_finds_our_offer_by_seller_id(autojump_clock: trio.testing.MockClock) -> None:
    market = shop()
    offers = catalog_settings(market, [OURS_WIN], seller="acme")
    response, stats = await _post(ITEM_OFFERS, item_offers_request(offers))
    payload = _items(response)[0]["body"]["payload"]  # type: ignore[index]
    assert all("MyOffer" not in offer for offer in payload["Offers"])
    assert payload["ASIN"] == offers[0].asin
    (read,) = item_offers(response.content, offers, at=0.0, currency="EUR", seller_id=market.seller_id(0, 0))
    assert isinstance(read, OfferSnapshot)
    assert read.our is not None and read.our.is_buybox_winner
    assert stats["answered"] == {"getItemOffersBatch": 1}
