"""The rate limits the SP-API adapter paces itself on: Amazon's documented ones, with a margin.

Amazon's limits live in one table, `sim.quotas.OPERATIONS` (reference/spapi.md's, each checked against the rate and
burst the official models give in the operation's description): the simulator enforces them, and this module derates
them for the real adapter. Amazon's buckets are per seller and application and the engine keeps one pacer per
(seller, region, operation), so a limit here is one seller's.

Why 95%: our bucket and Amazon's do not start or refill in step (the network delays a call by a varying amount, and
Amazon's refill is not promised to the millisecond), so pacing at exactly the documented rate is throttled now and
then; five per cent under it costs little and turns those 429s into waits.
"""

from __future__ import annotations

import math
from typing import Final

from engine.ports import Quota
from sim.quotas import OPERATIONS as DOCUMENTED
from sim.quotas import Operation

__all__ = ["CALLED", "ENGINE_OPERATIONS", "LISTINGS_FEED", "MARGIN", "engine_quota", "quota"]

MARGIN: Final = 0.95

# The SP-API operations the adapter calls: the engine's reads and writes, and the Feeds API calls around a
# JSON_LISTINGS_FEED (the path for large submissions).
CALLED: Final = (
    "getItemOffersBatch",
    "getListingOffersBatch",
    "getFeaturedOfferExpectedPriceBatch",
    "getCompetitiveSummary",
    "getListingsItem",
    "patchListingsItem",
    "createFeedDocument",
    "createFeed",
    "getFeed",
    "getFeedDocument",
)

# JSON_LISTINGS_FEED's own limit, on top of createFeed's bucket: five submissions per five minutes per region
# (reference/spapi.md). Paced as if it were an operation, under the feed type's name.
LISTINGS_FEED: Final = "JSON_LISTINGS_FEED"
_FEED_TYPES: Final[dict[str, Operation]] = {LISTINGS_FEED: Operation(5 / 300, 5, 25_000)}

# The engine's operations (the `Marketplace` port's) and the SP-API operation each is made of, as the simulated
# adapter maps them: offers are polled by our SKUs (getListingOffersBatch), submissions go out one patch per SKU.
ENGINE_OPERATIONS: Final[dict[str, str]] = {
    "poll_offers": "getListingOffersBatch",
    "featured_offer_prices": "getFeaturedOfferExpectedPriceBatch",
    "featured_shares": "getCompetitiveSummary",
    "submit": "patchListingsItem",
    "read_back": "getListingsItem",
}


def quota(operation: str) -> Quota:
    """One seller's pace for an SP-API operation the adapter calls: 95% of the documented rate and burst.

    The burst is rounded down, but never below one call: a bucket of one (the pricing batches) stays one, since a
    bucket that holds less than a call could never make one. ``batch`` is the items one call may carry. `LISTINGS_FEED`
    is the feed type's own limit on createFeed calls that submit one."""
    documented = _FEED_TYPES.get(operation)
    if documented is None:
        if operation not in CALLED:
            raise KeyError(f"{operation!r} is not an SP-API operation the adapter calls ({', '.join(CALLED)})")
        documented = DOCUMENTED[operation]
    return Quota(
        rate=documented.rate * MARGIN,
        burst=max(1, math.floor(documented.burst * MARGIN + 1e-9)),  # 20 × 0.95 is 18.999…
        batch=documented.batch,
    )


def engine_quota(operation: str) -> Quota:
    """`quota` for one of the engine's operations (`engine.ports.Marketplace.quota`).

    patchListingsItem and getListingsItem take one SKU a call, so a batch of the engine's is as many calls: as many
    as one burst allows."""
    try:
        sp_operation = ENGINE_OPERATIONS[operation]
    except KeyError:
        raise KeyError(f"{operation!r} is not an engine operation ({', '.join(ENGINE_OPERATIONS)})") from None
    limit = quota(sp_operation)
    if DOCUMENTED[sp_operation].batch == 1:
        return Quota(limit.rate, limit.burst, batch=limit.burst)
    return limit
