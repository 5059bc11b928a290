"""Amazon's Selling Partner API behind the `Marketplace` port: the wire layer, pure and without I/O.

`wire` holds Amazon's JSON as msgspec Structs, one module per API. The modules here translate it to and from the
engine's types, one job each: `requests` (the bodies of the batch reads), `offers` (offers batches into
`OfferSnapshot`s), `featured` (FOEP into `FoepReading`s, competitive summaries into `ShareReading`s), `listings`
(a listing read back, a patch's reply), `encode` (an `OfferUpdate` as a patch or a feed message) and `feeds` (the
Feeds API around a JSON_LISTINGS_FEED and its processing report). Around the wire: `feeder` (a large submission
made a feed, and followed to each update's outcome), `auth` (a seller's Login with
Amazon access token, cached and renewed by one exchange at a time), `quotas` (the pace of each operation, 95% of
Amazon's documented limits) and `client` (`SpApiClient`: one seller's requests, bounded in flight, each under a
deadline, with 429, 5xx, timeouts and refused tokens sorted into the port's `Throttled`, `TransientError` and
`AccountError`).

Notifications: `notices` (an SQS message's ANY_OFFER_CHANGED or PRICING_HEALTH as a `Notice`, and a notice as
observations), `sqs` (the queue's ReceiveMessage and DeleteMessageBatch, SigV4-signed by botocore's signer),
`subscribe` (the destination and subscriptions, reused when found) and `inbox` (one reader per queue, a daemon
service, routing each notice to the adapter of its seller and marketplace).

Every batch decoder answers one item per key asked, in order: a snapshot or reading, or the key's `ItemFailure`
(its own status code and Amazon's errors, an item that cannot be read, an amount with more decimals than its
currency has). Only a reply whose envelope is broken raises, `WireError`, naming the path at fault. Amounts are
read as `Decimal`s from the JSON text and converted to minor units exactly (`engine.money`), never through a float.
"""

from adapters.spapi.auth import USER_AGENT, AccessTokens
from adapters.spapi.client import SpApiClient
from adapters.spapi.encode import PRODUCT_TYPE, feed_document, feed_message, message_id, offer_patches, patch_request
from adapters.spapi.featured import VALID_FOEP, featured_offer_prices, featured_shares, share_reading
from adapters.spapi.feeder import Feeder
from adapters.spapi.feeds import (
    CONTENT_TYPE,
    FEED_TYPE,
    FINISHED,
    create_feed_document_request,
    create_feed_request,
    created_feed,
    feed_failed,
    feed_results,
    feed_status,
    feed_upload,
    report_document,
    unpack,
)
from adapters.spapi.items import INVALID_RESPONSE, NO_RESPONSE
from adapters.spapi.listings import ListingReadBack, listings_item, patch_failure, patch_result
from adapters.spapi.offers import condition_of, item_offers, listing_offers
from adapters.spapi.quotas import ENGINE_OPERATIONS, LISTINGS_FEED, engine_quota, quota
from adapters.spapi.requests import (
    competitive_summary_request,
    featured_offer_price_request,
    item_offers_request,
    listing_offers_request,
)
from adapters.spapi.wire.common import WireError

__all__ = [
    "CONTENT_TYPE",
    "ENGINE_OPERATIONS",
    "FEED_TYPE",
    "FINISHED",
    "INVALID_RESPONSE",
    "LISTINGS_FEED",
    "NO_RESPONSE",
    "PRODUCT_TYPE",
    "USER_AGENT",
    "VALID_FOEP",
    "AccessTokens",
    "Feeder",
    "ListingReadBack",
    "SpApiClient",
    "WireError",
    "competitive_summary_request",
    "condition_of",
    "create_feed_document_request",
    "create_feed_request",
    "created_feed",
    "engine_quota",
    "featured_offer_price_request",
    "featured_offer_prices",
    "featured_shares",
    "feed_document",
    "feed_failed",
    "feed_message",
    "feed_results",
    "feed_status",
    "feed_upload",
    "item_offers",
    "item_offers_request",
    "listing_offers",
    "listing_offers_request",
    "listings_item",
    "message_id",
    "offer_patches",
    "patch_failure",
    "patch_request",
    "patch_result",
    "quota",
    "report_document",
    "share_reading",
    "unpack",
]
