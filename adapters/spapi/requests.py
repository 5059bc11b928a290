"""The bodies of the batch reads: offers of listings or items, featured offer expected prices, competitive
summaries. Each takes the offers in the order the matching decoder reads the reply against.

A SKU may hold any character, a slash among them: it goes into getListingOffers' path percent-encoded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final
from urllib.parse import quote

import msgspec

from adapters.spapi.wire.pricing_2022 import (
    CompetitiveSummaryRequest,
    CompetitiveSummaryRequests,
    FoepRequest,
    FoepRequests,
)
from adapters.spapi.wire.pricing_v0 import BatchRequest, ItemRequest
from engine.marketplaces import by_code
from engine.model import OfferKey, OfferSettings

__all__ = [
    "competitive_summary_request",
    "featured_offer_price_request",
    "item_offers_request",
    "listing_offers_request",
]

_ENCODER: Final = msgspec.json.Encoder()


def listing_offers_request(offers: Sequence[OfferSettings]) -> bytes:
    """getListingOffersBatch's body: the offers on each of our SKUs' items, in the SKU's condition class."""
    return _offers_request(
        offers, lambda offer: f"/products/pricing/v0/listings/{quote(offer.key.sku, safe='')}/offers"
    )


def item_offers_request(offers: Sequence[OfferSettings]) -> bytes:
    """getItemOffersBatch's body: the offers on each offer's ASIN, in its condition class."""
    return _offers_request(offers, lambda offer: f"/products/pricing/v0/items/{quote(offer.asin, safe='')}/offers")


def _offers_request(offers: Sequence[OfferSettings], uri: Callable[[OfferSettings], str]) -> bytes:
    """A pricing v0 offers batch: one item request per offer, at ``uri(offer)``, in the offer's condition class."""
    return _ENCODER.encode(
        BatchRequest(
            tuple(
                ItemRequest(
                    uri=uri(offer), marketplace_id=_marketplace_id(offer.key), item_condition=offer.condition.group
                )
                for offer in offers
            )
        )
    )


def featured_offer_price_request(keys: Sequence[OfferKey]) -> bytes:
    """getFeaturedOfferExpectedPriceBatch's body: FOEP for each of our SKUs."""
    requests = tuple(FoepRequest(marketplace_id=_marketplace_id(key), sku=key.sku) for key in keys)
    return _ENCODER.encode(FoepRequests(requests))


def competitive_summary_request(offers: Sequence[OfferSettings]) -> bytes:
    """getCompetitiveSummary's body: the featured buying options of each offer's ASIN."""
    requests = tuple(
        CompetitiveSummaryRequest(asin=offer.asin, marketplace_id=_marketplace_id(offer.key)) for offer in offers
    )
    return _ENCODER.encode(CompetitiveSummaryRequests(requests))


def _marketplace_id(key: OfferKey) -> str:
    return by_code(key.marketplace).marketplace_id
