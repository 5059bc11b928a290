"""An SQS message's body as a `Notice` (who and what it is about), and a notice as the engine's observations.

Amazon writes ANY_OFFER_CHANGED and PRICING_HEALTH into the queue's messages as its notification JSON
(`adapters.spapi.wire.notifications`). `read_notice` decodes one and says whose it is (the seller's merchant token
and the marketplace, so one queue can serve every seller and marketplace), which item, and when the change happened
(``TimeOfOfferChange``, wall time). A message that is not one of the two, lacks a field the schema requires or holds
a time that is no ISO 8601 timestamp is `Unreadable`, naming the message and the path at fault.

`observations` turns a notice into one observation per offer of ours on its item, each as of the change (on the
engine's clock, `engine.ports.Clock.from_utc`) and received when the message was:

- ANY_OFFER_CHANGED: an `OfferSnapshot` of source "notification", read exactly as an item's offers from the pricing
  API are (`adapters.spapi.offers.offers_snapshot`: our offer by our seller id, the Buy Box winners by
  ``IsBuyBoxWinner`` or by their prices, the competitive price threshold), for each of our offers of the item in the
  notification's condition class; where we have the item both fulfilled by Amazon and ourselves, each offer gets
  its own.
- PRICING_HEALTH of issue type ``BuyBoxDisqualification``: a `HealthEvent` (disqualified, with the competitive price
  threshold) for our offer of the item with the notification's fulfilment type. Another issue type is `Unreadable`:
  the engine does not know what it means.

Amounts are read as `Decimal`s and converted to minor units exactly: an amount in another currency or with more
decimals than the currency has is `Unreadable` too, never rounded.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Final, Literal

import msgspec

from adapters.spapi.items import amount_minor
from adapters.spapi.offers import offers_snapshot
from adapters.spapi.wire.notifications import (
    AnyOfferChanged,
    AnyOfferChangedNotification,
    Envelope,
    HealthPayload,
    PricingHealthNotification,
)
from adapters.spapi.wire.pricing_v0 import (
    BuyBoxPrice,
    OfferDetail,
    OffersPayload,
    PrimeInformation,
    SellerFeedbackRating,
    ShippingTime,
    Summary,
)
from engine.model import Fulfilment, HealthEvent, Observation, OfferSettings
from engine.money import MoneyError
from engine.ports import Clock, ItemFailure

__all__ = ["ANY_OFFER_CHANGED", "DISQUALIFIED", "PRICING_HEALTH", "Notice", "Unreadable", "observations", "read_notice"]

ANY_OFFER_CHANGED: Final = "ANY_OFFER_CHANGED"
PRICING_HEALTH: Final = "PRICING_HEALTH"
DISQUALIFIED: Final = "BuyBoxDisqualification"
NoticeKind = Literal["ANY_OFFER_CHANGED", "PRICING_HEALTH"]

_ENVELOPE: Final = msgspec.json.Decoder(Envelope)
_AOC: Final = msgspec.json.Decoder(AnyOfferChangedNotification)
_HEALTH: Final = msgspec.json.Decoder(PricingHealthNotification)
_FULFILMENT: Final = {"AFN": Fulfilment.AMAZON, "MFN": Fulfilment.MERCHANT}


class Unreadable(ValueError):
    """A message the engine cannot use, and why; its text names the message."""

    def __init__(self, message_id: str, detail: str) -> None:
        super().__init__(f"message {message_id}: {detail}")
        self.message_id = message_id
        self.detail = detail


class Notice(msgspec.Struct, frozen=True, gc=False):
    """One notification, decoded: whose (``seller_id``, Amazon's merchant token; ``marketplace_id``), about which
    item (``asin``, ``item_condition``), the change's wall time, and its payload (``offers`` for
    ANY_OFFER_CHANGED, ``health`` for PRICING_HEALTH). ``received_at`` is when its message reached us (trio's
    clock)."""

    message_id: str
    notification_id: str
    kind: NoticeKind
    seller_id: str
    marketplace_id: str
    asin: str
    item_condition: str
    changed_at: datetime
    received_at: float
    offers: AnyOfferChanged | None = None
    health: HealthPayload | None = None


def read_notice(message_id: str, body: str, *, received_at: float) -> Notice:
    """The notice in a message's ``body``; `Unreadable` for anything else."""
    data = body.encode()
    try:
        kind = _ENVELOPE.decode(data).notification_type
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise Unreadable(message_id, f"not a notification ({error})") from None
    try:
        if kind == ANY_OFFER_CHANGED:
            aoc = _AOC.decode(data)
            offers = aoc.payload.any_offer_changed_notification
            trigger = offers.offer_change_trigger
            return Notice(
                message_id=message_id,
                notification_id=aoc.notification_metadata.notification_id,
                kind=ANY_OFFER_CHANGED,
                seller_id=offers.seller_id,
                marketplace_id=trigger.marketplace_id,
                asin=trigger.asin,
                item_condition=trigger.item_condition,
                changed_at=_timestamp(message_id, trigger.time_of_offer_change, "OfferChangeTrigger.TimeOfOfferChange"),
                received_at=received_at,
                offers=offers,
            )
        if kind == PRICING_HEALTH:
            health = _HEALTH.decode(data)
            payload = health.payload
            trigger_h = payload.offer_change_trigger
            return Notice(
                message_id=message_id,
                notification_id=health.notification_metadata.notification_id,
                kind=PRICING_HEALTH,
                seller_id=payload.seller_id,
                marketplace_id=trigger_h.marketplace_id,
                asin=trigger_h.asin,
                item_condition=trigger_h.item_condition,
                changed_at=_timestamp(
                    message_id, trigger_h.time_of_offer_change, "offerChangeTrigger.timeOfOfferChange"
                ),
                received_at=received_at,
                health=payload,
            )
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise Unreadable(message_id, f"{kind} that does not fit Amazon's schema ({error})") from None
    raise Unreadable(
        message_id, f"notification type {kind!r}: the engine reads {ANY_OFFER_CHANGED} and {PRICING_HEALTH}"
    )


def _timestamp(message_id: str, text: str, where: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Unreadable(message_id, f"{text!r} is not an ISO 8601 time - at `$.Payload.{where}`") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def observations(
    notice: Notice,
    offers: Sequence[OfferSettings],
    *,
    clock: Clock,
    currency: str,
    seller_id: str,
    amazon_seller_ids: Collection[str] = frozenset(),
) -> list[Observation]:
    """One observation per offer of ``offers`` (ours on the notice's item, in its marketplace) the notice is about;
    `Unreadable` for one the engine cannot use."""
    as_of = clock.from_utc(notice.changed_at)
    group = _group(notice.item_condition)
    mine = [offer for offer in offers if offer.condition.group.lower() == group]
    try:
        if notice.offers is not None:
            return _snapshots(notice, notice.offers, mine, as_of, currency, seller_id, amazon_seller_ids)
        if notice.health is not None:
            return _health(notice, notice.health, mine, as_of, currency)
    except MoneyError as error:
        raise Unreadable(notice.message_id, str(error)) from None
    return []


def _group(item_condition: str) -> str:
    return "".join(char for char in item_condition.lower() if char.isalnum())


def _snapshots(
    notice: Notice,
    aoc: AnyOfferChanged,
    mine: Sequence[OfferSettings],
    as_of: float,
    currency: str,
    seller_id: str,
    amazon_seller_ids: Collection[str],
) -> list[Observation]:
    payload = _as_offers(aoc)
    out: list[Observation] = []
    for offer in mine:
        snapshot = offers_snapshot(
            offer.key,
            payload,
            at=notice.received_at,
            currency=currency,
            seller_id=seller_id,
            fulfilment=offer.fulfilment,
            where="Payload.AnyOfferChangedNotification",
            amazon_seller_ids=amazon_seller_ids,
        )
        if isinstance(snapshot, ItemFailure):
            raise Unreadable(notice.message_id, f"{snapshot.code}: {snapshot.message}")
        out.append(msgspec.structs.replace(snapshot, source="notification", as_of=as_of))
    return out


def _as_offers(aoc: AnyOfferChanged) -> OffersPayload:
    """The notification's offers in the shape of a pricing API payload, which `offers_snapshot` reads."""
    offers = tuple(
        OfferDetail(
            sub_condition=offer.sub_condition,
            listing_price=offer.listing_price,
            shipping=offer.shipping,
            shipping_time=ShippingTime(offer.shipping_time.maximum_hours),
            is_fulfilled_by_amazon=offer.is_fulfilled_by_amazon,
            seller_id=offer.seller_id,
            seller_feedback_rating=(
                None
                if offer.seller_feedback_rating is None
                else SellerFeedbackRating(
                    offer.seller_feedback_rating.seller_positive_feedback_rating,
                    offer.seller_feedback_rating.feedback_count,
                )
            ),
            prime_information=None
            if offer.prime_information is None
            else PrimeInformation(offer.prime_information.is_offer_prime),
            is_buy_box_winner=offer.is_buy_box_winner,
        )
        for offer in aoc.offers
    )
    prices = tuple(
        BuyBoxPrice(price.condition, price.landed_price, price.listing_price, price.shipping)
        for price in aoc.summary.buy_box_prices
    )
    return OffersPayload(
        status="Success" if offers else "NoBuyableOffers",
        item_condition=aoc.offer_change_trigger.item_condition,
        summary=Summary(prices, aoc.summary.competitive_price_threshold),
        offers=offers,
        asin=aoc.offer_change_trigger.asin,
    )


def _health(
    notice: Notice, health: HealthPayload, mine: Sequence[OfferSettings], as_of: float, currency: str
) -> list[Observation]:
    if health.issue_type != DISQUALIFIED:
        raise Unreadable(
            notice.message_id, f"PRICING_HEALTH of issue type {health.issue_type!r}: the engine reads {DISQUALIFIED}"
        )
    fulfilment = _FULFILMENT.get(health.merchant_offer.fulfillment_type)
    if fulfilment is None:
        raise Unreadable(
            notice.message_id,
            f"merchantOffer.fulfillmentType {health.merchant_offer.fulfillment_type!r} is neither AFN nor MFN",
        )
    threshold = health.summary.reference_price.competitive_price_threshold
    reference = (
        None
        if threshold is None
        else amount_minor(
            threshold.amount,
            threshold.currency_code,
            currency,
            "payload.summary.referencePrice.competitivePriceThreshold",
        )
    )
    return [HealthEvent(offer.key, as_of, True, reference) for offer in mine if offer.fulfilment is fulfilment]
