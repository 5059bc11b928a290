"""productPricing 2022-05-01's batches, getCompetitiveSummary and getFeaturedOfferExpectedPriceBatch, read and
answered.

getCompetitiveSummary: the simulator already writes each item's response in the model's shape (`sim.summary`);
here the batch is read, each request matched to the calling seller's offer of that ASIN in that marketplace, and
the item responses joined in the order asked. An ASIN the seller has no offer of is that item's 404, with the
request's ASIN and marketplace in its body (the model requires both), while the other items answer. The simulator
knows the featured offers and the reference price: an item answers those whatever else ``includedData`` names.

getFeaturedOfferExpectedPriceBatch: each item asks for one of the seller's SKUs; its answer is Amazon's estimate as
of its last refresh (`sim.market.Market.foep`) with the target offer's identifier, the featured offer a price above
the estimate would leave featured (``competingFeaturedOffer``: the rival featured for the most glance views now,
else the cheapest buyable rival) and the one featured when Amazon estimated (``currentFeaturedOffer``: ours, or
the competing one). A SKU the seller does not have there is the item's 400 ``INVALID_SKU``, the model's example.

The request Structs are the fake's own reading of the model (productPricing_2022-05-01.json): every field the
model requires is required here, so a request the real adapter sends is accepted and one Amazon would refuse is a
400. The simulator may not import the adapter's wire Structs (docs/architecture.md), and a reader written from the
model alone also checks the adapter's writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final, Literal

import msgspec
import numpy as np

from engine.money import to_decimal
from sim.fake._backend import Answer, Backend, Call
from sim.fake._errors import ENCODER, ApiError, bad_request
from sim.fake._index import Place, merchant_id
from sim.snapshot import FoepResult
from sim.summary import encode

__all__ = [
    "COMPETITIVE_SUMMARY",
    "FOEP",
    "CompetitiveSummaryBatchRequest",
    "FoepBatchRequest",
    "checked_foep_batch",
    "checked_summary_batch",
    "competitive_summary",
    "featured_offer_expected_price",
    "foep_reply",
    "summary_reply",
]

COMPETITIVE_SUMMARY: Final = "getCompetitiveSummary"
FOEP: Final = "getFeaturedOfferExpectedPriceBatch"
SUMMARY_URI: Final = "/products/pricing/2022-05-01/items/competitiveSummary"
FOEP_URI: Final = "/products/pricing/2022-05-01/offer/featuredOfferExpectedPrice"
SUMMARY_LIMIT: Final = 20
FOEP_LIMIT: Final = 40

HttpMethod = Literal["GET", "PUT", "PATCH", "DELETE", "POST"]


# --- the requests --------------------------------------------------------------------------------------------------


class CompetitiveSummaryRequest(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """One item of the batch: the model requires all five fields."""

    asin: str
    marketplace_id: str
    included_data: tuple[Literal["featuredBuyingOptions", "referencePrices", "lowestPricedOffers", "similarItems"], ...]
    method: HttpMethod
    uri: str


class CompetitiveSummaryBatchRequest(msgspec.Struct, frozen=True, gc=False):
    requests: tuple[CompetitiveSummaryRequest, ...]


class FoepRequest(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """One item of the batch (``BatchRequest`` and ``FeaturedOfferExpectedPriceRequestParams``): ``uri``,
    ``method``, ``marketplaceId`` and ``sku`` required; a ``segment`` (a sample location) may narrow it, which the
    simulator's market, one for all locations, answers alike."""

    uri: str
    method: HttpMethod
    marketplace_id: str
    sku: str
    segment: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


class FoepBatchRequest(msgspec.Struct, frozen=True, gc=False):
    requests: tuple[FoepRequest, ...]


_SUMMARY_REQUEST: Final = msgspec.json.Decoder(CompetitiveSummaryBatchRequest)
_FOEP_REQUEST: Final = msgspec.json.Decoder(FoepBatchRequest)


def checked_summary_batch(body: bytes) -> CompetitiveSummaryBatchRequest:
    """The batch, or `Refusal` (400) for one Amazon refuses whole."""
    try:
        batch = _SUMMARY_REQUEST.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise bad_request(str(error)) from None
    _check_size(len(batch.requests), SUMMARY_LIMIT)
    for index, item in enumerate(batch.requests):
        _check_call(index, item.method, item.uri, SUMMARY_URI)
        if not item.included_data:
            raise bad_request(f"requests[{index}].includedData must list at least one kind of data")
    return batch


def checked_foep_batch(body: bytes) -> FoepBatchRequest:
    """The batch, or `Refusal` (400) for one Amazon refuses whole."""
    try:
        batch = _FOEP_REQUEST.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise bad_request(str(error)) from None
    _check_size(len(batch.requests), FOEP_LIMIT)
    for index, item in enumerate(batch.requests):
        _check_call(index, item.method, item.uri, FOEP_URI)
    return batch


def _check_size(size: int, limit: int) -> None:
    if not 1 <= size <= limit:
        raise bad_request(f"requests must hold 1 to {limit} items, not {size}")


def _check_call(index: int, method: str, uri: str, expected: str) -> None:
    if method != "GET":
        raise bad_request(f"requests[{index}].method {method!r}: this batch's items are read with GET")
    if uri != expected:
        raise bad_request(f"requests[{index}].uri {uri!r}: expected {expected}")


# --- the competitive summary's reply -------------------------------------------------------------------------------


class _Status(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    status_code: int
    reason_phrase: str


class _SummaryErrorBody(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    asin: str
    marketplace_id: str
    errors: tuple[ApiError, ...]


class _SummaryErrorItem(msgspec.Struct, frozen=True, gc=False):
    status: _Status
    body: _SummaryErrorBody


def summary_reply(batch: CompetitiveSummaryBatchRequest, places: Sequence[Place | None], at: float) -> bytes:
    """``{"responses": [...]}`` as of ``at``, in the order asked: each place's summary, or its item's 404."""
    items = []
    for request, place in zip(batch.requests, places, strict=True):
        if place is None:
            message = f"No offer of {request.asin} in marketplace {request.marketplace_id} for this seller"
            error = ApiError("NOT_FOUND", message)
            body = _SummaryErrorBody(request.asin, request.marketplace_id, (error,))
            items.append(ENCODER.encode(_SummaryErrorItem(_Status(404, "Not Found"), body)))
        else:
            (summary,) = place.market.competitive_summary([place.row], at)
            items.append(encode(summary))
    return b'{"responses":[' + b",".join(items) + b"]}"


# --- the featured offer expected price's reply ---------------------------------------------------------------------


class _Money(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    currency_code: str
    amount: Decimal


class _OfferIdentifier(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    asin: str
    marketplace_id: str
    seller_id: str
    fulfillment_type: Literal["AFN", "MFN"]
    sku: str | None = None  # the target offer's alone: the seller's own SKU


class _Price(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    listing_price: _Money
    shipping_price: _Money


class _FeaturedOffer(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    offer_identifier: _OfferIdentifier
    condition: str
    price: _Price


class _ExpectedPrice(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    listing_price: _Money


class _Result(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    result_status: str
    featured_offer_expected_price: _ExpectedPrice | None = None
    competing_featured_offer: _FeaturedOffer | None = None
    current_featured_offer: _FeaturedOffer | None = None


class _FoepBody(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    offer_identifier: _OfferIdentifier | None = None
    featured_offer_expected_price_results: tuple[_Result, ...] = ()
    errors: tuple[ApiError, ...] = ()


class _FoepEcho(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    marketplace_id: str
    sku: str
    segment: dict[str, Any] | None = None


class _FoepItem(msgspec.Struct, frozen=True, gc=False):
    request: _FoepEcho
    status: _Status
    headers: dict[str, str]
    body: _FoepBody


class _FoepBatch(msgspec.Struct, frozen=True, gc=False):
    responses: tuple[_FoepItem, ...]


_INVALID_SKU: Final = ApiError(
    "INVALID_SKU", "The requested SKU does not exist for the seller in the requested Amazon store."
)


def foep_reply(batch: FoepBatchRequest, places: Sequence[Place | None], at: float, request_id: str) -> bytes:
    """``{"responses": [...]}`` as of ``at``, in the order asked: each SKU's estimate, or its item's 400."""
    headers = {"x-amzn-RequestId": request_id}
    items = []
    for request, place in zip(batch.requests, places, strict=True):
        echo = _FoepEcho(request.marketplace_id, request.sku, request.segment)
        if place is None:
            items.append(_FoepItem(echo, _Status(400, "Client Error"), headers, _FoepBody(errors=(_INVALID_SKU,))))
            continue
        (result,) = place.market.foep([place.row], at)
        items.append(_FoepItem(echo, _Status(200, "Success"), headers, _foep_body(place, request, result)))
    return ENCODER.encode(_FoepBatch(tuple(items)))


def _foep_body(place: Place, request: FoepRequest, result: FoepResult) -> _FoepBody:
    market, row = place.market, place.row
    currency = market.spec.currency[row]
    asin = market.spec.asin[row]
    seller = int(market.spec.seller[row])
    target = _OfferIdentifier(
        asin, request.marketplace_id, merchant_id(seller), _fulfillment(market.fba[row, 0]), request.sku
    )

    def featured(slot: int) -> _FeaturedOffer:
        identifier = _OfferIdentifier(
            asin,
            request.marketplace_id,
            market.seller_id(row, slot),
            _fulfillment(market.fba[row, slot] or market.amz[row, slot]),
        )
        price = _Price(_money(int(market.price[row, slot]), currency), _money(int(market.ship[row, slot]), currency))
        return _FeaturedOffer(identifier, "New", price)

    rival = _competing_slot(place)
    competing = None if rival is None else featured(rival)
    current = featured(0) if result.ours_featured else competing
    expected = None if result.price is None else _ExpectedPrice(_money(result.price, currency))
    outcome = _Result(
        result_status=result.status.value,
        featured_offer_expected_price=expected,
        competing_featured_offer=competing,
        current_featured_offer=current,
    )
    return _FoepBody(offer_identifier=target, featured_offer_expected_price_results=(outcome,))


def _competing_slot(place: Place) -> int | None:
    """The rival featured for the most glance views now; where none is, the cheapest buyable rival; else None."""
    market, row = place.market, place.row
    holder, weight = market.segment_holder[row], market.segment_weight[row]
    views = np.zeros(market.k + 1, np.int64)
    for slot, share in zip(holder.tolist(), weight.tolist(), strict=True):
        if slot > 0:
            views[slot] += share
    if views.any():
        return int(views.argmax())
    buyable = np.flatnonzero(market.available[row, 1:]) + 1
    if not buyable.size:
        return None
    landed = market.price[row, buyable] + market.ship[row, buyable]
    return int(buyable[np.argmin(landed)])


def _fulfillment(by_amazon: bool | np.bool_) -> Literal["AFN", "MFN"]:
    return "AFN" if by_amazon else "MFN"


def _money(minor: int, currency: str) -> _Money:
    return _Money(currency, to_decimal(minor, currency))


# --- the routes ----------------------------------------------------------------------------------------------------


async def competitive_summary(backend: Backend, call: Call) -> Answer:
    batch = checked_summary_batch(call.body)
    places = [backend.index.by_asin(call.seller, item.marketplace_id, item.asin) for item in batch.requests]
    backend.take(call, len(places))
    at = await backend.answered()
    return Answer(200, summary_reply(batch, places, at))


async def featured_offer_expected_price(backend: Backend, call: Call) -> Answer:
    batch = checked_foep_batch(call.body)
    places = [backend.index.by_sku(call.seller, item.marketplace_id, item.sku) for item in batch.requests]
    backend.take(call, len(places))
    at = await backend.answered()
    return Answer(200, foep_reply(batch, places, at, call.request_id))
