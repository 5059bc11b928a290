"""Client-side pacing for Amazon's token buckets, so the engine spends its quota instead of collecting 429s."""

from __future__ import annotations

from collections.abc import Callable

import trio

from engine.ports import Quota

__all__ = ["Pacer", "Pacers"]

_MARGIN_S = 0.05


class Pacer:
    """A local mirror of one operation's token bucket (``rate`` per second, up to ``burst``).

    Amazon's bucket is the authority; this one only keeps us from asking when we know the answer is 429. After a
    throttle the caller calls `penalise`, which empties the local bucket.
    """

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, quota: Quota) -> None:
        self.rate = quota.rate
        self.burst = float(quota.burst)
        self._tokens = self.burst
        self._stamp: float | None = None

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, cost: float = 1.0) -> None:
        """Take ``cost`` tokens, waiting until the bucket has refilled to cover them.

        The tokens are taken before the wait (the bucket may go negative), so tasks sharing a pacer queue up one
        behind another instead of all waking after the same wait and calling at once, which Amazon answers with
        429s.
        """
        now = trio.current_time()
        self._refill(now)
        taken = min(cost, self.burst)
        self._tokens -= taken
        if self._tokens < 0:
            # A little late rather than early: our clock and Amazon's receipt of the call differ by the network.
            planned = now - self._tokens / self.rate + _MARGIN_S
            await trio.sleep_until(planned)
            # Amazon's bucket stops refilling at its burst: whatever the margin and any lateness of this wake-up
            # added beyond that is not there, so neither may it be here, or the calls gain on the bucket by the
            # margin each time and one in a few dozen finds it short (with a burst of 1: every FOEP and
            # competitive-summary call).
            self._refill(trio.current_time())
            self._tokens = min(self._tokens, self.burst - taken)

    def penalise(self, retry_after: float | None = None) -> None:
        """Amazon said no: assume the bucket is empty (or empty for ``retry_after`` seconds), behind whatever
        callers already waiting have taken."""
        self._refill(trio.current_time())
        self._tokens = min(self._tokens, 0.0) - (retry_after or 0.0) * self.rate


class Pacers:
    """One seller's pacers, one per operation, shared by every marketplace runtime of that seller in a region.

    Amazon's token buckets are per seller and application, not per marketplace: a seller on DE, FR and GB has one
    bucket for each operation, so one pacer paces all three (three pacers would spend three quotas and collect
    429s). ``quota_of`` gives an operation's limit; a pacer is made on first use.
    """

    __slots__ = ("_pacers", "_quota_of")

    def __init__(self, quota_of: Callable[[str], Quota]) -> None:
        self._quota_of = quota_of
        self._pacers: dict[str, Pacer] = {}

    def __getitem__(self, operation: str) -> Pacer:
        pacer = self._pacers.get(operation)
        if pacer is None:
            pacer = self._pacers[operation] = Pacer(self._quota_of(operation))
        return pacer
