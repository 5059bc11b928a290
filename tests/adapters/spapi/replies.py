"""Amazon's replies for the tests: the official examples in ``payloads/``, and builders for the cases the examples
do not show (two Buy Box winners, failed items, odd amounts), in the shapes of the same models.

Amounts are written as the JSON text given ("19.99" is the number 19.99; `text` writes a string), never through a
float, so a test of exact money tests the decoder, not Python's float formatting.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

PAYLOADS = Path(__file__).resolve().parent / "payloads"
MODELS = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "spapi-models"

_ENCODER = msgspec.json.Encoder(decimal_format="number")

Json = dict[str, Any]


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def example(name: str) -> Any:
    return json.loads(payload(name))


def encode(value: object) -> bytes:
    """JSON with every `Decimal` as a number written exactly as the Decimal reads."""
    return _ENCODER.encode(value)


class text(str):  # lower case: it reads as a marker inside a literal, money(text("19.99"))
    """An amount that Amazon sends as a JSON string rather than a number."""


def _amount(amount: str) -> Decimal | str:
    return str(amount) if isinstance(amount, text) else Decimal(amount)


# --- Product Pricing v0 -----------------------------------------------------------------------------------------


def money(amount: str, code: str = "EUR") -> Json:
    return {"CurrencyCode": code, "Amount": _amount(amount)}


def offer(
    seller: str,
    price: str,
    shipping: str = "0.00",
    *,
    fba: bool = False,
    prime: bool = False,
    winner: bool = False,
    mine: bool | None = None,
    sub: str = "new",
    rating: str | None = "98.6",
    count: int = 1200,
    hours: int | None = 48,
    code: str = "EUR",
) -> Json:
    """An ``OfferDetail``; ``mine`` None leaves ``MyOffer`` out (getItemOffers never sends it)."""
    shipping_time: Json = {"minimumHours": 24, "availabilityType": "NOW"}
    if hours is not None:
        shipping_time["maximumHours"] = hours
    detail: Json = {
        "Shipping": money(shipping, code),
        "ListingPrice": money(price, code),
        "ShippingTime": shipping_time,
        "ShipsFrom": {"Country": "DE"},
        "PrimeInformation": {"IsPrime": prime, "IsNationalPrime": prime},
        "SubCondition": sub,
        "SellerId": seller,
        "IsFeaturedMerchant": True,
        "IsBuyBoxWinner": winner,
        "IsFulfilledByAmazon": fba,
    }
    if rating is not None:
        detail["SellerFeedbackRating"] = {"SellerPositiveFeedbackRating": Decimal(rating), "FeedbackCount": count}
    if mine is not None:
        detail["MyOffer"] = mine
    return detail


def buybox_price(
    listing: str,
    shipping: str = "0.00",
    *,
    seller: str | None = None,
    condition: str = "new",
    code: str = "EUR",
    **more: Any,
) -> Json:
    landed = (Decimal(listing) + Decimal(shipping)).quantize(Decimal("0.01"))
    price: Json = {
        "condition": condition,
        "LandedPrice": money(str(landed), code),
        "ListingPrice": money(listing, code),
        "Shipping": money(shipping, code),
        **more,
    }
    if seller is not None:
        price["sellerId"] = seller
    return price


def offers_item(
    sku: str,
    offers: list[Json],
    buybox: list[Json] | None = None,
    *,
    status: str = "Success",
    condition: str = "New",
    threshold: Json | None = None,
    marketplace: str = "A1PA6795UKMFR9",
) -> Json:
    """One getListingOffersBatch item that answered (HTTP 200), for ``sku``."""
    summary: Json = {"TotalOfferCount": len(offers)}
    if buybox is not None:
        summary["BuyBoxPrices"] = buybox
    if threshold is not None:
        summary["CompetitivePriceThreshold"] = threshold
    request = {"MarketplaceId": marketplace, "SellerSKU": sku, "CustomerType": "Consumer", "ItemCondition": condition}
    return {
        "status": {"statusCode": 200, "reasonPhrase": "OK"},
        "body": {
            "payload": {
                "SKU": sku,
                "status": status,
                "ItemCondition": condition,
                "Identifier": {"MarketplaceId": marketplace, "ItemCondition": condition, "SellerSKU": sku},
                "Summary": summary,
                "Offers": offers,
                "marketplaceId": marketplace,
            }
        },
        "headers": {"x-amzn-RequestId": "11111111-2222-3333-4444-555555555555"},
        "request": request,
    }


def failed_item(sku: str, status: int, reason: str, *errors: tuple[str, str]) -> Json:
    """A getListingOffersBatch item that failed on its own, with Amazon's error body."""
    return {
        "status": {"statusCode": status, "reasonPhrase": reason},
        "body": {"errors": [{"code": code, "message": message} for code, message in errors]},
        "request": {"MarketplaceId": "A1PA6795UKMFR9", "SellerSKU": sku, "ItemCondition": "New"},
    }


def batch(*items: Json) -> bytes:
    return encode({"responses": list(items)})


# --- Listings Items -------------------------------------------------------------------------------------------------


def listing(
    marketplace: str = "A1PA6795UKMFR9",
    *,
    price: str | None = "19.99",
    code: str = "EUR",
    buyable: bool = True,
    offer: Json | None = None,
    quantity: int | None = 7,
) -> Json:
    """A getListingsItem reply for one marketplace; ``offer`` is the ``purchasable_offer`` attribute's entry."""
    item: Json = {
        "sku": "MUG-1",
        "summaries": [
            {
                "marketplaceId": marketplace,
                "asin": "B000MUG001",
                "productType": "DRINKING_CUP",
                "conditionType": "new_new",
                "status": ["BUYABLE", "DISCOVERABLE"] if buyable else ["DISCOVERABLE"],
            }
        ],
        "attributes": {"purchasable_offer": [offer]} if offer is not None else {},
        "issues": [],
        "offers": [],
        "fulfillmentAvailability": [],
    }
    if price is not None:
        item["offers"].append(
            {
                "marketplaceId": marketplace,
                "offerType": "B2C",
                "price": {"currencyCode": code, "amount": price},
                "audience": {"value": "ALL", "displayName": "Sell on Amazon"},
            }
        )
    if quantity is not None:
        item["fulfillmentAvailability"].append({"fulfillmentChannelCode": "DEFAULT", "quantity": quantity})
    return item
