"""Convergence metrics over recorded runs: the one implementation the demo and the benchmark both read.

Everything here is a pure function of a `Trajectory` (or one `RowSeries`). The recorded series are
piecewise-constant, so every time and integral is computed exactly on the intervals between records rather than
by sampling: a metric cannot change because a run was recorded more or less often. Definitions follow
reference/buybox.md ("Definitions" and the statistics of "Scenarios"); where the text leaves a choice, the
docstring of the function that makes it says which reading was taken and why.

The work is vectorised over all rows of a run at once. A run is first turned into *segments*: for every row, a
contiguous cover of ``[start, end)`` by intervals on which nothing changes. Records at the same instant collapse
to the last one (the stable order in which the market appended them), records before ``start`` are clipped to it,
and a row whose first record comes after ``start`` gets a leading segment in which it is not live, has no share
and no known p*. `row_metrics` runs the same code on a one-row run, so the two can never disagree.

"Holding the Buy Box" is read as an expected share ≥ 0.5, as buybox.md defines it; the recorded ``hold`` column
is not read, which assumes that with τ = 0 the market records the argmax's share as 1 and the others' as 0.
"Live" means ``our_price != NOT_LIVE``; "winnable" means p* is a price (not ``UNWINNABLE``).

Times are seconds from ``start``; a time that never happens is ``None`` ("censored"). Comparisons of times and
share-integrals allow ``TOLERANCE`` (a microsecond, or a microsecond of full share) so that float round-off in a
sum of interval lengths cannot turn an exact 30-minute hold into 29:59.999999.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from sim.trajectory import NOT_LIVE, UNWINNABLE, RowSeries, Trajectory

__all__ = [
    "ALPHAS",
    "BAND_WINDOW_S",
    "BUYBOX_WINDOW_S",
    "HORIZON_S",
    "MIN_RECONVERGENCE_WINDOW_S",
    "CellSummary",
    "RowMetrics",
    "bootstrap_ci",
    "information_floor_s",
    "median",
    "prob_within",
    "probes_needed",
    "quantile",
    "row_metrics",
    "run_metrics",
    "summarize",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

BUYBOX_WINDOW_S: Final = 600.0  # T_BB: the mean share over the next 10 minutes must also be a win
BAND_WINDOW_S: Final = 1800.0  # T_α: the band must hold for 30 minutes
MIN_RECONVERGENCE_WINDOW_S: Final = 60.0  # re-convergence: a hold shorter than this is not a hold
HORIZON_S: Final = 86_400.0  # aggregates censor at 24 h
ALPHAS: Final = (0.99, 0.998)
WIN_SHARE: Final = 0.5
TOLERANCE: Final = 1e-6
RECOMPUTE_MEAN_S: Final = 60.0  # buybox.md market model: Buy Box recompute, exponential with mean 1 min
NOTIFICATION_MEDIAN_S: Final = 45.0  # buybox.md market model: notification latency median

_UNKNOWN = -2  # p_star of the leading segment of a row recorded late: not known, so neither winnable nor not


@dataclass(frozen=True, slots=True)
class RowMetrics:
    """What one row did over a run. Times are seconds from the run's start; ``None`` means it never happened.

    ``reconvergence_99`` / ``reconvergence_998`` hold one entry per competitor move that changed p*, in time
    order (empty for static scenarios). ``profit`` is expected profit in minor units (a statistic of the run, not
    money the engine handles, hence a float). ``unwinnable`` is true when no price within bounds won at any moment
    of the run; such a row is counted on its own and left out of time statistics.
    """

    t_buybox: float | None
    t_99: float | None
    t_998: float | None
    reconvergence_99: tuple[float | None, ...]
    reconvergence_998: tuple[float | None, ...]
    profit: float
    minutes_without_buybox: float
    share_at_min: float
    prices_outside_bounds: int
    unwinnable: bool
    unwinnable_s: float
    mean_share: float = 0.0  # our expected Buy Box share averaged over the run


# --------------------------------------------------------------------------------------------------------------
# Segments: the run as contiguous constant pieces per row


@dataclass(frozen=True, slots=True)
class _Segments:
    """Every row's cover of ``[start, end)``, sorted by (row, lo); row ``r`` is ``[bounds[r], bounds[r+1])``."""

    row: I64
    lo: F64
    hi: F64
    our_price: I64
    p_star: I64
    share: F64
    move: B  # a competitor move that changed p* starts here
    bounds: I64
    start: float
    key: F64  # (row, lo) folded into one sorted float, for `_locate`
    key_scale: float


def _next_in_row(row: I64, values: F64, fill: float) -> F64:
    """Each element's successor within the same row, ``fill`` for a row's last element."""
    out = np.full(len(values), fill)
    if len(values) > 1:
        same = row[1:] == row[:-1]
        out[:-1] = np.where(same, values[1:], fill)
    return out


def _segments(
    t: F64,
    row: I64,
    our_price: I64,
    p_star: I64,
    share: F64,
    comp_move: B,
    *,
    n_rows: int,
    start: float,
    end: float,
) -> _Segments:
    """Build the segments from records already sorted by (row, t), keeping append order among equal times."""
    if not end > start:
        raise ValueError(f"a run must end after it starts (start={start}, end={end})")
    n = len(t)
    # At one instant only the last record holds; a competitor move anywhere in that instant still counts.
    superseded = np.zeros(n, np.bool_)
    if n > 1:
        superseded[:-1] = (row[1:] == row[:-1]) & (t[1:] == t[:-1])
    instant_starts = np.flatnonzero(np.concatenate(([True], ~superseded[:-1]))) if n else np.zeros(0, np.int64)
    moved = np.logical_or.reduceat(comp_move, instant_starts) if n else np.zeros(0, np.bool_)
    keep = ~superseded
    t, row, our_price, p_star, share = t[keep], row[keep], our_price[keep], p_star[keep], share[keep]

    changed = np.zeros(len(t), np.bool_)
    if len(t) > 1:
        changed[1:] = (row[1:] == row[:-1]) & (p_star[1:] != p_star[:-1])
    move = moved & changed & (t >= start)

    lo = np.maximum(t, start)
    hi = np.minimum(_next_in_row(row, t, end), end)
    live = lo < hi
    row, lo, hi = row[live], lo[live], hi[live]
    our_price, p_star, share, move = our_price[live], p_star[live], share[live], move[live]

    counts = np.bincount(row, minlength=n_rows)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    first_lo = np.full(n_rows, end)
    first_lo[has] = lo[first[has]]
    late = np.flatnonzero(~has | (first_lo > start))
    at = first[late]
    row = np.insert(row, at, late)
    lo = np.insert(lo, at, start)
    hi = np.insert(hi, at, first_lo[late])
    our_price = np.insert(our_price, at, NOT_LIVE)
    p_star = np.insert(p_star, at, _UNKNOWN)
    share = np.insert(share, at, 0.0)
    move = np.insert(move, at, False)
    bounds = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n_rows)))).astype(np.int64)
    row = row.astype(np.int64)
    scale = 2.0 ** math.ceil(math.log2(end - start + 1.0))
    key = _key(row, lo, start, scale)
    return _Segments(row, lo, hi, our_price, p_star, share, move, bounds, start, key, scale)


def _key(row: I64, t: F64, start: float, scale: float) -> F64:
    """A float that orders (row, t) for t in [start, end]; ties and rounding are resolved exactly by `_locate`."""
    return row * scale + (t - start)


def _locate(seg: _Segments, q_row: I64, q_t: F64) -> I64:
    """Index of the segment holding each query: the last segment of the query's row with ``lo <= t``.

    Queries must lie in ``[start, end]``. A binary search on the folded (row, time) key lands within float
    round-off of the answer; a few exact comparisons on (row, lo) then settle it, so the result is exact.
    """
    last = len(seg.row) - 1
    found = np.searchsorted(seg.key, _key(q_row, q_t, seg.start, seg.key_scale), side="right") - 1
    found = np.clip(found, 0, last)
    while True:
        after = np.minimum(found + 1, last)
        forward = (found < last) & (seg.row[after] == q_row) & (seg.lo[after] <= q_t)
        back = (seg.row[found] > q_row) | ((seg.row[found] == q_row) & (seg.lo[found] > q_t))
        if not (forward.any() or back.any()):
            return found
        found = found + forward - back


def _cumsum_in_row(values: F64, row: I64, bounds: I64) -> F64:
    """Exclusive running sum of ``values`` restarting at each row (every row has at least one segment).

    Each row's total is taken back out at the next row's first element, so round-off stays at the scale of one
    row instead of growing with the whole run.
    """
    starts = bounds[:-1]
    totals = np.add.reduceat(values, starts)
    reset = values.copy()
    reset[starts[1:]] -= totals[:-1]
    exclusive = np.cumsum(reset) - values
    return exclusive - exclusive[starts][row]


def _first_per_group(group: I64, value: F64, n_groups: int) -> F64:
    """The first ``value`` of each group in array order, NaN for a group with none (``group`` non-decreasing)."""
    out = np.full(n_groups, np.nan)
    uniq, first = np.unique(group, return_index=True)
    out[uniq] = value[first]
    return out


# --------------------------------------------------------------------------------------------------------------
# First-passage times


def _time_to_buybox(seg: _Segments, *, start: float, end: float, n_rows: int) -> F64:
    """T_BB per row (NaN if censored): the first t with share(t) ≥ 0.5 and mean share over [t, t+10 min] ≥ 0.5.

    buybox.md says "expected share over a trailing 10 min ≥ 0.5". Measured at the window's end, a trailing
    window reports a win at share s some 300/s seconds late (5 minutes at s = 1, 10 at s = ½): it would put even
    a win in one round trip past issue 5's 6-minute target, and charge a price that wins with about half the
    views (the engine's, once at the threshold) up to twice what it charges an undercutter's. So the window is
    read forward from t instead: t is when we win, and the next ten minutes confirm it was not a flicker. A row
    that starts winning has T_BB = 0; the window has to fit before ``end``, else the row is censored.

    The mean over [t, t+W] is piecewise linear in t, with breakpoints where t or t+W crosses a segment boundary,
    so the first passage is found exactly: at a breakpoint, or by solving the line inside a piece.
    """
    window = BUYBOX_WINDOW_S
    limit = end - window  # the last t whose window fits
    if limit < start:
        return np.full(n_rows, np.nan)
    excess = seg.share - WIN_SHARE
    below = _cumsum_in_row(excess * (seg.hi - seg.lo), seg.row, seg.bounds)  # ∫ (share − ½) from start to lo

    def surplus(j: I64, k: I64, t: F64) -> F64:
        """∫ (share − ½) over [t, t + W], with t in segment j and t + W in segment k."""
        front = below[k] + excess[k] * (t + window - seg.lo[k])
        return front - (below[j] + excess[j] * (t - seg.lo[j]))

    # Pieces [a, b) on which t stays in one winning segment j and t + W in one segment k: there the surplus is
    # linear with slope share_k − share_j. Pieces come out in time order within each row.
    winning = np.flatnonzero((seg.share >= WIN_SHARE) & (seg.lo < limit))
    seg_end = np.minimum(seg.hi[winning], limit)
    first_k = _locate(seg, seg.row[winning], seg.lo[winning] + window)
    last_k = _locate(seg, seg.row[winning], seg_end + window)
    counts = last_k - first_k + 1
    j = np.repeat(winning, counts)
    k = np.repeat(first_k - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    a = np.maximum(seg.lo[j], seg.lo[k] - window)
    b = np.minimum(np.minimum(seg.hi[j], seg.hi[k] - window), limit)
    at_a = surplus(j, k, a)
    slope = excess[k] - excess[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = np.where(slope > 0, a - at_a / slope, np.inf)
    candidate = np.where(at_a >= -TOLERANCE, a, np.where(crossing < b, crossing, np.nan))
    found = (a < b) & ~np.isnan(candidate)
    from_pieces = _first_per_group(seg.row[j[found]], candidate[found], n_rows)

    # The half-open pieces stop short of the limit itself: a window ending exactly at `end` is checked here.
    every_row = np.arange(n_rows, dtype=np.int64)
    j_limit = _locate(seg, every_row, np.full(n_rows, limit))
    k_limit = seg.bounds[1:] - 1
    at_limit = (seg.share[j_limit] >= WIN_SHARE) & (surplus(j_limit, k_limit, np.full(n_rows, limit)) >= -TOLERANCE)
    return np.fmin(from_pieces, np.where(at_limit, limit, np.nan)) - start


def _in_band(seg: _Segments, alpha: float) -> B:
    """The T_α condition at each segment: we win, our price is live, p* is winnable and α·p* ≤ price ≤ p*.

    α is compared as an exact fraction on integer prices, so a price exactly at 99% of p* is in the band.
    """
    ratio = Fraction(alpha).limit_denominator(1_000_000)
    price, best = seg.our_price, seg.p_star
    return (
        (seg.share >= WIN_SHARE)
        & (price >= 0)
        & (best >= 0)
        & (price <= best)
        & (price * ratio.denominator >= best * ratio.numerator)
    )


def _runs(holds: B, group: I64) -> tuple[I64, I64]:
    """First and last segment of each maximal run of consecutive holding segments within one group."""
    n = len(holds)
    continues = np.zeros(n, np.bool_)
    continues[1:] = holds[:-1] & (group[1:] == group[:-1])
    starts = np.flatnonzero(holds & ~continues)
    carries_on = np.zeros(n, np.bool_)
    carries_on[:-1] = continues[1:] & holds[1:]
    ends = np.flatnonzero(holds & ~carries_on)
    return starts, ends


def _time_in_band(seg: _Segments, alpha: float, *, start: float, n_rows: int) -> F64:
    """T_α per row (NaN if censored): the start of the first run in the band lasting 30 minutes.

    The condition is itself piecewise constant, so the first t from which it holds for 30 minutes is the start
    of the first maximal run at least that long. Runs end at ``end``, so the window has to fit in the run. Like
    the series, the window is half-open, [t, t + 30 min): what happens at the single instant t + 30 min is not
    part of the hold, so a price that leaves the band exactly 30 minutes later still counts.
    """
    starts, ends = _runs(_in_band(seg, alpha), seg.row)
    lasting = seg.hi[ends] - seg.lo[starts] >= BAND_WINDOW_S - TOLERANCE
    return _first_per_group(seg.row[starts[lasting]], seg.lo[starts[lasting]], n_rows) - start


def _reconvergence(seg: _Segments, alpha: float) -> tuple[I64, F64]:
    """Per competitor move, in order: its row and the time until the band holds again (NaN if never).

    After a move at m, re-convergence happens at the first t ≥ m from which the T_α condition holds until
    min(t + 30 min, next move), with t at least ``MIN_RECONVERGENCE_WINDOW_S`` before the next move: a market
    that moves again after 5 minutes cannot ask for a 30-minute hold, but a zero-length hold must not count.
    With no later move the full 30 minutes must fit before ``end``.
    """
    move_at = np.flatnonzero(seg.move)
    move_row, move_t = seg.row[move_at], seg.lo[move_at]
    next_move = _next_in_row(move_row, move_t, np.inf)

    epoch = np.cumsum(seg.move, dtype=np.int64)  # 1-based index of the latest move at or before each segment
    row_first = seg.bounds[:-1][seg.row]
    after_a_move = epoch > epoch[row_first] - seg.move[row_first].astype(np.int64)

    starts, ends = _runs(_in_band(seg, alpha) & after_a_move, epoch)
    which = epoch[starts] - 1
    run_lo, run_hi, horizon = seg.lo[starts], seg.hi[ends], next_move[which]
    lasting = run_hi - run_lo >= BAND_WINDOW_S - TOLERANCE
    until_next = (run_hi >= horizon - TOLERANCE) & (run_lo <= horizon - MIN_RECONVERGENCE_WINDOW_S + TOLERANCE)
    ok = lasting | until_next
    reached = _first_per_group(which[ok], run_lo[ok], len(move_at))
    return move_row, reached - move_t


# --------------------------------------------------------------------------------------------------------------
# Per-row metrics


def _integrals(
    seg: _Segments,
    *,
    min_price: I64,
    max_price: I64,
    unit_cost: I64,
    views_per_s: F64,
    span: float,
    n_rows: int,
) -> dict[str, npt.NDArray[Any]]:
    """Profit, time without the Buy Box, time at the min price, outside-bounds count and unwinnable time.

    A price outside bounds counts once each time it becomes live, not once per record: the market writes a
    record whenever anything changes (share, p*), which would multiply one bad price by the market's activity.
    A row is unwinnable when p* is ``UNWINNABLE`` at every moment it is known.
    """
    length = seg.hi - seg.lo
    live = seg.our_price != NOT_LIVE
    margin = (seg.our_price - unit_cost[seg.row]).astype(np.float64)
    share_margin_s = np.bincount(seg.row, np.where(live, seg.share * margin * length, 0.0), n_rows)
    price_changed = np.ones(len(seg.row), np.bool_)
    price_changed[1:] = (seg.row[1:] != seg.row[:-1]) | (seg.our_price[1:] != seg.our_price[:-1])
    outside = live & ((seg.our_price < min_price[seg.row]) | (seg.our_price > max_price[seg.row]))
    known = seg.p_star != _UNKNOWN
    unwinnable = seg.p_star == UNWINNABLE
    return {
        "profit": views_per_s * share_margin_s,
        "minutes_without_buybox": np.bincount(seg.row, (seg.share < WIN_SHARE) * length, n_rows) / 60.0,
        "share_at_min": np.bincount(seg.row, (seg.our_price == min_price[seg.row]) * length, n_rows) / span,
        "prices_outside_bounds": np.bincount(seg.row, outside & price_changed, n_rows).astype(np.int64),
        "unwinnable": (np.bincount(seg.row, known & ~unwinnable, n_rows) == 0)
        & (np.bincount(seg.row, known, n_rows) > 0),
        "unwinnable_s": np.bincount(seg.row, unwinnable * length, n_rows),
        "mean_share": np.bincount(seg.row, seg.share * length, n_rows) / span,
    }


def _optional(values: F64) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def _per_row(move_row: I64, delays: F64, n_rows: int) -> list[tuple[float | None, ...]]:
    splits = np.cumsum(np.bincount(move_row, minlength=n_rows))[:-1]
    return [tuple(_optional(part)) for part in np.split(delays, splits)]


def _metrics(
    seg: _Segments,
    *,
    start: float,
    end: float,
    min_price: I64,
    max_price: I64,
    unit_cost: I64,
    views_per_s: F64,
    reacting: bool,
) -> list[RowMetrics]:
    n_rows = len(min_price)
    t_buybox = _optional(_time_to_buybox(seg, start=start, end=end, n_rows=n_rows))
    t_99, t_998 = (_optional(_time_in_band(seg, alpha, start=start, n_rows=n_rows)) for alpha in ALPHAS)
    re_99: list[tuple[float | None, ...]] = [()] * n_rows
    re_998 = re_99
    if reacting:
        re_99, re_998 = (_per_row(*_reconvergence(seg, alpha), n_rows) for alpha in ALPHAS)
    sums = _integrals(
        seg,
        min_price=min_price,
        max_price=max_price,
        unit_cost=unit_cost,
        views_per_s=views_per_s,
        span=end - start,
        n_rows=n_rows,
    )
    columns = {name: values.tolist() for name, values in sums.items()}
    return [
        RowMetrics(
            t_buybox=t_buybox[r],
            t_99=t_99[r],
            t_998=t_998[r],
            reconvergence_99=re_99[r],
            reconvergence_998=re_998[r],
            profit=columns["profit"][r],
            minutes_without_buybox=columns["minutes_without_buybox"][r],
            share_at_min=columns["share_at_min"][r],
            prices_outside_bounds=columns["prices_outside_bounds"][r],
            unwinnable=columns["unwinnable"][r],
            unwinnable_s=columns["unwinnable_s"][r],
            mean_share=columns["mean_share"][r],
        )
        for r in range(n_rows)
    ]


def run_metrics(traj: Trajectory, *, reacting: bool) -> list[RowMetrics]:
    """Metrics of every row of a run, in row order.

    ``reacting`` selects the reacting-scenario outputs: re-convergence after each competitor move. Static
    scenarios get empty re-convergence tuples (their competitors never move after the start).
    """
    order = traj._order  # the trajectory's own (row, t) order, stable among equal times
    seg = _segments(
        traj.t[order],
        traj.row[order].astype(np.int64),
        traj.our_price[order],
        traj.p_star[order],
        traj.share[order],
        traj.comp_move[order],
        n_rows=traj.n_rows,
        start=traj.start,
        end=traj.end,
    )
    return _metrics(
        seg,
        start=traj.start,
        end=traj.end,
        min_price=traj.min_price,
        max_price=traj.max_price,
        unit_cost=traj.unit_cost,
        views_per_s=traj.views_per_s,
        reacting=reacting,
    )


def row_metrics(
    series: RowSeries,
    *,
    start: float,
    min_price: int,
    max_price: int,
    unit_cost: int,
    views_per_s: float,
    reacting: bool,
) -> RowMetrics:
    """Metrics of one row; the same code as `run_metrics`, run on a one-row run."""
    seg = _segments(
        np.asarray(series.t, np.float64),
        np.zeros(len(series.t), np.int64),
        np.asarray(series.our_price, np.int64),
        np.asarray(series.p_star, np.int64),
        np.asarray(series.share, np.float64),
        np.asarray(series.comp_move, np.bool_),
        n_rows=1,
        start=start,
        end=series.end,
    )
    (metrics,) = _metrics(
        seg,
        start=start,
        end=series.end,
        min_price=np.array([min_price], np.int64),
        max_price=np.array([max_price], np.int64),
        unit_cost=np.array([unit_cost], np.int64),
        views_per_s=np.array([views_per_s], np.float64),
        reacting=reacting,
    )
    return metrics


# --------------------------------------------------------------------------------------------------------------
# Aggregates with censoring


def _censored(values: Iterable[float | None], horizon_s: float) -> F64:
    """Times as an array with censored runs (``None`` or beyond the horizon) at +inf."""
    times = np.array([np.inf if v is None else v for v in values], np.float64)
    return np.where(times > horizon_s, np.inf, times)


def _quantile_of_sorted(times: F64, q: float) -> F64:
    """Linear-interpolation quantile along the last axis of sorted arrays; +inf if it touches censored mass.

    The usual interpolation between the two neighbouring order statistics, except that when either is censored
    the quantile is unknown (it could be anything above the last observed time), so it is +inf.
    """
    n = times.shape[-1]
    position = (n - 1) * q
    below, above = math.floor(position), math.ceil(position)
    low, high = times[..., below], times[..., above]
    known = np.isfinite(high)
    low_f, high_f = np.where(known, low, 0.0), np.where(known, high, 0.0)
    return np.where(known, low_f + (position - below) * (high_f - low_f), np.inf)


def quantile(values: Iterable[float | None], q: float, *, horizon_s: float = HORIZON_S) -> float | None:
    """The q-quantile of times with censoring, or ``None`` when it falls in the censored mass.

    A censored run only tells us its time is above the horizon; a quantile that needs its value is unknown,
    and reporting the horizon instead would flatter a strategy that mostly fails.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile level must be in [0, 1], got {q}")
    times = np.sort(_censored(values, horizon_s))
    if len(times) == 0:
        return None
    value = float(_quantile_of_sorted(times, q))
    return value if math.isfinite(value) else None


def median(values: Iterable[float | None], *, horizon_s: float = HORIZON_S) -> float | None:
    """The median of times with censoring; ``None`` as soon as half or more of the runs are censored."""
    return quantile(values, 0.5, horizon_s=horizon_s)


def prob_within(values: Iterable[float | None], limit_s: float, *, horizon_s: float = HORIZON_S) -> float | None:
    """P(T ≤ limit) with censored runs counted as failures; ``None`` for no runs."""
    times = _censored(values, horizon_s)
    return float(np.mean(times <= limit_s)) if len(times) else None


def bootstrap_ci(
    values: Iterable[float | None],
    q: float,
    *,
    seed: int,
    n_boot: int = 1000,
    level: float = 0.95,
    horizon_s: float = HORIZON_S,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI of the censored q-quantile, resampling runs; ``None`` for an unbounded end.

    Deterministic for a given seed. A resample whose quantile is censored counts as +inf, so if more than
    (1 − level)/2 of the resamples are censored the upper end is ``None``: the data cannot bound it.
    """
    times = _censored(values, horizon_s)
    n = len(times)
    if n == 0:
        return None, None
    rng = np.random.default_rng(seed)
    position = (n - 1) * q
    kth = sorted({math.floor(position), math.ceil(position)})
    stats = np.empty(n_boot)
    chunk = max(1, (1 << 22) // n)  # keep each block of resamples to a few million values
    for first in range(0, n_boot, chunk):
        size = min(chunk, n_boot - first)
        resamples = np.partition(times[rng.integers(0, n, size=(size, n))], kth, axis=1)
        stats[first : first + size] = _quantile_of_sorted(resamples, q)
    stats.sort()
    tail = (1.0 - level) / 2.0
    low, high = (float(_quantile_of_sorted(stats, p)) for p in (tail, 1.0 - tail))
    return (low if math.isfinite(low) else None), (high if math.isfinite(high) else None)


# --------------------------------------------------------------------------------------------------------------
# One cell of the benchmark


@dataclass(frozen=True, slots=True)
class CellSummary:
    """The numbers a benchmark cell reports. Time statistics exclude unwinnable rows; profit covers all rows.

    ``*_ci`` are bootstrap 95% intervals (``None`` at an end the data cannot bound). Probabilities count censored
    runs as failures. Re-convergence statistics pool every move of every winnable row.
    """

    n: int
    unwinnable: int
    unwinnable_s_mean: float | None
    p_buybox_30min: float | None
    median_t_buybox_s: float | None
    median_t_buybox_s_ci: tuple[float | None, float | None]
    p90_t_buybox_s: float | None
    p90_t_buybox_s_ci: tuple[float | None, float | None]
    median_t_99_s: float | None
    median_t_99_s_ci: tuple[float | None, float | None]
    p90_t_99_s: float | None
    p90_t_99_s_ci: tuple[float | None, float | None]
    median_t_998_s: float | None
    median_t_998_s_ci: tuple[float | None, float | None]
    p90_t_998_s: float | None
    p90_t_998_s_ci: tuple[float | None, float | None]
    p_t99_60min: float | None
    p_t998_120min: float | None
    n_moves: int
    median_reconvergence_99_s: float | None
    p90_reconvergence_99_s: float | None
    median_reconvergence_998_s: float | None
    p90_reconvergence_998_s: float | None
    profit: float
    oracle_profit: float | None
    profit_ratio: float | None
    profit_ratio_median: float | None
    minutes_without_buybox: float | None
    share_at_min: float | None
    prices_outside_bounds: int
    updates_sent: int | None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists in `json.dumps`)."""
        return asdict(self)


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _profit_ratios(rows: Sequence[RowMetrics], oracle_profit: npt.ArrayLike | None) -> tuple[Any, ...]:
    """(oracle total, ratio of totals, median per-row ratio over rows where the oracle earns something)."""
    if oracle_profit is None:
        return None, None, None
    oracle = np.asarray(oracle_profit, np.float64)
    if oracle.shape != (len(rows),):
        raise ValueError(f"oracle_profit needs one value per row ({len(rows)}), got shape {oracle.shape}")
    ours = np.array([r.profit for r in rows], np.float64)
    total = float(oracle.sum())
    earning = oracle > 0
    return (
        total,
        float(ours.sum()) / total if total > 0 else None,
        float(np.median(ours[earning] / oracle[earning])) if earning.any() else None,
    )


def summarize(
    rows: Sequence[RowMetrics],
    *,
    oracle_profit: npt.ArrayLike | None,
    updates_sent: int | None,
    seed: int = 0,
    n_boot: int = 1000,
    horizon_s: float = HORIZON_S,
) -> CellSummary:
    """Aggregate one cell's rows (seeds × ASINs) into the numbers the benchmark prints and stores.

    ``oracle_profit`` is the oracle's profit per row, aligned with ``rows`` (the oracle lives in sim/oracle.py).
    Unwinnable rows are reported as a count and left out of every time statistic: no strategy can converge
    there, and censoring them would blame the strategy for the market.
    """
    timed = [r for r in rows if not r.unwinnable]

    def stats(name: str) -> dict[str, Any]:
        values = [getattr(r, name) for r in timed]
        return {
            "median": median(values, horizon_s=horizon_s),
            "median_ci": bootstrap_ci(values, 0.5, seed=seed, n_boot=n_boot, horizon_s=horizon_s),
            "p90": quantile(values, 0.9, horizon_s=horizon_s),
            "p90_ci": bootstrap_ci(values, 0.9, seed=seed, n_boot=n_boot, horizon_s=horizon_s),
        }

    buybox, band_99, band_998 = stats("t_buybox"), stats("t_99"), stats("t_998")
    moves_99 = [v for r in timed for v in r.reconvergence_99]
    moves_998 = [v for r in timed for v in r.reconvergence_998]
    oracle_total, ratio, ratio_median = _profit_ratios(rows, oracle_profit)
    return CellSummary(
        n=len(rows),
        unwinnable=len(rows) - len(timed),
        unwinnable_s_mean=_mean([r.unwinnable_s for r in rows]),
        p_buybox_30min=prob_within([r.t_buybox for r in timed], 1800.0, horizon_s=horizon_s),
        median_t_buybox_s=buybox["median"],
        median_t_buybox_s_ci=buybox["median_ci"],
        p90_t_buybox_s=buybox["p90"],
        p90_t_buybox_s_ci=buybox["p90_ci"],
        median_t_99_s=band_99["median"],
        median_t_99_s_ci=band_99["median_ci"],
        p90_t_99_s=band_99["p90"],
        p90_t_99_s_ci=band_99["p90_ci"],
        median_t_998_s=band_998["median"],
        median_t_998_s_ci=band_998["median_ci"],
        p90_t_998_s=band_998["p90"],
        p90_t_998_s_ci=band_998["p90_ci"],
        p_t99_60min=prob_within([r.t_99 for r in timed], 3600.0, horizon_s=horizon_s),
        p_t998_120min=prob_within([r.t_998 for r in timed], 7200.0, horizon_s=horizon_s),
        n_moves=len(moves_99),
        median_reconvergence_99_s=median(moves_99, horizon_s=horizon_s),
        p90_reconvergence_99_s=quantile(moves_99, 0.9, horizon_s=horizon_s),
        median_reconvergence_998_s=median(moves_998, horizon_s=horizon_s),
        p90_reconvergence_998_s=quantile(moves_998, 0.9, horizon_s=horizon_s),
        profit=float(sum(r.profit for r in rows)),
        oracle_profit=oracle_total,
        profit_ratio=ratio,
        profit_ratio_median=ratio_median,
        minutes_without_buybox=_mean([r.minutes_without_buybox for r in rows]),
        share_at_min=_mean([r.share_at_min for r in rows]),
        prices_outside_bounds=sum(r.prices_outside_bounds for r in rows),
        updates_sent=updates_sent,
    )


# --------------------------------------------------------------------------------------------------------------
# Information floor


def probes_needed(r: float, alpha: float) -> int:
    """N0 = ⌈log2(ln r / ln(1/α))⌉: noise-free probes to shrink [L, U] (r = U/L) to one α-wide cell in log space.

    Zero when the bounds are already within α of each other (any price in bounds is in the band).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if r <= 1.0:
        return 0
    cells = math.log(r) / math.log(1.0 / alpha)
    return max(0, math.ceil(math.log2(cells))) if cells > 1.0 else 0


def information_floor_s(
    *,
    r: float,
    alpha: float,
    submit_to_live_median_s: float,
    direct_signal: bool,
    recompute_mean_s: float = RECOMPUTE_MEAN_S,
    notification_median_s: float = NOTIFICATION_MEDIAN_S,
) -> float:
    """The least time any engine could need to reach the α band in a cell (buybox.md "Lower bound").

    One round trip is submit → live → Buy Box recomputed → observed. With a direct signal (FOEP, the winner's
    landed price) an engine can jump in one; otherwise it must search, one probe per round trip.
    """
    round_trip = submit_to_live_median_s + recompute_mean_s + notification_median_s
    return round_trip if direct_signal else probes_needed(r, alpha) * round_trip
