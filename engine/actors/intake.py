"""Intake: everything Amazon tells us about offers, as observations for the router.

Notifications arrive when Amazon gets round to sending them: seconds to hours late, some never, some twice, some
out of order. So a quota-aware poll sweep backs them up: every offer is polled at least every
``sweep_interval_s``, and an offer actor can ask for a poll at a given time (``recheck``), which is how a search
learns whether its probe held after Amazon recomputed the Buy Box. Readings (FOEP, and our share of the Buy Box
from the competitive summary) are swept the same way at their own, much lower, quotas, and read ahead of the sweep
for the offers that ask. The sweep spends the quota the engine has and no more: it paces itself on Amazon's token
buckets instead of collecting 429s.

Faults (the port's contract, `engine.ports`): a throttled call empties the pacer; a transient failure (5xx, timeout,
connection) waits a capped, jittered backoff and tries again, the keys it carried still due; an item that failed
alone is not counted as swept, so its turn comes again. Anything else a loop raises ends the intake, which the
runtime restarts (its rotations and asks live on in this object); an `AccountError` goes up to the seller.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import msgspec
import trio

from engine.actors.pacing import Pacers
from engine.actors.supervisor import Backoff, StartedOnce
from engine.actors.validate import CLOCK_SKEW_S, FUTURE_LIMIT_S
from engine.model import Observation, OfferKey
from engine.ports import ItemFailure, Marketplace, Throttled, TransientError

__all__ = ["Intake", "IntakeConfig", "IntakeCounters"]

log = logging.getLogger(__name__)


class IntakeConfig(msgspec.Struct, frozen=True):
    sweep_interval_s: float = 1800.0
    foep_interval_s: float = 1800.0
    foep: bool = True
    share_interval_s: float = 1800.0
    shares: bool = True
    # Offers ask for readings in bursts (a market move wakes many at once) and one call carries a batch of them, so
    # a reader gathers asks this long before spending a call, the scarcest quota there is, on the first one.
    foep_gather_s: float = 0.5
    # An offer whose poll failed on its own (a 5xx for that item) is polled again this long after, ahead of the
    # sweep (which would come back to it only after everyone else).
    item_retry_s: float = 60.0
    # Where observations enter, their times are checked against our clock (`engine.actors.validate`): up to this
    # far ahead is clock skew and passes as it is ...
    clock_skew_s: float = CLOCK_SKEW_S
    # ... up to this far ahead is moved back to now, and further ahead is a broken timestamp, dropped.
    future_limit_s: float = FUTURE_LIMIT_S


class IntakeCounters(msgspec.Struct):
    polls: int = 0
    polled_offers: int = 0
    rechecks: int = 0
    foep_calls: int = 0
    share_calls: int = 0
    throttled: int = 0
    transient_errors: int = 0
    item_failures: int = 0
    ignored_rechecks: int = 0  # asked for at a time that is not finite


class _Rotation:
    """Keys in least-recently-swept order; ``due`` yields keys not swept for ``interval`` seconds."""

    __slots__ = ("_last", "_queue", "interval")

    def __init__(self, keys: Sequence[OfferKey], interval: float) -> None:
        self._queue = deque(keys)
        self._last: dict[OfferKey, float] = {}
        self.interval = interval

    def due(self, now: float, limit: int) -> list[OfferKey]:
        taken: list[OfferKey] = []
        for _ in range(len(self._queue)):
            if len(taken) >= limit:
                break
            key = self._queue[0]
            last = self._last.get(key)
            # The same comparison as `next_due`, so a sleep until then always finds the key due.
            if last is not None and last + self.interval > now:
                break
            self._queue.rotate(-1)
            taken.append(key)
        return taken

    def touched(self, keys: Sequence[OfferKey], now: float) -> None:
        for key in keys:
            self._last[key] = now

    def add(self, key: OfferKey) -> None:
        """A new offer: first in line (it has never been swept)."""
        self._queue.appendleft(key)

    def remove(self, key: OfferKey) -> None:
        self._queue.remove(key)
        self._last.pop(key, None)

    def next_due(self) -> float:
        if not self._queue:
            return float("inf")
        last = self._last.get(self._queue[0])
        return float("-inf") if last is None else last + self.interval


class _Readings:
    """One kind of reading (FOEP, our Buy Box share): a sweep of every offer, and the offers that asked first."""

    __slots__ = ("sweep", "wake", "wanted")

    def __init__(self, keys: Sequence[OfferKey], interval: float) -> None:
        self.sweep = _Rotation(keys, interval)
        self.wanted: dict[OfferKey, None] = {}  # an ordered set: first asked, first served
        self.wake = trio.Event()

    def want(self, key: OfferKey) -> None:
        if key not in self.wanted:
            self.wanted[key] = None
            self.wake.set()

    def add(self, key: OfferKey) -> None:
        self.sweep.add(key)
        self.wake.set()

    def remove(self, key: OfferKey) -> None:
        self.sweep.remove(key)
        self.wanted.pop(key, None)


class Intake:
    """See the module docstring. ``send`` stays open across restarts of `run`: its owner closes it."""

    def __init__(
        self,
        marketplace: Marketplace,
        keys: Sequence[OfferKey],
        send: trio.MemorySendChannel[Observation],
        config: IntakeConfig | None = None,
        pacers: Pacers | None = None,
    ) -> None:
        self.marketplace = marketplace
        self.send = send
        self.pacers = pacers or Pacers(marketplace.quota)
        self.config = config or IntakeConfig()
        self._backoff = {
            loop: Backoff(f"{marketplace.seller}/{marketplace.code} {loop}")
            for loop in ("stream", "poll_offers", "featured_offer_prices", "featured_shares")
        }
        self.counters = IntakeCounters()
        self._sweep = _Rotation(keys, self.config.sweep_interval_s)
        self._foep = _Readings(keys, self.config.foep_interval_s)
        self._shares = _Readings(keys, self.config.share_interval_s)
        self._rechecks: list[tuple[float, OfferKey]] = []
        self._gone: set[OfferKey] = set()  # offers removed while a poll waited for its turn
        self._recheck_at: dict[OfferKey, float] = {}
        self._wake = trio.Event()

    def recheck(self, key: OfferKey, at: float) -> None:
        """Poll ``key`` at ``at`` (or earlier, if an earlier poll is already asked for).

        A time that is not finite is ignored (the sweep comes round anyway): pricing asking for one is a bug, and
        a NaN in the queue would reach ``trio.move_on_at``, which raises, and end the intake on every restart.
        """
        if not math.isfinite(at):
            self.counters.ignored_rechecks += 1
            if self.counters.ignored_rechecks & (self.counters.ignored_rechecks - 1) == 0:  # 1st, 2nd, 4th ...
                log.warning(
                    "%s: recheck of %s asked for at %r: ignored (%d so far)",
                    self.marketplace.code,
                    key,
                    at,
                    self.counters.ignored_rechecks,
                )
            return
        if self._recheck_at.get(key, float("inf")) <= at:
            return
        self._recheck_at[key] = at
        heapq.heappush(self._rechecks, (at, key))
        self._wake.set()

    def want_foep(self, key: OfferKey) -> None:
        """Read FOEP for ``key`` before the sweep's turn (a search about to probe wants it)."""
        self._foep.want(key)

    def want_share(self, key: OfferKey) -> None:
        """Read our Buy Box share for ``key`` before the sweep's turn."""
        self._shares.want(key)

    def add(self, key: OfferKey) -> None:
        """A new offer: swept first, its readings too."""
        self._sweep.add(key)
        self._foep.add(key)
        self._shares.add(key)
        self._wake.set()

    def remove(self, key: OfferKey) -> None:
        """An offer gone: forget it everywhere (a recheck already queued is skipped when it comes up)."""
        self._sweep.remove(key)
        self._foep.remove(key)
        self._shares.remove(key)
        self._recheck_at.pop(key, None)
        self._gone.add(key)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self._stream, self.send.clone())
            nursery.start_soon(self._poll_loop, self.send.clone())
            market = self.marketplace
            if self.config.foep:
                foep = market.featured_offer_prices
                nursery.start_soon(self._read_loop, "featured_offer_prices", foep, self._foep, self.send.clone())
            if self.config.shares:
                shares = market.featured_shares
                nursery.start_soon(self._read_loop, "featured_shares", shares, self._shares, self.send.clone())
            task_status.started()

    async def _stream(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """The notification stream, subscribed again after a transient failure (the sweep covers the gap)."""
        backoff = self._backoff["stream"]
        once = StartedOnce(task_status)
        async with send:
            while True:
                try:
                    await self.marketplace.stream_observations(send.clone(), task_status=once)
                    return
                except TransientError as error:
                    self.counters.transient_errors += 1
                    wait = backoff.next()
                    log.warning("%s: notifications failed (%s); again in %.1fs", self.marketplace.code, error, wait)
                once.started()  # the parent goes on; the stream is retried in the background
                await trio.sleep(wait)

    async def _failed(self, operation: str, error: TransientError) -> None:
        self.counters.transient_errors += 1
        wait = self._backoff[operation].next()
        log.warning("%s: %s failed (%s); again in %.1fs", self.marketplace.code, operation, error, wait)
        await trio.sleep(wait)

    def _item_failed(self, operation: str, failure: ItemFailure) -> None:
        self.counters.item_failures += 1
        # Log the 1st, 2nd, 4th, 8th ... only: one SKU Amazon does not know must not flood the log.
        if self.counters.item_failures & (self.counters.item_failures - 1) == 0:
            log.warning(
                "%s: %s failed for %s: %s %s (%d item failures so far)",
                self.marketplace.code,
                operation,
                failure.key,
                failure.code,
                failure.message,
                self.counters.item_failures,
            )

    def _due_rechecks(self, now: float, limit: int) -> list[OfferKey]:
        keys: list[OfferKey] = []
        while self._rechecks and self._rechecks[0][0] <= now and len(keys) < limit:
            at, key = heapq.heappop(self._rechecks)
            if self._recheck_at.get(key) == at:
                del self._recheck_at[key]
                keys.append(key)
        return keys

    async def _poll_loop(self, send: trio.MemorySendChannel[Observation]) -> None:
        quota = self.marketplace.quota("poll_offers")
        pacer = self.pacers["poll_offers"]
        async with send:
            while True:
                now = trio.current_time()
                rechecks = self._due_rechecks(now, quota.batch)
                # A key due for a recheck may be due in the sweep as well: it is asked for once, and counts as
                # swept. Amazon refuses a batch that names an item twice (400 "Duplicate requests submitted"),
                # which would fail every key of it.
                swept = self._sweep.due(now, quota.batch - len(rechecks))
                keys = list(dict.fromkeys(rechecks + swept))
                if not keys:
                    next_recheck = self._rechecks[0][0] if self._rechecks else float("inf")
                    with trio.move_on_at(min(next_recheck, self._sweep.next_due())):
                        await self._wake.wait()
                    self._wake = trio.Event()
                    continue
                await pacer.acquire()
                # Waiting in line for the seller's quota takes a while: an offer removed meanwhile is not asked for.
                keys = [key for key in keys if key not in self._gone]
                rechecks = [key for key in rechecks if key not in self._gone]
                swept = [key for key in swept if key not in self._gone]
                self._gone.clear()
                if not keys:
                    continue
                try:
                    answers = await self.marketplace.poll_offers(keys)
                except Throttled as throttled:
                    self.counters.throttled += 1
                    pacer.penalise(throttled.retry_after)
                    for key in rechecks:
                        self.recheck(key, now)
                    continue
                except TransientError as error:
                    for key in rechecks:
                        self.recheck(key, now)
                    await self._failed("poll_offers", error)
                    continue
                self._backoff["poll_offers"].reset()
                # A marketplace may answer without waiting (a cache, a stand-in): a sweep of every offer at
                # start-up must still let the rest of the engine run between its calls.
                await trio.lowlevel.checkpoint()
                self.counters.polls += 1
                self.counters.rechecks += len(rechecks)
                # Only the sweep's own keys move in its rotation: it stays in least-recently-swept order. A key
                # that failed for a reason time may cure is not swept: its turn comes again.
                failed = {a.key for a in answers if isinstance(a, ItemFailure) and a.transient}
                self._sweep.touched([k for k in swept if k not in failed] if failed else swept, trio.current_time())
                for answer in answers:
                    if isinstance(answer, ItemFailure):
                        self._item_failed("poll_offers", answer)
                        if answer.transient:
                            self.recheck(answer.key, trio.current_time() + self.config.item_retry_s)
                        continue
                    self.counters.polled_offers += 1
                    await send.send(answer)

    async def _read_loop(
        self,
        operation: str,
        read: Callable[[Sequence[OfferKey]], Awaitable[Sequence[Observation | ItemFailure]]],
        readings: _Readings,
        send: trio.MemorySendChannel[Observation],
    ) -> None:
        quota = self.marketplace.quota(operation)
        pacer = self.pacers[operation]
        async with send:
            while True:
                now = trio.current_time()
                wanted = list(itertools.islice(readings.wanted, quota.batch))
                for key in wanted:
                    del readings.wanted[key]
                asked = set(wanted)
                keys = wanted + [k for k in readings.sweep.due(now, quota.batch - len(wanted)) if k not in asked]
                if not keys:
                    with trio.move_on_at(readings.sweep.next_due()):
                        await readings.wake.wait()
                    readings.wake = trio.Event()
                    if readings.wanted:
                        await trio.sleep(self.config.foep_gather_s)
                    continue
                await pacer.acquire()
                try:
                    answers = await read(keys)
                except Throttled as throttled:
                    self.counters.throttled += 1
                    pacer.penalise(throttled.retry_after)
                    for key in wanted:  # they still want it; the sweep's keys wait for their next turn
                        readings.want(key)
                    continue
                except TransientError as error:
                    for key in wanted:
                        readings.want(key)
                    await self._failed(operation, error)
                    continue
                self._backoff[operation].reset()
                await trio.lowlevel.checkpoint()  # as in the poll loop
                if operation == "featured_shares":
                    self.counters.share_calls += 1
                else:
                    self.counters.foep_calls += 1
                failed = {a.key for a in answers if isinstance(a, ItemFailure) and a.transient}
                swept = keys[len(wanted) :]
                readings.sweep.touched([k for k in swept if k not in failed] if failed else swept, trio.current_time())
                for answer in answers:
                    if isinstance(answer, ItemFailure):
                        self._item_failed(operation, answer)
                        continue
                    await send.send(answer)
