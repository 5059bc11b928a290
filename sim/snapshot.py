"""What the simulated Amazon tells a seller: offer snapshots, notifications and FOEP readings.

These are the simulator's own shapes (the adapter turns them into the engine's observations), but their parts
are the engine's `OurListing`, `CompetitorOffer` and `BuyBoxPrice`, so no field is translated twice. Everything
that leaves the simulator here is int minor units. The competitive summary is the exception: it leaves in the
shape of Amazon's own model (`sim.summary`), which the adapter decodes as it would Amazon's reply.
"""

from __future__ import annotations

import enum
from typing import Literal

import msgspec

from engine.model import BuyBoxPrice, CompetitorOffer, OurListing

__all__ = [
    "FoepResult",
    "FoepStatus",
    "Notification",
    "NotificationKind",
    "OfferChangeType",
    "Snapshot",
]

TOP_OFFERS = 20  # Amazon lists at most 20 offers in a pricing response or notification

NotificationKind = Literal["ANY_OFFER_CHANGED", "PRICING_HEALTH"]
OfferChangeType = Literal["External", "Internal", "FeaturedOffer"]


class Snapshot(msgspec.Struct, frozen=True, gc=False):
    """The offers on one row's item at ``as_of``, as Amazon lists them.

    ``our`` is None when our offer is not buyable (not yet live, or out of stock). ``competitors`` are the
    buyable competing offers, cheapest landed price first, at most 20. ``featured_seller_id`` is the Buy Box
    holder, the offer featured for the most glance views (None when nobody holds it), and the only offer marked
    ``is_buybox_winner``; ``suppressed`` means no offer is eligible. ``segment_winners`` are the Buy Box prices of
    the Prime and the non-Prime segments when their winners differ (getItemOffers' BuyBoxPrices), else empty.
    ``our_disqualified`` says our offer is above the reference price (``reference_price``, None where the item has
    none).
    """

    row: int
    as_of: float
    our: OurListing | None
    competitors: tuple[CompetitorOffer, ...]
    featured_seller_id: str | None
    suppressed: bool
    our_disqualified: bool
    reference_price: int | None
    segment_winners: tuple[BuyBoxPrice, ...] = ()


class Notification(msgspec.Struct, frozen=True, gc=False):
    """One delivered notification. ``event_at`` is when the change happened at Amazon (the payload's
    TimeOfOfferChange), ``delivered_at`` when it reached the queue; ``snapshot`` is the state at ``event_at``.

    For PRICING_HEALTH ``disqualified`` says whether our offer lost (True) or regained (False) Buy Box
    eligibility by the reference-price rule.
    """

    kind: NotificationKind
    notification_id: str
    row: int
    event_at: float
    delivered_at: float
    change_type: OfferChangeType
    snapshot: Snapshot
    disqualified: bool | None = None


class FoepStatus(enum.StrEnum):
    """Amazon's ``resultStatus`` values for a featured offer expected price."""

    VALID = "VALID_FOEP"
    NO_COMPETING_OFFER = "NO_COMPETING_OFFER"
    OFFER_NOT_ELIGIBLE = "OFFER_NOT_ELIGIBLE"
    OFFER_NOT_FOUND = "OFFER_NOT_FOUND"
    ASIN_NOT_ELIGIBLE = "ASIN_NOT_ELIGIBLE"


class FoepResult(msgspec.Struct, frozen=True, gc=False):
    """One FOEP reading: Amazon's estimate as of its last refresh (``as_of``), not as of the call."""

    row: int
    price: int | None
    status: FoepStatus
    as_of: float
    # Whether our offer was the featured offer when Amazon made the estimate (the reply's currentFeaturedOffer is
    # ours): the estimate is then our threshold as the incumbent, not a challenger's.
    ours_featured: bool = False
