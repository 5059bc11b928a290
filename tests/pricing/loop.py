"""A pure simulation loop for the pricing code: plain function calls, no trio, no simulator.

One static competitor; Amazon's hidden rule is "we hold the Buy Box while our landed price is at most T_hold,
and take it from the competitor while at most T_challenge". Each probe goes live at once and the Buy Box is
recomputed before the next observation, which arrives after the search's settle time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from engine.model import (
    ChannelSettings,
    CompetitorOffer,
    FoepReading,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OurListing,
)
from engine.pricing.guard import guard
from engine.pricing.policy import PolicyInputs, decide
from engine.pricing.search import EngineSearch, SearchState

KEY = OfferKey("SELLER", "DE", "SKU-1")


@dataclass
class LoopResult:
    probes: int
    prices: list[int] = field(default_factory=list)
    final_price: int = 0
    holding: bool = False
    reasons: list[str] = field(default_factory=list)


def our_listing(price: int, hold: bool) -> OurListing:
    return OurListing(listing_price=price, live=True, is_buybox_winner=hold, feedback_pct=95, handling_max_hours=48)


def run_static(
    *,
    rival: CompetitorOffer,
    bounds: OfferBounds,
    t_hold: float,
    t_challenge: float,
    start: int,
    search: EngineSearch | None = None,
    foep: Callable[[float], int | None] | None = None,
    max_rounds: int = 60,
    settle_s: float = 200.0,
) -> LoopResult:
    search = search or EngineSearch()
    settings = OfferSettings(key=KEY, asin="B000000001", currency="EUR", bounds=bounds)
    channel = ChannelSettings(step_cap=Decimal("1"))
    state: SearchState = search.initial_state()
    price, holding, now = start, False, 0.0
    result = LoopResult(probes=0)
    for _ in range(max_rounds):
        holding = price <= (t_hold if holding else t_challenge)
        snapshot = OfferSnapshot(
            key=KEY,
            source="poll",
            as_of=now,
            received_at=now,
            our=our_listing(price, holding),
            competitors=(msgspec.structs.replace(rival, is_buybox_winner=not holding),),
        )
        reading = (
            None
            if foep is None
            else FoepReading(KEY, now, foep(t_hold if holding else t_challenge), ours_featured=holding)
        )
        inputs = PolicyInputs(settings=settings, channel=channel, tick=1, snapshot=snapshot, foep=reading)
        outcome = decide(inputs, search, state, now)
        state = outcome.state
        decision = outcome.decision
        result.reasons.append(decision.reason.value)
        if decision.target is None:
            if outcome.recheck_at is None:
                break
            now = max(outcome.recheck_at, now + 1.0)
            continue
        sent = guard(decision.target, bounds, 1, current=price, signal_backed=True, step_cap=Decimal(1))
        price = sent.price
        result.probes += 1
        result.prices.append(price)
        now += settle_s
    result.final_price = price
    result.holding = price <= (t_hold if holding else t_challenge)
    return result


def n0(r: float, alpha: float) -> int:
    """buybox.md's probe count for a noise-free search over a threshold range of ratio r."""
    return math.ceil(math.log2(math.log(r) / math.log(1 / alpha)))


@dataclass
class WarResult:
    min_touches: int
    live_prices: list[tuple[float, int]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def run_against_undercutter(
    *,
    bounds: OfferBounds,
    rival_start: int,
    rival_floor: int,
    edge: float = 0.005,
    hours: float = 24.0,
    cadence_s: float = 900.0,
    latency_s: float = 120.0,
    step_s: float = 60.0,
    search: EngineSearch | None = None,
) -> WarResult:
    """An undercutter that reprices every ``cadence_s`` to one tick below our live price, down to its floor.

    We hold the Buy Box while our price is at most ``rival · exp(edge)``. The search observes every ``step_s``.
    """
    search = search or EngineSearch()
    settings = OfferSettings(key=KEY, asin="B000000001", currency="EUR", bounds=bounds)
    channel = ChannelSettings(step_cap=Decimal("1"))
    state: SearchState = search.initial_state()
    ours, rival = bounds.max_price, rival_start
    pending: tuple[int, float] | None = None
    next_check = cadence_s
    result = WarResult(min_touches=0)
    at_min = False
    now = 0.0
    while now < hours * 3600:
        if pending is not None and pending[1] <= now:
            ours, pending = pending[0], None
            result.live_prices.append((now, ours))
        if now >= next_check:
            rival = max(rival_floor, ours - 1)
            next_check = now + cadence_s
        if ours == bounds.min_price and not at_min:
            result.min_touches += 1
        at_min = ours == bounds.min_price
        holding = ours <= rival * math.exp(edge)
        rival_offer = CompetitorOffer("R1", rival, feedback_pct=95, is_buybox_winner=not holding)
        snapshot = OfferSnapshot(
            key=KEY,
            source="poll",
            as_of=now,
            received_at=now,
            our=our_listing(ours, holding),
            competitors=(rival_offer,),
        )
        outcome = decide(
            PolicyInputs(settings=settings, channel=channel, tick=1, snapshot=snapshot), search, state, now
        )
        state = outcome.state
        result.reasons.append(outcome.decision.reason.value)
        if outcome.decision.target is not None:
            sent = guard(outcome.decision.target, bounds, 1, current=ours, signal_backed=True, step_cap=Decimal(1))
            pending = (sent.price, now + latency_s)
        now += step_s
    return result
