"""The optimal-price oracle: p*(t), and the best constant price for reacting scenarios.

p*(t) is the highest price on the tick grid within [min, max] at which our offer wins against the competitors'
live offers at t; `UNWINNABLE` when no price in bounds wins. "Wins" is buybox.md's expected share ≥ 0.5, with the
Buy Box decided per traffic segment: for τ > 0 the views' weighted sum of the long-run share the rotation features
us with (each segment draws its featured offer at every recompute, the incumbent weighing more; `sim.threshold`),
which no single draw moves; for τ = 0 the segments whose argmax we are, given each one's incumbent at t, hold at
least half the views. The market keeps it current for every row
(`Market.p_star`) with `sim.threshold`, whose estimates are settled on the integer grid by the exact predicates,
so it agrees with a brute-force scan of the rule.

When competitors react to our price there is no p* to chase, so reacting scenarios are judged by profit against
the best *constant* price: the market is re-simulated with each row replicated over a grid of constant prices.
Replicas keep their row's stream key and the run its seed, so every candidate sees the same random numbers as
the engine's run did (common random numbers), and the comparison is between prices, not between luck.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

import numpy as np
import numpy.typing as npt

from sim.buybox import BuyBoxParams
from sim.latency import LatencyParams
from sim.market import Market
from sim.orders import OrderParams
from sim.spec import MarketSpec
from sim.threshold import RowsView, SegmentedView, p_star_from_threshold, segmented_threshold, threshold
from sim.trajectory import UNWINNABLE, Trajectory

__all__ = [
    "UNWINNABLE",
    "ConstantPriceOracle",
    "RowsView",
    "SegmentedView",
    "best_constant_price",
    "expected_profit",
    "p_star_from_threshold",
    "segmented_threshold",
    "threshold",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MAX_REPLICAS: Final = 100_000  # replica rows per simulated batch: bounds memory, not results


@dataclass(frozen=True, slots=True)
class ConstantPriceOracle:
    """Per row: the best constant listing price in [min, max] and its expected profit over the horizon
    (minor units; a statistic, hence float)."""

    price: I64
    profit: F64


def expected_profit(traj: Trajectory, price: I64 | None = None) -> F64:
    """Each row's expected profit over ``[start, end]``: ∫ views_per_s × share × (price − unit_cost) dt.

    With ``price`` None the recorded live price is used (0 profit while not live); a constant-price replica
    passes its price, which is the same while live and irrelevant while not (its share is then 0).
    """
    order = np.lexsort((np.arange(len(traj.t)), traj.t, traj.row))
    t = np.clip(traj.t[order], traj.start, traj.end)
    row = traj.row[order].astype(np.int64)
    nxt = np.append(t[1:], traj.end)
    last_of_row = np.append(row[1:] != row[:-1], True)
    nxt = np.where(last_of_row, traj.end, nxt)
    held = traj.share[order] * (nxt - t)
    if price is None:
        live = traj.our_price[order]
        margin = np.where(live >= 0, live - traj.unit_cost[row], 0)
        return cast(F64, np.bincount(row, held * margin * traj.views_per_s[row], minlength=traj.n_rows))
    share_time = cast(F64, np.bincount(row, held, minlength=traj.n_rows))
    return share_time * traj.views_per_s * (np.asarray(price, np.int64) - traj.unit_cost)


def best_constant_price(
    spec: MarketSpec,
    *,
    seed: int | None = None,
    horizon_s: float,
    latency: LatencyParams | None = None,
    buybox: BuyBoxParams | None = None,
    orders: OrderParams | None = None,
    grid: int = 40,
    refine: int = 12,
    passes: int = 2,
    start_at: float = 0.0,
) -> ConstantPriceOracle:
    """The best constant price per row: a log-spaced grid over [min, max], then ``passes`` linear refinements
    between the best point's neighbours, each candidate re-simulated with the run's random numbers (``seed``,
    or each row's own seed in the spec when None).

    Profit can jump at a price (τ = 0: the Buy Box is won or lost at p*), so the refinement brackets the best
    point rather than fitting a curve; each pass shrinks the bracket by a factor of about ``refine / 2``.
    """

    def profits(prices: I64) -> F64:
        return _replica_profits(spec, prices, seed, horizon_s, latency, buybox, orders, start_at)

    rows = np.arange(spec.n_rows)
    prices = _log_grid(spec.min_price, spec.max_price, grid, spec.tick)
    profit = profits(prices)
    for _ in range(passes):
        best = profit.argmax(axis=1)
        width = prices.shape[1]
        lo = prices[rows, np.maximum(best - 1, 0)]
        hi = prices[rows, np.minimum(best + 1, width - 1)]
        finer = _linear_grid(lo, hi, refine, spec.tick)
        prices = np.concatenate([prices[rows, best][:, None], finer], axis=1)
        profit = np.concatenate([profit[rows, best][:, None], profits(finer)], axis=1)
        order = np.argsort(prices, axis=1, kind="stable")  # neighbours by price for the next bracket
        prices = np.take_along_axis(prices, order, axis=1)
        profit = np.take_along_axis(profit, order, axis=1)
    pick = profit.argmax(axis=1)
    return ConstantPriceOracle(prices[rows, pick], profit[rows, pick])


def _log_grid(lo: I64, hi: I64, points: int, tick: int) -> I64:
    steps = np.linspace(0.0, 1.0, points)[None, :]
    raw = np.exp(np.log(lo)[:, None] + np.log(hi / lo)[:, None] * steps)
    return np.clip(np.round(raw / tick).astype(np.int64) * tick, lo[:, None], hi[:, None])


def _linear_grid(lo: I64, hi: I64, points: int, tick: int) -> I64:
    steps = np.linspace(0.0, 1.0, points)[None, :]
    raw = lo[:, None] + (hi - lo)[:, None] * steps
    return np.clip(np.round(raw / tick).astype(np.int64) * tick, lo[:, None], hi[:, None])


def _replica_profits(
    spec: MarketSpec,
    prices: I64,
    seed: int | None,
    horizon_s: float,
    latency: LatencyParams | None,
    buybox: BuyBoxParams | None,
    orders: OrderParams | None,
    start_at: float,
) -> F64:
    """Expected profit of every (row, candidate price), simulated in batches of at most `MAX_REPLICAS` rows."""
    n, candidates = prices.shape
    out = np.zeros((n, candidates))
    per_batch = max(1, MAX_REPLICAS // candidates)
    for first in range(0, n, per_batch):
        rows = np.arange(first, min(n, first + per_batch))
        replicas = spec.subset(rows).replicate(candidates, prices[rows].ravel())
        market = Market(
            replicas,
            seed=seed,
            latency=latency,
            buybox=buybox,
            orders=orders,
            notifications=False,
            start_at=start_at,
            track_threshold=False,
        )
        traj = market.finish(start_at + horizon_s)
        out[rows] = expected_profit(traj, replicas.start_price).reshape(len(rows), candidates)
    return out
