"""Pricing never raises on a market it can see (issue 24): a degenerate market is a decision, a hold with its
reason, and a bad observation time never becomes a recheck or a state time, nor freezes the search."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import (
    BuyBoxPrice,
    ChannelSettings,
    CompetitorOffer,
    FoepReading,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OurListing,
    Reason,
)
from engine.pricing.baselines import BASELINES, BisectState, PBisectState, StepState, TrackState
from engine.pricing.policy import PolicyInputs, decide
from engine.pricing.scoring import ScorePrior
from engine.pricing.search import EngineSearch, SearchState
from engine.pricing.view import MarketView, Step, Strategy

STRATEGIES: dict[str, Callable[[], Strategy[Any]]] = {"engine": EngineSearch, **BASELINES}
KEY = OfferKey("SELLER", "DE", "SKU-1")
NOW = 10_000.0
LEARNED = ScorePrior(temperature=0.01, temperature_samples=5)


def _view(
    price: int = 2000,
    *,
    shipping: int = 0,
    hold: bool = True,
    rival: int = 2000,
    rival_shipping: int = 0,
    bounds: tuple[int, int] = (1000, 4000),
    tick: int = 1,
    foep: int | None = None,
    foep_ours: bool | None = None,
    share: float | None = None,
    prior: ScorePrior | None = None,
    now: float = NOW,
    as_of: float | None = None,
) -> MarketView:
    return MarketView(
        key=KEY,
        now=now,
        as_of=now if as_of is None else as_of,
        bounds=OfferBounds(*bounds),
        tick=tick,
        our=OurListing(price, shipping, feedback_pct=95, is_buybox_winner=hold),
        competitors=(CompetitorOffer("R1", rival, rival_shipping, feedback_pct=95, is_buybox_winner=not hold),),
        foep=foep,
        foep_at=None if foep is None else now,
        foep_ours=foep_ours,
        share=share,
        share_price=None if share is None else price,
        share_at=None if share is None else now,
        prior=prior,
    )


def _holding(price: int, **changes: Any) -> SearchState:
    """The engine holding the Buy Box at ``price``, live for a minute (no verdict yet), since the rival moved."""
    state = SearchState(
        binding="R1",
        seen_as_of=NOW - 60,
        live_price=price,
        live_since=NOW - 60,
        held=True,
        held_since=NOW - 3600,
        target=price,
        target_at=NOW - 120,
        target_log_ref=math.log(1900),
    )
    return msgspec.structs.replace(state, **changes)


class Case(NamedTuple):
    """A degenerate market: the view, the engine's state that took the old code to the place it crashed, and
    the reason the strategies hold for."""

    view: MarketView
    engine_state: SearchState = SearchState()
    reason: Reason = Reason.DEGENERATE_MARKET
    engine_only: bool = False  # a market only the engine's arithmetic finds degenerate


CASES: dict[str, Case] = {
    # The engine's verdict (ln of our landed price); bisect's and pbisect's verdict (ln of our price).
    "our price 0": Case(_view(0, hold=False)),
    "our price 0, a share reading at it": Case(_view(0, share=0.6), _holding(0)),  # the share's θ
    "our price 0, the temperature known": Case(  # the step to the share's estimate
        _view(0, prior=LEARNED), _holding(0, share_theta=0.0, share_logit=1.0)
    ),
    "our price 0, calibrating": Case(_view(0), _holding(0, share_price=0, share_logit=0.5)),  # the calibration
    "our price 0 while we hold": Case(_view(0), _holding(0)),  # the climb's lower end
    "a negative shipping takes our landed price to 0": Case(_view(500, shipping=-500, bounds=(400, 4000))),
    # The bracket's lower end: ln(min + shipping).
    "min + shipping 0": Case(_view(1000, shipping=-500, hold=False, bounds=(100, 4000))),
    "min + shipping below 0": Case(_view(1000, shipping=-500, hold=False, bounds=(1, 4000))),
    # The same, and bisect's and pbisect's ln(min).
    "min 0": Case(_view(2000, bounds=(0, 4000), hold=False)),
    # FOEP read while we challenge (the swing's θ), once we hold (the swing), and as our threshold.
    "FOEP 0 while we challenge": Case(_view(2000, hold=False, foep=0, foep_ours=False)),
    "FOEP 0 once we hold": Case(_view(2000, foep=0, foep_ours=True), _holding(2000, challenge_theta=-0.01)),
    "FOEP + shipping 0": Case(_view(2000, shipping=-100, foep=100, foep_ours=True), _holding(2000)),
    # FOEP leaves a landed price of a few cents and the lowest price securing 99% of it lands below 0.
    "FOEP's secured price + shipping below 0": Case(
        _view(299, shipping=-298, bounds=(299, 10_000), tick=100, rival=1000, foep=400, foep_ours=True),
        engine_only=True,
    ),
    # Every strategy's division by the tick.
    "tick 0": Case(_view(2000, tick=0)),
    # Not a price, so not a competitor: the engine's anchor leaves it out, and so do the baselines.
    "a competitor at 0": Case(_view(2000, rival=0), reason=Reason.NO_COMPETITION),
    "a competitor's shipping takes it to 0": Case(
        _view(2000, rival=500, rival_shipping=-500), reason=Reason.NO_COMPETITION
    ),
}


def _due(strategy: Strategy[Any], view: MarketView) -> Any:
    """A baseline's state with a verdict due on ``view``: our price live there for ten minutes, the market as is."""
    track = TrackState(seen_as_of=NOW - 600, live_price=view.our.listing_price, live_since=NOW - 600)
    market = tuple(sorted((c.seller_id, c.landed_price) for c in view.competitors))
    match strategy.initial_state():
        case TrackState():
            return track
        case StepState():
            return StepState(track)
        case BisectState():
            return BisectState(track, market=market)
        case PBisectState():
            return PBisectState(track, (math.log(1000), math.log(4001)), (1.0,), market)
    raise AssertionError(f"no state with a verdict due for {strategy.name}")


# Each case for every strategy that finds its market degenerate.
DEGENERATE_FOR = [(name, case) for case, known in CASES.items() for name in STRATEGIES if not known.engine_only] + [
    ("engine", case) for case, known in CASES.items() if known.engine_only
]


@pytest.mark.parametrize("warm", [False, True], ids=["fresh", "warm"])
@pytest.mark.parametrize(("name", "case"), DEGENERATE_FOR)
def test_degenerate_market_holds_not_crashes(name: str, case: str, warm: bool) -> None:
    strategy = STRATEGIES[name]()
    view, engine_state, reason, engine_only = CASES[case]
    if not warm:
        state = strategy.initial_state()
    else:
        state = engine_state if name == "engine" else _due(strategy, view)
    step = strategy.decide(view, state)
    assert (step.target, step.reason) == (None, reason)
    if not engine_only:
        # Nothing of the view is taken in, and nothing asked of it.
        assert (step.state, step.recheck_at) == (state, None)


@pytest.mark.parametrize("name", list(STRATEGIES))
@pytest.mark.parametrize(
    ("our", "min_price", "foep", "as_of"),
    [
        (OurListing(0, is_buybox_winner=True), 1000, None, NOW),
        (OurListing(1500, -2000), 1000, None, NOW),
        (OurListing(2000, -500), 1, None, NOW),
        (OurListing(2000), 1000, None, math.nan),
    ],
    ids=["our price 0", "our landed price below 0", "min + shipping below 0", "as_of NaN"],
)
def test_the_policy_passes_a_degenerate_market_on_as_a_hold(
    name: str, our: OurListing, min_price: int, foep: int | None, as_of: float
) -> None:
    settings = OfferSettings(key=KEY, asin="B000000001", currency="EUR", bounds=OfferBounds(min_price, 4000))
    rival = CompetitorOffer("R1", 2000, feedback_pct=95, is_buybox_winner=not our.is_buybox_winner)
    inputs = PolicyInputs(
        settings=settings,
        channel=ChannelSettings(),
        tick=1,
        snapshot=OfferSnapshot(KEY, "poll", as_of, as_of, our, (rival,)),
        foep=None if foep is None else FoepReading(KEY, NOW, foep),
    )
    strategy = STRATEGIES[name]()
    outcome = decide(inputs, strategy, strategy.initial_state(), NOW)
    reason = Reason.DEGENERATE_MARKET if math.isfinite(as_of) else Reason.NO_DATA
    assert (outcome.decision.target, outcome.decision.reason, outcome.recheck_at) == (None, reason, None)


@pytest.mark.parametrize("name", list(STRATEGIES))
@pytest.mark.parametrize(("price", "at"), [(0, NOW), (-500, NOW), (2100, math.nan)], ids=["0", "negative", "at NaN"])
def test_the_policy_leaves_out_a_foep_that_is_no_signal(name: str, price: int, at: float) -> None:
    """A FOEP of 0 or below, or read at no time, reaches no strategy: the offer is priced as without one (a strategy
    handed it would hold; see `usable_view`)."""
    settings = OfferSettings(key=KEY, asin="B000000001", currency="EUR", bounds=OfferBounds(1000, 4000))
    rival = CompetitorOffer("R1", 2000, feedback_pct=95, is_buybox_winner=True)
    strategy = STRATEGIES[name]()

    def decided(foep: FoepReading | None) -> tuple[int | None, Reason]:
        snapshot = OfferSnapshot(KEY, "poll", NOW, NOW, OurListing(2000), (rival,))
        inputs = PolicyInputs(settings=settings, channel=ChannelSettings(), tick=1, snapshot=snapshot, foep=foep)
        decision = decide(inputs, strategy, strategy.initial_state(), NOW).decision
        return decision.target, decision.reason

    assert decided(FoepReading(KEY, at, price)) == decided(None)
    assert decided(None)[1] is not Reason.DEGENERATE_MARKET


@pytest.mark.parametrize("name", list(STRATEGIES))
@pytest.mark.parametrize("as_of", [math.nan, -math.inf], ids=["nan", "-inf"])
def test_an_observation_time_that_is_no_time_holds_without_a_recheck(name: str, as_of: float) -> None:
    strategy = STRATEGIES[name]()
    first = strategy.decide(_view(2000, hold=False, now=NOW - 300), strategy.initial_state())
    # A price change comes with it: the old search took its time as the time our new price went live.
    step = strategy.decide(_view(1900, as_of=as_of), first.state)
    assert (step.target, step.reason, step.recheck_at) == (None, Reason.NO_DATA, None)
    assert step.state == first.state


def _seen_as_of(state: Any) -> float:
    return float(state.seen_as_of if isinstance(state, SearchState | TrackState) else state.track.seen_as_of)


@pytest.mark.parametrize("name", list(STRATEGIES))
@pytest.mark.parametrize("ahead", [1e9, math.inf], ids=["1e9", "inf"])
def test_future_timestamp_does_not_freeze_search(name: str, ahead: float) -> None:
    strategy = STRATEGIES[name]()
    step = strategy.decide(_view(2000, hold=False, now=NOW - 300), strategy.initial_state())
    future = strategy.decide(_view(2000, hold=False, as_of=NOW + ahead), step.state)
    assert _seen_as_of(future.state) == NOW
    assert future.recheck_at is None or future.recheck_at < NOW + 1e6
    # Later observations still count: each is taken in as of its own time.
    state = future.state
    for minute in range(1, 6):
        now = NOW + 60.0 * minute
        later = strategy.decide(_view(2000, hold=False, now=now, as_of=now - 5), state)
        assert _seen_as_of(later.state) == now - 5
        state = later.state


def test_after_a_snapshot_from_the_future_the_search_follows_the_rival() -> None:
    search = EngineSearch()
    step = search.decide(_view(2000, hold=False, now=NOW - 300), search.initial_state())
    future = search.decide(_view(2000, hold=False, as_of=math.inf), step.state)
    # The rival cuts by 10% a minute later: the search challenges it at once.
    cut = search.decide(_view(2000, hold=False, rival=1800, now=NOW + 60), future.state)
    assert cut.target is not None and cut.target < 1800
    assert cut.reason is not Reason.AWAIT_LIVE


# --- any view, degenerate or not ---------------------------------------------------------------------------------

PRICES = st.one_of(st.sampled_from([0, 1, 2, 5]), st.integers(-1_000, 1_000), st.integers(100, 100_000))
SHIPPING = st.one_of(st.sampled_from([0, 499]), st.integers(-2_000, 2_000))
# How far an observation's time lies behind now (or ahead of it, or no time at all).
LAGS = st.one_of(st.floats(0.0, 900.0), st.sampled_from([0.0, -1e9, -math.inf, math.inf, math.nan]))


class Look(NamedTuple):
    """One observation of a random market; ``price`` None: our price is the last one asked for, if any."""

    gap_s: float
    lag_s: float
    price: int | None
    shipping: int
    hold: bool
    rivals: tuple[tuple[int, int], ...]
    bounds: tuple[int, int]
    tick: int
    foep: int | None
    foep_ours: bool | None
    share: float | None
    learned: bool


LOOKS = st.builds(
    Look,
    gap_s=st.floats(1.0, 3_600.0),
    lag_s=LAGS,
    price=st.none() | PRICES,
    shipping=SHIPPING,
    hold=st.booleans(),
    rivals=st.lists(st.tuples(PRICES, SHIPPING), min_size=1, max_size=3).map(tuple),
    bounds=st.tuples(st.one_of(st.sampled_from([0, 1, 1000]), PRICES), st.one_of(st.just(0), PRICES)).map(
        lambda b: (b[0], b[0] + abs(b[1]))
    ),
    tick=st.sampled_from([1, 1, 5, 100, 0]),
    foep=st.none() | PRICES,
    foep_ours=st.none() | st.booleans(),
    share=st.none() | st.floats(0.0, 1.0) | st.sampled_from([math.nan, -0.5, 1.5]),
    learned=st.booleans(),
)


def _market(look: Look, now: float, price: int) -> MarketView:
    as_of = now - look.lag_s
    return MarketView(
        key=KEY,
        now=now,
        as_of=as_of,
        bounds=OfferBounds(*look.bounds),
        tick=look.tick,
        our=OurListing(price, look.shipping, feedback_pct=95, is_buybox_winner=look.hold),
        competitors=tuple(
            CompetitorOffer(f"R{i}", listed, ship, feedback_pct=90, is_buybox_winner=not look.hold and i == 0)
            for i, (listed, ship) in enumerate(look.rivals)
        ),
        winner=BuyBoxPrice(look.rivals[0][0] + look.rivals[0][1], look.rivals[0][0]) if not look.hold else None,
        foep=look.foep,
        foep_at=None if look.foep is None else as_of,
        foep_ours=look.foep_ours,
        share=look.share,
        share_price=None if look.share is None else price,
        share_at=None if look.share is None else as_of,
        prior=LEARNED if look.learned else None,
    )


def _assert_times_sane(state: Any, now: float) -> None:
    """No time in ``state`` is NaN or +inf, and it has seen nothing newer than ``now``."""
    track = state if isinstance(state, SearchState | TrackState) else state.track
    for name in type(track).CLOCK_FIELDS:
        value = getattr(track, name)
        for time in value if isinstance(value, tuple) else (value,):
            assert time is None or (not math.isnan(time) and time < math.inf), (name, time)
    assert _seen_as_of(state) <= now


@pytest.mark.parametrize("name", list(STRATEGIES))
@settings(max_examples=40)
@given(looks=st.lists(LOOKS, min_size=1, max_size=8))
def test_no_view_makes_a_strategy_raise(name: str, looks: list[Look]) -> None:
    strategy = STRATEGIES[name]()
    state, now, asked = strategy.initial_state(), 1_000.0, 2_000
    for look in looks:
        now += look.gap_s
        step: Step[Any] = strategy.decide(_market(look, now, asked if look.price is None else look.price), state)
        assert step.recheck_at is None or math.isfinite(step.recheck_at)
        _assert_times_sane(step.state, now)
        state = step.state
        if step.target is not None:
            asked = step.target
