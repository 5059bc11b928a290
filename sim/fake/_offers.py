"""productPricing v0's offers batches, getItemOffersBatch and getListingOffersBatch, read and answered.

Each item of a batch names one getItemOffers (``/products/pricing/v0/items/{Asin}/offers``) or getListingOffers
(``/products/pricing/v0/listings/{SellerSKU}/offers``) call, its marketplace and the condition class asked. Its
answer is the item's offers as the market shows them then (`sim.market.Market.snapshot`), in the model's
``GetOffersResult`` shape: at most 20 offers, cheapest landed price first, ours marked ``MyOffer`` when asked by
SKU; the Buy Box winners marked ``IsBuyBoxWinner`` with their ``BuyBoxPrices`` (two when the Prime and the
non-Prime shoppers see different winners, one each with its ``sellerId``; none while the Buy Box is suppressed);
offer counts, lowest prices and the Buy Box-eligible offers per fulfilment channel; the item's reference price as
``CompetitivePriceThreshold``. An item with nothing buyable, ours included, is ``NoBuyableOffers``; so is any
condition class but New, the only one the simulator's offers are in.

A request outside the model, a method or path that is not the operation's, twenty-one items or two that ask the
same thing refuse the batch (400, nothing charged); a SKU or ASIN the seller has no offer of in that marketplace
fails its own item (400, "... is an invalid SKU for marketplace ...", as Amazon words it) while the others answer.
The simulator has no business offers: ``CustomerType`` Business is answered with the consumers' offers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final, Literal
from urllib.parse import unquote

import msgspec
import numpy as np

from engine.model import CompetitorOffer, Fulfilment
from engine.money import to_decimal
from sim.buybox import NO_HOLDER
from sim.fake._backend import Answer, Backend, Call
from sim.fake._errors import ENCODER, ApiError, bad_request
from sim.fake._index import Place, merchant_id
from sim.snapshot import TOP_OFFERS, Snapshot

__all__ = [
    "ITEM_OFFERS",
    "LISTING_OFFERS",
    "OffersBatchRequest",
    "OffersRequest",
    "checked_batch",
    "offers_batch",
    "offers_reply",
]

ITEM_OFFERS: Final = "getItemOffersBatch"
LISTING_OFFERS: Final = "getListingOffersBatch"
BATCH_LIMIT: Final = 20

_PATHS: Final = {
    ITEM_OFFERS: ("products", "pricing", "v0", "items"),
    LISTING_OFFERS: ("products", "pricing", "v0", "listings"),
}
_SIMULATED_CONDITION: Final = "New"
_SUMMARY_CONDITION: Final = "new"  # Amazon's summaries and sub-conditions say it in lower case

ItemCondition = Literal["New", "Used", "Collectible", "Refurbished", "Club"]
HttpMethod = Literal["GET", "PUT", "PATCH", "DELETE", "POST"]


# --- the request (productPricingV0.json: ItemOffersRequest / ListingOffersRequest) --------------------------------


class OffersRequest(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One item of the batch: the model requires ``uri``, ``method``, ``MarketplaceId`` and ``ItemCondition``."""

    uri: str
    method: HttpMethod
    marketplace_id: str = msgspec.field(name="MarketplaceId")
    item_condition: ItemCondition = msgspec.field(name="ItemCondition")
    customer_type: Literal["Consumer", "Business"] = msgspec.field(default="Consumer", name="CustomerType")
    headers: dict[str, str] | None = None


class OffersBatchRequest(msgspec.Struct, frozen=True, gc=False):
    requests: tuple[OffersRequest, ...]


_REQUEST: Final = msgspec.json.Decoder(OffersBatchRequest)


def checked_batch(operation: str, body: bytes) -> tuple[OffersBatchRequest, list[str]]:
    """The batch and the id (ASIN or SKU, decoded) each item asks for; `Refusal` (400) for a batch Amazon refuses
    whole."""
    try:
        batch = _REQUEST.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise bad_request(str(error)) from None
    if not 1 <= len(batch.requests) <= BATCH_LIMIT:
        raise bad_request(f"requests must hold 1 to {BATCH_LIMIT} items, not {len(batch.requests)}")
    prefix = _PATHS[operation]
    kind = "Asin" if operation == ITEM_OFFERS else "SellerSKU"
    wanted = []
    for index, item in enumerate(batch.requests):
        where = f"requests[{index}]"
        if item.method != "GET":
            raise bad_request(f"{where}.method {item.method!r}: the offers are read with GET")
        parts = item.uri.split("/")
        if item.uri.count("?") or len(parts) != 7 or tuple(parts[1:5]) != prefix or parts[6] != "offers":
            expected = "/" + "/".join(prefix) + f"/{{{kind}}}/offers"
            raise bad_request(f"{where}.uri {item.uri!r}: expected {expected}")
        ident = unquote(parts[5])
        if not ident:
            raise bad_request(f"{where}.uri {item.uri!r}: the {kind} is empty")
        wanted.append(ident)
    asked = [
        (ident, item.marketplace_id, item.item_condition, item.customer_type)
        for ident, item in zip(wanted, batch.requests, strict=True)
    ]
    if len(set(asked)) < len(asked):
        raise bad_request("Duplicate requests submitted.")
    return batch, wanted


# --- the reply (GetOffersResult and the batch envelope) -----------------------------------------------------------


class _Money(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    currency_code: str
    amount: Decimal


class _OfferCount(msgspec.Struct, frozen=True, gc=False):
    condition: str
    fulfillment_channel: str = msgspec.field(name="fulfillmentChannel")
    offer_count: int = msgspec.field(name="OfferCount")


class _LowestPrice(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    condition: str = msgspec.field(name="condition")
    fulfillment_channel: str = msgspec.field(name="fulfillmentChannel")
    landed_price: _Money
    listing_price: _Money
    shipping: _Money


class _BuyBoxPrice(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    condition: str = msgspec.field(name="condition")
    landed_price: _Money
    listing_price: _Money
    shipping: _Money
    seller_id: str = msgspec.field(name="sellerId")


class _Summary(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    total_offer_count: int
    number_of_offers: tuple[_OfferCount, ...] = ()
    lowest_prices: tuple[_LowestPrice, ...] = ()
    buy_box_prices: tuple[_BuyBoxPrice, ...] = ()
    buy_box_eligible_offers: tuple[_OfferCount, ...] = ()
    competitive_price_threshold: _Money | None = None


class _ShippingTime(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    minimum_hours: int
    maximum_hours: int
    availability_type: str = "NOW"


class _Prime(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    is_prime: bool
    is_national_prime: bool


class _Feedback(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    seller_positive_feedback_rating: int
    feedback_count: int


class _Offer(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    seller_id: str
    sub_condition: str
    shipping_time: _ShippingTime
    listing_price: _Money
    shipping: _Money
    is_fulfilled_by_amazon: bool
    prime_information: _Prime
    is_buy_box_winner: bool
    is_featured_merchant: bool
    seller_feedback_rating: _Feedback | None = None  # none for Amazon's own offers
    my_offer: bool | None = None  # getListingOffers only


class _Identifier(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    marketplace_id: str
    item_condition: str
    asin: str | None = msgspec.field(default=None, name="ASIN")
    seller_sku: str | None = msgspec.field(default=None, name="SellerSKU")


class _Payload(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    marketplace_id: str = msgspec.field(name="marketplaceId")
    status: str = msgspec.field(name="status")
    item_condition: str
    identifier: _Identifier
    summary: _Summary
    offers: tuple[_Offer, ...]
    asin: str | None = msgspec.field(default=None, name="ASIN")
    sku: str | None = msgspec.field(default=None, name="SKU")


class _Body(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    payload: _Payload | None = None
    errors: tuple[ApiError, ...] = ()


class _Status(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    status_code: int
    reason_phrase: str


class _Echo(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    marketplace_id: str
    item_condition: str
    customer_type: str
    asin: str | None = None
    seller_sku: str | None = msgspec.field(default=None, name="SellerSKU")


class _Item(msgspec.Struct, frozen=True, gc=False):
    status: _Status
    body: _Body
    headers: dict[str, str]
    request: _Echo


class _Batch(msgspec.Struct, frozen=True, gc=False):
    responses: tuple[_Item, ...]


def offers_reply(
    operation: str,
    batch: OffersBatchRequest,
    wanted: Sequence[str],
    places: Sequence[Place | None],
    seller: int,
    at: float,
    request_id: str,
) -> bytes:
    """The batch's reply as of ``at``: each item from its place, or its 400 where the seller has no offer there."""
    by_sku = operation == LISTING_OFFERS
    headers = {"x-amzn-RequestId": request_id}
    items = []
    for ident, request, place in zip(wanted, batch.requests, places, strict=True):
        echo = _Echo(
            marketplace_id=request.marketplace_id,
            item_condition=request.item_condition,
            customer_type=request.customer_type,
            asin=None if by_sku else ident,
            seller_sku=ident if by_sku else None,
        )
        if place is None:
            what = "SKU" if by_sku else "ASIN"
            error = ApiError("InvalidInput", f"{ident} is an invalid {what} for marketplace {request.marketplace_id}")
            items.append(_Item(_Status(400, "Bad Request"), _Body(errors=(error,)), headers, echo))
            continue
        payload = _payload(place, at, request, seller, sku=ident if by_sku else None)
        items.append(_Item(_Status(200, "OK"), _Body(payload), headers, echo))
    return ENCODER.encode(_Batch(tuple(items)))


def _payload(place: Place, at: float, request: OffersRequest, seller: int, *, sku: str | None) -> _Payload:
    market, row = place.market, place.row
    snapshot = market.snapshot(row, at)
    catalog = market.catalog(row)
    identifier = _Identifier(request.marketplace_id, request.item_condition, None if sku else catalog.asin, sku)
    offers = (
        _offers(place, snapshot, seller, mine=sku is not None) if request.item_condition == _SIMULATED_CONDITION else ()
    )
    return _Payload(
        marketplace_id=request.marketplace_id,
        status="Success" if offers else "NoBuyableOffers",
        item_condition=request.item_condition,
        identifier=identifier,
        summary=_summary(place, snapshot) if offers else _Summary(0),
        offers=offers,
        asin=catalog.asin,
        sku=sku,
    )


def _offers(place: Place, snapshot: Snapshot, seller: int, *, mine: bool) -> tuple[_Offer, ...]:
    """Ours and the competitors', cheapest landed first, at most 20; the winners marked."""
    market, row = place.market, place.row
    currency = market.spec.currency[row]
    winners = _winner_ids(snapshot)
    cap = int(market.cap_landed[row])
    listed: list[tuple[int, _Offer]] = []
    if snapshot.our is not None:
        ours = snapshot.our
        spec = market.spec
        listed.append(
            (
                ours.landed_price,
                _Offer(
                    seller_id=merchant_id(seller),
                    sub_condition=_SUMMARY_CONDITION,
                    shipping_time=_shipping_time(int(spec.our_handling_days[row]) * 24),
                    listing_price=_money(ours.listing_price, currency),
                    shipping=_money(ours.shipping, currency),
                    is_fulfilled_by_amazon=bool(spec.our_fba[row]),
                    prime_information=_Prime(ours.prime, ours.prime),
                    is_buy_box_winner=merchant_id(seller) in winners,
                    is_featured_merchant=ours.landed_price <= cap,
                    seller_feedback_rating=_Feedback(
                        round(float(spec.our_feedback[row]) * 100), int(spec.our_feedback_count[row])
                    ),
                    my_offer=True if mine else None,
                ),
            )
        )
    listed.extend(
        (offer.landed_price, _competitor(offer, currency, offer.seller_id in winners, cap, mine))
        for offer in snapshot.competitors
    )
    listed.sort(key=lambda pair: pair[0])  # stable: ours first among equal landed prices
    return tuple(offer for _, offer in listed[:TOP_OFFERS])


def _competitor(offer: CompetitorOffer, currency: str, winner: bool, cap: int, mine: bool) -> _Offer:
    feedback = None
    if not offer.is_amazon and offer.feedback_pct is not None:
        feedback = _Feedback(offer.feedback_pct, offer.feedback_count)
    return _Offer(
        seller_id=offer.seller_id,
        sub_condition=_SUMMARY_CONDITION,
        shipping_time=_shipping_time(offer.handling_max_hours),
        listing_price=_money(offer.listing_price, currency),
        shipping=_money(offer.shipping, currency),
        is_fulfilled_by_amazon=offer.fulfilment is Fulfilment.AMAZON,
        prime_information=_Prime(offer.prime, offer.prime),
        is_buy_box_winner=winner,
        is_featured_merchant=offer.landed_price <= cap,
        seller_feedback_rating=feedback,
        my_offer=False if mine else None,
    )


def _winner_ids(snapshot: Snapshot) -> frozenset[str]:
    """The sellers whose offers win the Buy Box: one per segment where the Prime and non-Prime winners differ, else
    the featured offer's; nobody while the Buy Box is suppressed."""
    if snapshot.suppressed:
        return frozenset()
    if snapshot.segment_winners:
        return frozenset(price.seller_id for price in snapshot.segment_winners if price.seller_id is not None)
    return frozenset() if snapshot.featured_seller_id is None else frozenset({snapshot.featured_seller_id})


def _summary(place: Place, snapshot: Snapshot) -> _Summary:
    """Counts and lowest prices over every buyable offer (not only the 20 listed), per fulfilment channel."""
    market, row = place.market, place.row
    currency = market.spec.currency[row]
    available = market.available[row]
    price, ship = market.price[row], market.ship[row]
    landed = price + ship
    by_amazon = market.fba[row] | market.amz[row]
    eligible = available & (landed <= market.cap_landed[row])
    counts, lowest, eligible_counts = [], [], []
    for channel, mask in (("Amazon", by_amazon), ("Merchant", ~by_amazon)):
        offered = available & mask
        if not offered.any():
            continue
        counts.append(_OfferCount(_SUMMARY_CONDITION, channel, int(offered.sum())))
        eligible_counts.append(_OfferCount(_SUMMARY_CONDITION, channel, int((eligible & mask).sum())))
        slot = int(np.flatnonzero(offered)[np.argmin(landed[offered])])
        lowest.append(
            _LowestPrice(
                _SUMMARY_CONDITION,
                channel,
                _money(int(landed[slot]), currency),
                _money(int(price[slot]), currency),
                _money(int(ship[slot]), currency),
            )
        )
    reference = snapshot.reference_price
    return _Summary(
        total_offer_count=int(available.sum()),
        number_of_offers=tuple(counts),
        lowest_prices=tuple(lowest),
        buy_box_prices=_buybox_prices(place, snapshot),
        buy_box_eligible_offers=tuple(eligible_counts),
        competitive_price_threshold=None if reference is None else _money(reference, currency),
    )


def _buybox_prices(place: Place, snapshot: Snapshot) -> tuple[_BuyBoxPrice, ...]:
    market, row = place.market, place.row
    currency = market.spec.currency[row]

    def price(landed: int, listing: int, shipping: int, seller_id: str) -> _BuyBoxPrice:
        return _BuyBoxPrice(
            _SUMMARY_CONDITION,
            _money(landed, currency),
            _money(listing, currency),
            _money(shipping, currency),
            seller_id,
        )

    if snapshot.suppressed:
        return ()
    if snapshot.segment_winners:
        return tuple(
            price(w.landed_price, w.listing_price, w.shipping, w.seller_id)
            for w in snapshot.segment_winners
            if w.seller_id is not None
        )
    holder = int(market.holder[row])
    if holder == NO_HOLDER or snapshot.featured_seller_id is None:
        return ()
    listing, shipping = int(market.price[row, holder]), int(market.ship[row, holder])
    return (price(listing + shipping, listing, shipping, snapshot.featured_seller_id),)


def _shipping_time(max_hours: int) -> _ShippingTime:
    return _ShippingTime(max(max_hours - 24, 0), max_hours)


def _money(minor: int, currency: str) -> _Money:
    return _Money(currency, to_decimal(minor, currency))


# --- the route -----------------------------------------------------------------------------------------------------


async def offers_batch(backend: Backend, call: Call) -> Answer:
    """getItemOffersBatch or getListingOffersBatch (``call.operation``), charged as one call."""
    batch, wanted = checked_batch(call.operation, call.body)
    find = backend.index.by_sku if call.operation == LISTING_OFFERS else backend.index.by_asin
    places = [find(call.seller, item.marketplace_id, ident) for ident, item in zip(wanted, batch.requests, strict=True)]
    backend.take(call, len(places))
    at = await backend.answered()
    return Answer(200, offers_reply(call.operation, batch, wanted, places, call.seller, at, call.request_id))
