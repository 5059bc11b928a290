"""Notifications: the Notifications API v1 (``notifications.json``: destinations and subscriptions) and the two
notifications the engine reads, ANY_OFFER_CHANGED and PRICING_HEALTH, as Amazon's schemas shape them
(``AnyOfferChangedNotification.json``, ``PricingHealthNotification.json``).

ANY_OFFER_CHANGED is PascalCase and PRICING_HEALTH camelCase, down to the envelope (``NotificationType`` against
``notificationType``): `Envelope` reads either, so a message's type is known before its payload is decoded. As
everywhere in the wire layer, only what the adapter reads is declared, unknown fields are ignored, amounts are
`Decimal`s. ANY_OFFER_CHANGED's offers carry ``IsBuyBoxWinner`` beside the schema's fields (Amazon sends it; the
schema allows more), read when present.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from adapters.spapi.wire.pricing_v0 import Money

__all__ = [
    "AnyOfferChanged",
    "AnyOfferChangedNotification",
    "AocBuyBoxPrice",
    "AocOffer",
    "CreateDestination",
    "CreateSubscription",
    "Destination",
    "DestinationList",
    "DestinationReply",
    "Envelope",
    "EventFilter",
    "HealthPayload",
    "PricingHealthNotification",
    "ProcessingDirective",
    "Subscription",
    "SubscriptionReply",
]


# --- the Notifications API (camelCase) ---------------------------------------------------------------------------


class _Camel(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    pass


class SqsResource(_Camel, frozen=True):
    arn: str


class DestinationResource(_Camel, frozen=True):
    sqs: SqsResource | None = None


class Destination(_Camel, frozen=True):
    destination_id: str
    name: str = ""
    resource: DestinationResource = DestinationResource()


class DestinationList(msgspec.Struct, frozen=True, gc=False):
    """getDestinations' reply."""

    payload: tuple[Destination, ...] = ()


class DestinationReply(msgspec.Struct, frozen=True, gc=False):
    """createDestination's and getDestination's reply."""

    payload: Destination | None = None


class CreateDestination(_Camel, frozen=True):
    name: str
    resource_specification: DestinationResource


class EventFilter(_Camel, frozen=True):
    event_filter_type: str
    marketplace_ids: tuple[str, ...] | None = None


class ProcessingDirective(_Camel, frozen=True):
    event_filter: EventFilter | None = None


class Subscription(_Camel, frozen=True):
    subscription_id: str
    destination_id: str
    payload_version: str = ""
    processing_directive: ProcessingDirective | None = None


class SubscriptionReply(msgspec.Struct, frozen=True, gc=False):
    """createSubscription's and getSubscription's reply."""

    payload: Subscription | None = None


class CreateSubscription(_Camel, frozen=True):
    payload_version: str
    destination_id: str
    processing_directive: ProcessingDirective | None = None


# --- what every notification has ---------------------------------------------------------------------------------


class Envelope(msgspec.Struct, frozen=True, gc=False):
    """A notification's type, in either spelling."""

    pascal: str | None = msgspec.field(default=None, name="NotificationType")
    camel: str | None = msgspec.field(default=None, name="notificationType")

    @property
    def notification_type(self) -> str | None:
        return self.pascal if self.pascal is not None else self.camel


# --- ANY_OFFER_CHANGED (PascalCase) ------------------------------------------------------------------------------


class _Pascal(msgspec.Struct, frozen=True, gc=False, rename="pascal"):
    pass


class AocShippingTime(_Pascal, frozen=True):
    maximum_hours: int | None = None


class AocPrime(_Pascal, frozen=True):
    is_offer_prime: bool = False


class AocFeedback(_Pascal, frozen=True):
    seller_positive_feedback_rating: Decimal | None = None
    feedback_count: int = 0


class AocOffer(_Pascal, frozen=True):
    seller_id: str
    sub_condition: str
    listing_price: Money
    shipping: Money
    is_fulfilled_by_amazon: bool
    shipping_time: AocShippingTime = AocShippingTime()
    prime_information: AocPrime | None = None
    seller_feedback_rating: AocFeedback | None = None
    is_buy_box_winner: bool = False


class AocBuyBoxPrice(_Pascal, frozen=True):
    condition: str
    landed_price: Money
    listing_price: Money
    shipping: Money


class AocSummary(_Pascal, frozen=True):
    buy_box_prices: tuple[AocBuyBoxPrice, ...] = ()
    competitive_price_threshold: Money | None = None


class OfferChangeTrigger(_Pascal, frozen=True):
    marketplace_id: str
    asin: str = msgspec.field(name="ASIN")
    item_condition: str
    time_of_offer_change: str
    offer_change_type: str | None = None


class AnyOfferChanged(_Pascal, frozen=True):
    seller_id: str
    offer_change_trigger: OfferChangeTrigger
    summary: AocSummary
    offers: tuple[AocOffer, ...]


class _AocPayload(_Pascal, frozen=True):
    any_offer_changed_notification: AnyOfferChanged


class _AocMetadata(_Pascal, frozen=True):
    notification_id: str


class AnyOfferChangedNotification(_Pascal, frozen=True):
    notification_type: str
    notification_metadata: _AocMetadata
    payload: _AocPayload


# --- PRICING_HEALTH (camelCase) ----------------------------------------------------------------------------------


class _HealthCamel(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    pass


class HealthMoney(_HealthCamel, frozen=True):
    amount: Decimal
    currency_code: str


class HealthTrigger(_HealthCamel, frozen=True):
    marketplace_id: str
    asin: str
    item_condition: str
    time_of_offer_change: str


class MerchantOffer(_HealthCamel, frozen=True):
    condition: str
    fulfillment_type: str  # AFN | MFN
    listing_price: HealthMoney
    shipping: HealthMoney
    landed_price: HealthMoney


class ReferencePrice(_HealthCamel, frozen=True):
    competitive_price_threshold: HealthMoney | None = None


class HealthSummary(_HealthCamel, frozen=True):
    reference_price: ReferencePrice = ReferencePrice()


class HealthPayload(_HealthCamel, frozen=True):
    issue_type: str
    seller_id: str
    offer_change_trigger: HealthTrigger
    merchant_offer: MerchantOffer
    summary: HealthSummary = HealthSummary()


class _HealthMetadata(_HealthCamel, frozen=True):
    notification_id: str


class PricingHealthNotification(_HealthCamel, frozen=True):
    notification_type: str
    payload: HealthPayload
    notification_metadata: _HealthMetadata
