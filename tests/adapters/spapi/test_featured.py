"""FOEP readings and Buy Box shares: every result status kept, our featured offer told from the others, our share
the sum of the segments that feature us, and a failed item failing alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.spapi import (
    INVALID_RESPONSE,
    VALID_FOEP,
    featured_offer_prices,
    featured_shares,
    share_reading,
)
from engine.model import FoepReading, Fulfilment, OfferBounds, OfferKey, OfferSettings, ShareReading
from engine.ports import ItemFailure
from tests.adapters.spapi.replies import encode, example, payload

AT = 99.0


def us(sku: str) -> OfferKey:
    return OfferKey("acme", "US", sku)


# --- featured offer expected price --------------------------------------------------------------------------------


def test_foep_example_gives_a_price_a_no_foep_status_and_an_invalid_sku() -> None:
    keys = [us("MY_SKU"), us("MY_UNIQUE_SKU"), us("INVALID_SKU")]
    valid, no_competition, unknown = featured_offer_prices(
        payload("foep_batch.json"), keys, at=AT, currency="USD", seller_id="MY_SELLER_ID"
    )
    # Amazon's estimate, while another seller's offer is featured.
    assert valid == FoepReading(us("MY_SKU"), AT, 1000, VALID_FOEP, ours_featured=False)
    # No competing offer: no price, and ours is the featured one.
    assert no_competition == FoepReading(us("MY_UNIQUE_SKU"), AT, None, "NO_COMPETING_OFFERS", ours_featured=True)
    assert isinstance(unknown, ItemFailure)
    assert (unknown.code, unknown.transient) == ("INVALID_SKU", False)
    assert "does not exist for the seller" in unknown.message


def foep_item(sku: str, status: str, price: str | None = None, current: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"resultStatus": status}
    if price is not None:
        result["featuredOfferExpectedPrice"] = {"listingPrice": {"amount": Decimal(price), "currencyCode": "EUR"}}
    if current is not None:
        result["currentFeaturedOffer"] = {"offerIdentifier": current, "condition": "New"}
    return {
        "request": {"marketplaceId": "A1PA6795UKMFR9", "sku": sku},
        "status": {"statusCode": 200, "reasonPhrase": "Success"},
        "headers": {},
        "body": {
            "offerIdentifier": {
                "asin": "B000MUG001",
                "sku": sku,
                "marketplaceId": "A1PA6795UKMFR9",
                "fulfillmentType": "MFN",
                "sellerId": "A1OURS",
            },
            "featuredOfferExpectedPriceResults": [result],
        },
    }


def read_foep(*items: dict[str, Any]) -> list[FoepReading | ItemFailure]:
    keys = [OfferKey("acme", "DE", item["request"]["sku"]) for item in items]
    return featured_offer_prices(encode({"responses": list(items)}), keys, at=AT, currency="EUR", seller_id="A1OURS")


@pytest.mark.parametrize(
    "status",
    ["NO_COMPETING_OFFER", "OFFER_NOT_ELIGIBLE", "OFFER_NOT_FOUND", "ASIN_NOT_ELIGIBLE", "A_STATUS_AMAZON_ADDS_LATER"],
)
def test_every_no_foep_status_is_a_reading_without_a_price(status: str) -> None:
    (reading,) = read_foep(foep_item("MUG-1", status))
    assert reading == FoepReading(OfferKey("acme", "DE", "MUG-1"), AT, None, status, None)


def test_a_valid_foep_without_a_price_is_not_a_reading() -> None:
    (reading,) = read_foep(foep_item("MUG-1", VALID_FOEP))
    assert isinstance(reading, ItemFailure) and reading.code == INVALID_RESPONSE


def test_an_over_precise_foep_is_a_failure_not_a_rounded_price() -> None:
    (reading,) = read_foep(foep_item("MUG-1", VALID_FOEP, "18.995"))
    assert isinstance(reading, ItemFailure)
    assert "featuredOfferExpectedPrice.listingPrice: Decimal('18.995') has more than 2 decimals" in reading.message


@pytest.mark.parametrize(
    ("current", "ours"),
    [
        ({"sellerId": "A1OURS", "fulfillmentType": "MFN"}, True),
        ({"sellerId": "A1OURS"}, True),
        ({"sellerId": "A1OURS", "fulfillmentType": "AFN"}, False),  # our other offer of the ASIN
        ({"sellerId": "A1RIVAL", "fulfillmentType": "MFN"}, False),
    ],
)
def test_ours_featured_means_our_offer_of_this_fulfilment(current: dict[str, str], ours: bool) -> None:
    (reading,) = read_foep(foep_item("MUG-1", VALID_FOEP, "18.99", {"asin": "B000MUG001", **current}))
    assert isinstance(reading, FoepReading)
    assert (reading.price, reading.ours_featured) == (1899, ours)


# --- competitive summary --------------------------------------------------------------------------------------------


def summary_offers(*asins: str, fulfilment: Fulfilment = Fulfilment.MERCHANT) -> list[OfferSettings]:
    return [OfferSettings(us(f"SKU-{a}"), a, "USD", OfferBounds(100, 9000), fulfilment=fulfilment) for a in asins]


@pytest.mark.parametrize(
    ("seller", "share", "price"),
    [("A3DJR8M9Y3OUPG", 0.82, 1811), ("A2ZWOLFOFDPJL1", 0.18, 1715), ("A1NOTFEATURED", None, None)],
)
def test_our_share_is_the_sum_of_the_segments_featuring_us(seller: str, share: float | None, price: int | None) -> None:
    offers = summary_offers("B00ZIAODGE", "11_AABB_123")
    reading, invalid_asin = featured_shares(
        payload("competitive_summary_batch.json"), offers, at=AT, currency="USD", seller_id=seller
    )
    # Featured for NON_PRIME (72%) and PRIME (10%) shoppers: 82% of the glance views.
    assert reading == ShareReading(offers[0].key, AT, share, price)
    assert isinstance(invalid_asin, ItemFailure)
    assert (invalid_asin.code, invalid_asin.message, invalid_asin.transient) == (
        "INVALID_ASIN",
        "HTTP 400 Client Error: INVALID_ASIN: 11_AABB_123 is not a valid ASIN",
        False,
    )


def test_a_share_counts_our_offer_of_the_keys_fulfilment_only() -> None:
    (reading, _) = featured_shares(
        payload("competitive_summary_batch.json"),
        summary_offers("B00ZIAODGE", "11_AABB_123", fulfilment=Fulfilment.AMAZON),
        at=AT,
        currency="USD",
        seller_id="A3DJR8M9Y3OUPG",  # featured with a merchant-fulfilled offer only
    )
    assert isinstance(reading, ShareReading) and reading.share is None


def test_answers_are_matched_by_asin_whatever_their_order() -> None:
    reply = example("competitive_summary_batch.json")
    reply["responses"].reverse()
    offers = summary_offers("B00ZIAODGE", "11_AABB_123")
    reading, invalid_asin = featured_shares(encode(reply), offers, at=AT, currency="USD", seller_id="A3DJR8M9Y3OUPG")
    assert isinstance(reading, ShareReading) and reading.share == 0.82
    assert isinstance(invalid_asin, ItemFailure)


def test_one_items_response_as_the_simulator_gives_it() -> None:
    response = example("competitive_summary_batch.json")["responses"][0]
    key = us("SKU-1")
    reading = share_reading(key, AT, encode(response), seller_id="A2ZWOLFOFDPJL1", currency="USD")
    assert reading == ShareReading(key, AT, 0.18, 1715)
    # An amount in the wrong currency, or a body that is not one, is the item's failure.
    wrong = share_reading(key, AT, encode(response), seller_id="A2ZWOLFOFDPJL1", currency="EUR")
    assert isinstance(wrong, ItemFailure) and "'USD' where EUR was asked for" in wrong.message
    broken = share_reading(key, AT, b'{"status": {"statusCode": 200}}', seller_id="A2ZWOLFOFDPJL1", currency="USD")
    assert isinstance(broken, ItemFailure) and broken.message == "Object missing required field `body`"


def test_a_foep_item_without_results_fails_alone() -> None:
    empty = foep_item("MUG-1", VALID_FOEP, "18.99")
    empty["body"]["featuredOfferExpectedPriceResults"] = []
    refused = foep_item("MUG-2", VALID_FOEP, "18.99")
    refused["body"] = {"errors": [{"code": "INTERNAL_FAILURE", "message": "Try again"}]}
    refused["status"] = {"statusCode": 500, "reasonPhrase": "Internal Server Error"}
    broken = foep_item("MUG-3", VALID_FOEP, "18.99")
    broken["status"] = "OK"
    empty_reading, refused_reading, broken_reading, fine = read_foep(
        empty, refused, broken, foep_item("MUG-4", "OFFER_NOT_FOUND")
    )
    assert isinstance(empty_reading, ItemFailure) and empty_reading.code == INVALID_RESPONSE
    assert "no featuredOfferExpectedPriceResults - at `$.responses[0].body`" in empty_reading.message
    assert isinstance(refused_reading, ItemFailure)
    assert (refused_reading.code, refused_reading.transient) == ("INTERNAL_FAILURE", True)
    assert isinstance(broken_reading, ItemFailure)
    assert broken_reading.message == "Expected `object`, got `str` - at `$.responses[2].status`"
    assert isinstance(fine, FoepReading) and fine.status == "OFFER_NOT_FOUND"
