"""The featured offer, as Amazon estimates and reports it: getFeaturedOfferExpectedPriceBatch into `FoepReading`s
and getCompetitiveSummary into `ShareReading`s.

FOEP is "the listing price at or below which a seller can expect to become the featured offer". Amazon says how it
went in ``resultStatus``: with ``VALID_FOEP`` a price comes; ``NO_COMPETING_OFFER(S)``, ``OFFER_NOT_ELIGIBLE``,
``OFFER_NOT_FOUND`` and ``ASIN_NOT_ELIGIBLE`` (and any status Amazon adds) are readings without one, kept with
their status: the policy uses a reading only when it is a valid one. Whether our offer was the featured one when
Amazon estimated (``currentFeaturedOffer`` is ours) says whether the price is our threshold as the incumbent.

The competitive summary lists the featured offers only, each with the segments (Prime, non-Prime, unknown) that
feature it and their share of the item's glance views. Our share is the sum over the segments featuring our offer;
an offer featured nowhere, ours included, is not listed, so our share is then unknown (None), not zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final, TypeVar

import msgspec

from adapters.spapi.items import Unreadable, failure, invalid, matched, minor
from adapters.spapi.wire.common import decode, located
from adapters.spapi.wire.pricing_2022 import (
    BatchResponse,
    CompetitiveSummaryBody,
    CompetitiveSummaryItem,
    FoepBody,
    FoepItem,
)
from engine.model import FoepReading, Fulfilment, OfferKey, OfferSettings, ShareReading
from engine.money import MoneyError
from engine.ports import ItemFailure

__all__ = ["VALID_FOEP", "featured_offer_prices", "featured_shares", "share_reading"]

VALID_FOEP: Final = "VALID_FOEP"

_BATCH: Final = msgspec.json.Decoder(BatchResponse)
_FOEP_ITEM: Final = msgspec.json.Decoder(FoepItem)
_FOEP_BODY: Final = msgspec.json.Decoder(FoepBody)
_SUMMARY_ITEM: Final = msgspec.json.Decoder(CompetitiveSummaryItem)
_SUMMARY_BODY: Final = msgspec.json.Decoder(CompetitiveSummaryBody)

_Item = TypeVar("_Item", FoepItem, CompetitiveSummaryItem)
_Body = TypeVar("_Body", FoepBody, CompetitiveSummaryBody)
_FULFILLMENT_TYPES: Final = {Fulfilment.AMAZON: "AFN", Fulfilment.MERCHANT: "MFN"}


def featured_offer_prices(
    reply: bytes, keys: Sequence[OfferKey], *, at: float, currency: str, seller_id: str
) -> list[FoepReading | ItemFailure]:
    """getFeaturedOfferExpectedPriceBatch's reply for ``keys`` (the SKUs asked, in order): one answer per key, in
    order. A SKU Amazon does not know is that key's failure (``INVALID_SKU``, a 400 of its own)."""
    answers, echoes = _items(reply, "getFeaturedOfferExpectedPriceBatch", _FOEP_ITEM, _FOEP_BODY, _foep_echo)
    readings: list[FoepReading | ItemFailure] = []
    for key, found in zip(keys, matched(keys, [key.sku for key in keys], answers, echoes, at), strict=True):
        if isinstance(found, ItemFailure):
            readings.append(found)
        else:
            index, (item, body) = found
            readings.append(_foep(key, at, item, body, currency, seller_id, f"responses[{index}].body"))
    return readings


def _items(
    reply: bytes,
    operation: str,
    items: msgspec.json.Decoder[_Item],
    bodies: msgspec.json.Decoder[_Body],
    echo: Callable[[_Item, _Body], str | None],
) -> tuple[list[tuple[_Item, _Body] | Unreadable], list[str | None]]:
    """A 2022-05-01 batch reply's items, each with its body decoded (or `Unreadable`, located), and what each says
    it answers (`echo`: the SKU or ASIN, None when it says nothing): what `matched` pairs with the keys asked."""
    answers: list[tuple[_Item, _Body] | Unreadable] = []
    echoes: list[str | None] = []
    for index, raw in enumerate(decode(_BATCH, reply, operation).responses):
        try:
            item = items.decode(raw)
            body = bodies.decode(item.body)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            answers.append(Unreadable(located(error, f"responses[{index}]")))
            echoes.append(None)
            continue
        answers.append((item, body))
        echoes.append(echo(item, body))
    return answers, echoes


def _foep_echo(item: FoepItem, body: FoepBody) -> str | None:
    if item.request is not None and item.request.sku is not None:
        return item.request.sku
    return None if body.offer_identifier is None else body.offer_identifier.sku


def _summary_echo(_: CompetitiveSummaryItem, body: CompetitiveSummaryBody) -> str | None:
    return body.asin


def _foep(
    key: OfferKey, at: float, item: FoepItem, body: FoepBody, currency: str, seller_id: str, where: str
) -> FoepReading | ItemFailure:
    status = item.status.status_code
    results = body.featured_offer_expected_price_results
    if status != 200 or not results:
        if status == 200 and not body.errors:
            return invalid(key, at, f"no featuredOfferExpectedPriceResults - at `$.{where}`")
        return failure(key, at, status, item.status.reason_phrase, body.errors)
    result = results[0]
    expected = result.featured_offer_expected_price
    price = None
    if expected is not None:
        try:
            price = minor(
                expected.listing_price,
                currency,
                f"$.{where}.featuredOfferExpectedPriceResults[0].featuredOfferExpectedPrice.listingPrice",
            )
        except MoneyError as error:
            return invalid(key, at, str(error))
    if price is None and result.result_status == VALID_FOEP:
        return invalid(key, at, f"{VALID_FOEP} without a featuredOfferExpectedPrice - at `$.{where}`")
    ours_featured = None
    if result.current_featured_offer is not None:
        current = result.current_featured_offer.offer_identifier
        # A seller may offer an ASIN both fulfilled by Amazon and by itself: ours is the one of the target's type.
        target_type = None if body.offer_identifier is None else body.offer_identifier.fulfillment_type
        same_offer = target_type is None or current.fulfillment_type in (None, target_type)
        ours_featured = current.seller_id == seller_id and same_offer
    return FoepReading(key, at, price, result.result_status, ours_featured)


def featured_shares(
    reply: bytes, offers: Sequence[OfferSettings], *, at: float, currency: str, seller_id: str
) -> list[ShareReading | ItemFailure]:
    """getCompetitiveSummary's reply for ``offers`` (the ASINs asked, in order): our share of each offer's Buy Box,
    one answer per offer, in order (see `share_reading`)."""
    answers, echoes = _items(reply, "getCompetitiveSummary", _SUMMARY_ITEM, _SUMMARY_BODY, _summary_echo)
    keys = [offer.key for offer in offers]
    readings: list[ShareReading | ItemFailure] = []
    for offer, found in zip(offers, matched(keys, [o.asin for o in offers], answers, echoes, at), strict=True):
        if isinstance(found, ItemFailure):
            readings.append(found)
        else:
            index, (item, body) = found
            where = f"responses[{index}].body"
            readings.append(_share(offer.key, at, item, body, seller_id, currency, offer.fulfilment, where))
    return readings


def share_reading(
    key: OfferKey,
    at: float,
    reply: bytes,
    *,
    seller_id: str,
    currency: str,
    fulfilment: Fulfilment | None = None,
) -> ShareReading | ItemFailure:
    """Our `ShareReading` from one item's response of a getCompetitiveSummary batch (``{"status", "body"}``).

    ``share`` is the sum of our segments' ``glanceViewWeightPercentage`` / 100, ``price`` the listing price our
    offer was featured at (as of Amazon's last recompute); both None when our offer (``seller_id``'s, of
    ``fulfilment`` when given) is featured nowhere. A response that is not a 200, or cannot be read, is the item's
    failure."""
    try:
        item = _SUMMARY_ITEM.decode(reply)
        body = _SUMMARY_BODY.decode(item.body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        return invalid(key, at, str(error))
    return _share(key, at, item, body, seller_id, currency, fulfilment, "body")


def _share(
    key: OfferKey,
    at: float,
    item: CompetitiveSummaryItem,
    body: CompetitiveSummaryBody,
    seller_id: str,
    currency: str,
    fulfilment: Fulfilment | None,
    where: str,
) -> ShareReading | ItemFailure:
    status = item.status.status_code
    if status != 200:
        return failure(key, at, status, item.status.reason_phrase, body.errors)
    fulfillment_type = None if fulfilment is None else _FULFILLMENT_TYPES[fulfilment]
    ours = [
        (option_index, offer_index, offer)
        for option_index, option in enumerate(body.featured_buying_options)
        for offer_index, offer in enumerate(option.segmented_featured_offers)
        if offer.seller_id == seller_id and fulfillment_type in (None, offer.fulfillment_type)
    ]
    if not ours:
        return ShareReading(key, at, None, None)
    percent = sum(
        (
            segment.segment_details.glance_view_weight_percentage or Decimal(0)
            for *_, offer in ours
            for segment in offer.featured_offer_segments
        ),
        Decimal(0),
    )
    option_index, offer_index, first = ours[0]
    at_offer = f"$.{where}.featuredBuyingOptions[{option_index}].segmentedFeaturedOffers[{offer_index}]"
    try:
        price = minor(first.listing_price, currency, f"{at_offer}.listingPrice")
    except MoneyError as error:
        return invalid(key, at, str(error))
    return ShareReading(key, at, float(percent / 100), price)
