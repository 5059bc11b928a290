"""Subscribing a seller to the notifications the engine reads, once per start, whatever is already there.

Amazon delivers a seller's ANY_OFFER_CHANGED and PRICING_HEALTH to a destination (an SQS queue's ARN, the
application's: grantless calls) through one subscription per seller and notification type (the seller's calls).
`subscribe` makes both exist and point at the queue, reusing what it finds: the destination of the queue's ARN if
the application has one (getDestinations), else a new one (createDestination; a 409 because another start made it
meanwhile is read again); a subscription of the type that already delivers there, to the seller's marketplaces
(getSubscription), else a new one (createSubscription). A subscription that delivers elsewhere, or
ANY_OFFER_CHANGED filtered to marketplaces that leave one of the seller's out, is replaced (deleteSubscriptionById,
then createSubscription) and the replacement logged: Amazon keeps one subscription per type, so the old one could
only keep notifications from this queue. ANY_OFFER_CHANGED is filtered to the seller's marketplaces (an
``eventFilter`` of ``marketplaceIds``), so the queue does not fill with the others'.

Failures are the client's (`adapters.spapi.client`: `Throttled`, `TransientError`, `AccountError`); a refusal of
Amazon's own (a 4xx: a queue Amazon may not write to, a type the application has no role for) is `NotSubscribed`,
naming the call and Amazon's error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final, TypeVar

import httpx
import msgspec

from adapters.spapi.client import SpApiClient
from adapters.spapi.wire.common import errors_of
from adapters.spapi.wire.notifications import (
    CreateDestination,
    CreateSubscription,
    DestinationList,
    DestinationReply,
    DestinationResource,
    EventFilter,
    ProcessingDirective,
    SqsResource,
    Subscription,
    SubscriptionReply,
)
from engine.ports import MarketplaceError

__all__ = [
    "DESTINATIONS_PATH",
    "NOTIFICATION_TYPES",
    "PAYLOAD_VERSION",
    "NotSubscribed",
    "subscribe",
    "subscriptions_path",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

DESTINATIONS_PATH: Final = "/notifications/v1/destinations"
NOTIFICATION_TYPES: Final = ("ANY_OFFER_CHANGED", "PRICING_HEALTH")
PAYLOAD_VERSION: Final = "1.0"
_ENCODER: Final = msgspec.json.Encoder()


class NotSubscribed(MarketplaceError):
    """Amazon refused a step of the set-up with an answer of its own (a 4xx): what, and what Amazon said."""

    def __init__(self, seller: str, detail: str) -> None:
        super().__init__(f"seller {seller}: {detail}")
        self.seller = seller
        self.detail = detail


def subscriptions_path(notification_type: str, subscription_id: str | None = None) -> str:
    path = f"/notifications/v1/subscriptions/{notification_type}"
    return path if subscription_id is None else f"{path}/{subscription_id}"


async def subscribe(
    seller: SpApiClient, grantless: SpApiClient, *, arn: str, marketplace_ids: Sequence[str], name: str
) -> dict[str, str]:
    """Make ``seller``'s notifications of `NOTIFICATION_TYPES` go to the queue ``arn`` (see the module docstring);
    the subscription id of each type. ``grantless`` is the same application's client with its grantless token;
    ``name`` names a destination made here."""
    destination = await _destination(seller.seller, grantless, arn, name)
    return {
        kind: await _subscription(seller, grantless, kind, destination, tuple(marketplace_ids))
        for kind in NOTIFICATION_TYPES
    }


async def _destination(who: str, grantless: SpApiClient, arn: str, name: str) -> str:
    found = await _find_destination(who, grantless, arn)
    if found is not None:
        return found
    body = _ENCODER.encode(CreateDestination(name, DestinationResource(SqsResource(arn))))
    response = await grantless.request("createDestination", "POST", DESTINATIONS_PATH, json_body=body)
    if response.status_code == 409:  # made meanwhile (another start): read it
        found = await _find_destination(who, grantless, arn)
        if found is not None:
            return found
    reply = _read(who, "createDestination", response, DestinationReply)
    if reply.payload is None:
        raise NotSubscribed(who, "createDestination answered no destination")
    log.info("notifications: destination %s made for %s", reply.payload.destination_id, arn)
    return reply.payload.destination_id


async def _find_destination(who: str, grantless: SpApiClient, arn: str) -> str | None:
    response = await grantless.request("getDestinations", "GET", DESTINATIONS_PATH)
    for destination in _read(who, "getDestinations", response, DestinationList).payload:
        if destination.resource.sqs is not None and destination.resource.sqs.arn == arn:
            return destination.destination_id
    return None


async def _subscription(
    seller: SpApiClient, grantless: SpApiClient, kind: str, destination: str, marketplace_ids: tuple[str, ...]
) -> str:
    who = seller.seller
    existing = await _find_subscription(seller, kind)
    if existing is not None:
        if _serves(existing, kind, destination, marketplace_ids):
            return existing.subscription_id
        await _delete(who, grantless, kind, existing.subscription_id)
        log.warning(
            "seller %s: %s subscription %s delivered to destination %s%s; replaced by one to %s",
            who,
            kind,
            existing.subscription_id,
            existing.destination_id,
            "" if existing.destination_id != destination else " for other marketplaces",
            destination,
        )
    directive = None
    if kind == "ANY_OFFER_CHANGED":
        directive = ProcessingDirective(EventFilter(kind, marketplace_ids))
    body = _ENCODER.encode(CreateSubscription(PAYLOAD_VERSION, destination, directive))
    response = await seller.request("createSubscription", "POST", subscriptions_path(kind), json_body=body)
    if response.status_code == 409:  # made meanwhile: take it if it serves, else say so
        again = await _find_subscription(seller, kind)
        if again is not None and _serves(again, kind, destination, marketplace_ids):
            return again.subscription_id
    reply = _read(who, "createSubscription", response, SubscriptionReply)
    if reply.payload is None:
        raise NotSubscribed(who, f"createSubscription of {kind} answered no subscription")
    log.info("seller %s: subscribed to %s (subscription %s)", who, kind, reply.payload.subscription_id)
    return reply.payload.subscription_id


async def _find_subscription(seller: SpApiClient, kind: str) -> Subscription | None:
    response = await seller.request("getSubscription", "GET", subscriptions_path(kind))
    if response.status_code == 404:
        return None
    return _read(seller.seller, "getSubscription", response, SubscriptionReply).payload


async def _delete(who: str, grantless: SpApiClient, kind: str, subscription_id: str) -> None:
    path = subscriptions_path(kind, subscription_id)
    response = await grantless.request("deleteSubscriptionById", "DELETE", path)
    if response.status_code != 404:  # already gone is as good
        _check(who, "deleteSubscriptionById", response)


def _serves(subscription: Subscription, kind: str, destination: str, marketplace_ids: tuple[str, ...]) -> bool:
    if subscription.destination_id != destination:
        return False
    if kind != "ANY_OFFER_CHANGED":
        return True
    directive = subscription.processing_directive
    wanted = None if directive is None or directive.event_filter is None else directive.event_filter.marketplace_ids
    return wanted is None or set(marketplace_ids) <= set(wanted)


def _read(who: str, operation: str, response: httpx.Response, shape: type[T]) -> T:
    _check(who, operation, response)
    try:
        return msgspec.json.decode(response.content, type=shape)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise NotSubscribed(who, f"{operation} answered what the model does not describe ({error})") from None


def _check(who: str, operation: str, response: httpx.Response) -> None:
    if response.is_success:
        return
    errors = errors_of(response.content)
    said = "; ".join(str(error) for error in errors) or response.reason_phrase
    raise NotSubscribed(who, f"{operation} was refused (HTTP {response.status_code} {said})")
