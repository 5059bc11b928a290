"""What a Buy Box recompute needs of a row, worked out once while the row's offers stay the same.

At a recompute every traffic segment of a row chooses its featured offer from the offers' scores with the
segment's incumbent (`sim.buybox.featured_choices`, then a draw by `sim.buybox.draw_featured`), and our expected
share of the segment is the rotation's long-run one (`sim.threshold.stationary_share`). Both depend only on which
offers are eligible, their landed prices and, for the choice, the incumbent; the draw alone is new each time. A
row is recomputed about every minute and its offers change far less often, while scoring, softmax and the
stationary solve are most of a recompute's cost. So `RotationTables` solves a row's long-run shares when its
offers change and works out the choices of a (segment, incumbent) line the first time a recompute needs it; a
recompute looks up its incumbents' lines and draws.

The lines are computed by the same functions on the same per-row inputs as a recompute would give them, and
every one of those functions computes a row without reference to the other rows of its batch, so a looked-up
line is the same floats as a fresh one: the market's choices and shares are exactly those of recomputing them.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from sim.buybox import Choices, featured_choices, offer_scores, rivals, we_win, with_incumbency
from sim.threshold import stationary_share

__all__ = ["RotationTables"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Idx = npt.NDArray[np.intp]

_NOT_ELIGIBLE: Final = -1  # an offer's landed price in a row's key when it is not eligible (its price is no input)


class RotationTables:
    """Per row, segment and incumbent (`NO_HOLDER` and each slot): the `sim.buybox.Choices` line of a recompute,
    worked out the first time a recompute needs it; per row and segment: our long-run share (τ > 0). ``bonus``
    is the offers' score terms in each segment without price or incumbency ``(rows, segments, slots)`` and
    ``incumbency`` their incumbency bonus ``(rows, slots)``; both are fixed for a run."""

    def __init__(self, bonus: F64, incumbency: F64, tau: float) -> None:
        n, segments, slots = bonus.shape
        self._bonus, self._incumbency, self._tau = bonus, incumbency, tau
        # Each row's eligible offers' landed prices when its offers last changed (_NOT_ELIGIBLE elsewhere).
        self._key: I64 = np.full((n, slots), _NOT_ELIGIBLE, np.int64)
        self._known: B = np.zeros(n, np.bool_)
        lines = (n, segments, slots + 1)  # incumbent h at index h + 1
        self._line_known: B = np.zeros(lines, np.bool_)
        self._featured: I64 = np.zeros(lines, np.int64)
        self._needs_draw: B = np.zeros(lines, np.bool_)
        self._cumulative: F64 = np.zeros((*lines, slots))
        self._total: F64 = np.zeros(lines)
        self._drawable: B = np.zeros((*lines, slots), np.bool_)
        self._share: F64 = np.zeros(lines)
        self._long_run: F64 = np.zeros((n, segments))

    def update(self, rows: Idx, landed: I64, eligible: B) -> None:
        """Bring ``rows`` (distinct) up to date with their offers now: ``landed`` prices and ``eligible`` offers
        ``(rows, slots)``. A row whose eligible offers and their landed prices are those of its last update keeps
        its lines and long-run shares; any other forgets its lines and solves its long-run shares again."""
        key = np.where(eligible, landed, _NOT_ELIGIBLE)
        stale = ~(self._known[rows] & (key == self._key[rows]).all(axis=1))
        if stale.any():
            r = rows[stale]
            self._key[r], self._known[r], self._line_known[r] = key[stale], True, False
            if self._tau > 0:
                self._long_run[r] = self._solve_long_run(r, landed[stale], eligible[stale])

    def choices(self, rows: Idx, holder: I64, landed: I64, eligible: B) -> Choices:
        """The lines of ``rows`` (brought up to date with these ``landed`` prices and ``eligible`` offers by
        `update`) with each segment's incumbent ``holder`` ``(rows, segments)``, one (row, segment) a line,
        row-major."""
        segments = holder.shape[1]
        line = (rows[:, None], np.arange(segments)[None, :], holder + 1)
        missing = np.flatnonzero(~self._line_known[line])
        if missing.size:
            at = missing // segments
            new = (rows[at], missing % segments, holder.reshape(-1)[missing] + 1)
            self._work_out(new, landed[at], eligible[at])
        slots = self._cumulative.shape[-1]
        return Choices(
            self._featured[line].reshape(-1),
            self._needs_draw[line].reshape(-1),
            self._cumulative[line].reshape(-1, slots),
            self._total[line].reshape(-1),
            self._drawable[line].reshape(-1, slots),
            self._share[line].reshape(-1),
        )

    def long_run(self, rows: Idx) -> F64:
        """Our long-run share of each segment of ``rows`` (up to date; τ > 0), ``(rows, segments)``."""
        share: F64 = self._long_run[rows]
        return share

    def _work_out(self, line: tuple[Idx, Idx, Idx], landed: I64, eligible: B) -> None:
        """Work out the ``line`` (row, segment, incumbent + 1) lines, as a recompute builds its (row, segment)
        lines: ``landed`` and ``eligible`` are each line's row's."""
        row, segment, index = line
        holder = index - 1
        static = self._bonus[row, segment]
        scores = offer_scores(with_incumbency(static, self._incumbency[row], holder), landed, eligible)
        if self._tau > 0:
            our_major = np.zeros(len(holder), np.bool_)  # τ > 0 draws; `featured_choices` reads it at τ = 0 only
        else:
            riv = rivals(scores[:, 1:], landed[:, 1:], holder, self._tau)
            our_major = we_win(scores[:, 0], landed[:, 0], holder == 0, riv, self._tau)
        choices = featured_choices(scores, landed, holder, our_major, self._tau)
        self._featured[line] = choices.featured
        self._needs_draw[line] = choices.needs_draw
        self._cumulative[line] = choices.cumulative
        self._total[line] = choices.total
        self._drawable[line] = choices.drawable
        self._share[line] = choices.share
        self._line_known[line] = True

    def _solve_long_run(self, rows: Idx, landed: I64, eligible: B) -> F64:
        n, (segments, slots) = len(rows), self._bonus.shape[1:]
        log_landed = np.log(np.maximum(landed, 1).astype(np.float64))
        share = stationary_share(
            self._bonus[rows].reshape(n * segments, slots),
            np.repeat(self._incumbency[rows], segments, axis=0),
            np.repeat(log_landed, segments, axis=0),
            np.repeat(eligible, segments, axis=0),
            self._tau,
        )
        return share.reshape(n, segments)
