"""Notifications in flight: generated at a change, delivered later, sometimes twice, late, or never.

Amazon promises no latency for ANY_OFFER_CHANGED and SQS delivers at least once, in no guaranteed order; the
engine must cope with all of it, so the simulator produces all of it. Each generated notification of a row takes
the row's next counter value in the delay, drop, duplicate and reorder streams, so the faults are reproducible.

A row's notifications are one channel and keep their order (buybox.md: in order except 1% reordered): each is
delivered no earlier than the last one of its row that was delivered in order, so a notification that follows a
slow one waits for it and bursts arrive together. The delay is log-normal for a notification whose predecessor
is already out; only the ``notif_reorder`` share, held back by one to two p95 delays and not holding up the rest,
can arrive after a newer one.

The payload is the row's state at the change (prices, stock, holder), copied as arrays when the change happens;
turning it into objects is left to delivery, so a run whose notifications nobody reads pays only for the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from sim.latency import LatencyParams
from sim.rng import Purpose, normal_from, stream_base, uniform_from

__all__ = [
    "AOC",
    "CHANGE_EXTERNAL",
    "CHANGE_FEATURED",
    "CHANGE_INTERNAL",
    "HEALTH",
    "FaultCounts",
    "NotificationQueue",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Columns = dict[str, npt.NDArray[Any]]

AOC: Final = 0  # ANY_OFFER_CHANGED
HEALTH: Final = 1  # PRICING_HEALTH
CHANGE_EXTERNAL: Final = 0  # a competitor's offer changed
CHANGE_INTERNAL: Final = 1  # our own offer changed
CHANGE_FEATURED: Final = 2  # the featured offer changed


@dataclass(slots=True)
class FaultCounts:
    """What the queue did to the notifications generated so far (for tests and run summaries)."""

    generated: int = 0
    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0


class NotificationQueue:
    """Pending notifications of a market as columns: new ones in arrival chunks, merged in delivery order on pop."""

    def __init__(self, seed: npt.ArrayLike, stream_key: I64, latency: LatencyParams) -> None:
        """``seed``: the rows' seeds (one for all, or one per row)."""
        self._latency = latency
        self._delay = stream_base(seed, stream_key, Purpose.NOTIF_DELAY)
        self._drop = stream_base(seed, stream_key, Purpose.NOTIF_DROP)
        self._dup = stream_base(seed, stream_key, Purpose.NOTIF_DUP)
        self._reorder = stream_base(seed, stream_key, Purpose.NOTIF_REORDER)
        self._count = np.zeros(len(stream_key), np.int64)
        self._in_order_until = np.full(len(stream_key), -np.inf)  # each row's latest in-order delivery
        self._pending: Columns = {}
        self._fresh: list[Columns] = []
        self._earliest = np.inf
        self.faults = FaultCounts()

    def push(self, kind: int, rows: npt.NDArray[np.intp], event_at: F64, payload: Columns) -> None:
        """Generate one notification per row (rows distinct) with the given payload columns."""
        if not rows.size:
            return
        lat = self._latency
        k = self._count[rows]
        self._count[rows] += 1
        after = self._in_order_until[rows]
        deliver_at = np.maximum(event_at + lat.notification_delay(normal_from(self._delay[rows], k)), after)
        # The reorder, drop and duplicate draws of every row in one call (draws are small: overhead is their cost).
        n = len(rows)
        u = uniform_from(np.concatenate([self._reorder[rows], self._drop[rows], self._dup[rows]]), np.tile(k, 3))
        reordered = u[:n] < lat.notif_reorder
        if reordered.any():
            extra = lat.reorder_extra(uniform_from(self._reorder[rows[reordered]], k[reordered], 1))
            deliver_at[reordered] += extra
        kept = u[n : 2 * n] >= lat.notif_drop
        twice = kept & (u[2 * n :] < lat.notif_dup)
        # A dropped notification holds nothing up, and a reordered one lets the next ones pass it.
        in_order = kept & ~reordered
        self._in_order_until[rows[in_order]] = deliver_at[in_order]
        self.faults.generated += len(rows)
        self.faults.dropped += len(rows) - int(kept.sum())
        self.faults.duplicated += int(twice.sum())
        self.faults.reordered += int((kept & reordered).sum())
        base: Columns = {"kind": np.full(len(rows), kind, np.int8), "row": rows, "index": k, "event_at": event_at}
        base.update(payload)
        base["deliver_at"] = deliver_at
        self._append(base if kept.all() else {name: col[kept] for name, col in base.items()})
        if twice.any():
            second = {name: col[twice] for name, col in base.items()}
            # SQS delivers the copy on its own time, but still behind what came before it in order.
            second["deliver_at"] = np.maximum(
                event_at[twice] + lat.notification_delay(normal_from(self._dup[rows[twice]], k[twice], 1)),
                after[twice],
            )
            copy_in_order = in_order[twice]
            r = rows[twice][copy_in_order]
            self._in_order_until[r] = np.maximum(self._in_order_until[r], second["deliver_at"][copy_in_order])
            self._append(second)

    def _append(self, chunk: Columns) -> None:
        if not len(chunk["row"]):
            return
        self._fresh.append(chunk)
        self._earliest = min(self._earliest, float(chunk["deliver_at"].min()))

    @property
    def next_delivery(self) -> float:
        """When the earliest pending notification is delivered (inf when none is pending)."""
        return self._earliest

    def pop(self, t: float) -> Columns | None:
        """Remove and return the notifications delivered by ``t``, in delivery order (None when there are none).

        Pending notifications are kept sorted by delivery time; what arrived since the last pop is merged in
        first (a stable sort, so notifications delivered at the same instant keep the order they were made in).
        """
        if t < self._earliest:
            return None
        if self._fresh:
            merged = _concat([self._pending, *self._fresh] if self._pending else self._fresh)
            order = np.argsort(merged["deliver_at"], kind="stable")
            self._pending = {name: col[order] for name, col in merged.items()}
            self._fresh = []
        cut = int(np.searchsorted(self._pending["deliver_at"], t, side="right"))
        ready = {name: col[:cut] for name, col in self._pending.items()}
        self._pending = {name: col[cut:] for name, col in self._pending.items()}
        left = self._pending["deliver_at"]
        self._earliest = float(left[0]) if len(left) else np.inf
        return ready if cut else None


def _concat(chunks: list[Columns]) -> Columns:
    return {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}
