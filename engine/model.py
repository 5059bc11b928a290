"""The engine's data: frozen msgspec Structs that travel between actors and to the store.

Prices are ``int`` minor units of the offer's marketplace currency (see `engine.money`). Times named ``*_at`` are
seconds on trio's clock (`engine.ports.Clock.now`); wall-clock timestamps only appear at the adapter edge.

Messages that travel between actors are tagged so a receiver dispatches with ``match``. Leaf structs that hold
only scalars or tuples of frozen structs cannot form reference cycles, so they opt out of the garbage collector
(``gc=False``): with 100,000 offer actors each holding a snapshot, the collector would otherwise walk millions of
objects on every full collection.
"""

from __future__ import annotations

import enum
import math
from decimal import Decimal
from typing import Literal

import msgspec

__all__ = [
    "OUTBOX_UNANSWERED",
    "BuyBoxAction",
    "BuyBoxPrice",
    "BuyBoxState",
    "ChannelSettings",
    "CompetitorFilter",
    "CompetitorOffer",
    "Condition",
    "Decision",
    "DecisionInputs",
    "Fees",
    "FoepReading",
    "Fulfilment",
    "HealthEvent",
    "ListingState",
    "MarginLevel",
    "Observation",
    "ObservationSource",
    "OfferBounds",
    "OfferKey",
    "OfferSettings",
    "OfferSnapshot",
    "OfferUpdate",
    "OurListing",
    "OutboxEntry",
    "OutboxMark",
    "OutboxState",
    "PriceIntent",
    "PricePoint",
    "Reason",
    "Segment",
    "SubmissionResult",
    "SubmissionStatus",
]


class Fulfilment(enum.StrEnum):
    """Who ships: the seller's own warehouse (FBM, ``DEFAULT`` at Amazon) or Amazon's (FBA, ``AMAZON_xx``)."""

    MERCHANT = "merchant"
    AMAZON = "amazon"


class Condition(enum.StrEnum):
    """Amazon's ``condition_type`` values (Listings Items API)."""

    NEW = "new_new"
    NEW_OPEN_BOX = "new_open_box"
    NEW_OEM = "new_oem"
    REFURBISHED = "refurbished_refurbished"
    USED_LIKE_NEW = "used_like_new"
    USED_VERY_GOOD = "used_very_good"
    USED_GOOD = "used_good"
    USED_ACCEPTABLE = "used_acceptable"
    COLLECTIBLE_LIKE_NEW = "collectible_like_new"
    COLLECTIBLE_VERY_GOOD = "collectible_very_good"
    COLLECTIBLE_GOOD = "collectible_good"
    COLLECTIBLE_ACCEPTABLE = "collectible_acceptable"
    CLUB = "club_club"

    @property
    def group(self) -> str:
        """The pricing API's ``ItemCondition`` class: New, Used, Collectible, Refurbished or Club."""
        return _CONDITION_GROUPS[self]


# Looked up for every competitor of every decision: computed once.
_CONDITION_GROUPS: dict[Condition, str] = {c: c.value.split("_", 1)[0].capitalize() for c in Condition}


Segment = Literal["prime", "non_prime"]


class OfferKey(msgspec.Struct, frozen=True, gc=False, order=True):
    """One offer: a seller account's SKU on one marketplace (country code, "DE").

    Two sellers may list the same SKU on the same marketplace, so the seller (Amazon's selling partner id, or the
    account name the configuration gives it) is part of every key.
    """

    seller: str
    marketplace: str
    sku: str

    def __str__(self) -> str:
        return f"{self.seller}/{self.marketplace}/{self.sku}"


# --- what the seller configures -------------------------------------------------------------------------------


class OfferBounds(msgspec.Struct, frozen=True, gc=False):
    """The price range the engine may use for one offer; `engine.pricing.bounds` builds and checks it."""

    min_price: int
    max_price: int


class MarginLevel(msgspec.Struct, frozen=True, gc=False):
    """Margins as shares of net revenue (0.12 = 12%); min and max bounds are derived from them."""

    min_margin: Decimal
    max_margin: Decimal


class Fees(msgspec.Struct, frozen=True, gc=False):
    """Amazon's fees for one offer: a share of the gross price, a fixed fee and a fulfilment fee per type."""

    variable_fee: Decimal = Decimal(0)
    fixed_fee: int = 0
    fulfilment_fee_merchant: int = 0
    fulfilment_fee_amazon: int = 0

    def fulfilment_fee(self, fulfilment: Fulfilment) -> int:
        if fulfilment is Fulfilment.AMAZON:
            return self.fulfilment_fee_amazon
        return self.fulfilment_fee_merchant


class BuyBoxAction(enum.StrEnum):
    """What a channel does when the Buy Box is not available to us (suppressed, or our offer disqualified)."""

    HOLD = "hold"
    USE_MAX = "use_max"
    COMPETE_LOWEST = "compete_lowest"
    USE_SALE_PRICE = "use_sale_price"


class CompetitorFilter(msgspec.Struct, frozen=True, gc=False):
    """Which competing offers count. An empty ``conditions`` means offers in our own condition only."""

    conditions: tuple[Condition, ...] = ()
    fulfilment: tuple[Fulfilment, ...] = (Fulfilment.MERCHANT, Fulfilment.AMAZON)
    min_feedback_pct: int = 0
    min_feedback_count: int = 0
    include_amazon: bool = True
    max_handling_hours: int | None = None

    def __post_init__(self) -> None:
        # Checked wherever settings enter (a config file, the control socket, code): msgspec runs this on decode
        # too, and names the field in its error.
        if not 0 <= self.min_feedback_pct <= 100:
            raise ValueError(f"min_feedback_pct {self.min_feedback_pct} is not a percentage (0 to 100)")
        if self.min_feedback_count < 0:
            raise ValueError(f"min_feedback_count {self.min_feedback_count} is negative")
        if self.max_handling_hours is not None and self.max_handling_hours < 0:
            raise ValueError(f"max_handling_hours {self.max_handling_hours} is negative")


class ChannelSettings(msgspec.Struct, frozen=True, gc=False):
    """The repricer settings of one marketplace (the seed's integration settings)."""

    buybox_unavailable_action: BuyBoxAction = BuyBoxAction.HOLD
    no_competition_use_sale_price: bool = False
    send_prices_only: bool = False
    competitors: CompetitorFilter = CompetitorFilter()
    # A move not backed by a fresh signal may change the price by at most this share; a typo in a bound or a
    # bug in a strategy then costs one capped step, not the whole margin.
    step_cap: Decimal = Decimal("0.10")
    # An observation older than this is "no fresh data": the offer holds.
    max_observation_age_s: float = 1800.0
    dry_run: bool = False

    def __post_init__(self) -> None:
        # A step cap that is not a share in (0, 1] either stops every unbacked move (0), lets a typo through whole
        # (above 1), or raises inside the guard (NaN): refused where the settings enter, naming the field.
        if not (self.step_cap.is_finite() and 0 < self.step_cap <= 1):
            raise ValueError(f"step_cap {self.step_cap} is not a share above 0 and at most 1 (0.10 = 10%)")
        if not (math.isfinite(self.max_observation_age_s) and self.max_observation_age_s > 0):
            raise ValueError(f"max_observation_age_s {self.max_observation_age_s} is not a positive number of seconds")


class OfferSettings(msgspec.Struct, frozen=True, gc=False):
    """One repriced offer as the seller configured it: identity, bounds and what travels with the price."""

    key: OfferKey
    asin: str
    currency: str
    bounds: OfferBounds
    condition: Condition = Condition.NEW
    fulfilment: Fulfilment = Fulfilment.MERCHANT
    sale_price: int | None = None
    quantity: int | None = None
    lead_time_days: int | None = None
    shipping_group: str | None = None
    repricing: bool = True


# --- what Amazon tells us -------------------------------------------------------------------------------------


# FOEP readings and pricing-health events are observations of their own types, and a read-back is a `ListingState`.
ObservationSource = Literal["notification", "poll"]


class CompetitorOffer(msgspec.Struct, frozen=True, gc=False):
    """A competing offer as Amazon lists it (not ours)."""

    seller_id: str
    listing_price: int
    shipping: int = 0
    fulfilment: Fulfilment = Fulfilment.MERCHANT
    condition: Condition = Condition.NEW
    is_amazon: bool = False
    prime: bool = False
    feedback_pct: int | None = None
    feedback_count: int = 0
    handling_max_hours: int = 48
    is_buybox_winner: bool = False

    @property
    def landed_price(self) -> int:
        return self.listing_price + self.shipping


class OurListing(msgspec.Struct, frozen=True, gc=False):
    """Our own offer as Amazon shows it; ``live`` is false while it is not yet buyable."""

    listing_price: int
    shipping: int = 0
    live: bool = True
    fulfilment: Fulfilment = Fulfilment.MERCHANT
    prime: bool = False
    feedback_pct: int | None = None
    handling_max_hours: int = 48
    is_buybox_winner: bool = False

    @property
    def landed_price(self) -> int:
        return self.listing_price + self.shipping


class BuyBoxPrice(msgspec.Struct, frozen=True, gc=False):
    """A Buy Box winner's price; Amazon may report one per segment (Prime and non-Prime)."""

    landed_price: int
    listing_price: int
    shipping: int = 0
    segment: Segment | None = None
    seller_id: str | None = None


BuyBoxState = Literal["available", "suppressed"]


class OfferSnapshot(msgspec.Struct, frozen=True, gc=False, tag=True):
    """The offers on our item at one moment: from a notification, a poll or a read-back.

    ``as_of`` is when the data was true at Amazon (a notification's offer-change time), ``received_at`` when it
    reached us; their difference is the age the policy weighs. ``our`` is None when Amazon did not list our offer
    (not live, or not among the top 20). ``competitive_price_threshold`` is Amazon's CompetitivePriceThreshold
    (getItemOffers and ANY_OFFER_CHANGED summaries; getCompetitiveSummary's reference prices): an offer whose landed
    price is above it cannot be featured. None where Amazon gives none.
    """

    key: OfferKey
    source: ObservationSource
    as_of: float
    received_at: float
    our: OurListing | None
    competitors: tuple[CompetitorOffer, ...]
    buybox: tuple[BuyBoxPrice, ...] = ()
    buybox_state: BuyBoxState = "available"
    competitive_price_threshold: int | None = None


class FoepReading(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Amazon's featured offer expected price for our offer (``None`` when Amazon gave none, with the status)."""

    key: OfferKey
    as_of: float
    price: int | None
    status: str = "VALID_FOEP"
    # Whether our offer was the featured offer when Amazon made the estimate (its currentFeaturedOffer is ours, so
    # differs from competingFeaturedOffer): the estimate is then our threshold as the incumbent. None: not said.
    ours_featured: bool | None = None


class ShareReading(msgspec.Struct, frozen=True, gc=False, tag=True):
    """Our offer's share of the Buy Box from the item's competitive summary (getCompetitiveSummary).

    Amazon lists each featured offer with the glance-view weight of the segments it is featured in: ``share`` is
    ours (0..1), and ``price`` the listing price our offer was featured at, i.e. as of Amazon's last recompute;
    both None when our offer is featured nowhere. Under a shared Buy Box the share moves smoothly with our price
    around the threshold, so one reading says how far from it we are (`engine.pricing.search`).
    """

    key: OfferKey
    as_of: float
    share: float | None
    price: int | None = None


class HealthEvent(msgspec.Struct, frozen=True, gc=False, tag=True):
    """PRICING_HEALTH: our offer was disqualified from the Buy Box (or qualified again)."""

    key: OfferKey
    as_of: float
    disqualified: bool
    reference_price: int | None = None


Observation = OfferSnapshot | FoepReading | ShareReading | HealthEvent


class ListingState(msgspec.Struct, frozen=True, gc=False):
    """Our listing as read back from the Listings API: the live price, without the competition.

    It verifies that an accepted update was applied; it is not an observation of the market (it has no
    competitors, and routing it as one would look like "no competition").
    """

    key: OfferKey
    as_of: float
    price: int | None
    live: bool = True


# --- what the engine decides and sends --------------------------------------------------------------------------


class Reason(enum.StrEnum):
    """Why a decision came out as it did; kept in each SKU's decision trace."""

    NO_COMPETITION = "no_competition"
    NO_COMPETITION_SALE_PRICE = "no_competition_sale_price"
    SUPPRESSED = "buybox_suppressed"
    DISQUALIFIED = "offer_disqualified"
    ABOVE_THRESHOLD = "above_competitive_price_threshold"
    NO_DATA = "no_fresh_data"
    DEGENERATE_MARKET = "degenerate_market"  # a price, min or FOEP at or below 0: a feed's or a setting's error
    NOT_LIVE = "offer_not_live"
    PAUSED = "paused"
    FIRST_PROBE_FOEP = "first_probe_foep"
    FIRST_PROBE_WINNER = "first_probe_winner"
    CHALLENGE = "challenge"
    SEARCH_UP = "search_up"
    CONVERGED = "converged"
    SECURED = "secured"
    SHARE_ESTIMATE = "share_estimate"
    RECONVERGE = "reconverge"
    AWAIT_LIVE = "await_live"
    UNWINNABLE = "unwinnable"
    WAR_DAMPED = "price_war_damped"
    WAR_RESET = "price_war_reset"
    BASELINE = "baseline_strategy"
    REJECTED = "update_rejected"
    RESUMED = "resent_after_restart"
    INVALID_OBSERVATION = "invalid_observation"  # dropped where it entered (`engine.actors.validate`); no decision


class DecisionInputs(msgspec.Struct, frozen=True, gc=False):
    """A short summary of what a decision saw, for the trace."""

    our_price: int | None = None
    our_live: bool = False
    we_win: bool = False
    winner_landed: int | None = None
    lowest_landed: int | None = None
    foep: int | None = None
    competitors: int = 0
    age_s: float = 0.0
    competitive_cap: int | None = None  # the max as lowered to Amazon's competitive price threshold


class Decision(msgspec.Struct, frozen=True, gc=False):
    """One decision: a target price (None = hold, send nothing) and why."""

    key: OfferKey
    at: float
    target: int | None
    reason: Reason
    inputs: DecisionInputs = DecisionInputs()
    # True when the target follows from a fresh direct signal (winner price, FOEP), so the guard's step cap
    # does not apply.
    signal_backed: bool = False


class PriceIntent(msgspec.Struct, frozen=True, gc=False, tag=True):
    """An offer actor's wish to price ``key`` at ``price``; the batcher keeps only the latest per SKU."""

    key: OfferKey
    price: int
    reason: Reason
    decided_at: float
    signal_backed: bool = False


class OfferUpdate(msgspec.Struct, frozen=True, gc=False, tag=True):
    """The full offer as sent to Amazon: price, bounds and, unless prices only, stock and handling.

    A price and a quantity travel together so new stock never goes live at a stale price, and the full
    ``purchasable_offer`` is always sent because Amazon's ``replace`` drops any sub-field left out. ``quantity`` is
    None when it is not to change: always for an offer Amazon fulfils (sending one would turn it into a
    merchant-fulfilled offer), and when the quantity Amazon already has is the one to offer.
    """

    key: OfferKey
    update_id: int
    currency: str
    price: int
    min_price: int
    max_price: int
    fulfilment: Fulfilment = Fulfilment.MERCHANT
    sale_price: int | None = None
    quantity: int | None = None
    lead_time_days: int | None = None
    shipping_group: str | None = None
    prices_only: bool = False


SubmissionStatus = Literal["accepted", "invalid", "throttled", "failed", "submitted"]


class SubmissionResult(msgspec.Struct, frozen=True, gc=False, tag=True):
    """What Amazon said to one update. ``accepted`` is not applied: it is verified by reading back. ``submitted``
    (always with the ``submission_id``) says only that Amazon has it, in a feed it processes for minutes: the
    update's own outcome comes later (`engine.ports.FollowsSubmissions`)."""

    key: OfferKey
    update_id: int
    status: SubmissionStatus
    at: float
    price: int
    issues: tuple[str, ...] = ()
    submission_id: str | None = None  # Amazon's id for the call that carried it (a feed's, or a patch's)


# --- the outbox: each update's life, as the store keeps it --------------------------------------------------------


class OutboxState(enum.StrEnum):
    """Where one update stands. ``stored`` before it is sent (so a crash cannot lose it); ``submitted`` once Amazon
    took the call and gave a submission id but has not answered for the update (a feed being processed);
    ``accepted`` when Amazon said yes, which is not yet applied; ``verified`` once read back live. ``failed`` did
    not get through and will be sent again; ``given_up`` failed too often, or was accepted and never applied;
    ``invalid`` was refused with Amazon's issues; ``superseded`` was overtaken by a newer update of the same offer.
    """

    STORED = "stored"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    VERIFIED = "verified"
    FAILED = "failed"
    GIVEN_UP = "given_up"
    INVALID = "invalid"
    SUPERSEDED = "superseded"

    @property
    def final(self) -> bool:
        return self in _FINAL

    def may_become(self, other: OutboxState) -> bool:
        """Whether an update in this state can move to ``other`` (states only move forward)."""
        return other in _NEXT[self]


_FINAL = frozenset({OutboxState.VERIFIED, OutboxState.GIVEN_UP, OutboxState.INVALID, OutboxState.SUPERSEDED})
_ENDS = frozenset({OutboxState.GIVEN_UP, OutboxState.SUPERSEDED})
_NEXT: dict[OutboxState, frozenset[OutboxState]] = {
    OutboxState.STORED: frozenset(
        {OutboxState.SUBMITTED, OutboxState.ACCEPTED, OutboxState.FAILED, OutboxState.INVALID} | _ENDS
    ),
    OutboxState.SUBMITTED: frozenset({OutboxState.ACCEPTED, OutboxState.FAILED, OutboxState.INVALID} | _ENDS),
    OutboxState.ACCEPTED: frozenset({OutboxState.VERIFIED} | _ENDS),
    OutboxState.FAILED: _ENDS,
    **{state: frozenset() for state in _FINAL},
}

# Updates that were sent again after a restart: not answered (or failed and due to be retried).
OUTBOX_UNANSWERED = frozenset({OutboxState.STORED, OutboxState.SUBMITTED, OutboxState.FAILED})


class OutboxMark(msgspec.Struct, frozen=True, gc=False):
    """One transition of one update: to ``state`` at ``at``, with Amazon's submission id or issues when it gave
    them."""

    key: OfferKey
    update_id: int
    state: OutboxState
    at: float
    submission_id: str | None = None
    issues: tuple[str, ...] = ()


class OutboxEntry(msgspec.Struct, frozen=True, gc=False):
    """One update and where it stands; ``at`` is its last transition, ``failures`` how often it failed."""

    update: OfferUpdate
    state: OutboxState
    at: float
    submission_id: str | None = None
    failures: int = 0
    issues: tuple[str, ...] = ()


class PricePoint(msgspec.Struct, frozen=True, gc=False):
    """A price of ours that went live, and when Amazon showed it live first."""

    key: OfferKey
    at: float
    price: int
