"""The engine's `OfferUpdate` as Amazon takes it: a patchListingsItem body, or one message of a JSON_LISTINGS_FEED.

Both carry the same JSON Patch operations:

- ``replace /attributes/purchasable_offer`` with the whole offer, always: our price, the minimum and maximum
  seller-allowed prices, and the sale price (``discounted_price``) when the update has one. ``replace`` drops every
  sub-field not sent, so the offer travels whole, and a sale price the update no longer has ends.
- ``merge /attributes/fulfillment_availability`` (channel ``DEFAULT``) with the quantity and the lead time to ship,
  for a merchant-fulfilled offer and only those of the two the update sets: an update leaves None what is not to
  change, and ``merge`` keeps what is not sent, where ``replace`` would drop it. Never for an offer Amazon fulfils:
  a quantity would turn it into a merchant-fulfilled one.
- ``replace /attributes/merchant_shipping_group`` when the update names a shipping template (merchant-fulfilled).

An update that is prices only carries the first operation alone. Amounts are rendered from minor units exactly
(`engine.money.to_decimal`) as JSON numbers: 1999 EUR is ``19.99``, 1500 is ``15.00``.

A feed message's id is its update's id (`message_id`), not its place in the feed: the processing report names
messages by id, and a report read after a restart is read against the updates still waiting for it, whatever else
the feed carried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from adapters.spapi.wire.feeds import FeedDocument, FeedHeader, FeedMessage
from adapters.spapi.wire.listings import (
    FulfillmentAvailability,
    MerchantShippingGroup,
    PatchOperation,
    PatchRequest,
    PriceSchedule,
    PurchasableOffer,
    ScheduledPrice,
)
from engine.config.feeds import MAX_FEED_MESSAGES
from engine.marketplaces import by_code
from engine.model import Fulfilment, OfferUpdate
from engine.money import to_decimal

__all__ = [
    "FEED_VERSION",
    "MAX_FEED_MESSAGES",
    "OWN_CHANNEL",
    "PRODUCT_TYPE",
    "feed_document",
    "feed_message",
    "message_id",
    "offer_patches",
    "patch_request",
]

# Offer-only changes need no real product type: Amazon takes the generic one.
PRODUCT_TYPE: Final = "PRODUCT"
OWN_CHANNEL: Final = "DEFAULT"  # fulfillment_channel_code of the seller's own warehouse
FEED_VERSION: Final = "2.0"
_MAX_MESSAGE_ID: Final = 2_147_483_647  # the feed schema's maximum messageId

_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


def offer_patches(update: OfferUpdate) -> tuple[PatchOperation, ...]:
    """The JSON Patch operations that set ``update`` on Amazon (see the module docstring)."""
    marketplace_id = by_code(update.key.marketplace).marketplace_id

    def price(minor: int) -> tuple[PriceSchedule, ...]:
        return (PriceSchedule((ScheduledPrice(to_decimal(minor, update.currency)),)),)

    offer = PurchasableOffer(
        marketplace_id=marketplace_id,
        currency=update.currency,
        audience="ALL",
        our_price=price(update.price),
        minimum_seller_allowed_price=price(update.min_price),
        maximum_seller_allowed_price=price(update.max_price),
        discounted_price=() if update.sale_price is None else price(update.sale_price),
    )
    patches = [PatchOperation("replace", "/attributes/purchasable_offer", (offer,))]
    if update.prices_only or update.fulfilment is not Fulfilment.MERCHANT:
        return tuple(patches)
    if update.quantity is not None or update.lead_time_days is not None:
        availability = FulfillmentAvailability(
            fulfillment_channel_code=OWN_CHANNEL,
            quantity=update.quantity,
            lead_time_to_ship_max_days=update.lead_time_days,
        )
        patches.append(PatchOperation("merge", "/attributes/fulfillment_availability", (availability,)))
    if update.shipping_group is not None:
        group = MerchantShippingGroup(update.shipping_group, marketplace_id)
        patches.append(PatchOperation("replace", "/attributes/merchant_shipping_group", (group,)))
    return tuple(patches)


def patch_request(update: OfferUpdate, *, product_type: str = PRODUCT_TYPE) -> bytes:
    """The body of a patchListingsItem call for ``update`` (``ListingsItemPatchRequest``)."""
    return _ENCODER.encode(PatchRequest(product_type, offer_patches(update)))


def message_id(update: OfferUpdate) -> int:
    """The id of ``update``'s message in a feed: its update id, folded into the schema's range (1 to 2³¹ − 1). The
    updates of one feed are taken from the daemon's sequence within moments of each other, so their ids differ by
    far less than the range and stay unique within the feed, as the schema asks."""
    return (update.update_id - 1) % _MAX_MESSAGE_ID + 1


def feed_message(update: OfferUpdate, *, product_type: str = PRODUCT_TYPE) -> FeedMessage:
    """``update`` as one PATCH message of a JSON_LISTINGS_FEED."""
    return FeedMessage(
        message_id=message_id(update),
        sku=update.key.sku,
        operation_type="PATCH",
        product_type=product_type,
        patches=offer_patches(update),
    )


def feed_document(
    updates: Sequence[OfferUpdate],
    *,
    seller_id: str,
    product_type: str = PRODUCT_TYPE,
    issue_locale: str = "en_US",
) -> bytes:
    """A JSON_LISTINGS_FEED document of ``updates``, one message each, identified by `message_id` (the processing
    report names messages by these ids: `adapters.spapi.feeds.feed_results` reads it against the updates)."""
    if not 0 < len(updates) <= MAX_FEED_MESSAGES:
        raise ValueError(f"a feed takes 1 to {MAX_FEED_MESSAGES} messages, not {len(updates)}")
    ids = {message_id(update) for update in updates}
    if len(ids) != len(updates):
        raise ValueError("a feed's updates must have distinct update ids: its messages are known by them")
    header = FeedHeader(seller_id=seller_id, version=FEED_VERSION, issue_locale=issue_locale)
    messages = tuple(feed_message(update, product_type=product_type) for update in updates)
    return _ENCODER.encode(FeedDocument(header, messages))
