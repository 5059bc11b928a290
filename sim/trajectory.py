"""What a simulated run leaves behind: per-row, piecewise-constant series that the metrics read.

The market appends a record for a row whenever anything the metrics need changes there: our live price, the
optimal price p*, our expected Buy Box share, who holds the Buy Box. Between two records of a row every value
is constant, so integrals and first-passage times are exact, not sampled.

Columns are kept as growing chunks of numpy arrays and joined once at `Recorder.finish`; `Trajectory.row`
then returns one row's records in time order without copying the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["NOT_LIVE", "UNWINNABLE", "Recorder", "RowSeries", "Trajectory"]

# Sentinels in the int64 price columns.
NOT_LIVE = -1  # our_price: our offer is not live (not buyable)
UNWINNABLE = -1  # p_star: no price within [min, max] wins at this moment

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RowSeries:
    """One row's records in time order; value ``k`` holds on ``[t[k], t[k+1])`` and the last until ``end``."""

    t: F64
    our_price: I64
    p_star: I64
    share: F64
    hold: B
    comp_move: B
    end: float


@dataclass(frozen=True, slots=True)
class Trajectory:
    """A finished run: the records of every row plus each row's static facts.

    ``start`` and ``end`` bound the measured window (seconds of simulated time). ``min_price``, ``max_price`` and
    ``unit_cost`` are per row (minor units); ``views_per_s`` is each row's page-view rate, so expected profit per
    second at a moment is ``views_per_s * share * (our_price - unit_cost)``.
    """

    start: float
    end: float
    t: F64
    row: I32
    our_price: I64
    p_star: I64
    share: F64
    hold: B
    comp_move: B
    min_price: I64
    max_price: I64
    unit_cost: I64
    views_per_s: F64
    _order: I64
    _bounds: I64

    @property
    def n_rows(self) -> int:
        return len(self.min_price)

    def row_series(self, row: int) -> RowSeries:
        lo, hi = int(self._bounds[row]), int(self._bounds[row + 1])
        idx = self._order[lo:hi]
        return RowSeries(
            t=self.t[idx],
            our_price=self.our_price[idx],
            p_star=self.p_star[idx],
            share=self.share[idx],
            hold=self.hold[idx],
            comp_move=self.comp_move[idx],
            end=self.end,
        )

    def rows(self, first: int, count: int) -> Trajectory:
        """Rows ``first .. first + count - 1`` as a trajectory of their own (rows renumbered from 0): one market
        of a market of several seeds."""
        lo, hi = int(self._bounds[first]), int(self._bounds[first + count])
        idx = self._order[lo:hi]
        row = (self.row[idx] - first).astype(np.int32)
        static = slice(first, first + count)
        return Trajectory(
            self.start,
            self.end,
            self.t[idx],
            row,
            self.our_price[idx],
            self.p_star[idx],
            self.share[idx],
            self.hold[idx],
            self.comp_move[idx],
            self.min_price[static],
            self.max_price[static],
            self.unit_cost[static],
            self.views_per_s[static],
            np.arange(hi - lo, dtype=np.int64),
            self._bounds[first : first + count + 1] - lo,
        )


class Recorder:
    """Collects records during a run; vectorised appends, one join at the end."""

    def __init__(
        self,
        *,
        start: float,
        min_price: I64,
        max_price: I64,
        unit_cost: I64,
        views_per_s: F64,
    ) -> None:
        self._start = start
        self._static = (
            np.asarray(min_price, np.int64),
            np.asarray(max_price, np.int64),
            np.asarray(unit_cost, np.int64),
            np.asarray(views_per_s, np.float64),
        )
        self._chunks: list[tuple[F64, I32, I64, I64, F64, B, B]] = []

    def record(
        self,
        t: float | F64,
        rows: I32 | npt.NDArray[np.intp],
        our_price: I64,
        p_star: I64,
        share: F64,
        hold: B,
        comp_move: B | bool = False,
    ) -> None:
        """Append one record per row in ``rows`` (all arrays the same length; ``t`` may be a scalar)."""
        n = len(rows)
        if n == 0:
            return
        self._chunks.append(
            (
                np.broadcast_to(np.asarray(t, np.float64), (n,)).copy(),
                np.asarray(rows, np.int32),
                np.asarray(our_price, np.int64),
                np.asarray(p_star, np.int64),
                np.asarray(share, np.float64),
                np.asarray(hold, np.bool_),
                np.broadcast_to(np.asarray(comp_move, np.bool_), (n,)).copy(),
            )
        )

    def finish(self, end: float) -> Trajectory:
        n_rows = len(self._static[0])
        if self._chunks:
            cols = [np.concatenate(parts) for parts in zip(*self._chunks, strict=True)]
        else:
            cols = [
                np.empty(0, dtype)
                for dtype in (np.float64, np.int32, np.int64, np.int64, np.float64, np.bool_, np.bool_)
            ]
        t, row = cols[0], cols[1]
        # Stable sort by (row, t): records appended at the same time keep their order.
        order = np.lexsort((np.arange(len(t)), t, row)).astype(np.int64)
        counts = np.bincount(row, minlength=n_rows) if len(row) else np.zeros(n_rows, np.int64)
        bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return Trajectory(
            self._start,
            end,
            t,
            row,
            cols[2],
            cols[3],
            cols[4],
            cols[5],
            cols[6],
            *self._static,
            order,
            bounds,
        )
