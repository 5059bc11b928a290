"""Client-side pacing for Amazon's token buckets, so the engine spends its quota instead of collecting 429s."""

from __future__ import annotations

import trio

from engine.ports import Quota

__all__ = ["Pacer"]

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
        self._tokens -= min(cost, self.burst)
        if self._tokens < 0:
            # A little late rather than early: our clock and Amazon's receipt of the call differ by the network.
            planned = now - self._tokens / self.rate + _MARGIN_S
            await trio.sleep_until(planned)
            now = trio.current_time()
            if now > planned:
                # Woken late (a busy loop): Amazon's bucket, full meanwhile, stopped refilling, and so must ours,
                # or the next call comes as early as the plan and finds it short.
                self._refill(now)
                self._tokens -= (now - planned) * self.rate

    def penalise(self, retry_after: float | None = None) -> None:
        """Amazon said no: assume the bucket is empty (or empty for ``retry_after`` seconds), behind whatever
        callers already waiting have taken."""
        self._refill(trio.current_time())
        self._tokens = min(self._tokens, 0.0) - (retry_after or 0.0) * self.rate
