"""p*: the closed form settled on the tick grid never disagrees with brute force over the grid."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim.buybox import BuyBoxParams, Coefficients, draw_coefficients, incumbency_bonus, static_bonus
from sim.competitors import CompetitorSpec
from sim.market import Market
from sim.oracle import UNWINNABLE, best_constant_price, expected_profit
from sim.scenarios import RunParams, build_spec
from sim.spec import OurSpec, RowSpec, spec_from_rows
from sim.threshold import (
    PRICE_CEILING,
    RowsView,
    expected_share,
    p_star_from_threshold,
    segment_thresholds,
    segmented_threshold,
    standing,
    threshold,
)

INT_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Offer:
    price: int
    ship: int
    fba: bool
    amz: bool
    feedback: float
    days: int
    available: bool


@dataclass(frozen=True)
class Case:
    """One row: our attributes (slot 0's price is the candidate), competitors, holder, cap, bounds, model."""

    offers: tuple[Offer, ...]
    holder: int
    cap_landed: int
    lo: int
    hi: int
    tick: int
    coef: Coefficients

    def arrays(self) -> dict[str, np.ndarray]:
        get = lambda name, dtype: np.array([[getattr(o, name) for o in self.offers]], dtype)  # noqa: E731
        return {
            "price": get("price", np.int64),
            "ship": get("ship", np.int64),
            "fba": get("fba", np.bool_),
            "amz": get("amz", np.bool_),
            "feedback": get("feedback", np.float64),
            "days": get("days", np.int64),
            "available": get("available", np.bool_),
        }


offers = st.builds(
    Offer,
    price=st.integers(50, 3000),
    ship=st.sampled_from([0, 0, 0, 99, 299, 450]),
    fba=st.booleans(),
    amz=st.booleans(),
    feedback=st.floats(0.8, 1.0),
    days=st.integers(1, 4),
    available=st.booleans() | st.just(True),
)


@st.composite
def cases(draw: st.DrawFn, tau: float) -> Case:
    competitors = draw(st.lists(offers, max_size=5))
    ours = draw(offers)
    ours = Offer(0, ours.ship, ours.fba, False, ours.feedback, ours.days, True)
    lo = draw(st.integers(1, 3000))
    params = BuyBoxParams(tau=tau)
    return Case(
        offers=(ours, *competitors),
        holder=draw(st.integers(-1, len(competitors))),
        cap_landed=draw(st.none() | st.integers(100, 4000)) or INT_MAX,
        lo=lo,
        hi=lo + draw(st.integers(0, 2500)),
        tick=draw(st.sampled_from([1, 1, 5])),
        coef=draw_coefficients(draw(st.integers(0, 10_000)), params),
    )


def brute_force(case: Case) -> tuple[int, float]:
    """buybox.md's formula written out (with L_min), evaluated at every grid price; also the distance of the
    deciding quantity from its threshold at the answer, to skip cases that float round-off could flip."""
    with np.errstate(all="ignore"):  # rows with no eligible offer make -inf - -inf; they are masked out
        return _brute_force(case)


def _brute_force(case: Case) -> tuple[int, float]:
    a = case.arrays()
    coef = case.coef
    grid = np.arange(-(-case.lo // case.tick) * case.tick, case.hi + 1, case.tick)
    if not grid.size:
        return UNWINNABLE, np.inf
    price = np.repeat(a["price"], len(grid), axis=0)
    price[:, 0] = grid
    landed = price + a["ship"]
    eligible = a["available"] & (landed <= case.cap_landed)
    l_min = np.where(eligible, landed, INT_MAX).min(axis=1, keepdims=True)
    u = (
        -np.log(landed / l_min)
        + coef.gamma_fba * a["fba"]
        + coef.gamma_amz * a["amz"]
        + coef.gamma_feedback * (a["feedback"] - 0.95) / 0.05
        - coef.gamma_days * (a["days"] - 2)
    )
    slots = a["price"].shape[1]
    if case.holder >= 0:
        u[:, case.holder] += coef.gamma_inc_amazon if a["amz"][0, case.holder] else coef.gamma_inc_seller
    u = np.where(eligible, u, -np.inf)
    if coef.tau > 0:
        x = u / coef.tau
        w = np.exp(x - x.max(axis=1, keepdims=True))
        share = w[:, 0] / w.sum(axis=1)
        wins = eligible[:, 0] & (share >= 0.5)
        margin = np.abs(share - 0.5)
    else:
        best = u.max(axis=1, keepdims=True)
        at_best = u == best
        holder_at_best = at_best[:, case.holder] if case.holder >= 0 else np.zeros(len(grid), np.bool_)
        cheapest = np.where(at_best, landed, INT_MAX).argmin(axis=1)
        winner = np.where(holder_at_best, case.holder, cheapest)
        wins = eligible[:, 0] & np.isfinite(best[:, 0]) & (winner == 0)
        others = u[:, 1:] if slots > 1 else np.full((len(grid), 1), -np.inf)
        gap = np.abs(u[:, 0] - others.max(axis=1))
        margin = np.where(gap == 0, np.inf, gap)
    hits = np.flatnonzero(wins)
    if not hits.size:
        return UNWINNABLE, float(margin[0])
    top = hits[-1]
    edge = margin[top : top + 2].min()
    return int(grid[top]), float(edge)


def view_of(case: Case) -> RowsView:
    a = case.arrays()
    return RowsView(
        price=a["price"],
        ship=a["ship"],
        available=a["available"],
        static_bonus=static_bonus(case.coef, a["fba"], a["amz"], a["feedback"], a["days"]),
        incumbency=incumbency_bonus(case.coef, a["amz"]),
        holder=np.array([case.holder]),
        cap_landed=np.array([case.cap_landed]),
        our_can_win=np.array([True]),
    )


def check_against_brute_force(case: Case) -> None:
    expected, margin = brute_force(case)
    assume(margin > 1e-9)
    view = view_of(case)
    lo, hi = np.array([case.lo]), np.array([case.hi])
    assert threshold(view, case.coef.tau, case.tick, lo, hi)[0] == expected
    unclamped = threshold(view, case.coef.tau, case.tick, np.array([case.tick]), np.array([PRICE_CEILING]))
    assert p_star_from_threshold(unclamped, lo, hi, case.tick)[0] == expected


@settings(max_examples=150)
@given(cases(tau=0.005))
def test_p_star_agrees_with_brute_force_at_default_tau(case: Case) -> None:
    check_against_brute_force(case)


@settings(max_examples=100)
@given(cases(tau=0.03))
def test_p_star_agrees_with_brute_force_at_soft_tau(case: Case) -> None:
    check_against_brute_force(case)


@settings(max_examples=150)
@given(cases(tau=0.0))
def test_p_star_agrees_with_brute_force_at_tau_zero(case: Case) -> None:
    check_against_brute_force(case)


@pytest.mark.parametrize("tau", [0.0, 0.005])
@pytest.mark.parametrize("holder", [-1, 0, 1])
def test_p_star_with_and_without_us_as_incumbent(tau: float, holder: int) -> None:
    coef = draw_coefficients(3, BuyBoxParams(tau=tau, spread=0.0))
    ours = Offer(0, 0, False, False, 0.95, 2, True)
    rival = Offer(1000, 0, False, False, 0.95, 2, True)
    case = Case((ours, rival), holder, INT_MAX, 1, 2000, 1, coef)
    expected, _ = brute_force(case)
    assert threshold(view_of(case), coef.tau, 1, np.array([1]), np.array([2000]))[0] == expected
    # The incumbency bonus (0.005) is worth half a per cent of price: ours raises p*, the rival's lowers it; an
    # exact tie without an incumbent goes to the lower slot, ours.
    assert expected == {-1: 1000, 0: 1005, 1: 995}[holder]


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(500, 1500), st.booleans(), st.booleans(), st.integers(1, 4)), min_size=1, max_size=5
    ),
    st.integers(500, 1500),
    st.integers(0, 1000),
)
def test_with_tau_zero_each_segment_features_its_argmax(
    rivals: list[tuple[int, bool, bool, int]], our_price: int, seed: int
) -> None:
    """Each traffic segment features the best score under its own terms (the hidden ones included); the item's
    holder is the offer featured for the most views, and our share the weight of the segments featuring us."""
    competitors = [CompetitorSpec(price=p, fba=f, amazon=a, handling_days=d) for p, f, a, d in rivals]
    spec = spec_from_rows([RowSpec(OurSpec(our_price, 100, 2000), competitors)])
    market = Market(spec, seed=seed, buybox=BuyBoxParams(tau=0.0))
    landed = market.price[0] + market.ship[0]
    expected = []
    for bonus in market.segment_bonus[0]:
        scores = bonus - np.log(landed)
        at_best = np.flatnonzero(scores == scores.max())
        expected.append(at_best[np.argmin(landed[at_best])])  # no incumbent at the first recompute
    np.testing.assert_array_equal(market.segment_holder[0], expected)
    weight = market.segment_weight[0]
    views = np.bincount(expected, weights=weight, minlength=len(landed))
    assert market.holder[0] == int(np.argmax(views))
    assert market.our_share[0] == weight[np.array(expected) == 0].sum() / 10_000
    assert market.coef.tau == 0.0


@settings(max_examples=60)
@given(st.integers(800, 1200), st.integers(0, 1000), st.sampled_from([0.0, 0.005]))
def test_market_features_us_exactly_at_or_below_p_star(price: int, seed: int, tau: float) -> None:
    """The first recompute has no incumbent, so the segments featuring us for certain weigh at least half iff our
    price ≤ the no-incumbent p*; with τ = 0 no other segment features us, so that is our share."""
    competitors = [CompetitorSpec(price=1000), CompetitorSpec(price=1010, fba=True)]
    spec = spec_from_rows([RowSpec(OurSpec(price, 100, 2000), competitors)])
    market = Market(spec, seed=seed, buybox=BuyBoxParams(tau=tau))
    fresh = replace(market.segmented_view([0]), holder=np.full((1, market.segments.n_segments), -1))
    p_star_no_incumbent = segmented_threshold(fresh, market.coef.tau, 1, np.array([100]), np.array([2000]))[0]
    if price <= p_star_no_incumbent:
        assert market.our_share[0] >= 0.5
    elif tau == 0.0:
        assert market.our_share[0] < 0.5


def test_out_of_stock_offer_is_unwinnable() -> None:
    spec = spec_from_rows([RowSpec(OurSpec(1000, 500, 2000, stock=0), [CompetitorSpec(price=1200)])])
    market = Market(spec, seed=1)
    assert market.p_star[0] == UNWINNABLE
    assert market.holder[0] == 1


def test_reference_price_caps_p_star() -> None:
    spec = spec_from_rows([RowSpec(OurSpec(1000, 500, 2000), [CompetitorSpec(price=1500)], ref_price=1200)])
    market = Market(spec, seed=1, buybox=BuyBoxParams(tau=0.0))
    assert market.p_star[0] == 1200


@pytest.mark.parametrize("scenario", ["S1a", "S1b"])
def test_best_constant_price_of_a_static_scenario_is_the_best_segment_threshold(scenario: str) -> None:
    """Static competitors and no rotation (τ = 0): a constant price p wins, from the first recompute on, the
    segments whose no-incumbent threshold is at least p, and keeps them all day (its incumbency only widens its
    lead; where a rival holds, its edge keeps it). So profit is views × W(p) × (p − cost) with W the weight of those
    segments, a step function of price, and the best constant price is one of the segments' thresholds: the oracle
    finds that one's profit up to its grid's resolution. It need not be p* (the threshold of half the views): a
    lower price may win every segment, a higher one fewer views at a better margin."""
    params = RunParams.cell(tau=0.0)
    spec = build_spec(scenario, 4, 12, params)
    horizon = 3 * 3600.0
    oracle = best_constant_price(
        spec, seed=4, horizon_s=horizon, latency=params.latency, buybox=params.buybox, orders=params.orders, grid=24
    )
    market = Market(spec, seed=4, buybox=params.buybox, notifications=False)
    rows = np.arange(spec.n_rows)
    fresh = replace(market.segmented_view(rows), holder=np.full_like(market.segment_holder, -1))
    per_segment = segment_thresholds(fresh, market.coef.tau, 1, spec.min_price, spec.max_price)
    won = (per_segment[:, None, :] >= per_segment[:, :, None]) * market.segment_weight[:, None, :]
    views = won.sum(axis=2) / 10_000  # W(t_s) for each segment's threshold t_s
    candidates = np.where(per_segment >= 0, views * (per_segment - spec.unit_cost[:, None]), 0.0)
    best = candidates.max(axis=1) * spec.views_per_s * horizon
    winnable = best > 0
    assert winnable.sum() >= 8
    ratio = oracle.profit[winnable] / best[winnable]
    assert np.all((ratio > 0.99) & (ratio <= 1.0 + 1e-9)), ratio
    assert np.all(oracle.price[winnable] <= per_segment.max(axis=1)[winnable])
    assert np.all(oracle.price >= spec.min_price) and np.all(oracle.price <= spec.max_price)


@pytest.mark.parametrize("scenario", ["S1a", "S1b"])
def test_best_constant_price_of_a_static_scenario_maximises_margin_times_expected_share(scenario: str) -> None:
    """τ > 0 without incumbency: the segments draw their featured offer at every recompute, and a constant price p
    earns from the first recompute on its expected share E(p) (each segment's weight times our softmax share there),
    the same at every recompute since nothing else moves. So the best constant price maximises (p − cost)·E(p); the
    oracle, searching by re-simulation, finds that profit to within its grid and the minute before the first
    recompute, and never more."""
    params = RunParams.cell(tau=0.005)
    buybox = replace(params.buybox, gamma_inc_seller=0.0, gamma_inc_amazon=0.0)
    spec = build_spec(scenario, 4, 12, params)
    horizon = 3 * 3600.0
    oracle = best_constant_price(
        spec, seed=4, horizon_s=horizon, latency=params.latency, buybox=buybox, orders=params.orders, grid=24
    )
    market = Market(spec, seed=4, buybox=buybox, notifications=False)
    rows = np.arange(spec.n_rows)
    our = standing(market.segmented_view(rows), 0.005)
    prices = np.exp(np.linspace(np.log(spec.min_price), np.log(spec.max_price), 4000, axis=1)).round()
    share = np.stack(
        [
            expected_share(our, np.log(prices[:, j] + spec.our_ship), market.segment_weight, 0.005) / 10_000
            for j in range(4000)
        ],
        axis=1,
    )
    best = ((prices - spec.unit_cost[:, None]) * share).max(axis=1) * spec.views_per_s * horizon
    winnable = best > 0
    assert winnable.sum() >= 8
    ratio = oracle.profit[winnable] / best[winnable]
    assert np.all((ratio > 0.98) & (ratio <= 1.0 + 1e-6)), ratio


def test_expected_profit_integrates_share_over_time() -> None:
    spec = spec_from_rows([RowSpec(OurSpec(1500, 1000, 2000, unit_cost=900), views_per_s=0.01)])
    market = Market(spec, seed=2, notifications=False)
    traj = market.finish(1000.0)
    assert expected_profit(traj)[0] == pytest.approx(0.01 * 1000.0 * (1500 - 900))
