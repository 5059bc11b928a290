"""What a restart in another process relies on: a strategy's state moved onto another trio clock decides as before
(`Strategy.rebase`), and the marketplace's learner comes back from what was stored as it was."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import CompetitorOffer, OfferBounds, OfferKey, OurListing
from engine.pricing.baselines import BASELINES, BisectState, PBisectState, StepState, TrackState
from engine.pricing.learning import LearnerState, Lesson, SwingSample, TemperatureSample, WeightLearner, WeightSample
from engine.pricing.scoring import FEATURES, ScorePrior
from engine.pricing.search import EngineSearch, SearchConfig, SearchState
from engine.pricing.view import MarketView, Step, Strategy

STRATEGIES: dict[str, Callable[[], Strategy[Any]]] = {
    "engine": EngineSearch,
    "engine-flat": lambda: EngineSearch(SearchConfig(prior=ScorePrior.flat())),
    **BASELINES,
}

# Every float of every state that is not a time on trio's clock (its times are the struct's CLOCK_FIELDS): a new
# float field must be placed on one side or the other, and a restart moves only the times.
NOT_TIMES: dict[type[msgspec.Struct], frozenset[str]] = {
    SearchState: frozenset(
        {
            "theta_lo",
            "theta_hi",
            "target_log_ref",
            "hold_hi",
            "sampled",
            "prior_floor",
            "challenge_theta",
            "unwinnable_log_ref",
            "share_theta",
            "share_logit",
        }
    ),
    TrackState: frozenset(),
    StepState: frozenset(),
    BisectState: frozenset({"lo", "hi"}),
    PBisectState: frozenset({"edges", "mass"}),
}
# The times a strategy sees, which `_shifted` moves; ``share`` is the only other float of a view.
VIEW_TIMES = ("now", "as_of", "foep_at", "share_at")

# Integer times and shifts keep float arithmetic exact, so a decision from a rebased state can be compared with ==.
WALL_SHIFTS = st.integers(-1_800_000_000, 1_800_000_000)


def _holds_float(kind: msgspec.inspect.Type) -> bool:
    match kind:
        case msgspec.inspect.FloatType():
            return True
        case msgspec.inspect.UnionType(types=members) | msgspec.inspect.TupleType(item_types=members):
            return any(_holds_float(member) for member in members)
        case msgspec.inspect.VarTupleType(item_type=item):
            return _holds_float(item)
    return False


def _fields(cls: type[msgspec.Struct]) -> tuple[msgspec.inspect.Field, ...]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return info.fields


def _times(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    times: tuple[str, ...] = getattr(cls, "CLOCK_FIELDS", ())
    return times


@pytest.mark.parametrize("state_type", list(NOT_TIMES), ids=lambda t: t.__name__)
def test_every_float_of_a_state_is_a_time_or_said_not_to_be(state_type: type[msgspec.Struct]) -> None:
    times, not_times = set(_times(state_type)), NOT_TIMES[state_type]
    floats = {field.name for field in _fields(state_type) if _holds_float(field.type)}
    unclassified = floats - times - not_times
    assert not unclassified, (
        f"{state_type.__name__}.{', '.join(sorted(unclassified))}: a time on trio's clock goes in CLOCK_FIELDS "
        "(and its strategy's rebase moves it); anything else in NOT_TIMES here"
    )
    assert times <= floats
    assert not_times <= floats
    assert not times & not_times
    for field in _fields(state_type):
        if isinstance(field.type, msgspec.inspect.StructType):
            assert field.type.cls in NOT_TIMES, f"{state_type.__name__}.{field.name} holds an unclassified struct"


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_keeps_a_state_whose_floats_are_classified(name: str) -> None:
    assert type(STRATEGIES[name]().initial_state()) in NOT_TIMES


def test_every_float_a_strategy_sees_is_moved_with_the_clock_or_is_not_a_time() -> None:
    floats = {field.name for field in _fields(MarketView) if _holds_float(field.type)}
    assert floats == {*VIEW_TIMES, "share"}


# --- states: rebase moves the times and nothing else ----------------------------------------------------------


def _values(kind: msgspec.inspect.Type, floats: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    match kind:
        case msgspec.inspect.FloatType():
            return floats
        case msgspec.inspect.NoneType():
            return st.none()
        case msgspec.inspect.UnionType(types=members):
            return st.one_of(*(_values(member, floats) for member in members))
        case msgspec.inspect.VarTupleType(item_type=item):
            return st.lists(_values(item, floats), max_size=3).map(tuple)
    raise AssertionError(f"no values drawn for {kind}")


def _states(cls: type[msgspec.Struct], times: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    """States of ``cls`` with every float drawn: ``times`` for its clock fields, log-prices for the others."""
    others = st.floats(-10.0, 10.0)
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for field in _fields(cls):
        if isinstance(field.type, msgspec.inspect.StructType):
            drawn[field.name] = _states(field.type.cls, times)
        elif _holds_float(field.type):
            drawn[field.name] = _values(field.type, times if field.name in _times(cls) else others)
    return st.fixed_dictionaries(drawn).map(lambda values: cls(**values))


def _wall_times(*, whole: bool) -> st.SearchStrategy[float]:
    finite = st.integers(-2_000_000_000, 2_000_000_000).map(float) if whole else st.floats(-2e9, 2e9)
    return finite | st.sampled_from([-math.inf, math.inf])


def _assert_moved(before: msgspec.Struct, after: msgspec.Struct, delta: float, *, tolerance: float = 0.0) -> None:
    """``after`` is ``before`` with its times (in nested structs too) ``delta`` later, within ``tolerance``."""
    assert type(after) is type(before)
    times = _times(type(before))
    for name in before.__struct_fields__:
        old, new = getattr(before, name), getattr(after, name)
        if isinstance(old, msgspec.Struct):
            _assert_moved(old, new, delta, tolerance=tolerance)
        elif name in times and old is not None:
            olds, news = (old, new) if isinstance(old, tuple) else ((old,), (new,))
            assert len(news) == len(olds), name
            for was, now in zip(olds, news, strict=True):
                assert math.isclose(now, was + delta, rel_tol=0.0, abs_tol=tolerance), (name, was, now)
        else:
            assert new == old, name


def _state_cases(*, whole: bool) -> st.SearchStrategy[tuple[Strategy[Any], Any]]:
    def with_state(name: str) -> st.SearchStrategy[tuple[Strategy[Any], Any]]:
        strategy = STRATEGIES[name]()
        return _states(type(strategy.initial_state()), _wall_times(whole=whole)).map(lambda state: (strategy, state))

    return st.sampled_from(list(STRATEGIES)).flatmap(with_state)


@settings(max_examples=60)
@given(case=_state_cases(whole=False), delta=st.floats(-1.8e9, 1.8e9))
def test_rebase_moves_every_time_and_nothing_else(case: tuple[Strategy[Any], Any], delta: float) -> None:
    strategy, state = case
    _assert_moved(state, strategy.rebase(state, delta), delta)


@settings(max_examples=60)
@given(case=_state_cases(whole=False), delta=st.floats(-1.8e9, 1.8e9))
def test_rebasing_there_and_back_gives_the_state_back(case: tuple[Strategy[Any], Any], delta: float) -> None:
    strategy, state = case
    back = strategy.rebase(strategy.rebase(state, delta), -delta)
    # Times near 2e9 s carry about 5e-7 s of float error each way.
    _assert_moved(state, back, 0.0, tolerance=1e-3)


@settings(max_examples=60)
@given(case=_state_cases(whole=True), delta=WALL_SHIFTS)
def test_rebasing_whole_seconds_there_and_back_gives_the_very_state_back(
    case: tuple[Strategy[Any], Any], delta: int
) -> None:
    strategy, state = case
    assert strategy.rebase(strategy.rebase(state, delta), -delta) == state


@settings(max_examples=20)
@given(case=_state_cases(whole=False), delta=st.floats(-1.8e9, 1.8e9))
def test_a_rebased_state_is_stored_like_any_other(case: tuple[Strategy[Any], Any], delta: float) -> None:
    strategy, state = case
    moved = strategy.rebase(state, delta)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(moved), type=type(state)) == moved


# --- decisions: the same market on another clock, from the rebased state --------------------------------------

TEMPERATURE = 0.01


class Round(NamedTuple):
    """One observation of a scripted market."""

    gap_s: int  # since the previous observation
    lag_s: int  # how old the observation is by the time it is decided on
    rival_move: int  # the rival's change of price ...
    undercut: bool  # ... or to one below ours (down to its floor)
    foep: bool  # a FOEP reading comes with it
    share: bool  # a Buy Box share reading comes with it (when we hold)


class Market(NamedTuple):
    rival: int
    edge: float  # we hold while our landed price is at most the rival's · exp(edge) ...
    gap: float  # ... and take the Buy Box from it at exp(-gap) of that
    learned: bool  # the marketplace has learned the share's temperature
    rounds: list[Round]


ROUNDS = st.builds(
    Round,
    gap_s=st.integers(30, 1800),
    lag_s=st.integers(0, 60),
    rival_move=st.sampled_from([-15, -1, 0, 0, 0, 1, 15]),
    undercut=st.booleans(),
    foep=st.booleans(),
    share=st.booleans(),
)
MARKETS = st.builds(
    Market,
    rival=st.integers(1_000, 20_000),
    edge=st.floats(-0.02, 0.02),
    gap=st.floats(0.0, 0.02),
    learned=st.booleans(),
    rounds=st.lists(ROUNDS, min_size=5, max_size=40),
)


def _market_views(market: Market, strategy: Strategy[Any]) -> Iterator[tuple[MarketView, Any, Step[Any]]]:
    """Drive ``strategy`` through ``market`` on integer times: each view, the state decided from, and the step."""
    bounds = OfferBounds(int(market.rival * 0.8), int(market.rival * 1.3))
    floor = int(bounds.min_price * 0.9)
    prior = ScorePrior(temperature=TEMPERATURE, temperature_samples=5) if market.learned else None
    state = strategy.initial_state()
    rival, ours, holding, now = market.rival, bounds.max_price, False, 1_000.0
    pending: tuple[int, float] | None = None
    for turn in market.rounds:
        now += turn.gap_s
        if pending is not None and pending[1] <= now:
            ours, pending = pending[0], None
        move = ours - 1 - rival if turn.undercut else turn.rival_move
        rival = max(floor, rival + move)
        threshold = rival * math.exp(market.edge if holding else market.edge - market.gap)
        holding = ours <= threshold
        as_of = now - turn.lag_s
        share = 1.0 / (1.0 + math.exp(-math.log(threshold / ours) / TEMPERATURE)) if holding else None
        view = MarketView(
            key=OfferKey("SELLER", "DE", "SKU-1"),
            now=now,
            as_of=as_of,
            bounds=bounds,
            tick=1,
            our=OurListing(ours, feedback_pct=95, is_buybox_winner=holding),
            competitors=(CompetitorOffer("R1", rival, feedback_pct=95, is_buybox_winner=not holding),),
            foep=math.floor(threshold) if turn.foep else None,
            foep_at=as_of - 10 if turn.foep else None,
            foep_ours=holding if turn.foep else None,
            share=share if turn.share else None,
            share_price=ours if turn.share and share is not None else None,
            share_at=as_of if turn.share and share is not None else None,
            prior=prior,
        )
        step = strategy.decide(view, state)
        yield view, state, step
        state = step.state
        if step.target is not None:
            pending = (min(max(step.target, bounds.min_price), bounds.max_price), now + 120)


def _shifted(view: MarketView, delta: int) -> MarketView:
    return msgspec.structs.replace(
        view,
        now=view.now + delta,
        as_of=view.as_of + delta,
        foep_at=None if view.foep_at is None else view.foep_at + delta,
        share_at=None if view.share_at is None else view.share_at + delta,
    )


def _assert_decides_alike(strategy: Strategy[Any], view: MarketView, state: Any, step: Step[Any], delta: int) -> None:
    there = strategy.decide(_shifted(view, delta), strategy.rebase(state, delta))
    assert (there.target, there.reason, there.signal_backed) == (step.target, step.reason, step.signal_backed)
    assert there.state == strategy.rebase(step.state, delta)
    assert there.recheck_at == (None if step.recheck_at is None else step.recheck_at + delta)
    assert (there.want_foep, there.want_share, there.learned) == (step.want_foep, step.want_share, step.learned)


@pytest.mark.parametrize("name", list(STRATEGIES))
@settings(max_examples=25)
@given(market=MARKETS, delta=WALL_SHIFTS)
def test_a_rebased_state_decides_on_the_shifted_market_as_before(name: str, market: Market, delta: int) -> None:
    strategy = STRATEGIES[name]()
    for view, state, step in _market_views(market, strategy):
        _assert_decides_alike(strategy, view, state, step, delta)


def test_the_scripted_markets_reach_every_time_the_states_hold() -> None:
    """The property above is worth as much as the times its markets set: these scripts set every one of them,
    and decide alike on a clock 1.7e9 s on."""
    war = Market(2_000, -0.01, 0.005, False, [Round(900, 0, 0, True, False, False)] * 120)
    calm = Market(2_000, 0.01, 0.005, False, [Round(300, 5, 0, False, False, False)] * 40)
    read = Market(2_000, 0.01, 0.005, True, [Round(300, 5, 0, False, True, True)] * 40)
    reached: dict[type[msgspec.Struct], set[str]] = {SearchState: set(), TrackState: set()}
    for name in STRATEGIES:
        strategy = STRATEGIES[name]()
        blank = strategy.initial_state()
        for market in (war, calm, read):
            for view, state, step in _market_views(market, strategy):
                _assert_decides_alike(strategy, view, state, step, 1_700_000_000)
                moved = step.state if isinstance(step.state, SearchState | TrackState) else step.state.track
                start = blank if isinstance(blank, SearchState | TrackState) else blank.track
                reached[type(moved)] |= {t for t in _times(type(moved)) if getattr(moved, t) != getattr(start, t)}
    assert reached == {SearchState: set(SearchState.CLOCK_FIELDS), TrackState: set(TrackState.CLOCK_FIELDS)}


# --- the marketplace's learner ---------------------------------------------------------------------------------

LESSONS: st.SearchStrategy[Lesson] = st.one_of(
    st.builds(
        WeightSample,
        features=st.tuples(*[st.floats(-2.0, 2.0)] * len(FEATURES)),
        offset=st.floats(-0.05, 0.05),
        sd=st.floats(0.0005, 0.01),
    ),
    st.builds(SwingSample, amazon=st.booleans(), swing=st.floats(0.0, 0.05)),
    st.builds(TemperatureSample, temperature=st.floats(0.001, 0.05)),
)


@settings(max_examples=50)
@given(before=st.lists(LESSONS, max_size=30), after=st.lists(LESSONS, max_size=10))
def test_a_stored_learner_comes_back_as_it_was_and_learns_on_alike(before: list[Lesson], after: list[Lesson]) -> None:
    base = ScorePrior()
    learner = WeightLearner(base)
    for lesson in before:
        learner.add(lesson)
    stored = msgspec.msgpack.encode(learner.snapshot())
    restored = WeightLearner.restore(base, msgspec.msgpack.decode(stored, type=LearnerState))
    assert restored.prior() == learner.prior()
    assert restored.samples == learner.samples
    for lesson in after:
        learner.add(lesson)
        restored.add(lesson)
    assert restored.prior() == learner.prior()
    assert restored.snapshot() == learner.snapshot()


def test_a_fresh_learner_comes_back_fresh() -> None:
    restored = WeightLearner.restore(ScorePrior(), WeightLearner(ScorePrior()).snapshot())
    assert restored.prior() == ScorePrior()
    assert restored.samples == 0


def test_a_learner_stored_over_other_features_is_refused() -> None:
    state = WeightLearner(ScorePrior()).snapshot()
    other = msgspec.structs.replace(state, rhs=(*state.rhs, 0.0))
    with pytest.raises(ValueError, match="features"):
        WeightLearner.restore(ScorePrior(), other)
