"""The batch reads ask Amazon for each offer in its marketplace and condition class, a SKU safely in a path."""

from __future__ import annotations

import json

from adapters.spapi import (
    competitive_summary_request,
    featured_offer_price_request,
    item_offers_request,
    listing_offers_request,
)
from engine.model import Condition, OfferBounds, OfferKey, OfferSettings

OFFERS = [
    OfferSettings(OfferKey("acme", "DE", "MUG/1 blue"), "B000MUG001", "EUR", OfferBounds(1000, 3000)),
    OfferSettings(
        OfferKey("acme", "FR", "BOOK-1"), "B000BOOK01", "EUR", OfferBounds(500, 900), condition=Condition.USED_GOOD
    ),
]


def test_listing_offers_ask_per_sku_with_the_sku_percent_encoded() -> None:
    assert json.loads(listing_offers_request(OFFERS)) == {
        "requests": [
            {
                "uri": "/products/pricing/v0/listings/MUG%2F1%20blue/offers",
                "method": "GET",
                "MarketplaceId": "A1PA6795UKMFR9",
                "ItemCondition": "New",
                "CustomerType": "Consumer",
            },
            {
                "uri": "/products/pricing/v0/listings/BOOK-1/offers",
                "method": "GET",
                "MarketplaceId": "A13V1IB3VIYZZH",
                "ItemCondition": "Used",
                "CustomerType": "Consumer",
            },
        ]
    }


def test_item_offers_ask_per_asin() -> None:
    first, second = json.loads(item_offers_request(OFFERS))["requests"]
    assert (first["uri"], first["ItemCondition"]) == ("/products/pricing/v0/items/B000MUG001/offers", "New")
    assert (second["uri"], second["MarketplaceId"]) == (
        "/products/pricing/v0/items/B000BOOK01/offers",
        "A13V1IB3VIYZZH",
    )


def test_featured_offer_prices_and_summaries_ask_in_the_2022_models_shape() -> None:
    assert json.loads(featured_offer_price_request([OFFERS[0].key])) == {
        "requests": [
            {
                "marketplaceId": "A1PA6795UKMFR9",
                "sku": "MUG/1 blue",
                "method": "GET",
                "uri": "/products/pricing/2022-05-01/offer/featuredOfferExpectedPrice",
            }
        ]
    }
    assert json.loads(competitive_summary_request(OFFERS[:1])) == {
        "requests": [
            {
                "asin": "B000MUG001",
                "marketplaceId": "A1PA6795UKMFR9",
                "includedData": ["featuredBuyingOptions"],
                "method": "GET",
                "uri": "/products/pricing/2022-05-01/items/competitiveSummary",
            }
        ]
    }
