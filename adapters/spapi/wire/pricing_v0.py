"""Product Pricing v0 (``productPricingV0.json``): getItemOffersBatch and getListingOffersBatch.

Both batch calls answer ``{"responses": [{"status", "body", "request", "headers"}]}`` where each body is a
getItemOffers / getListingOffers reply (``GetOffersResponse``: a payload, or errors). The model spells most fields
in PascalCase and a few in camelCase (``status``, ``condition``, ``sellerId``, ``minimumHours``...): the Structs
rename to PascalCase and name the others one by one. Conditions arrive as "New" in one place and "new" in another,
so they are plain strings here; `adapters.spapi.offers` reads them whatever their case.

A batch item is decoded in two steps (its envelope, then its body), so a body that does not fit fails that item
alone and the request it echoes still says whose item it was.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from adapters.spapi.wire.common import ApiError, StatusLine

__all__ = [
    "BatchItem",
    "BatchRequest",
    "BatchResponse",
    "BuyBoxPrice",
    "ItemRequest",
    "Money",
    "OfferDetail",
    "OffersBody",
    "OffersPayload",
    "PrimeInformation",
    "RequestEcho",
    "SellerFeedbackRating",
    "ShippingTime",
    "Summary",
]


class Money(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    """``MoneyType``: ``{"CurrencyCode": "EUR", "Amount": 19.99}`` (a number in the model; a string is read too)."""

    currency_code: str
    amount: Decimal


class PrimeInformation(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    is_prime: bool


class SellerFeedbackRating(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    """Absent for Amazon's own offers; the rating is a percentage (98.5), the count whole ratings."""

    seller_positive_feedback_rating: Decimal | None = None
    feedback_count: int = 0


class ShippingTime(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    maximum_hours: int | None = None


class OfferDetail(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    """One of the (at most 20) offers, cheapest first. ``MyOffer`` comes with getListingOffers only: in an item's
    offers ours is found by seller id."""

    sub_condition: str
    listing_price: Money
    shipping: Money
    shipping_time: ShippingTime
    is_fulfilled_by_amazon: bool
    seller_id: str = ""
    my_offer: bool = False
    seller_feedback_rating: SellerFeedbackRating | None = None
    prime_information: PrimeInformation | None = None
    is_buy_box_winner: bool = False


class BuyBoxPrice(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    """``BuyBoxPriceType``: one per condition, and one per segment when the Prime and the non-Prime Buy Box have
    different winners. B2B offers add quantity tiers (``quantityTier``), which are not the Buy Box a consumer sees."""

    condition: str = msgspec.field(name="condition")
    landed_price: Money
    listing_price: Money
    shipping: Money
    offer_type: str | None = msgspec.field(default=None, name="offerType")
    quantity_tier: int | None = msgspec.field(default=None, name="quantityTier")
    seller_id: str | None = msgspec.field(default=None, name="sellerId")


class Summary(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    buy_box_prices: tuple[BuyBoxPrice, ...] = ()
    competitive_price_threshold: Money | None = None


class OffersPayload(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    """``GetOffersResult``. ``status`` is "Success" or "NoBuyableOffers" (or a state the offers are not ready in,
    such as "ActiveButTooSoonForProcessing")."""

    status: str = msgspec.field(name="status")
    item_condition: str
    summary: Summary
    offers: tuple[OfferDetail, ...]
    asin: str | None = msgspec.field(default=None, name="ASIN")
    sku: str | None = msgspec.field(default=None, name="SKU")


class OffersBody(msgspec.Struct, frozen=True, gc=False):
    """``GetOffersResponse``: a batch item's body, a payload when it answered and errors when it did not."""

    payload: OffersPayload | None = None
    errors: tuple[ApiError, ...] = ()


class RequestEcho(msgspec.Struct, frozen=True, gc=False):
    """The request an item answers, as Amazon echoes it: how an answer is matched to the key that asked."""

    asin: str | None = msgspec.field(default=None, name="Asin")
    seller_sku: str | None = msgspec.field(default=None, name="SellerSKU")


class BatchItem(msgspec.Struct, frozen=True, gc=False):
    """``ItemOffersResponse`` / ``ListingOffersResponse``, its body left for a second decoder."""

    body: msgspec.Raw
    status: StatusLine | None = None
    request: RequestEcho | None = None


class BatchResponse(msgspec.Struct, frozen=True, gc=False):
    responses: tuple[msgspec.Raw, ...]


class ItemRequest(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One request of a batch: ``uri`` is getItemOffers' or getListingOffers' own path."""

    uri: str
    method: str = "GET"
    marketplace_id: str = msgspec.field(name="MarketplaceId")
    item_condition: str = msgspec.field(name="ItemCondition")
    customer_type: str = msgspec.field(default="Consumer", name="CustomerType")


class BatchRequest(msgspec.Struct, frozen=True, gc=False):
    requests: tuple[ItemRequest, ...]
