"""Notifications API v1 as the fake plays it (destinations and subscriptions), and the delivery of the simulator's
notifications to the queues they name.

Routes, in the shapes of ``notifications.json``:

- ``POST /notifications/v1/destinations`` createDestination (an SQS ARN; a queue the fake does not host is a 400,
  an ARN that already has a destination a 409), ``GET /notifications/v1/destinations`` getDestinations,
  ``GET`` and ``DELETE /notifications/v1/destinations/{destinationId}``;
- ``POST /notifications/v1/subscriptions/{notificationType}`` createSubscription (409 when the seller already has
  one of that type), ``GET /notifications/v1/subscriptions/{notificationType}`` getSubscription (404 when none),
  ``GET`` and ``DELETE .../{notificationType}/{subscriptionId}``.

Destinations and the calls by subscription id are grantless, as on Amazon: they take the application's token
(``grant_type=client_credentials``), and a seller's token is refused; createSubscription and getSubscription act for
the seller whose token they carry. The fake has one application. It delivers ANY_OFFER_CHANGED (with an
``eventFilter`` of ``marketplaceIds`` when given) and PRICING_HEALTH at payload version 1.0; another type, version
or an aggregation setting is a 400 that says so. These calls are not charged to any quota.

`NotificationDesk.deliver` takes the notifications the markets delivered (`sim.api.MarketApi.notifications`: the
simulator's delay, drops, duplicates and reordering), and sends each one whose seller has a subscription of its type
to the queue of the subscription's destination, as Amazon's JSON (`sim.fake._notices`). A notification nobody
subscribed to is dropped, as Amazon sends nothing then.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from sim.api import MarketApi
from sim.fake._backend import Answer, Backend, Call
from sim.fake._errors import ENCODER, Refusal, bad_request
from sim.fake._index import marketplace_id, merchant_id
from sim.fake._notices import any_offer_changed, pricing_health
from sim.fake._sqs import FakeQueue
from sim.snapshot import Notification

__all__ = [
    "CREATE_DESTINATION",
    "CREATE_SUBSCRIPTION",
    "DELETE_DESTINATION",
    "DELETE_SUBSCRIPTION",
    "GET_DESTINATION",
    "GET_DESTINATIONS",
    "GET_SUBSCRIPTION",
    "GET_SUBSCRIPTION_BY_ID",
    "GRANTLESS",
    "NOTIFICATION_OPERATIONS",
    "DeliveryStats",
    "NotificationDesk",
]

CREATE_DESTINATION: Final = "createDestination"
GET_DESTINATIONS: Final = "getDestinations"
GET_DESTINATION: Final = "getDestination"
DELETE_DESTINATION: Final = "deleteDestination"
CREATE_SUBSCRIPTION: Final = "createSubscription"
GET_SUBSCRIPTION: Final = "getSubscription"
GET_SUBSCRIPTION_BY_ID: Final = "getSubscriptionById"
DELETE_SUBSCRIPTION: Final = "deleteSubscriptionById"
NOTIFICATION_OPERATIONS: Final = (
    CREATE_DESTINATION,
    GET_DESTINATIONS,
    GET_DESTINATION,
    DELETE_DESTINATION,
    CREATE_SUBSCRIPTION,
    GET_SUBSCRIPTION,
    GET_SUBSCRIPTION_BY_ID,
    DELETE_SUBSCRIPTION,
)
# The operations Amazon calls grantless: the application's token, not a seller's.
GRANTLESS: Final = frozenset(
    {
        CREATE_DESTINATION,
        GET_DESTINATIONS,
        GET_DESTINATION,
        DELETE_DESTINATION,
        GET_SUBSCRIPTION_BY_ID,
        DELETE_SUBSCRIPTION,
    }
)
TYPES: Final = ("ANY_OFFER_CHANGED", "PRICING_HEALTH")
PAYLOAD_VERSION: Final = "1.0"


# --- the wire (notifications.json's definitions) ------------------------------------------------------------------


class _Model(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """A definition of the Notifications API: camelCase, optional fields left out when unset."""


class _Sqs(_Model, frozen=True):
    arn: str


class _Resource(_Model, frozen=True):
    sqs: _Sqs | None = None


class _CreateDestination(_Model, frozen=True):
    name: str
    resource_specification: _Resource


class _Destination(_Model, frozen=True):
    name: str
    destination_id: str
    resource: _Resource


class _AggregationSettings(_Model, frozen=True):
    aggregation_time_period: str


class _EventFilter(_Model, frozen=True):
    event_filter_type: str
    marketplace_ids: tuple[str, ...] | None = None
    aggregation_settings: _AggregationSettings | None = None


class _Directive(_Model, frozen=True):
    event_filter: _EventFilter | None = None
    filter_expression: str | None = None


class _CreateSubscription(_Model, frozen=True):
    payload_version: str
    destination_id: str
    processing_directive: _Directive | None = None


class _Subscription(_Model, frozen=True):
    subscription_id: str
    payload_version: str
    destination_id: str
    processing_directive: _Directive | None = None


class _Payload(msgspec.Struct, frozen=True, gc=False):
    payload: _Destination | _Subscription | tuple[_Destination, ...]


class _Empty(msgspec.Struct, frozen=True, gc=False):
    pass


_CREATE_DESTINATION: Final = msgspec.json.Decoder(_CreateDestination)
_CREATE_SUBSCRIPTION: Final = msgspec.json.Decoder(_CreateSubscription)


@dataclass(slots=True)
class DeliveryStats:
    """The markets' notifications the desk handled: ``sent`` to a queue, ``unsubscribed`` (their seller has no
    subscription of their type, or its ANY_OFFER_CHANGED filter leaves their marketplace out), ``orphaned`` (the
    subscription's destination is gone), ``unsendable`` (a PRICING_HEALTH whose offer was not buyable)."""

    sent: int = 0
    unsubscribed: int = 0
    orphaned: int = 0
    unsendable: int = 0


def _not_found(what: str) -> Refusal:
    return Refusal(404, "NotFound", "The resource specified does not exist.", what)


def _conflict(what: str) -> Refusal:
    return Refusal(409, "Conflict", "The resource specified conflicts with the current state.", what)


class NotificationDesk:
    """The application's destinations, the sellers' subscriptions, and the delivery into ``queues`` (by ARN)."""

    def __init__(self, backend: Backend, queues: Sequence[FakeQueue]) -> None:
        self._backend = backend
        self._queues = {queue.arn: queue for queue in queues}
        self._destinations: dict[str, _Destination] = {}
        self._subscriptions: dict[tuple[int, str], _Subscription] = {}
        self._ids = itertools.count(1)
        self.stats = DeliveryStats()

    @property
    def queues(self) -> Mapping[str, FakeQueue]:
        return self._queues

    def _id(self, kind: str) -> str:
        return f"sim-{kind}-{next(self._ids):04d}-0000-0000-000000000000"

    # --- destinations (grantless) ----------------------------------------------------------------------------------

    async def create_destination(self, backend: Backend, call: Call) -> Answer:
        try:
            asked = _CREATE_DESTINATION.decode(call.body)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise bad_request(str(error)) from None
        if asked.resource_specification.sqs is None:
            raise bad_request("resourceSpecification: the fake delivers to SQS queues only (sqs.arn)")
        arn = asked.resource_specification.sqs.arn
        if arn not in self._queues:
            hosted = ", ".join(self._queues) or "none"
            raise bad_request(f"resourceSpecification.sqs.arn {arn!r}: no such queue (the fake hosts {hosted})")
        for destination in self._destinations.values():
            if destination.resource.sqs is not None and destination.resource.sqs.arn == arn:
                raise _conflict(f"destination {destination.destination_id} already delivers to {arn}")
        destination = _Destination(asked.name, self._id("destination"), _Resource(_Sqs(arn)))
        self._destinations[destination.destination_id] = destination
        await backend.answered()
        return Answer(200, ENCODER.encode(_Payload(destination)))

    async def get_destinations(self, backend: Backend, call: Call) -> Answer:
        await backend.answered()
        return Answer(200, ENCODER.encode(_Payload(tuple(self._destinations.values()))))

    async def get_destination(self, backend: Backend, call: Call) -> Answer:
        destination = self._destinations.get(call.params[0])
        if destination is None:
            raise _not_found(f"destination {call.params[0]}")
        await backend.answered()
        return Answer(200, ENCODER.encode(_Payload(destination)))

    async def delete_destination(self, backend: Backend, call: Call) -> Answer:
        if self._destinations.pop(call.params[0], None) is None:
            raise _not_found(f"destination {call.params[0]}")
        await backend.answered()
        return Answer(200, b"{}")

    # --- subscriptions --------------------------------------------------------------------------------------------

    async def create_subscription(self, backend: Backend, call: Call) -> Answer:
        kind = _type(call.params[0])
        try:
            asked = _CREATE_SUBSCRIPTION.decode(call.body)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise bad_request(str(error)) from None
        if asked.payload_version != PAYLOAD_VERSION:
            raise bad_request(f"payloadVersion {asked.payload_version!r}: {kind} has version {PAYLOAD_VERSION}")
        if asked.destination_id not in self._destinations:
            raise bad_request(f"destinationId {asked.destination_id!r}: no such destination")
        _check_directive(kind, asked.processing_directive)
        if (existing := self._subscriptions.get((call.seller, kind))) is not None:
            raise _conflict(f"subscription {existing.subscription_id} of {kind} already exists")
        subscription = _Subscription(
            self._id("subscription"), asked.payload_version, asked.destination_id, asked.processing_directive
        )
        self._subscriptions[(call.seller, kind)] = subscription
        await backend.answered()
        return Answer(200, ENCODER.encode(_Payload(subscription)))

    async def get_subscription(self, backend: Backend, call: Call) -> Answer:
        kind = _type(call.params[0])
        subscription = self._subscriptions.get((call.seller, kind))
        if subscription is None:
            raise _not_found(f"no subscription of {kind}")
        await backend.answered()
        return Answer(200, ENCODER.encode(_Payload(subscription)))

    async def get_subscription_by_id(self, backend: Backend, call: Call) -> Answer:
        _, subscription = self._by_id(call.params[0], call.params[1])
        await backend.answered()
        return Answer(200, ENCODER.encode(_Payload(subscription)))

    async def delete_subscription(self, backend: Backend, call: Call) -> Answer:
        key, _ = self._by_id(call.params[0], call.params[1])
        del self._subscriptions[key]
        await backend.answered()
        return Answer(200, b"{}")

    def _by_id(self, kind_param: str, subscription_id: str) -> tuple[tuple[int, str], _Subscription]:
        kind = _type(kind_param)
        for key, subscription in self._subscriptions.items():
            if key[1] == kind and subscription.subscription_id == subscription_id:
                return key, subscription
        raise _not_found(f"subscription {subscription_id} of {kind}")

    # --- delivery --------------------------------------------------------------------------------------------------

    def deliver(self, now: float) -> None:
        """Send what the markets delivered by ``now`` to the subscribed sellers' queues."""
        for api in self._backend.apis:
            if now < api.market.next_notification_time() and now < api.market.next_event_time():
                continue
            for note in api.notifications(now):
                self._send(api, note, now)

    def next_due(self, now: float) -> float:
        """When a market may next deliver a notification: its next delivery, or its next event (which may make
        one)."""
        return min(
            (min(api.market.next_notification_time(), api.market.next_event_time()) for api in self._backend.apis),
            default=float("inf"),
        )

    def _send(self, api: MarketApi, note: Notification, now: float) -> None:
        market, row = api.market, note.row
        seller = int(market.spec.seller[row])
        subscription = self._subscriptions.get((seller, note.kind))
        where = marketplace_id(market.catalog(row).marketplace)
        if subscription is None or not _passes(subscription, where):
            self.stats.unsubscribed += 1
            return
        destination = self._destinations.get(subscription.destination_id)
        queue = (
            None
            if destination is None or destination.resource.sqs is None
            else self._queues.get(destination.resource.sqs.arn)
        )
        if queue is None:
            self.stats.orphaned += 1
            return
        encode = any_offer_changed if note.kind == "ANY_OFFER_CHANGED" else pricing_health
        body = encode(
            note,
            market,
            seller_id=merchant_id(seller),
            marketplace_id=where,
            subscription_id=subscription.subscription_id,
            event_time=self._backend.wall_time(note.event_at),
            publish_time=self._backend.wall_time(note.delivered_at),
        )
        if body is None:
            self.stats.unsendable += 1
            return
        queue.send(body.decode(), now)
        self.stats.sent += 1


def _type(name: str) -> str:
    if name not in TYPES:
        raise bad_request(f"notificationType {name!r}: the fake delivers {' and '.join(TYPES)}")
    return name


def _check_directive(kind: str, directive: _Directive | None) -> None:
    if directive is None:
        return
    if directive.filter_expression is not None:
        raise bad_request("processingDirective.filterExpression: the fake does not filter by expression")
    event_filter = directive.event_filter
    if event_filter is None:
        return
    if kind != "ANY_OFFER_CHANGED" or event_filter.event_filter_type != kind:
        raise bad_request(
            f"processingDirective.eventFilter: {kind} takes none of type {event_filter.event_filter_type!r}"
        )
    if event_filter.aggregation_settings is not None:
        raise bad_request("processingDirective.eventFilter.aggregationSettings: the fake does not aggregate")


def _passes(subscription: _Subscription, where: str) -> bool:
    directive = subscription.processing_directive
    if directive is None or directive.event_filter is None or directive.event_filter.marketplace_ids is None:
        return True
    return where in directive.event_filter.marketplace_ids
