"""The benchmark's baselines, driven by plain calls: each does what its name says, and no more, and waits for
its verdicts as fairly as the engine does."""

from __future__ import annotations

import math
import random

import msgspec
import pytest

from engine.model import BuyBoxPrice, CompetitorOffer, OfferBounds, OfferKey, OurListing, Reason
from engine.pricing.baselines import (
    BASELINES,
    BaselineConfig,
    FoepFollow,
    LogBisect,
    MatchBuyBox,
    ProbabilisticBisect,
    StepWinLose,
    Undercut,
    make_baseline,
)
from engine.pricing.view import MarketView, Step, Strategy

KEY = OfferKey("SELLER", "DE", "SKU-1")
BOUNDS = OfferBounds(5_000, 10_000)
SETTLE = BaselineConfig().settle_s


def view(
    price: int,
    *,
    hold: bool = False,
    at: float = 0.0,
    rivals: tuple[CompetitorOffer, ...] = (CompetitorOffer("R1", 8_000, shipping=300, is_buybox_winner=True),),
    shipping: int = 0,
    foep: int | None = None,
    winner: BuyBoxPrice | None = None,
) -> MarketView:
    if hold:
        rivals = tuple(msgspec.structs.replace(r, is_buybox_winner=False) for r in rivals)
    our = OurListing(listing_price=price, shipping=shipping, is_buybox_winner=hold)
    return MarketView(KEY, at, at, BOUNDS, 1, our, rivals, winner=winner, foep=foep)


def test_undercut_goes_one_tick_below_the_lowest_landed_price_net_of_our_shipping() -> None:
    rivals = (CompetitorOffer("R1", 8_000, shipping=300), CompetitorOffer("R2", 7_900, shipping=500))
    step = Undercut().decide(view(9_000, rivals=rivals, shipping=200), Undercut().initial_state())
    assert step.target == 8_300 - 200 - 1
    assert step.signal_backed  # the lowest competitor's price, read fresh, is a direct signal


def test_a_follower_does_not_ask_again_for_a_price_on_its_way_until_it_is_overdue() -> None:
    undercut = Undercut()
    first = undercut.decide(view(9_000), undercut.initial_state())
    assert first.target == 8_299
    waiting = undercut.decide(view(9_000, at=60.0), first.state)
    assert waiting.target is None and waiting.reason is Reason.AWAIT_LIVE
    overdue = undercut.decide(view(9_000, at=BaselineConfig().resend_after_s + 1.0), waiting.state)
    assert overdue.target == 8_299
    live = undercut.decide(view(8_299, at=2_000.0), overdue.state)
    assert live.target is None


def test_match_takes_the_winners_landed_price_and_holds_while_we_hold() -> None:
    match = MatchBuyBox()
    step = match.decide(view(9_000, shipping=100), match.initial_state())
    assert step.target == 8_300 - 100 and step.signal_backed
    assert match.decide(view(8_200, hold=True, at=10.0), step.state).target is None


def test_foep_follow_prices_at_foep_asks_for_readings_and_holds_without_one() -> None:
    foep = FoepFollow()
    step = foep.decide(view(9_000, foep=8_123), foep.initial_state())
    assert step.target == 8_123 and step.signal_backed and step.want_foep
    without = foep.decide(view(9_000), foep.initial_state())
    assert without.target is None and without.want_foep


def test_step_waits_for_the_price_to_settle_then_moves_down_2pct_or_up_1pct_unbacked() -> None:
    step_strategy = StepWinLose()
    early = step_strategy.decide(view(9_000, at=0.0), step_strategy.initial_state())
    assert early.target is None and early.recheck_at == SETTLE
    down = step_strategy.decide(view(9_000, at=SETTLE), early.state)
    assert down.target == 8_820 and not down.signal_backed
    # Our new price goes live at 8,820 and holds after it settled: one per cent up.
    arrived = step_strategy.decide(view(8_820, hold=True, at=SETTLE + 100.0), down.state)
    assert arrived.target is None
    up = step_strategy.decide(view(8_820, hold=True, at=2 * SETTLE + 100.0), arrived.state)
    assert up.target == 8_908 and not up.signal_backed


def _drive(
    strategy: Strategy[object],
    threshold: int,
    *,
    rounds: int = 80,
    flip: float = 0.0,
    seed: int = 0,
    step_cap: float = 0.10,
) -> tuple[int, int, bool]:
    """A static market: we hold while our price is at most ``threshold``; each price is live at once and judged
    after the settle time; a verdict is flipped with probability ``flip``. The guard's step cap applies to moves
    that are not signal-backed. Returns (final price, probes, holding)."""
    rng = random.Random(seed)
    state = strategy.initial_state()
    price, now, probes = BOUNDS.max_price, 0.0, 0
    for _ in range(rounds):
        hold = (price <= threshold) != (rng.random() < flip)
        step: Step[object] = strategy.decide(view(price, hold=hold, at=now), state)
        state = step.state
        if step.target is not None:
            target = step.target
            if not step.signal_backed:
                cap = max(1, int(price * step_cap))
                target = min(max(target, price - cap), price + cap)
            price = min(max(target, BOUNDS.min_price), BOUNDS.max_price)
            probes += 1
            now += 1.0
        else:
            now = max(now + 1.0, step.recheck_at or now + SETTLE)
    return price, probes, price <= threshold


@pytest.mark.parametrize("threshold", [5_100, 6_543, 7_777, 9_950])
def test_bisect_settles_within_998_of_a_static_threshold(threshold: int) -> None:
    price, probes, holding = _drive(LogBisect(), threshold)
    assert holding and price >= 0.998 * threshold
    # The step cap slows the first probes down; bisection then needs about N0 = 9 more.
    assert probes <= 16


def test_bisect_starts_again_when_a_competitor_moves() -> None:
    bisect = LogBisect()
    first = bisect.decide(view(9_000, at=0.0), bisect.initial_state())
    step = bisect.decide(view(9_000, at=SETTLE), first.state)
    assert step.state.hi is not None
    moved = (CompetitorOffer("R1", 7_000, is_buybox_winner=True),)
    after = bisect.decide(view(step.target or 9_000, at=SETTLE + 10.0, rivals=moved), step.state)
    assert after.state.restarts == 1 and after.state.hi is None and after.target is None


@pytest.mark.parametrize("threshold", [5_300, 7_777, 9_500])
def test_pbisect_settles_near_the_threshold_even_with_flipped_verdicts(threshold: int) -> None:
    price, _, _ = _drive(ProbabilisticBisect(), threshold, rounds=200, flip=0.05, seed=threshold)
    assert abs(math.log(price / threshold)) < 0.01


def test_pbisect_posterior_stays_a_distribution() -> None:
    pbisect = ProbabilisticBisect()
    state = pbisect.initial_state()
    for i, held in enumerate([False, True, False, True, True]):
        step = pbisect.decide(view(9_000 - 500 * i, hold=held, at=(i + 1) * SETTLE), state)
        state = step.state
        assert len(state.edges) == len(state.mass) + 1
        assert math.isclose(sum(state.mass), 1.0)
        assert list(state.edges) == sorted(state.edges)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_state_survives_a_restart(name: str) -> None:
    # Search states are stored as msgpack across restarts, like the engine's.
    strategy = make_baseline(name)
    step = strategy.decide(view(9_000, at=SETTLE, foep=8_000), strategy.initial_state())
    stored = msgspec.msgpack.encode(step.state)
    assert msgspec.msgpack.decode(stored, type=type(step.state)) == step.state
    assert strategy.name == name


def test_an_unknown_baseline_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="nosuch"):
        make_baseline("nosuch")
