"""What a strategy sees: one offer's market, distilled from the latest observations by the policy."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

import msgspec

from engine.model import BuyBoxPrice, CompetitorOffer, OfferBounds, OfferKey, OurListing, Reason
from engine.pricing.learning import Lesson
from engine.pricing.scoring import ScorePrior

__all__ = ["MarketView", "Step", "Strategy", "rebased", "state_problem", "usable_view"]


class MarketView(msgspec.Struct, frozen=True, gc=False):
    """The competitive situation of one live offer, as the policy hands it to a strategy.

    ``competitors`` are already filtered by the channel's rules; ``winner`` is the Buy Box winner in our segment
    (None when Amazon named none). ``foep`` is Amazon's featured offer expected price when it is fresh enough to use;
    ``foep_ours`` says whether our offer was the featured one when Amazon made that estimate (None: not said).
    ``share`` is our share of the Buy Box from the competitive summary, read at ``share_at``, as Amazon last
    computed it at our listing price ``share_price`` (None: no fresh reading, or our offer featured nowhere).
    """

    key: OfferKey
    now: float
    as_of: float
    bounds: OfferBounds
    tick: int
    our: OurListing
    competitors: tuple[CompetitorOffer, ...]
    winner: BuyBoxPrice | None = None
    foep: int | None = None
    foep_at: float | None = None
    foep_ours: bool | None = None
    share: float | None = None
    share_price: int | None = None
    share_at: float | None = None
    # The marketplace's learned Buy Box weights, when its runtime has learned any (see engine.pricing.learning).
    prior: ScorePrior | None = None
    # The last price this offer asked for never left: it was dropped while the offer was paused. A strategy waiting
    # for its last target to go live asks for it again instead (a price Amazon refused is not asked for again).
    unsent: bool = False

    @property
    def we_hold(self) -> bool:
        return self.our.is_buybox_winner

    @property
    def lowest_landed(self) -> int | None:
        return min((c.landed_price for c in self.competitors), default=None)

    def winning_rival(self) -> CompetitorOffer | None:
        """The competitor holding the Buy Box, if it is one we price against."""
        for rival in self.competitors:
            if rival.is_buybox_winner:
                return rival
        if self.winner is not None and self.winner.seller_id is not None:
            for rival in self.competitors:
                if rival.seller_id == self.winner.seller_id:
                    return rival
        return None


S = TypeVar("S")


class Step(msgspec.Struct, Generic[S], frozen=True, gc=False):
    """A strategy's answer: the price it wants (None = leave the price as it is), why, and its next state.

    ``signal_backed`` marks a move justified by a fresh direct signal (the winner's price, FOEP), which the guard
    does not step-cap. ``recheck_at`` asks for a fresh observation at that time even if nothing changes;
    ``want_foep`` asks for a FOEP reading soon (they are scarce: 40 offers a call, a call every 30 s), and
    ``want_share`` for our share of the Buy Box (20 offers a call, a call every 30 s);
    ``learned`` is what a converged search measured of Amazon's weights, for the marketplace to learn from.

    A Struct rather than a NamedTuple: one or two are made for every decision, and a NamedTuple's constructor (and
    its ``_replace``) runs in Python; nothing here refers to another Step, so the collector need not track one.
    """

    target: int | None
    reason: Reason
    state: S
    signal_backed: bool = False
    recheck_at: float | None = None
    want_foep: bool = False
    learned: Lesson | None = None
    want_share: bool = False


class Strategy(Protocol[S]):
    """A pricing strategy for the competitive case; the policy has already applied the domain rules.

    The engine's own search implements it, and so does each of the benchmark's baselines, so all of them run in
    the same actors against the same simulator.
    """

    @property
    def name(self) -> str: ...

    def initial_state(self) -> S: ...

    def decide(self, view: MarketView, state: S) -> Step[S]: ...

    def rebase(self, state: S, delta: float) -> S:
        """``state`` with every time in it (seconds on trio's clock) moved by ``delta``, and nothing else.

        Trio's clock starts anew in each process, so a state stored by one process means something else to the
        next: the daemon moves its times onto the wall clock before it stores them, and onto the new process's
        clock once it reads them back. Deciding on a view whose times are all moved by ``delta``, from the state
        rebased by ``delta``, must then give the same price and the next state rebased by ``delta``.
        """


Clocked = TypeVar("Clocked", bound=msgspec.Struct)


def rebased(state: Clocked, times: Iterable[str], delta: float) -> Clocked:
    """``state`` with the fields named in ``times`` moved by ``delta``: each holds a time, None, or a tuple of times.

    A time of ±inf ("never", "always") stays what it is, as float arithmetic has it.
    """
    return msgspec.structs.replace(state, **{name: _moved(getattr(state, name), delta) for name in times})


def _moved(time: float | tuple[float, ...] | None, delta: float) -> float | tuple[float, ...] | None:
    if time is None:
        return None
    if isinstance(time, tuple):
        return tuple(t + delta for t in time)
    return time + delta


# No price, count or time of a state comes near 2⁵³; a larger integer (an overflow in a float, hand-edited data) is
# a corrupt state, not a value to take logarithms of.
_LARGEST = 2**53


def state_problem(state: msgspec.Struct, latest: float) -> str | None:
    """Why a stored state, decoded and rebased onto this process's clock, cannot be resumed, or None.

    Decoding checks types, not values: a NaN anywhere poisons every comparison the strategy makes (a recheck at
    NaN ended a marketplace's intake), and a time on the clock later than ``latest`` (a state written by a process
    whose clock ran ahead, or edited by hand) holds the search until then: every observation looks older than the
    one it last used. Nested states (a baseline's tracking) are checked too; their time fields are the ones each
    struct names in ``CLOCK_FIELDS``.
    """
    times: tuple[str, ...] = getattr(type(state), "CLOCK_FIELDS", ())
    for name in state.__struct_fields__:
        value = getattr(state, name)
        if isinstance(value, msgspec.Struct):
            problem = state_problem(value, latest)
            if problem is not None:
                return f"{name}.{problem}"
            continue
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, float) and math.isnan(item):
                return f"{name} is NaN"
            if isinstance(item, int) and abs(item) > _LARGEST:
                return f"{name} {item} is out of range"
            if name in times and isinstance(item, float) and item > latest:
                return f"{name} lies {item - latest:.0f} s past the latest time a resumed state may hold"
    return None


def usable_view(view: MarketView) -> MarketView | Reason:
    """``view`` as a strategy decides on it, or the reason it holds instead (its state unchanged).

    Every log and division of the strategies takes a listing or landed price (ours, our min, FOEP, a rival's) or
    the tick, so a view where one of them is not positive is no market to price in but a feed's or a setting's
    error: our price or min at 0, a shipping charge that takes a landed price to 0 or below, a FOEP of 0. An
    observation time that is not a number is no data: taken in, it would become a recheck time and a state time.
    One from the future counts as made now: taken as it is, it would make every later observation look stale. A
    rival (or a Buy Box winner) at a landed price of 0 or below is no price either: it is left out, as the
    policy's filter leaves out a listing price of 0. The intake's and the settings' checks keep all of this out
    first; this is the second line, and on a sane market it hands ``view`` back as it is.
    """
    if view.as_of > view.now:
        view = msgspec.structs.replace(view, as_of=view.now)
    if not (math.isfinite(view.now) and math.isfinite(view.as_of)):
        return Reason.NO_DATA
    our, bounds = view.our, view.bounds
    if (
        view.tick < 1
        or our.listing_price <= 0
        or our.landed_price <= 0
        or bounds.min_price <= 0
        or bounds.min_price + our.shipping <= 0
        or bounds.max_price < bounds.min_price
        or (view.foep is not None and (view.foep <= 0 or view.foep + our.shipping <= 0))
    ):
        return Reason.DEGENERATE_MARKET
    unpriced = False
    for rival in view.competitors:  # a loop, not any() over a generator: this runs for every decision
        if rival.listing_price + rival.shipping <= 0:
            unpriced = True
            break
    if unpriced:
        priced = tuple(rival for rival in view.competitors if rival.landed_price > 0)
        if not priced:
            return Reason.NO_COMPETITION
        view = msgspec.structs.replace(view, competitors=priced)
    if view.winner is not None and view.winner.landed_price <= 0:
        view = msgspec.structs.replace(view, winner=None)
    return view
