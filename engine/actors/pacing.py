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

    Callers sharing a pacer (the marketplaces of one seller, the batcher's concurrent submits) queue on a fair
    lock and each takes its tokens when it is woken, from the bucket as it is then. A caller woken late (a busy
    loop, a slow machine) thus pushes the next one back by as much, as Amazon's bucket does: full at its burst, it
    stops refilling, so the time a late caller lost is not there for the one behind it. (Tokens reserved ahead of
    the wait, as before, let the caller behind keep its planned time and find the bucket short: with three
    marketplaces on one seller's pacer, a third of the polls of `run --sim` at 60x were refused.)
    """

    __slots__ = ("_lock", "_stamp", "_tokens", "burst", "rate", "spent")

    def __init__(self, quota: Quota) -> None:
        self.rate = quota.rate
        self.burst = float(quota.burst)
        self.spent = 0.0  # tokens taken so far: what the status reports as quota use
        self._tokens = self.burst
        self._stamp: float | None = None
        self._lock = trio.Lock()

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, cost: float = 1.0) -> None:
        """Take ``cost`` tokens (at most the burst), waiting in line until the bucket has refilled to cover them."""
        taken = min(cost, self.burst)
        if not self._lock.locked():
            # Nobody in line and the tokens there: take them without a checkpoint, as a caller with quota to
            # spare must not cost a trip through the scheduler (a read loop that asks at every turn would spin).
            self._refill(trio.current_time())
            if self._tokens + 1e-9 >= taken:
                self._tokens -= taken
                self.spent += taken
                return
        async with self._lock:
            while True:
                now = trio.current_time()
                self._refill(now)
                if self._tokens + 1e-9 >= taken:
                    self._tokens -= taken
                    self.spent += taken
                    return
                # A little late rather than early: our clock and Amazon's receipt of the call differ by the
                # network. Checked again on waking: a throttle meanwhile (`penalise`) may have emptied the bucket.
                await trio.sleep_until(now + (taken - self._tokens) / self.rate + _MARGIN_S)

    def ready(self, cost: float = 1.0) -> bool:
        """Whether ``cost`` tokens are there now for a caller that will not wait: nobody is in line and the bucket
        holds them. For a caller with another way to go (a feed's quota spent: patches), who asks before choosing."""
        if self._lock.locked():
            return False
        self._refill(trio.current_time())
        return self._tokens + 1e-9 >= min(cost, self.burst)

    def try_acquire(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if `ready`, never waiting; whether it took them."""
        if not self.ready(cost):
            return False
        taken = min(cost, self.burst)
        self._tokens -= taken
        self.spent += taken
        return True

    def penalise(self, retry_after: float | None = None) -> None:
        """Amazon said no: assume the bucket is empty (or empty for ``retry_after`` seconds); every caller in
        line waits for it to refill from now."""
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

    def made(self) -> list[tuple[str, Pacer]]:
        """The operations paced so far, each with its pacer, by name."""
        return sorted(self._pacers.items())
