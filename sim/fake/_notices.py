"""The simulator's notifications as Amazon writes them into an SQS message's body: ANY_OFFER_CHANGED and
PRICING_HEALTH, in the shapes of Amazon's notification schemas (``AnyOfferChangedNotification.json``,
``PricingHealthNotification.json``).

A notification says what the item's offers were when they changed (`sim.snapshot.Notification`: the row's state at
``event_at``, delivered later): ANY_OFFER_CHANGED is PascalCase, the offers cheapest landed first (ours among them,
by our seller id: the notification has no ``MyOffer``), the Buy Box prices per condition without a seller id and
the winners marked ``IsBuyBoxWinner`` (Amazon sends it beside the schema's fields; the schema allows more), the
counts and lowest prices per fulfilment channel over the offers listed. PRICING_HEALTH is camelCase: our offer as
it stood, the item's summary and the reference price that disqualified it.

Fields the simulator has no value for are left out, as Amazon leaves them out when it has none, although the
schemas (generated from examples) call every field required: the list price, the minimum advertised price, the
suggested lower price, the competitive price threshold of an item without one, points (Japan only), ships-from,
an offer's available date (its availability is NOW), and the feedback of Amazon's own retail offer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import msgspec

from engine.model import CompetitorOffer, Fulfilment
from engine.money import to_decimal
from sim.market import Market
from sim.snapshot import Notification, Snapshot

__all__ = ["APPLICATION_ID", "NOTIFICATION_VERSION", "any_offer_changed", "pricing_health"]

APPLICATION_ID: Final = "amzn1.sellerapps.app.sim-0000-0000-0000-000000000000"  # the fake's one application
NOTIFICATION_VERSION: Final = "1.0"
PAYLOAD_VERSION: Final = "1.0"
_CONDITION: Final = "new"  # the simulator's offers are all New; Amazon writes it in lower case in summaries
_ITEM_CONDITION: Final = "New"

_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")
_DOMESTIC: Final = {
    "is_expedited_shipping_available": False,
    "ships_domestically": True,
    "ships_internationally": False,
}


# --- ANY_OFFER_CHANGED (PascalCase) ------------------------------------------------------------------------------


class _Model(msgspec.Struct, frozen=True, gc=False, rename="pascal", omit_defaults=True):
    """A definition of the ANY_OFFER_CHANGED schema: PascalCase on the wire, unknown values left out."""


class _Money(_Model, frozen=True):
    amount: Decimal
    currency_code: str


class _OfferCount(_Model, frozen=True):
    condition: str
    fulfillment_channel: str
    offer_count: int


class _LowestPrice(_Model, frozen=True):
    condition: str
    fulfillment_channel: str
    landed_price: _Money
    listing_price: _Money
    shipping: _Money


class _BuyBoxPrice(_Model, frozen=True):
    condition: str
    landed_price: _Money
    listing_price: _Money
    shipping: _Money


class _SalesRank(_Model, frozen=True):
    product_category_id: str
    rank: int


class _Summary(_Model, frozen=True):
    number_of_offers: tuple[_OfferCount, ...]
    lowest_prices: tuple[_LowestPrice, ...]
    buy_box_prices: tuple[_BuyBoxPrice, ...]
    total_buy_box_eligible_offers: int
    sales_rankings: tuple[_SalesRank, ...]  # the simulator ranks nothing: always empty
    number_of_buy_box_eligible_offers: tuple[_OfferCount, ...]
    competitive_price_threshold: _Money | None = None


class _Feedback(_Model, frozen=True):
    feedback_count: int
    seller_positive_feedback_rating: int


class _ShippingTime(_Model, frozen=True):
    minimum_hours: int
    maximum_hours: int
    availability_type: str


class _Prime(_Model, frozen=True):
    is_offer_prime: bool
    is_offer_national_prime: bool


class _Offer(_Model, frozen=True):
    seller_id: str
    sub_condition: str
    shipping_time: _ShippingTime
    listing_price: _Money
    shipping: _Money
    is_fulfilled_by_amazon: bool
    prime_information: _Prime
    is_featured_merchant: bool
    is_buy_box_winner: bool
    # The simulator's offers ship domestically at standard speed (required fields: no defaults, always written).
    is_expedited_shipping_available: bool
    ships_domestically: bool
    ships_internationally: bool
    seller_feedback_rating: _Feedback | None = None  # none for Amazon's own retail offer


class _Trigger(_Model, frozen=True):
    marketplace_id: str
    asin: str = msgspec.field(name="ASIN")
    item_condition: str
    time_of_offer_change: str
    offer_change_type: str


class _AnyOfferChanged(_Model, frozen=True):
    seller_id: str
    offer_change_trigger: _Trigger
    summary: _Summary
    offers: tuple[_Offer, ...]


class _AocPayload(_Model, frozen=True):
    any_offer_changed_notification: _AnyOfferChanged


class _Metadata(_Model, frozen=True):
    application_id: str
    subscription_id: str
    publish_time: str
    notification_id: str


class _AocNotification(_Model, frozen=True):
    notification_version: str
    notification_type: str
    payload_version: str
    event_time: str
    notification_metadata: _Metadata
    payload: _AocPayload


class _Listed(msgspec.Struct, frozen=True, gc=False):
    """One offer of the notification, with what its summary counts need."""

    offer: _Offer
    landed: int
    listing: int
    shipping: int
    by_amazon: bool
    eligible: bool


def any_offer_changed(
    note: Notification,
    market: Market,
    *,
    seller_id: str,
    marketplace_id: str,
    subscription_id: str,
    event_time: str,
    publish_time: str,
) -> bytes:
    """An ANY_OFFER_CHANGED notification's JSON for ``note`` (a row of ``market``), sent to ``seller_id``."""
    snapshot, row = note.snapshot, note.row
    currency = market.spec.currency[row]
    cap = int(market.cap_landed[row])
    listed = _listed(snapshot, market, seller_id, currency, cap)
    trigger = _Trigger(
        marketplace_id=marketplace_id,
        asin=market.catalog(row).asin,
        item_condition=_ITEM_CONDITION,
        time_of_offer_change=event_time,
        offer_change_type=note.change_type,
    )
    notification = _AocNotification(
        notification_version=NOTIFICATION_VERSION,
        notification_type="ANY_OFFER_CHANGED",
        payload_version=PAYLOAD_VERSION,
        event_time=event_time,
        notification_metadata=_Metadata(APPLICATION_ID, subscription_id, publish_time, note.notification_id),
        payload=_AocPayload(
            _AnyOfferChanged(
                seller_id=seller_id,
                offer_change_trigger=trigger,
                summary=_summary(snapshot, listed, currency),
                offers=tuple(entry.offer for entry in listed),
            )
        ),
    )
    return _ENCODER.encode(notification)


def _listed(snapshot: Snapshot, market: Market, seller_id: str, currency: str, cap: int) -> list[_Listed]:
    """Ours and the competitors', cheapest landed first (ours first among equals), each winner marked."""
    winners = _winner_ids(snapshot)
    listed: list[_Listed] = []
    our = snapshot.our
    if our is not None:
        spec, row = market.spec, snapshot.row
        fba = bool(spec.our_fba[row])
        offer = _Offer(
            seller_id=seller_id,
            sub_condition=_CONDITION,
            shipping_time=_shipping_time(int(spec.our_handling_days[row]) * 24),
            listing_price=_money(our.listing_price, currency),
            shipping=_money(our.shipping, currency),
            is_fulfilled_by_amazon=fba,
            prime_information=_Prime(our.prime, our.prime),
            is_featured_merchant=our.landed_price <= cap,
            is_buy_box_winner=seller_id in winners,
            **_DOMESTIC,
            seller_feedback_rating=_Feedback(
                int(spec.our_feedback_count[row]), round(float(spec.our_feedback[row]) * 100)
            ),
        )
        listed.append(_Listed(offer, our.landed_price, our.listing_price, our.shipping, fba, our.landed_price <= cap))
    listed.extend(_competitor(offer, currency, offer.seller_id in winners, cap) for offer in snapshot.competitors)
    listed.sort(key=lambda entry: entry.landed)
    return listed


def _competitor(offer: CompetitorOffer, currency: str, winner: bool, cap: int) -> _Listed:
    by_amazon = offer.fulfilment is Fulfilment.AMAZON
    feedback = None
    if not offer.is_amazon and offer.feedback_pct is not None:
        feedback = _Feedback(offer.feedback_count, offer.feedback_pct)
    entry = _Offer(
        seller_id=offer.seller_id,
        sub_condition=_CONDITION,
        shipping_time=_shipping_time(offer.handling_max_hours),
        listing_price=_money(offer.listing_price, currency),
        shipping=_money(offer.shipping, currency),
        is_fulfilled_by_amazon=by_amazon,
        prime_information=_Prime(offer.prime, offer.prime),
        is_featured_merchant=offer.landed_price <= cap,
        is_buy_box_winner=winner,
        **_DOMESTIC,
        seller_feedback_rating=feedback,
    )
    landed = offer.landed_price
    return _Listed(entry, landed, offer.listing_price, offer.shipping, by_amazon, landed <= cap)


def _winner_ids(snapshot: Snapshot) -> frozenset[str]:
    """Who wins the Buy Box: one seller per segment where the Prime and non-Prime winners differ, else the featured
    offer's; nobody while it is suppressed (as `sim.fake._offers` marks them)."""
    if snapshot.suppressed:
        return frozenset()
    if snapshot.segment_winners:
        return frozenset(price.seller_id for price in snapshot.segment_winners if price.seller_id is not None)
    return frozenset() if snapshot.featured_seller_id is None else frozenset({snapshot.featured_seller_id})


def _summary(snapshot: Snapshot, listed: list[_Listed], currency: str) -> _Summary:
    counts, lowest, eligible = [], [], []
    for channel, by_amazon in (("Amazon", True), ("Merchant", False)):
        mine = [entry for entry in listed if entry.by_amazon is by_amazon]
        if not mine:
            continue
        counts.append(_OfferCount(_CONDITION, channel, len(mine)))
        eligible.append(_OfferCount(_CONDITION, channel, sum(entry.eligible for entry in mine)))
        cheapest = mine[0]  # listed is sorted by landed price
        lowest.append(
            _LowestPrice(
                _CONDITION,
                channel,
                _money(cheapest.landed, currency),
                _money(cheapest.listing, currency),
                _money(cheapest.shipping, currency),
            )
        )
    reference = snapshot.reference_price
    return _Summary(
        number_of_offers=tuple(counts),
        lowest_prices=tuple(lowest),
        buy_box_prices=_buybox_prices(listed, currency),
        total_buy_box_eligible_offers=sum(entry.eligible for entry in listed),
        sales_rankings=(),
        number_of_buy_box_eligible_offers=tuple(eligible),
        competitive_price_threshold=None if reference is None else _money(reference, currency),
    )


def _buybox_prices(listed: list[_Listed], currency: str) -> tuple[_BuyBoxPrice, ...]:
    """One price per winning offer (two when the Prime and non-Prime shoppers see different winners)."""
    return tuple(
        _BuyBoxPrice(
            _CONDITION,
            _money(entry.landed, currency),
            _money(entry.listing, currency),
            _money(entry.shipping, currency),
        )
        for entry in listed
        if entry.offer.is_buy_box_winner
    )


def _shipping_time(max_hours: int) -> _ShippingTime:
    return _ShippingTime(max(max_hours - 24, 0), max_hours, "NOW")


def _money(minor: int, currency: str) -> _Money:
    return _Money(to_decimal(minor, currency), currency)


# --- PRICING_HEALTH (camelCase) ----------------------------------------------------------------------------------


class _Camel(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """A definition of the PRICING_HEALTH schema: camelCase on the wire."""


class _HealthMoney(_Camel, frozen=True):
    amount: Decimal
    currency_code: str


class _HealthCount(_Camel, frozen=True):
    condition: str
    fulfillment_type: str
    offer_count: int


class _HealthBuyBoxPrice(_Camel, frozen=True):
    condition: str
    landed_price: _HealthMoney
    listing_price: _HealthMoney
    shipping: _HealthMoney


class _HealthRank(_Camel, frozen=True):
    product_category_id: str
    rank: int


class _ReferencePrice(_Camel, frozen=True):
    competitive_price_threshold: _HealthMoney | None = None


class _HealthSummary(_Camel, frozen=True):
    number_of_offers: tuple[_HealthCount, ...]
    buy_box_eligible_offers: tuple[_HealthCount, ...]
    buy_box_prices: tuple[_HealthBuyBoxPrice, ...]
    sales_rankings: tuple[_HealthRank, ...]  # always empty
    reference_price: _ReferencePrice


class _MerchantOffer(_Camel, frozen=True):
    condition: str
    fulfillment_type: str
    listing_price: _HealthMoney
    shipping: _HealthMoney
    landed_price: _HealthMoney


class _HealthTrigger(_Camel, frozen=True):
    marketplace_id: str
    asin: str
    item_condition: str
    time_of_offer_change: str


class _HealthPayload(_Camel, frozen=True):
    issue_type: str
    seller_id: str
    offer_change_trigger: _HealthTrigger
    merchant_offer: _MerchantOffer
    summary: _HealthSummary


class _HealthMetadata(_Camel, frozen=True):
    application_id: str
    subscription_id: str
    publish_time: str
    notification_id: str


class _HealthNotification(_Camel, frozen=True):
    notification_version: str
    notification_type: str
    payload_version: str
    event_time: str
    payload: _HealthPayload
    notification_metadata: _HealthMetadata


def pricing_health(
    note: Notification,
    market: Market,
    *,
    seller_id: str,
    marketplace_id: str,
    subscription_id: str,
    event_time: str,
    publish_time: str,
) -> bytes | None:
    """A PRICING_HEALTH notification's JSON for ``note``: our offer was disqualified from the Buy Box by the
    reference price. None when our offer was not buyable at the change (the notification has no offer to name)."""
    snapshot, row = note.snapshot, note.row
    our = snapshot.our
    if our is None:
        return None
    currency = market.spec.currency[row]
    cap = int(market.cap_landed[row])
    listed = _listed(snapshot, market, seller_id, currency, cap)

    def money(minor: int) -> _HealthMoney:
        return _HealthMoney(to_decimal(minor, currency), currency)

    counts, eligible = [], []
    for kind, by_amazon in (("AFN", True), ("MFN", False)):
        mine = [entry for entry in listed if entry.by_amazon is by_amazon]
        if mine:
            counts.append(_HealthCount(_CONDITION, kind, len(mine)))
            eligible.append(_HealthCount(_CONDITION, kind, sum(entry.eligible for entry in mine)))
    reference = snapshot.reference_price
    payload = _HealthPayload(
        issue_type="BuyBoxDisqualification",
        seller_id=seller_id,
        offer_change_trigger=_HealthTrigger(marketplace_id, market.catalog(row).asin, _CONDITION, event_time),
        merchant_offer=_MerchantOffer(
            condition=_CONDITION,
            fulfillment_type="AFN" if bool(market.spec.our_fba[row]) else "MFN",
            listing_price=money(our.listing_price),
            shipping=money(our.shipping),
            landed_price=money(our.landed_price),
        ),
        summary=_HealthSummary(
            number_of_offers=tuple(counts),
            buy_box_eligible_offers=tuple(eligible),
            buy_box_prices=tuple(
                _HealthBuyBoxPrice(_CONDITION, money(e.landed), money(e.listing), money(e.shipping))
                for e in listed
                if e.offer.is_buy_box_winner
            ),
            sales_rankings=(),
            reference_price=_ReferencePrice(None if reference is None else money(reference)),
        ),
    )
    notification = _HealthNotification(
        notification_version=NOTIFICATION_VERSION,
        notification_type="PRICING_HEALTH",
        payload_version=PAYLOAD_VERSION,
        event_time=event_time,
        payload=payload,
        notification_metadata=_HealthMetadata(APPLICATION_ID, subscription_id, publish_time, note.notification_id),
    )
    return _ENCODER.encode(notification)
