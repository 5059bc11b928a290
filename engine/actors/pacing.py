"""Client-side pacing for Amazon's token buckets, so the engine spends its quota instead of collecting 429s."""

from __future__ import annotations

import trio

from engine.ports import Quota

__all__ = ["Pacer"]


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

    def wait_time(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0 when they are now)."""
        self._refill(trio.current_time())
        missing = min(cost, self.burst) - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate

    async def acquire(self, cost: float = 1.0) -> None:
        """Wait until ``cost`` tokens are available and take them.

        Tasks sharing a pacer may both take after one wait; the bucket then goes negative and the next caller
        waits the longer, so the long-run rate still holds.
        """
        delay = self.wait_time(cost)
        if delay > 0:
            await trio.sleep(delay)
            self._refill(trio.current_time())
        self._tokens -= min(cost, self.burst)

    def penalise(self, retry_after: float | None = None) -> None:
        """Amazon said no: assume the bucket is empty (or empty for ``retry_after`` seconds)."""
        self._refill(trio.current_time())
        self._tokens = -(retry_after or 0.0) * self.rate
