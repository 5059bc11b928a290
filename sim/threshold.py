"""Our winning threshold: the highest listing price on the tick grid at which our offer would be featured.

This is the quantity both the oracle's p*(t) and Amazon's FOEP report, so it lives on its own. Within one traffic
segment, the closed form (τ > 0: ``ln L_us ≤ b_us − τ·logsumexp((b_j − ln L_j)/τ)``; τ = 0: the same with the max)
gives an estimate; the answer is then settled on the integer grid with the exact predicate `sim.buybox.we_win`,
which is monotone in our price, so the result never disagrees with a brute-force scan of the grid (`threshold`).

An item's traffic falls into segments (`sim.segments`), each deciding on its own, and "we win" means what
reference/buybox.md says of the Buy Box: an expected share of at least half the glance views. For τ > 0 every
segment draws its featured offer at each recompute, with the incumbent's bonus, so the featured offer is a Markov
chain and "expected" is its long run: the views' weighted sum of the stationary probability of featuring us
(`stationary_share`, `long_run_share`). That depends on the prices, not on who the last draw featured (taken with
the incumbent at t instead, p* wandered 0.3–2.8% an hour at constant prices, and no price could hold a 0.2% band),
and it is monotone in our price: an incumbent-free estimate is settled on the grid by the exact predicate, which
a brute-force scan confirms. For τ = 0 each segment features its argmax for certain, and the item's threshold is
the weighted upper median of the segments' thresholds: exact, with no price scanned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from sim.buybox import Rivals, offer_scores, rivals, we_win, with_incumbency

__all__ = [
    "NONE",
    "PRICE_CEILING",
    "RowsView",
    "SegmentedView",
    "Standing",
    "expected_share",
    "half_the_views",
    "long_run_share",
    "p_star_from_threshold",
    "segment_thresholds",
    "segmented_threshold",
    "standing",
    "stationary_share",
    "threshold",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

NONE: Final = -1  # no price in range wins
PRICE_CEILING: Final = 10**12  # "unbounded" for a listing price in minor units
_LOG_TOP: Final = math.log(PRICE_CEILING * 2.0)
_CLEAR: Final = 1e-9  # relative distance from a grid boundary beyond which float round-off cannot matter


@dataclass(frozen=True, slots=True)
class RowsView:
    """The market facts the threshold depends on, for some rows (slot 0 is us).

    ``available`` says which competitor offers are buyable now (listed, in stock, account healthy); column 0 is
    ignored because the threshold asks about a hypothetical price of ours. ``our_can_win`` is whether our offer
    could be featured at all (in stock, account healthy). ``cap_landed`` is the reference-price cap on a landed
    price (int64 max where a row has no reference price). ``static_bonus`` and ``incumbency`` are each offer's
    score terms (`sim.buybox.static_bonus`, `sim.buybox.incumbency_bonus`) under its row's coefficients.
    """

    price: I64
    ship: I64
    available: B
    static_bonus: F64
    incumbency: F64
    holder: I64
    cap_landed: I64
    our_can_win: B


WinTest = Callable[[npt.NDArray[np.intp], I64], B]


@dataclass(frozen=True, slots=True)
class SegmentedView:
    """The market facts of some rows with their traffic segments (slot 0 is us).

    As `RowsView`, except that ``bonus`` holds each offer's score terms in each segment (everything but price and
    incumbency; `sim.buybox.segment_bonus`, shape ``(rows, segments, slots)``), ``holder`` each segment's featured
    offer ``(rows, segments)``, and ``weight`` each segment's glance views in basis points ``(rows, segments)``.
    """

    price: I64
    ship: I64
    available: B
    bonus: F64
    incumbency: F64
    holder: I64
    weight: I64
    cap_landed: I64
    our_can_win: B

    def per_segment(self) -> RowsView:
        """One `RowsView` row per (row, segment), row-major."""
        segments, slots = self.holder.shape[1], self.price.shape[1]
        return RowsView(
            price=np.repeat(self.price, segments, axis=0),
            ship=np.repeat(self.ship, segments, axis=0),
            available=np.repeat(self.available, segments, axis=0),
            static_bonus=self.bonus.reshape(-1, slots),
            incumbency=np.repeat(self.incumbency, segments, axis=0),
            holder=self.holder.reshape(-1),
            cap_landed=np.repeat(self.cap_landed, segments),
            our_can_win=np.repeat(self.our_can_win, segments),
        )


def segment_thresholds(view: SegmentedView, tau: float, tick: int, lo: I64, hi: I64) -> I64:
    """`threshold` in every segment: shape ``(rows, segments)``."""
    n, segments = view.holder.shape
    flat = threshold(
        view.per_segment(),
        tau,
        tick,
        np.repeat(np.asarray(lo, np.int64), segments),
        np.repeat(np.asarray(hi, np.int64), segments),
    )
    return flat.reshape(n, segments)


def segmented_threshold(view: SegmentedView, tau: float, tick: int, lo: I64, hi: I64) -> I64:
    """Highest listing price in ``[lo, hi]`` (multiples of ``tick``) at which we win the item; `NONE` if none does.

    τ = 0: the segments featuring us (each its argmax) hold at least half the glance views, the weighted upper
    median of the segments' thresholds. τ > 0: our expected share, the views' weighted sum of our share in each
    segment, is at least half (`long_run_share`), settled on the grid from an incumbent-free estimate.
    """
    if tau <= 0:
        return half_the_views(segment_thresholds(view, tau, tick, lo, hi), view.weight)
    return _expected_share_threshold(view, tau, tick, lo, hi)


@dataclass(frozen=True, slots=True)
class Standing:
    """What our expected share at any price of ours depends on, per (row, segment): our score terms with
    incumbency (``our_bonus``) and the rivals' ``logsumexp(s_j / τ)`` (``level``, -inf where nobody competes)."""

    our_bonus: F64
    level: F64


def standing(view: SegmentedView, tau: float) -> Standing:
    """`Standing` of every (row, segment) of ``view`` (τ > 0)."""
    flat = view.per_segment()
    comp_landed = flat.price[:, 1:] + flat.ship[:, 1:]
    comp_ok = flat.available[:, 1:] & (comp_landed <= flat.cap_landed[:, None])
    bonus = with_incumbency(flat.static_bonus, flat.incumbency, flat.holder)
    riv = rivals(offer_scores(bonus[:, 1:], comp_landed, comp_ok), comp_landed, flat.holder, tau)
    shape = view.holder.shape
    return Standing(bonus[:, 0].reshape(shape), riv.level.reshape(shape))


def expected_share(our: Standing, log_landed: F64, weight: I64, tau: float) -> F64:
    """Our expected share of each row's glance views (a fraction of ``weight``'s total, in its units) with our
    landed price at ``exp(log_landed)``: ``Σ_s weight_s / (1 + exp(level_s - (b_s - ln L) / τ))``, the
    segments summed one by one in a fixed order so that a row's value does not depend on the batch."""
    return _weighted_sum(weight * _segment_shares(our, log_landed, tau))


def _segment_shares(our: Standing, log_landed: F64, tau: float) -> F64:
    z = our.level - (our.our_bonus - log_landed[:, None]) / tau
    share: F64 = 1.0 / (1.0 + np.exp(np.minimum(z, 700.0)))
    return share


def _weighted_sum(parts: F64) -> F64:
    total = np.zeros(len(parts))
    for s in range(parts.shape[1]):
        total += parts[:, s]
    return total


def stationary_share(bonus: F64, incumbency: F64, log_landed: F64, eligible: B, tau: float) -> F64:
    """Our long-run share of each segment under rotation (τ > 0), one segment a row: shape ``(n, slots)`` inputs,
    slot 0 ours. At each recompute the segment draws its featured offer by ``softmax((bonus - ln L + γ_inc·[holder])
    / τ)`` (`sim.buybox.choose_featured`), so the featured offer is a Markov chain whose next state depends on the
    incumbent; the answer is its stationary probability of featuring us, which no single draw moves. Every
    eligible offer can follow every other, so the chain has one recurrent class and one stationary distribution,
    solved exactly (the balance equations with one replaced by the sum to 1). 0 where nothing is eligible."""
    n, m = bonus.shape
    base = np.where(eligible, bonus - log_landed, -np.inf) / tau
    logits = np.repeat(base[:, None, :], m, axis=1)
    diagonal = np.arange(m)
    logits[:, diagonal, diagonal] += np.where(eligible, incumbency, 0.0) / tau
    top = logits.max(axis=2, keepdims=True)
    weights = np.exp(logits - np.where(np.isfinite(top), top, 0.0))
    total = weights.sum(axis=2, keepdims=True)
    step = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)  # step[h, j]: from holder h to j
    balance = np.swapaxes(step, 1, 2) - np.eye(m)
    balance[:, -1, :] = 1.0
    any_eligible = eligible.any(axis=1)
    balance[~any_eligible] = np.eye(m)
    unit = np.zeros((n, m, 1))
    unit[:, -1, 0] = 1.0
    pi = np.linalg.solve(balance, unit)[:, :, 0]
    share: F64 = np.where(any_eligible, np.clip(pi[:, 0], 0.0, 1.0), 0.0)
    return share


def long_run_share(view: SegmentedView, rows: npt.NDArray[np.intp], our_landed: I64, tau: float) -> F64:
    """Our long-run expected share of the glance views of ``rows`` (in ``weight``'s units) with our landed price
    ``our_landed``: each segment's weight times `stationary_share`, summed one segment after another in a fixed
    order so that a row's value does not depend on the batch. The competitors' offers are ``view``'s; ``rows`` may
    repeat (several prices of ours on one row). Every (row, segment) is one chain of a single batched solve."""
    landed = view.price[rows] + view.ship[rows]
    landed[:, 0] = our_landed
    eligible = view.available[rows] & (landed <= view.cap_landed[rows, None])
    eligible[:, 0] = view.our_can_win[rows] & (our_landed <= view.cap_landed[rows])
    log_landed = np.log(np.maximum(landed, 1).astype(np.float64))
    segments, slots = view.bonus.shape[1:]
    share = stationary_share(
        view.bonus[rows].reshape(-1, slots),
        np.repeat(view.incumbency[rows], segments, axis=0),
        np.repeat(log_landed, segments, axis=0),
        np.repeat(eligible, segments, axis=0),
        tau,
    )
    return _weighted_sum(view.weight[rows] * share.reshape(len(rows), segments))


def _expected_share_threshold(view: SegmentedView, tau: float, tick: int, lo: I64, hi: I64) -> I64:
    """τ > 0: the highest grid price whose long-run share reaches half the views, decided on the exact share
    (`_highest_half_share_tick`) from a start the incumbent-free share gives (`_half_share_log_landed`;
    incumbency only shifts it)."""
    n = len(view.holder)
    our_ship = view.ship[:, 0]
    half = view.weight.sum(axis=1) / 2.0

    def share_at(sel: npt.NDArray[np.intp], ticks: I64) -> F64:
        return long_run_share(view, sel, ticks * tick + our_ship[sel], tau)

    cap_listing = np.minimum(view.cap_landed, PRICE_CEILING) - our_ship
    lo_t = -(-np.asarray(lo, np.int64) // tick)
    hi_t = np.minimum(np.asarray(hi, np.int64), cap_listing) // tick
    free = replace(view, holder=np.full_like(view.holder, -1))
    log_estimate = _half_share_log_landed(standing(free, tau), view.weight, tau)
    landed = np.exp(np.minimum(log_estimate, _LOG_TOP))
    guess = np.floor(np.clip((landed - our_ship) / tick, -1.0, float(PRICE_CEILING))).astype(np.int64)
    result = np.full(n, NONE, np.int64)
    rows = np.flatnonzero(view.our_can_win & (lo_t <= hi_t) & (view.weight.sum(axis=1) > 0))
    if rows.size:
        start = np.clip(guess[rows], lo_t[rows], hi_t[rows])
        found = _highest_half_share_tick(share_at, half[rows], rows, start, lo_t[rows], hi_t[rows])
        result[rows] = np.where(found >= 0, found * tick, NONE)
    return result


ShareAt = Callable[[npt.NDArray[np.intp], I64], F64]

# What each round of the search probes, in one call: numpy's per-call overhead is most of a round's cost, and one
# more price costs a little more (a few chains of a batched solve). The first round checks the estimate and its
# neighbours, which settles most rows; the next ones probe a ladder around a better estimate, which brackets one
# off by up to 128 ticks (it is rarely off by more than 50), where a bisection would pay one call per halving of
# the whole price range.
_FIRST: Final = np.array([0, 1, -1, 2], np.int64)
_LADDER: Final = np.array([0, 1, -1, 2, -2, 4, -4, 8, -8, 16, -16, 32, -32, 64, -64, 128, -128], np.int64)
_I64_MIN: Final = np.iinfo(np.int64).min
_I64_MAX: Final = np.iinfo(np.int64).max


def _highest_half_share_tick(
    share_at: ShareAt, half: F64, rows: npt.NDArray[np.intp], start: I64, lo: I64, hi: I64
) -> I64:
    """Highest tick count in ``[lo, hi]`` with ``share_at(rows, ticks) >= half`` (per row of ``rows``), -1 where
    none; ``start`` is the estimate. The predicate is monotone in our price, so there is one answer wherever the
    search starts (the one `_settle` would give): a bracket (highest tick known to win, lowest known to lose,
    outside the range counting as won below and lost above) closes until it is one tick wide.

    The first round probes `_FIRST` around ``start``; each later one the `_LADDER` around a new estimate and the
    bracket's midpoint in log space, which halves the bracket's log width however poor the estimate is. The
    estimate is where the log-odds of the share, ``ln(s / (2·half - s))``, nearly linear in our price, cross 0 on
    the line through two probed ticks: the bracket's ends once both are probed, else the two farthest apart on the
    one side probed so far (`_crossing`)."""
    n = len(rows)
    ends = _Ends(n, lo - 1, hi + 1)
    estimate, offsets = start.astype(np.float64), _FIRST
    todo = np.arange(n)
    while todo.size:
        low, high = ends.won_at[todo], ends.lost_at[todo]
        probes = np.floor(estimate[todo]).astype(np.int64)[:, None] + offsets
        if offsets is _LADDER:
            middle = np.floor(np.sqrt(np.maximum(low, 1).astype(np.float64) * high)).astype(np.int64)
            probes = np.concatenate([probes, middle[:, None]], axis=1)
        probes = np.clip(probes, low[:, None] + 1, high[:, None] - 1)
        share = share_at(np.repeat(rows[todo], probes.shape[1]), probes.reshape(-1)).reshape(probes.shape)
        ends.update(todo, probes, share, share >= half[todo, None])
        todo = todo[ends.lost_at[todo] - ends.won_at[todo] > 1]
        estimate[todo] = ends.crossing(todo, half[todo])
        offsets = _LADDER
    return np.where(ends.won_at >= lo, ends.won_at, -1)


class _Ends:
    """The search's bracket per row, with the share probed at each end (nan while an end is outside the range),
    and on each side the probe farthest from the bracket (for the estimate while only one side is probed)."""

    def __init__(self, n: int, below: I64, above: I64) -> None:
        self.won_at, self.lost_at = below, above
        self.won_share, self.lost_share = np.full(n, np.nan), np.full(n, np.nan)
        self.won_far, self.lost_far = below.copy(), above.copy()
        self.won_far_share, self.lost_far_share = np.full(n, np.nan), np.full(n, np.nan)

    def update(self, todo: npt.NDArray[np.intp], probes: I64, share: F64, won: B) -> None:
        """Probes lie inside the bracket, so the highest that won and the lowest that lost are its new ends."""
        pick = np.arange(len(todo))
        wins = won.sum(axis=1)
        up: B = wins > 0
        down: B = wins < won.shape[1]
        first_up: B = up & np.isnan(self.won_share[todo])  # the first probes of a side: its far ones too
        first_down: B = down & np.isnan(self.lost_share[todo])

        def probed(column: npt.NDArray[np.intp], where: B) -> tuple[I64, F64]:
            return probes[pick, column][where], share[pick, column][where]

        highest_win = np.where(won, probes, _I64_MIN).argmax(axis=1)
        lowest_loss = np.where(won, _I64_MAX, probes).argmin(axis=1)
        self.won_at[todo[up]], self.won_share[todo[up]] = probed(highest_win, up)
        self.lost_at[todo[down]], self.lost_share[todo[down]] = probed(lowest_loss, down)
        lowest_win = np.where(won, probes, _I64_MAX).argmin(axis=1)
        highest_loss = np.where(won, _I64_MIN, probes).argmax(axis=1)
        self.won_far[todo[first_up]], self.won_far_share[todo[first_up]] = probed(lowest_win, first_up)
        self.lost_far[todo[first_down]], self.lost_far_share[todo[first_down]] = probed(highest_loss, first_down)

    def crossing(self, todo: npt.NDArray[np.intp], half: F64) -> F64:
        """The next estimate of the rows ``todo``, inside their bracket."""
        won_at, lost_at = self.won_at[todo], self.lost_at[todo]
        both = _crossing(won_at, self.won_share[todo], lost_at, self.lost_share[todo], half)
        wins_only = _crossing(self.won_far[todo], self.won_far_share[todo], won_at, self.won_share[todo], half)
        losses_only = _crossing(lost_at, self.lost_share[todo], self.lost_far[todo], self.lost_far_share[todo], half)
        no_win, no_loss = np.isnan(self.won_share[todo]), np.isnan(self.lost_share[todo])
        guess = np.where(no_win, losses_only, np.where(no_loss, wins_only, both))
        fallback = np.where(no_win, lost_at, np.where(no_loss, won_at, (won_at + lost_at) / 2.0))
        estimate: F64 = np.clip(np.where(np.isfinite(guess), guess, fallback), won_at, lost_at)
        return estimate


def _crossing(at: I64, share: F64, other_at: I64, other_share: F64, half: F64) -> F64:
    """Where the line through the log-odds of the share at two ticks crosses 0 (nan or inf where it does not:
    the same tick twice, or a share of exactly 0 or all the views)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.log(share) - np.log(2.0 * half - share)
        other_odds = np.log(other_share) - np.log(2.0 * half - other_share)
        crossing: F64 = at + (other_at - at) * odds / (odds - other_odds)
    return crossing


_ESTIMATE_STEPS: Final = 8  # safeguarded Newton steps; settling on the grid makes the answer exact whatever they give
_ESTIMATE_CLOSE: Final = 1e-7  # a step this small in ln L (a ten-millionth of the price) ends them early


def _half_share_log_landed(our: Standing, weight: I64, tau: float) -> F64:
    """The log landed price at which our expected share is half the views, by Newton's method kept inside a
    bracket: between the lowest and the highest segment's own half-share point (``b_s - τ·level_s``), since
    below the lowest every contested segment gives us at least half and above the highest at most half. An
    estimate only: `_highest_half_share_tick` decides on the grid."""
    point = our.our_bonus - tau * our.level
    finite = np.isfinite(point)
    uncontested = ~finite.any(axis=1)
    low = np.where(uncontested, _LOG_TOP, np.where(finite, point, np.inf).min(axis=1))
    high = np.where(uncontested, _LOG_TOP, np.where(finite, point, -np.inf).max(axis=1))
    half = weight.sum(axis=1) / 2.0
    x = (low + high) / 2.0
    for _ in range(_ESTIMATE_STEPS):
        share = _segment_shares(our, x, tau)
        excess = _weighted_sum(weight * share) - half
        slope = -_weighted_sum(weight * share * (1.0 - share)) / tau
        low = np.where(excess >= 0, x, low)
        high = np.where(excess >= 0, high, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - excess / slope
        previous, x = x, np.where((newton > low) & (newton < high), newton, (low + high) / 2.0)
        if (np.abs(x - previous) < _ESTIMATE_CLOSE).all():
            break
    return x


def half_the_views(thresholds: I64, weight: I64) -> I64:
    """The highest price p with ``Σ weight[s]·[p ≤ thresholds[s]] ≥ ½ Σ weight``: the weighted upper median.

    Sorted from the highest threshold down, the first segment at which the weights reach half is the answer: at
    its threshold all the segments before it win too, and one tick above it only those before it do, which weigh
    less than half. `NONE` there (or no views at all) means no price wins.
    """
    order = np.argsort(-thresholds, axis=1, kind="stable")
    ranked = np.take_along_axis(thresholds, order, axis=1)
    reached = 2 * np.cumsum(np.take_along_axis(weight, order, axis=1), axis=1) >= weight.sum(axis=1, keepdims=True)
    first = reached.argmax(axis=1)
    result = ranked[np.arange(len(ranked)), first]
    return np.where(weight.sum(axis=1) > 0, result, NONE).astype(np.int64)


def threshold(view: RowsView, tau: float, tick: int, lo: I64, hi: I64) -> I64:
    """Highest listing price in ``[lo, hi]`` (multiples of ``tick``) at which we win; `NONE` if none does."""
    n = len(view.holder)
    comp_landed = view.price[:, 1:] + view.ship[:, 1:]
    comp_ok = view.available[:, 1:] & (comp_landed <= view.cap_landed[:, None])
    bonus = with_incumbency(view.static_bonus, view.incumbency, view.holder)
    riv = rivals(offer_scores(bonus[:, 1:], comp_landed, comp_ok), comp_landed, view.holder, tau)
    our_bonus = bonus[:, 0]
    our_ship = view.ship[:, 0]
    we_hold = view.holder == 0

    def wins(sel: npt.NDArray[np.intp], ticks: I64) -> B:
        landed = ticks * tick + our_ship[sel]
        ok = view.our_can_win[sel] & (landed <= view.cap_landed[sel])
        score = offer_scores(our_bonus[sel], landed, ok)
        part = Rivals(riv.level[sel], riv.tie_has_holder[sel], riv.tie_landed[sel])
        return we_win(score, landed, we_hold[sel], part, tau)

    cap_listing = np.minimum(view.cap_landed, PRICE_CEILING) - our_ship
    lo_t = -(-np.asarray(lo, np.int64) // tick)
    hi_t = np.minimum(np.asarray(hi, np.int64), cap_listing) // tick
    ticks = _closed_form_ticks(our_bonus, riv.level, tau, our_ship, tick)
    below = np.floor(ticks)
    guess = below.astype(np.int64)
    # Where the continuous threshold is clear of every grid boundary by far more than float round-off, no
    # rounding can move a price across it: the highest winning tick is floor(ticks), clamped to the range.
    # Only the rest (ties, thresholds within round-off of a tick) go through the exact predicate.
    margin = _CLEAR * np.maximum(1.0, np.abs(ticks))
    clear = (ticks - below > margin) & (below + 1.0 - ticks > margin)
    candidates = view.our_can_win & (lo_t <= hi_t)
    result = np.full(n, NONE, np.int64)
    easy = candidates & clear
    in_range = np.where(guess >= hi_t, hi_t, guess)
    result[easy] = np.where(in_range[easy] >= lo_t[easy], in_range[easy] * tick, NONE)
    hard = np.flatnonzero(candidates & ~clear)
    if hard.size:
        start = np.clip(guess[hard], lo_t[hard], hi_t[hard])
        found = _settle(wins, hard, start, lo_t[hard], hi_t[hard])
        result[hard] = np.where(found >= 0, found * tick, NONE)
    return result


def _closed_form_ticks(our_bonus: F64, level: F64, tau: float, our_ship: I64, tick: int) -> F64:
    """The continuous threshold as a listing price in ticks: ln L ≤ b_us − τ·level (τ = 0: b_us − level)."""
    log_landed = our_bonus - (tau * level if tau > 0 else level)
    landed = np.exp(np.minimum(log_landed, _LOG_TOP))
    return (landed - our_ship) / tick


def _settle(wins: WinTest, sel: npt.NDArray[np.intp], start: I64, lo: I64, hi: I64) -> I64:
    """Highest tick count in ``[lo, hi]`` that wins, searching from ``start``; -1 where none wins.

    Usually two predicate calls settle a row (is ``start`` a win, and is the next tick not); rows the estimate
    missed by more fall back to bisection, so correctness never rests on the closed form.
    """
    result = np.full(len(sel), -1, np.int64)
    win_start = wins(sel, start)
    up = np.flatnonzero(win_start)
    if up.size:
        result[up] = _search_up(wins, sel[up], start[up], hi[up])
    down = np.flatnonzero(~win_start)
    if down.size:
        result[down] = _search_down(wins, sel[down], start[down], lo[down])
    return result


def _search_up(wins: WinTest, sel: npt.NDArray[np.intp], known_win: I64, hi: I64) -> I64:
    result = known_win.copy()
    step = np.flatnonzero(known_win < hi)
    if step.size:
        nxt = known_win[step] + 1
        more = wins(sel[step], nxt)
        result[step[more]] = _bisect(wins, sel[step[more]], nxt[more], hi[step[more]])
    return result


def _search_down(wins: WinTest, sel: npt.NDArray[np.intp], known_loss: I64, lo: I64) -> I64:
    result = np.full(len(sel), -1, np.int64)
    step = np.flatnonzero(known_loss > lo)
    if step.size:
        prev = known_loss[step] - 1
        hit = wins(sel[step], prev)
        result[step[hit]] = prev[hit]
        rest = step[~hit]
        lowest_wins = wins(sel[rest], lo[rest])
        deep = rest[lowest_wins]
        result[deep] = _bisect(wins, sel[deep], lo[deep], known_loss[deep] - 2)
    return result


def _bisect(wins: WinTest, sel: npt.NDArray[np.intp], lo: I64, hi: I64) -> I64:
    """Highest winning value in ``[lo, hi]`` given that ``lo`` wins (the predicate is monotone)."""
    lo, hi = lo.copy(), np.maximum(hi, lo)
    while True:
        open_ = np.flatnonzero(lo < hi)
        if not open_.size:
            return lo
        mid = (lo[open_] + hi[open_] + 1) // 2
        hit = wins(sel[open_], mid)
        lo[open_] = np.where(hit, mid, lo[open_])
        hi[open_] = np.where(hit, hi[open_], mid - 1)


def p_star_from_threshold(threshold_price: I64, min_price: I64, max_price: I64, tick: int) -> I64:
    """p* within ``[min, max]`` from the unclamped threshold: the predicate is monotone, so it is a clamp."""
    top = np.asarray(max_price, np.int64) // tick * tick
    low = -(-np.asarray(min_price, np.int64) // tick) * tick
    return np.where((threshold_price >= low) & (low <= top), np.minimum(threshold_price, top), NONE)
