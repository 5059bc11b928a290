"""The decision policy: the domain rules of DESIGN.md, then a strategy for the competitive case.

Rules, in order, each with its own reason in the trace:
1. repricing off for the offer, or paused by the operator: hold;
2. no fresh data (nothing observed, or older than the channel's limit): hold;
3. our offer is not live: hold. Never chase the Buy Box down while Amazon does not show our offer yet (it may be
   unapproved or still processing); the price it would go live at is the one the seller set;
4. our offer disqualified from the Buy Box (PRICING_HEALTH) where no price within bounds cures it, or the Buy Box
   suppressed for everyone where our price does not cure it: the channel's configured action (hold, use max,
   compete with the lowest landed price, use the sale price), never above the threshold below;
5. no competition after the channel's filters: max, or the sale price when "with no competition, use sale price
   as maximum price" is on;
6. otherwise the strategy decides, seeing competitors filtered by condition, fulfilment type, feedback and
   Amazon retail, and the Buy Box winner in our segment (Prime if our offer is Prime, else non-Prime). Our offer
   holds the Buy Box when it is featured for most shoppers: where Amazon marks two winners, ours and a rival's,
   that is one segment each, and `_holder` says which of the two holds.

Amazon's competitive price threshold (in the offers' summary, or named by PRICING_HEALTH) caps the max of rules 5
and 6: an offer whose landed price is above it cannot be featured, so the highest price that still wins lies at or
below it. That is also what cures a disqualification our own price caused (a probe above the threshold): the
strategy goes on within [min, threshold] instead of holding a price that can never win (where it would hold a
price above the threshold, the price comes down to it). Only when the threshold lies below our min does rule 4
apply to a disqualification. A Buy Box suppressed for everyone while our price is above a threshold within our
bounds is the same case: Amazon features no offer because every one is priced above the threshold, so ours, once
below it, is featured; the strategy goes on within [min, threshold] there too. Holding at max instead (the
channel's default action) left such an offer without the Buy Box all day although a price within its bounds wins.
The threshold is Amazon's own signal, so a move from above it that no fresh signal backs is signal-backed down to
it: the guard's step cap would otherwise stop it above the threshold, where the offer cannot be featured.

The policy is pure: it takes the time as an argument and returns the new strategy state with the decision.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from engine.model import (
    BuyBoxAction,
    BuyBoxPrice,
    ChannelSettings,
    CompetitorOffer,
    Decision,
    DecisionInputs,
    FoepReading,
    HealthEvent,
    OfferBounds,
    OfferSettings,
    OfferSnapshot,
    OurListing,
    Reason,
    ShareReading,
)
from engine.pricing.guard import max_step, on_tick
from engine.pricing.learning import Lesson
from engine.pricing.scoring import ScorePrior
from engine.pricing.view import MarketView, Strategy

__all__ = ["Outcome", "PolicyInputs", "decide", "filter_competitors", "segment_winner"]

S = TypeVar("S")

# A FOEP reading older than this is not used as a first-probe signal.
FOEP_MAX_AGE_S = 900.0


class PolicyInputs(msgspec.Struct, frozen=True, gc=False):
    """Everything one decision looks at: the offer's settings and the newest observation of each kind."""

    settings: OfferSettings
    channel: ChannelSettings
    tick: int
    snapshot: OfferSnapshot | None = None
    foep: FoepReading | None = None
    share: ShareReading | None = None
    health: HealthEvent | None = None
    paused: bool = False
    prior: ScorePrior | None = None
    asked: int | None = None  # the last price this offer asked for (live or not yet)
    unsent: bool = False  # the last price asked for was dropped unsent (the offer was paused meanwhile)


class Outcome(msgspec.Struct, Generic[S], frozen=True, gc=False):
    """A decision with the strategy's next state and its asks (see `Step`); a Struct for the reason a Step is one."""

    decision: Decision
    state: S
    recheck_at: float | None = None
    want_foep: bool = False
    learned: Lesson | None = None
    want_share: bool = False


def decide(inputs: PolicyInputs, strategy: Strategy[S], state: S, now: float) -> Outcome[S]:
    """Apply the rules to ``inputs`` at time ``now``; the strategy is consulted only in the competitive case."""
    # This runs for every observation of every offer: no closures, and one pass each over the competitors.
    settings, channel, snapshot = inputs.settings, inputs.channel, inputs.snapshot
    key, bounds = settings.key, settings.bounds
    if not settings.repricing or inputs.paused:
        return Outcome(Decision(key, now, None, Reason.PAUSED, _NOTHING_SEEN), state)
    if snapshot is None or not now - snapshot.as_of <= channel.max_observation_age_s:
        return Outcome(Decision(key, now, None, Reason.NO_DATA, _NOTHING_SEEN), state)
    our = _holder(snapshot, _fresh_share(inputs.share, now))
    competitors = filter_competitors(snapshot.competitors, settings, channel)
    winner = segment_winner(snapshot.buybox, our)
    summary = _summary(snapshot, our, competitors, winner, inputs.foep, now)
    if our is None or not our.live:
        return Outcome(Decision(key, now, None, Reason.NOT_LIVE, summary), state)
    cap = _competitive_cap(snapshot, inputs.health, our, inputs.tick, bounds.min_price)
    if cap is not None and cap < bounds.max_price:
        bounds = OfferBounds(bounds.min_price, cap)
        summary = msgspec.structs.replace(summary, competitive_cap=cap)
    unavailable: Reason | None = None
    if inputs.health is not None and inputs.health.disqualified and cap is None:
        unavailable = Reason.DISQUALIFIED
    elif snapshot.buybox_state == "suppressed" and (cap is None or our.listing_price <= cap):
        unavailable = Reason.SUPPRESSED
    if unavailable is not None:
        price = _unavailable_price(inputs, bounds, competitors, our)
        return Outcome(Decision(key, now, price, unavailable, summary, price is not None), state)
    if not competitors:
        if channel.no_competition_use_sale_price and settings.sale_price is not None:
            sale = _sale_target(settings.sale_price, bounds, inputs.tick)
            return Outcome(Decision(key, now, sale, Reason.NO_COMPETITION_SALE_PRICE, summary, True), state)
        return Outcome(Decision(key, now, bounds.max_price, Reason.NO_COMPETITION, summary, True), state)

    foep = inputs.foep
    share = _fresh_share(inputs.share, now)
    # The required fields by position: with all sixteen by keyword, msgspec builds the view 5x slower (0.9 µs).
    view = MarketView(
        key,
        now,
        snapshot.as_of,
        bounds,
        inputs.tick,
        our,
        competitors,
        winner=winner,
        foep=_fresh_foep(foep, now),
        foep_at=None if foep is None else foep.as_of,
        foep_ours=None if foep is None else foep.ours_featured,
        share=share.share if share is not None else None,
        share_price=share.price if share is not None else None,
        share_at=share.as_of if share is not None else None,
        prior=inputs.prior,
        unsent=inputs.unsent,
    )
    step = strategy.decide(view, state)
    target, signal_backed = step.target, step.signal_backed
    if summary.competitive_cap is not None:
        # Strategies keep to the bounds they see, give or take the guard's rounding onto the tick; the guard
        # itself knows only the offer's own max, so the threshold is enforced here.
        on_its_way = inputs.asked is not None and inputs.asked != our.listing_price and inputs.asked <= bounds.max_price
        if target is None and not on_its_way and our.listing_price > bounds.max_price:
            # The strategy holds, but our price cannot be featured where it is: come down to the threshold. (Not
            # while a price it asked for within the threshold is on its way: this would replace it in the batcher,
            # and the strategy would wait for a price that was never sent.)
            return Outcome(Decision(key, now, bounds.max_price, Reason.ABOVE_THRESHOLD, summary, True), step.state)
        if target is not None and target > bounds.max_price:
            target = bounds.max_price
        if target is not None and not signal_backed:
            target, signal_backed = _through_threshold(target, our.listing_price, bounds.max_price, inputs)
    decision = Decision(key, now, target, step.reason, summary, signal_backed)
    return Outcome(decision, step.state, step.recheck_at, step.want_foep, step.learned, step.want_share)


# A hold decided before anything was looked at.
_NOTHING_SEEN = DecisionInputs()


def filter_competitors(
    offers: tuple[CompetitorOffer, ...], settings: OfferSettings, channel: ChannelSettings
) -> tuple[CompetitorOffer, ...]:
    """The offers we price against: same condition class unless the channel lists conditions, and the filters."""
    rules = channel.competitors
    conditions, fulfilment = rules.conditions, rules.fulfilment
    own_condition = settings.condition
    own_group = own_condition.group
    min_pct, min_count, max_hours = rules.min_feedback_pct, rules.min_feedback_count, rules.max_handling_hours
    keep: list[CompetitorOffer] = []
    for offer in offers:
        if offer.listing_price <= 0:
            continue
        condition = offer.condition
        if conditions:
            if condition not in conditions:
                continue
        elif condition is not own_condition and condition.group != own_group:
            continue
        if offer.fulfilment not in fulfilment:
            continue
        if offer.is_amazon and not rules.include_amazon:
            continue
        if min_pct and (offer.feedback_pct is None or offer.feedback_pct < min_pct):
            continue
        if offer.feedback_count < min_count and not offer.is_amazon:
            continue
        if max_hours is not None and offer.handling_max_hours > max_hours:
            continue
        keep.append(offer)
    # Usually every offer passes: then the observation's own tuple is the answer.
    return offers if len(keep) == len(offers) else tuple(keep)


def segment_winner(winners: tuple[BuyBoxPrice, ...], our: OurListing | None) -> BuyBoxPrice | None:
    """The Buy Box winner we compete with: Prime if our offer is Prime, else non-Prime, when Amazon reports two."""
    if not winners:
        return None
    wanted = "prime" if our is not None and our.prime else "non_prime"
    for price in winners:
        if price.segment == wanted:
            return price
    for price in winners:
        if price.segment is None:
            return price
    return winners[0]


def _holder(snapshot: OfferSnapshot, share: ShareReading | None) -> OurListing | None:
    """Our offer with ``is_buybox_winner`` meaning that we hold the Buy Box: featured for most of the item's views.

    Amazon marks one winner per segment where the Prime and the non-Prime shoppers see different featured offers
    (reference/spapi.md: "There can be two Buy Box winners"), so our offer marked a winner beside a rival marked
    one says only that we win one segment. The segment may be the smaller one: taken as a hold, the search stops
    challenging (secured, or climbing) at a price that loses most shoppers. Which of the two has most views,
    Amazon says in our share of the competitive summary: a reading at our live price decides (at least half the
    views is a hold). Without one, the Prime winner holds when ours is the other kind: Prime members take most
    glance views (60-85%, reference/buybox.md). Where Amazon marks one winner only, its mark stands.
    """
    our = snapshot.our
    if our is None or not our.is_buybox_winner:
        return our
    rivals = [offer.prime for offer in snapshot.competitors if offer.is_buybox_winner]
    if not rivals:
        return our
    if share is not None and share.price == our.listing_price and share.share is not None:
        holds = share.share >= 0.5
    elif all(prime != our.prime for prime in rivals):
        holds = our.prime
    else:
        holds = True
    return our if holds else msgspec.structs.replace(our, is_buybox_winner=False)


def _competitive_cap(
    snapshot: OfferSnapshot, health: HealthEvent | None, our: OurListing, tick: int, min_price: int
) -> int | None:
    """The highest listing price on the tick whose landed price Amazon's competitive price threshold allows: the
    newest offers' summary says, else the last PRICING_HEALTH notification (either way: disqualified or qualified
    again) that named it. None without a threshold, or when it lies below ``min_price``: then no price within
    bounds meets it, and there is nothing for our price to cure."""
    threshold = snapshot.competitive_price_threshold
    if threshold is None and health is not None:
        threshold = health.reference_price
    if threshold is None:
        return None
    cap = on_tick(threshold - our.shipping, tick)
    return cap if cap >= min_price else None


def _unavailable_price(
    inputs: PolicyInputs, bounds: OfferBounds, competitors: tuple[CompetitorOffer, ...], our: OurListing
) -> int | None:
    """The channel's action when the Buy Box is not available to us, never above ``bounds.max_price`` (the
    competitive price threshold where it is lower: a price above it would be ours to cure again at the next look)."""
    price: int | None = None
    match inputs.channel.buybox_unavailable_action:
        case BuyBoxAction.HOLD:
            return None
        case BuyBoxAction.USE_MAX:
            price = bounds.max_price
        case BuyBoxAction.COMPETE_LOWEST:
            lowest = min((c.landed_price for c in competitors), default=None)
            price = None if lowest is None else lowest - our.shipping
        case BuyBoxAction.USE_SALE_PRICE:
            sale = inputs.settings.sale_price
            return None if sale is None else _sale_target(sale, bounds, inputs.tick)
    return None if price is None else min(price, bounds.max_price)


def _sale_target(sale_price: int, bounds: OfferBounds, tick: int) -> int:
    """The sale price as a target: on the tick within ``bounds``, as the guard will send it. A sale price below min
    is a target of min (the guard sends no less), so the offer does not wait for a price that never goes out."""
    lowest = -(-bounds.min_price // tick) * tick
    return max(min(on_tick(sale_price, tick), on_tick(bounds.max_price, tick)), lowest)


def _through_threshold(target: int, current: int, cap: int, inputs: PolicyInputs) -> tuple[int, bool]:
    """A move without a fresh signal to ``target`` (at or below the threshold's ``cap``), and whether it is now
    signal-backed.

    From a price above Amazon's competitive price threshold, the guard's step cap can stop such a move above the
    threshold, where the offer cannot be featured (a resend from 919 to a threshold of 668 went out at 828). Amazon's
    threshold is a signal: the move down to it is backed, and below it the step cap holds as if counted from the
    threshold. Where the step cap stops within the threshold anyway, nothing changes.
    """
    tick, step_cap = inputs.tick, inputs.channel.step_cap
    # Where the guard would stop the move: one step down from ``current``, within the offer's own max.
    stop = min(
        on_tick(current - max_step(current, tick, step_cap), tick), on_tick(inputs.settings.bounds.max_price, tick)
    )
    if stop <= cap:
        return target, False
    return max(target, cap - max_step(cap, tick, step_cap)), True


def _fresh_foep(reading: FoepReading | None, now: float) -> int | None:
    # The checks read "not fresh unless shown fresh": an age that is not a number, or a price of 0, is no signal
    # (the intake drops such readings first; this keeps one that got past it out of the search).
    if reading is None or reading.price is None or reading.status != "VALID_FOEP" or reading.price <= 0:
        return None
    if not now - reading.as_of <= FOEP_MAX_AGE_S:
        return None
    return reading.price


def _fresh_share(reading: ShareReading | None, now: float) -> ShareReading | None:
    if reading is None or not now - reading.as_of <= FOEP_MAX_AGE_S:
        return None
    return reading


def _summary(
    snapshot: OfferSnapshot,
    our: OurListing | None,
    competitors: tuple[CompetitorOffer, ...],
    winner: BuyBoxPrice | None,
    foep: FoepReading | None,
    now: float,
) -> DecisionInputs:
    lowest: int | None = None
    for competitor in competitors:
        landed = competitor.listing_price + competitor.shipping
        if lowest is None or landed < lowest:
            lowest = landed
    return DecisionInputs(
        our_price=None if our is None else our.listing_price,
        our_live=our is not None and our.live,
        we_win=our is not None and our.is_buybox_winner,
        winner_landed=None if winner is None else winner.landed_price,
        lowest_landed=lowest,
        foep=None if foep is None else foep.price,
        competitors=len(competitors),
        age_s=now - snapshot.as_of,
    )
