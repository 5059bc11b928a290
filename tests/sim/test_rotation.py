"""What the market keeps between recomputes is exactly what recomputing it would give, and p* does not depend on
where its search starts: the simulator's shortcuts change its speed, never its numbers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from sim.buybox import Choices, featured_choices, offer_scores, rivals, we_win, with_incumbency
from sim.rotation import RotationTables
from sim.threshold import (
    NONE,
    PRICE_CEILING,
    SegmentedView,
    _highest_half_share_tick,
    _settle,
    long_run_share,
    segmented_threshold,
    stationary_share,
)
from tests.sim.test_segments import random_view  # the same random rows as the p* brute-force checks

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def fresh_choices(bonus: F64, incumbency: F64, landed: I64, eligible: B, holder: I64, tau: float) -> Choices:
    """A recompute's (row, segment) lines computed from scratch, as the market computed them before it kept any."""
    n, segments, slots = bonus.shape
    flat_holder = holder.reshape(-1)
    line_landed = np.repeat(landed, segments, axis=0)
    line_eligible = np.repeat(eligible, segments, axis=0)
    line_incumbency = np.repeat(incumbency, segments, axis=0)
    static = bonus.reshape(n * segments, slots)
    scores = offer_scores(with_incumbency(static, line_incumbency, flat_holder), line_landed, line_eligible)
    if tau > 0:
        our_major = np.zeros(len(flat_holder), np.bool_)
    else:
        riv = rivals(scores[:, 1:], line_landed[:, 1:], flat_holder, tau)
        our_major = we_win(scores[:, 0], line_landed[:, 0], flat_holder == 0, riv, tau)
    return featured_choices(scores, line_landed, flat_holder, our_major, tau)


def same_bits(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("tau", [0.0, 0.005])
def test_the_tables_give_what_a_fresh_recompute_computes(tau: float) -> None:
    """Rows whose offers change now and then, with incumbents drawn anew at every step: each step's choices and
    long-run shares are the same floats, bit for bit, as working them out from scratch."""
    rng = np.random.default_rng(7)
    n, segments, slots = 12, 4, 4
    bonus = rng.normal(0.0, 0.03, (n, segments, slots))
    incumbency = rng.choice([0.005, 0.02], (n, slots))
    tables = RotationTables(bonus, incumbency, tau)
    price = rng.integers(900, 1100, (n, slots))
    available = rng.random((n, slots)) < 0.9
    for _ in range(60):
        moves = rng.random((n, slots)) < 0.05  # most steps leave most rows as they were
        price = np.where(moves, price + rng.integers(-20, 21, (n, slots)), price)
        available = np.where(rng.random((n, slots)) < 0.02, ~available, available)
        rows = np.flatnonzero(rng.random(n) < 0.7)
        landed = price[rows] + 99
        eligible = available[rows] & (landed <= 1150)
        holder = rng.integers(-1, slots, (len(rows), segments))
        tables.update(rows, landed, eligible)
        kept = tables.choices(rows, holder, landed, eligible)
        fresh = fresh_choices(bonus[rows], incumbency[rows], landed, eligible, holder, tau)
        for name in Choices.__slots__:
            assert same_bits(getattr(kept, name), getattr(fresh, name)), name
        if tau > 0:
            log_landed = np.log(np.maximum(landed, 1).astype(np.float64))
            solved = stationary_share(
                bonus[rows].reshape(-1, slots),
                np.repeat(incumbency[rows], segments, axis=0),
                np.repeat(log_landed, segments, axis=0),
                np.repeat(eligible, segments, axis=0),
                tau,
            )
            assert same_bits(tables.long_run(rows), solved.reshape(len(rows), segments))


def test_p_star_search_settles_on_the_same_tick_wherever_it_starts() -> None:
    """The estimate that starts p*'s search only decides how soon it ends: from the range's ends, from random
    ticks, and by plain bisection on the same predicate, the highest winning tick is the same."""
    rng = np.random.default_rng(5)
    tau, tick = 0.005, 1
    checked = 0
    for _ in range(60):
        view = random_view(rng, int(rng.integers(1, 6)), int(rng.integers(1, 5)))
        lo, hi = 1, int(rng.choice([3000, PRICE_CEILING]))
        hi_t = min(hi, int(min(view.cap_landed[0], PRICE_CEILING) - view.ship[0, 0])) // tick
        if hi_t < lo:
            continue
        half = view.weight.sum(axis=1) / 2.0
        row = np.array([0])

        def share_at(sel: npt.NDArray[np.intp], ticks: I64, view: SegmentedView = view) -> F64:
            return long_run_share(view, sel, ticks * tick + view.ship[sel, 0], tau)

        def wins(sel: npt.NDArray[np.intp], ticks: I64, half: F64 = half) -> B:
            won: B = share_at(sel, ticks) >= half[sel]
            return won

        expected = segmented_threshold(view, tau, tick, np.array([lo]), np.array([hi]))[0]
        starts = [lo, hi_t, *rng.integers(lo, min(hi_t, 10**7) + 1, 4).tolist()]
        for start in starts:
            found = _highest_half_share_tick(share_at, half, row, np.array([start]), np.array([lo]), np.array([hi_t]))
            assert (found[0] * tick if found[0] >= 0 else NONE) == expected
        bisected = _settle(wins, row, np.array([lo]), np.array([lo]), np.array([hi_t]))
        assert (bisected[0] * tick if bisected[0] >= 0 else NONE) == expected
        checked += expected != NONE
    assert checked > 30
