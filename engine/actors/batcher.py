"""The offer batcher: the one place prices leave the engine.

Offer actors hand it intents without waiting. The latest intent per SKU wins (an older one not yet sent is
simply replaced), at most one update per SKU is in flight, and a price always travels with the rest of the offer
(bounds, sale price, quantity, handling time) because Amazon's ``replace`` drops any field left out. Every price
passes the guard first; in dry run nothing is sent at all. Updates go to the outbox before they are sent, so a
crash cannot lose one; results return to the actors with a non-blocking send; an accepted update is verified by
reading the listing back later, and sent again if Amazon never applied it.

Verification: the read-back (getListingsItem) shows the listings view, which lags the offers view the actors observe
by a minute or so, now and then by a quarter of an hour, and never shows a price older than the one it shows. A
read-back showing the price P sent proves it went live only when no older P can still be on show: when our price
went from P to Q and back to P, the view may still show the first P while the second was never applied (or applies
an hour late), and an update taken as verified leaves the offer at Q until the search's own resend, an hour later.
The read-back carries no time, so it cannot tell the two apart; the batcher knows when it is asking it to. Each
update keeps the SKU's earlier prices the view may still show (`_Sent.earlier`: those of the updates accepted before
it and not verified since, and our live price as the offers view showed it when each was decided). When P is not
among them, the read-back decides alone, as it always did: the common case, at no cost. When it is, the offers view
decides, the engine's newest observation of our live price (``seen``, which lags far less): verified unless it shows
another price. Disagreeing views mean one of them lags, and either could; the update is then treated as not live
yet and sent again (harmless if it was applied: the price does not change), and the next read-back decides, with
both views fresher.

The quantity offered comes from a stock provider and travels with the price; it is never sent for an offer Amazon
fulfils (that would turn it into a merchant-fulfilled offer), and not sent again while Amazon has it already.

Feeds: a marketplace that `FollowsSubmissions` (Amazon's JSON_LISTINGS_FEED) may answer an update ``submitted``, its
outcome to come minutes later. The batcher then releases the submit slot at once (a slot is for a call on the wire)
but keeps the update in flight, so no newer price of its SKU can overtake it at Amazon; the outbox holds it
``submitted`` with the feed's id, and its outcome, received from the marketplace's `follow_submissions` (a task of
the batcher's), is recorded as a submit's answer would be. When enough intents wait for a bulk submission and the
marketplace sets one aside (`reserve_bulk`), one batch at a time takes up to the bulk's size. A stop does not wait
for feeds: after a restart the outbox's ``submitted`` updates are followed again by their feed's id
(`await_submitted`).

Faults: a batch is taken only once a submit slot is held, so nothing waits outside the outbox and the pending map.
A call refused whole for quota waits on the seller's pacer and is sent again; a transient failure (5xx, timeout,
connection) puts the batch's intents back (unless a newer one came) and pauses sending for a capped, jittered
backoff; an update throttled or failed on its own goes back the same way. At shutdown `close` stops new batches,
in-flight submits get the grace period, and `drain` turns what is left into updates for the outbox.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence

import msgspec
import trio

from engine.actors.pacing import Pacers
from engine.actors.supervisor import Backoff
from engine.model import (
    ChannelSettings,
    Fulfilment,
    OfferKey,
    OfferSettings,
    OfferUpdate,
    OutboxMark,
    OutboxState,
    PriceIntent,
    Reason,
    SubmissionResult,
)
from engine.ports import (
    FollowsSubmissions,
    ItemFailure,
    Marketplace,
    StockProvider,
    Store,
    Throttled,
    TransientError,
)
from engine.pricing.guard import GuardError, guard, sale_price_issue

__all__ = ["BatcherConfig", "BatcherCounters", "OfferBatcher", "UpdateIds"]

log = logging.getLogger(__name__)


class BatcherConfig(msgspec.Struct, frozen=True):
    # Wait this long after the first new intent before sending, so a burst of decisions goes out together; a
    # burst that already fills a submit call goes at once (waiting would only delay it).
    flush_interval_s: float = 0.5
    # Read an accepted update back this long after Amazon accepted it; if the price is not live, send it again
    # (some accepted updates never apply; resending the same price is harmless) and read back after the next
    # delay. After the last, give up and count it.
    verify_after_s: tuple[float, ...] = (600.0, 900.0, 1800.0)
    # Submit calls in flight at once (each for different SKUs).
    concurrency: int = 4
    # An update that failed on its own (a 5xx for that SKU) is sent again this many times in a row at most; after
    # that the search's own resend, much later, is the backstop, so one broken SKU cannot spend the submit quota.
    item_retries: int = 3


class BatcherCounters(msgspec.Struct):
    intents: int = 0
    updates_sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    throttled: int = 0
    clamped: int = 0
    capped: int = 0
    dry_run: int = 0
    resent: int = 0
    verified: int = 0
    unverified: int = 0  # read-backs that showed the price sent while the offers view showed another: not verified
    unapplied: int = 0
    result_overflow: int = 0
    transient_errors: int = 0
    requeued: int = 0
    dropped_paused: int = 0
    sale_price_dropped: int = 0  # updates sent without the offer's sale price: outside its bounds or off the tick
    submitted: int = 0  # updates Amazon took to answer later (a feed's), each counted again by its outcome
    outcomes_ignored: int = 0  # later outcomes for updates no longer waited for (given again, or superseded)


class UpdateIds:
    """The daemon's update ids: one sequence shared by every batcher (the outbox is keyed by update id), continued
    above the highest id the store has ever seen so ids never repeat across restarts."""

    __slots__ = ("_next",)

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def __next__(self) -> int:
        value = self._next
        self._next += 1
        return value

    def continue_after(self, last: int) -> None:
        self._next = max(self._next, last + 1)


class _Pending(msgspec.Struct, gc=False):
    intent: PriceIntent
    current: int | None


class _Awaiting(msgspec.Struct, frozen=True, gc=False):
    """An update Amazon took to answer later: the submission that carries it, and its intent, to send it again."""

    submission_id: str
    update: OfferUpdate
    pending: _Pending


class _Sent(msgspec.Struct, frozen=True, gc=False):
    """What verification needs of the latest update sent for a SKU (kept per SKU: a third of the full update), with
    the SKU's earlier prices the listings view may still show (`_earlier`)."""

    update_id: int
    price: int
    earlier: tuple[int, ...] = ()


class OfferBatcher:
    """See the module docstring. ``offer`` is what actors call; ``run`` is the batcher's task.

    ``catalog`` is the runtime's own map of offer settings (the one source of truth: a change of bounds there is
    what the next update guards and sends); ``overrides``, the runtime's too, holds the channel settings of the
    offers that have their own (the configuration's per-offer tables), ``channel`` is everyone else's; ``paused``
    says whether an offer is paused (its intents are dropped); ``seen`` gives our live price as the offers view last
    showed it (the offer actor's newest observation; None when it showed none), which verification checks.
    """

    def __init__(
        self,
        marketplace: Marketplace,
        catalog: Mapping[OfferKey, OfferSettings],
        channel: ChannelSettings,
        tick: int,
        store: Store,
        *,
        deliver: Callable[[SubmissionResult], bool],
        config: BatcherConfig | None = None,
        ids: UpdateIds | None = None,
        pacers: Pacers | None = None,
        stock: StockProvider | None = None,
        paused: Callable[[OfferKey], bool] | None = None,
        overrides: Mapping[OfferKey, ChannelSettings] | None = None,
        seen: Callable[[OfferKey], int | None] | None = None,
    ) -> None:
        self.marketplace = marketplace
        self.catalog = catalog
        self.channel = channel
        self.overrides: Mapping[OfferKey, ChannelSettings] = {} if overrides is None else overrides
        self.tick = tick
        self.store = store
        self.deliver = deliver
        self.config = config or BatcherConfig()
        self.counters = BatcherCounters()
        self.stock = stock
        self.paused = paused or _never
        self.seen = seen or _unseen
        self._pending: dict[OfferKey, _Pending] = {}
        self._in_flight: dict[OfferKey, _Pending] = {}  # in a submit call now
        self._awaiting: dict[OfferKey, _Awaiting] = {}  # submitted, the outcome to come (`FollowsSubmissions`)
        self._follower = marketplace if isinstance(marketplace, FollowsSubmissions) else None
        self._bulk_sending = False  # a bulk batch is in a submit call: the next one waits for it
        self._sent: dict[OfferKey, _Sent] = {}  # the latest update sent per SKU, for verification
        self._resends: dict[OfferKey, int] = {}  # times the current price was sent again, not yet seen live
        self._quantity: dict[OfferKey, int] = {}  # the quantity Amazon accepted last, per merchant-fulfilled SKU
        self._item_failures: dict[OfferKey, int] = {}  # updates in a row that failed on their own, per SKU
        self._bad_sale_price: dict[OfferKey, int] = {}  # the sale price last left out, per SKU (logged once)
        self._verify: list[tuple[float, int, OfferKey, int]] = []  # (due, attempt, key, update_id)
        self.ids = ids or UpdateIds()
        self._wake = trio.Event()
        self._full = trio.Event()  # set once the intents waiting would fill a submit call
        self._batch_size = marketplace.quota("submit").batch
        self._verify_wake = trio.Event()
        pacers = pacers or Pacers(marketplace.quota)
        self._submit_pacer = pacers["submit"]
        self._read_pacer = pacers["read_back"]
        name = f"{marketplace.seller}/{marketplace.code}"
        self._submit_backoff = Backoff(f"{name} submit")
        self._read_backoff = Backoff(f"{name} read_back")
        self._resume_at = float("-inf")  # no batch is taken before this (a backoff after a transient failure)
        self._closing = False
        self._idle = trio.Event()  # set whenever nothing is in flight
        self._idle.set()

    # --- the actors' side ----------------------------------------------------------------------------------

    def offer(self, intent: PriceIntent, current: int | None) -> bool:
        """Keep the latest intent for its SKU; never blocks. False: dropped, the offer is paused."""
        self.counters.intents += 1
        if self.paused(intent.key):
            self.counters.dropped_paused += 1
            return False
        self._pending[intent.key] = _Pending(intent, current)
        self._wake.set()
        # At least a call's worth not held back by an update in flight (a lower bound, never an overcount).
        if self._waiting() >= self._batch_size:
            self._full.set()
        return True

    def _waiting(self) -> int:
        """How many intents could go now, at least: those not held back by an update of theirs in flight."""
        return len(self._pending) - len(self._in_flight) - len(self._awaiting)

    def _ready(self) -> int:
        """How many intents could go now, counted (`_waiting` is only a bound, and while a feed of thousands is
        awaited, far below): each holding map is matched against the pending one from its smaller side. Asked before
        a bulk batch only, and batches are taken no faster than the submit quota sends them."""
        pending, held = self._pending, 0
        for holding in (self._in_flight, self._awaiting):  # a SKU in both, for a moment, makes this an underestimate
            small, large = (holding, pending) if len(holding) < len(pending) else (pending, holding)
            held += sum(1 for key in small if key in large)
        return len(pending) - held

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def awaiting(self) -> int:
        """Updates Amazon took to answer later, whose outcome has not come yet."""
        return len(self._awaiting)

    def drop(self, key: OfferKey) -> bool:
        """Forget the intent waiting for ``key`` (the offer was paused); one in flight finishes. Whether there
        was one."""
        if self._pending.pop(key, None) is None:
            return False
        self.counters.dropped_paused += 1
        return True

    def drop_paused(self) -> list[OfferKey]:
        """Forget every waiting intent of an offer now paused (a marketplace, a seller, or everything paused);
        the offers whose intent went."""
        dropped = [k for k in self._pending if self.paused(k)]
        for key in dropped:
            self.drop(key)
        return dropped

    def forget(self, key: OfferKey) -> None:
        """The offer is gone: nothing more is sent or verified for it, and its per-SKU entries go."""
        self._pending.pop(key, None)
        self._awaiting.pop(key, None)
        self._sent.pop(key, None)
        self._resends.pop(key, None)
        self._quantity.pop(key, None)
        self._item_failures.pop(key, None)
        self._bad_sale_price.pop(key, None)

    # --- the task ----------------------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._verify_loop)
            if self._follower is not None:
                await nursery.start(self._follow, self._follower)
            slots = trio.Semaphore(self.config.concurrency)
            task_status.started()
            if self._pending:  # restarted after a failure: what it had not sent is waiting
                self._wake.set()
            while not self._closing:
                await self._wake.wait()
                self._wake = trio.Event()
                # Under a steady load this sends a call's worth as soon as it is there, rather than everything of
                # the last flush interval at once, which held every observation behind it for tens of ms.
                with trio.move_on_after(self.config.flush_interval_s):
                    await self._full.wait()
                self._full = trio.Event()
                await trio.sleep_until(self._resume_at)
                while not self._closing:
                    # The slot first, then the batch: a batch taken while waiting for a slot would be in no one's
                    # hands if the daemon stopped meanwhile.
                    await slots.acquire()
                    batch = self._take_batch()
                    if not batch or self._closing:
                        self._untake(batch)
                        slots.release()
                        break
                    nursery.start_soon(self._send, batch, slots)
            # Closing: the submits in flight finish (`close` bounds how long), then verification and following
            # stop (an update still awaiting its feed's outcome is ``submitted`` in the outbox, followed next start).
            await self._idle.wait()
            nursery.cancel_scope.cancel()

    async def close(self, grace_s: float) -> None:
        """Stop taking batches and give the submits in flight up to ``grace_s`` to be answered."""
        self._closing = True
        self._wake.set()
        with trio.move_on_after(grace_s):
            await self._idle.wait()

    def _take_batch(self) -> list[OfferUpdate]:
        batch: list[OfferUpdate] = []
        size = self._batch_size
        if self._follower is not None and not self._bulk_sending and len(self._pending) > size:
            ready = self._ready()
            bulk = self._follower.reserve_bulk(ready) if ready > size else None
            if bulk is not None:
                size = max(size, bulk)
        in_flight, awaiting = self._in_flight, self._awaiting
        while len(batch) < size:
            # The oldest intents not in flight, a batch at a time: copying every pending key for each batch of a
            # flush was quadratic in the backlog.
            waiting = (k for k in self._pending if k not in in_flight and k not in awaiting)
            keys = list(itertools.islice(waiting, size - len(batch)))
            if not keys:
                break
            for key in keys:
                pending = self._pending.pop(key)
                update = self._build(pending)
                if update is not None:
                    batch.append(update)
                    self._in_flight[key] = pending
        if batch and self._idle.is_set():  # a fresh event only when the last one was set: nobody waits on it
            self._idle = trio.Event()
        if len(batch) > self._batch_size:
            self._bulk_sending = True  # until its submit returns: the bulk limit was for one batch
        return batch

    def _untake(self, batch: Sequence[OfferUpdate]) -> None:
        """Put a batch that will not be sent back among the intents (a newer intent for a SKU wins)."""
        if len(batch) > self._batch_size:
            self._bulk_sending = False
        for update in batch:
            pending = self._in_flight.pop(update.key, None)
            if pending is not None and update.key not in self._pending:
                self._pending[update.key] = pending
                self.counters.requeued += 1
        if not self._in_flight:
            self._idle.set()

    def _build(self, pending: _Pending) -> OfferUpdate | None:
        intent = pending.intent
        settings = self.catalog.get(intent.key)
        if settings is None:
            log.error("intent for %s, which is not in the catalog: dropped", intent.key)
            return None
        channel = self.overrides.get(intent.key, self.channel)
        try:
            verdict = guard(
                intent.price,
                settings.bounds,
                self.tick,
                current=pending.current,
                signal_backed=intent.signal_backed,
                step_cap=channel.step_cap,
                dry_run=channel.dry_run,
            )
        except GuardError as error:
            log.error("%s: %s; nothing sent", intent.key, error)
            return None
        self.counters.clamped += verdict.clamped
        self.counters.capped += verdict.capped
        if not verdict.send:
            self.counters.dry_run += 1
            return None
        prices_only = channel.send_prices_only
        sale_price = self._sale_price_to_send(settings)
        return OfferUpdate(
            key=intent.key,
            update_id=next(self.ids),
            currency=settings.currency,
            price=verdict.price,
            min_price=settings.bounds.min_price,
            max_price=settings.bounds.max_price,
            fulfilment=settings.fulfilment,
            sale_price=sale_price,
            quantity=None if prices_only else self._quantity_to_send(settings),
            lead_time_days=None if prices_only else settings.lead_time_days,
            shipping_group=None if prices_only else settings.shipping_group,
            prices_only=prices_only,
        )

    def _sale_price_to_send(self, settings: OfferSettings) -> int | None:
        """The offer's sale price, or None when it lies outside its bounds or off the tick: such a sale price is
        never sent, and the price goes without it (counted each time, logged once per SKU and sale price)."""
        sale_price = settings.sale_price
        if sale_price is None:
            return None
        issue = sale_price_issue(sale_price, settings.bounds, self.tick)
        if issue is None:
            return sale_price
        self.counters.sale_price_dropped += 1
        if self._bad_sale_price.get(settings.key) != sale_price:
            self._bad_sale_price[settings.key] = sale_price
            log.warning("%s: %s; its updates go without a sale price", settings.key, issue)
        return None

    def _quantity_to_send(self, settings: OfferSettings) -> int | None:
        """The quantity to offer with this price: None for an offer Amazon fulfils, when the stock is not known,
        or when Amazon already has it."""
        if settings.fulfilment is Fulfilment.AMAZON or self.stock is None:
            return None
        quantity = self.stock.available(settings)
        if quantity is None or self._quantity.get(settings.key) == quantity:
            return None
        return quantity

    async def _send(self, batch: list[OfferUpdate], slots: trio.Semaphore) -> None:
        try:
            await self.store.outbox_put(batch, trio.current_time())
            while True:
                await self._submit_pacer.acquire(len(batch))
                try:
                    results = await self.marketplace.submit(batch)
                    break
                except Throttled as throttled:
                    self.counters.throttled += 1
                    self._submit_pacer.penalise(throttled.retry_after)
            self._submit_backoff.reset()
        except TransientError as error:
            # Nothing was answered: the intents go back (a newer one wins), the outbox entries are closed as failed
            # (the next update carries the price), and sending pauses for a backoff.
            self.counters.transient_errors += 1
            wait = self._submit_backoff.next()
            self._resume_at = trio.current_time() + wait
            log.warning("%s: submit failed (%s); sending again in %.1fs", self.marketplace.code, error, wait)
            now = trio.current_time()
            issue = (str(error),)
            await self.store.outbox_mark(
                [OutboxMark(u.key, u.update_id, OutboxState.FAILED, now, None, issue) for u in batch]
            )
            self._untake(batch)
            slots.release()
            self._wake.set()
            return
        except BaseException:
            # Cancelled (a stop: `drain` takes them) or a bug: either way the intents go back, not away.
            self._untake(batch)
            slots.release()
            raise
        try:
            self.counters.updates_sent += len(batch)
            marks = self._record({update.key: update for update in batch}, self._in_flight, results)
            await self.store.outbox_mark(marks)
        finally:
            self._release(batch, slots)

    def _release(self, batch: Sequence[OfferUpdate], slots: trio.Semaphore) -> None:
        if len(batch) > self._batch_size:
            self._bulk_sending = False
        for update in batch:
            self._in_flight.pop(update.key, None)
        if not self._in_flight:
            self._idle.set()
        slots.release()
        if self._pending:
            self._wake.set()

    def _record(
        self,
        sent: Mapping[OfferKey, OfferUpdate],
        holding: Mapping[OfferKey, _Pending],
        results: Sequence[SubmissionResult],
    ) -> list[OutboxMark]:
        """Act on Amazon's answers to the updates ``sent`` (a submit's, or the later outcomes of submitted ones),
        whose intents ``holding`` keeps meanwhile; the outbox's transitions they make."""
        marks: list[OutboxMark] = []
        # Accepted updates are read back after the first delay, counted from now (one clock read a batch).
        now = trio.current_time()
        scheduled = False
        for result in results:
            key = result.key
            update = sent[key]
            if result.status == "submitted" and result.submission_id is None:
                log.error("%s: submitted without a submission id, which cannot be followed; sent again", key)
                result = msgspec.structs.replace(result, status="failed", issues=("submitted without an id",))
            state = _OUTBOX_STATE[result.status]
            issues = result.issues or (("throttled",) if result.status == "throttled" else ())
            match result.status:
                case "submitted":
                    # Amazon has it and answers later (`_follow`): the slot goes, the SKU stays in flight.
                    self.counters.submitted += 1
                    pending = holding.get(key)
                    if pending is not None and result.submission_id is not None:
                        self._awaiting[key] = _Awaiting(result.submission_id, update, pending)
                    marks.append(OutboxMark(key, result.update_id, state, now, result.submission_id))
                    continue
                case "accepted":
                    self.counters.accepted += 1
                    self._item_failures.pop(key, None)
                    previous = self._sent.get(key)
                    if previous is None or previous.price != update.price:
                        self._resends.pop(key, None)
                    pending = holding.get(key)
                    current = None if pending is None else pending.current
                    earlier = _earlier(previous, update.price, current)
                    self._sent[key] = _Sent(update.update_id, update.price, earlier)
                    if update.quantity is not None:
                        self._quantity[key] = update.quantity
                    attempt = self._resends.get(key, 0)
                    due = now + self.config.verify_after_s[attempt]
                    heapq.heappush(self._verify, (due, attempt, key, update.update_id))
                    scheduled = True
                case "invalid":
                    self.counters.rejected += 1
                case "throttled" | "failed":
                    # This update alone did not get through: its intent goes back, unless a newer one came (or it
                    # failed too often in a row: see `BatcherConfig.item_retries`).
                    if result.status == "throttled":
                        self.counters.throttled += 1
                        self._submit_pacer.penalise()
                    else:
                        self.counters.failed += 1
                        failures = self._item_failures[key] = self._item_failures.get(key, 0) + 1
                        if failures > self.config.item_retries:
                            del self._item_failures[key]
                            log.warning("%s: update failed %d times in a row; left to the search", key, failures)
                            marks.append(
                                OutboxMark(
                                    key, result.update_id, OutboxState.GIVEN_UP, now, result.submission_id, issues
                                )
                            )
                            continue
                    marks.append(OutboxMark(key, result.update_id, state, now, result.submission_id, issues))
                    pending = holding.get(key)
                    if pending is not None and key not in self._pending and not self.paused(key):
                        self._pending[key] = pending
                        self.counters.requeued += 1
                    continue  # nothing for the actor: the price is still on its way
            marks.append(OutboxMark(key, result.update_id, state, now, result.submission_id, issues))
            if not self.deliver(result):
                self.counters.result_overflow += 1
        if scheduled:
            self._verify_wake.set()
        return marks

    # --- outcomes that come later (`FollowsSubmissions`) -------------------------------------------------------

    async def _follow(
        self, follower: FollowsSubmissions, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the marketplace's follower and record each outcome it sends. It is told what is still awaited, so
        after a restart (of the process, or of this task) nothing waits for an outcome nobody asks about."""
        send, receive = trio.open_memory_channel[Sequence[SubmissionResult]](0)
        async with receive, trio.open_nursery() as nursery:
            await nursery.start(follower.follow_submissions, send, self._submissions())
            task_status.started()
            async for results in receive:
                await self._outcomes(results)
        # Only a cancellation may end it: without a follower, awaited updates would wait forever. The batcher's
        # supervisor restarts it, and the follower with what is awaited.
        raise RuntimeError(f"{self.marketplace.code}: the marketplace stopped following its submissions")

    def _submissions(self) -> dict[str, list[OfferUpdate]]:
        """The updates awaited, by submission id."""
        submissions: dict[str, list[OfferUpdate]] = {}
        for awaiting in self._awaiting.values():
            submissions.setdefault(awaiting.submission_id, []).append(awaiting.update)
        return submissions

    async def _outcomes(self, results: Sequence[SubmissionResult]) -> None:
        """Record the later outcomes of submitted updates, as a submit's answers are; an outcome for an update no
        longer awaited (one given twice, or the offer gone) changes nothing."""
        answered: list[SubmissionResult] = []
        sent: dict[OfferKey, OfferUpdate] = {}
        holding: dict[OfferKey, _Pending] = {}
        for result in results:
            awaiting = self._awaiting.get(result.key)
            if awaiting is None or awaiting.update.update_id != result.update_id or result.status == "submitted":
                self.counters.outcomes_ignored += 1
                continue
            del self._awaiting[result.key]
            answered.append(result)
            sent[result.key] = awaiting.update
            holding[result.key] = awaiting.pending
        if not answered:
            return
        marks = self._record(sent, holding, answered)
        if self._pending:
            self._wake.set()
        # Cancelled here, the outbox still says submitted: the next start follows the feed again.
        await self.store.outbox_mark(marks)

    def await_submitted(self, update: OfferUpdate, submission_id: str) -> bool:
        """An update submitted before a restart whose outcome has not come: wait for it by its submission id (the
        marketplace's follower asks Amazon about the feed) rather than send it again, keeping its SKU in flight
        meanwhile. Should the outcome be a failure, the price goes again as an intent, guarded against the bounds
        of that day. False when this marketplace answers every submission at once: the caller sends it again."""
        if self._follower is None:
            return False
        intent = PriceIntent(update.key, update.price, Reason.RESUMED, trio.current_time(), signal_backed=True)
        self._awaiting[update.key] = _Awaiting(submission_id, update, _Pending(intent, None))
        return True

    # --- verification ------------------------------------------------------------------------------------------

    async def _verify_loop(self) -> None:
        while True:
            if not self._verify:
                await self._verify_wake.wait()
                self._verify_wake = trio.Event()
                continue
            due = self._verify[0][0]
            with trio.move_on_at(due):
                await self._verify_wake.wait()
            self._verify_wake = trio.Event()
            now = trio.current_time()
            batch: list[tuple[int, OfferKey, int]] = []
            size = self.marketplace.quota("read_back").batch
            while self._verify and self._verify[0][0] <= now and len(batch) < size:
                _, attempt, key, update_id = heapq.heappop(self._verify)
                sent = self._sent.get(key)
                if sent is not None and sent.update_id == update_id and key not in self._pending:
                    batch.append((attempt, key, update_id))
            if batch:
                await self._read_back(batch)

    async def _read_back(self, batch: list[tuple[int, OfferKey, int]]) -> None:
        await self._read_pacer.acquire(len(batch))
        try:
            listings = await self.marketplace.read_back([key for _, key, _ in batch])
        except (Throttled, TransientError) as error:
            if isinstance(error, Throttled):
                self._read_pacer.penalise(error.retry_after)
                delay = 60.0
            else:
                self.counters.transient_errors += 1
                delay = self._read_backoff.next()
                log.warning("%s: read-back failed (%s); again in %.1fs", self.marketplace.code, error, delay)
            for attempt, key, update_id in batch:
                heapq.heappush(self._verify, (trio.current_time() + delay, attempt, key, update_id))
            return
        self._read_backoff.reset()
        live: dict[OfferKey, int | None] = {}
        for listing in listings:
            if isinstance(listing, ItemFailure):
                continue
            live[listing.key] = listing.price
        marks: list[OutboxMark] = []
        now = trio.current_time()
        for attempt, key, update_id in batch:
            sent = self._sent.get(key)
            if sent is None:
                continue  # the offer went meanwhile
            if key not in live:
                # The read failed for this SKU alone: read it again a minute from now, same attempt.
                heapq.heappush(self._verify, (trio.current_time() + 60.0, attempt, key, update_id))
                continue
            if live[key] == sent.price:
                if sent.price not in sent.earlier or self.seen(key) in (None, sent.price):
                    self.counters.verified += 1
                    del self._sent[key]
                    self._resends.pop(key, None)
                    marks.append(OutboxMark(key, update_id, OutboxState.VERIFIED, now))
                    continue
                # The listings view may show an older equal price, and the offers view shows another: one of the
                # two lags, which one is not known (see the module docstring). Not proof: as if not live yet.
                self.counters.unverified += 1
            if attempt + 1 >= len(self.config.verify_after_s):
                self.counters.unapplied += 1
                self._resends.pop(key, None)
                log.warning("%s: accepted price %d never went live after %d sends", key, sent.price, attempt + 1)
                issue = f"accepted, never live after {attempt + 1} sends"
                marks.append(OutboxMark(key, update_id, OutboxState.GIVEN_UP, now, issues=(issue,)))
            elif key not in self._pending:
                # Accepted but not applied yet: send it again (the latest price per SKU still wins).
                self.counters.resent += 1
                self._resends[key] = attempt + 1
                intent = PriceIntent(key, sent.price, Reason.AWAIT_LIVE, trio.current_time(), signal_backed=True)
                self.offer(intent, live[key])
        if marks:
            await self.store.outbox_mark(marks)

    def expect(self, key: OfferKey, update_id: int, price: int, accepted_at: float) -> None:
        """An update accepted before a restart and not yet verified: read it back when it is due (at once if the
        first delay has passed), and send it again if it never went live, as if accepted in this process. What the
        listings view may still show from before is not known here: as if its price may be, so the offers view, read
        afresh at start, has a say."""
        self._sent[key] = _Sent(update_id, price, (price,))
        due = max(trio.current_time(), accepted_at + self.config.verify_after_s[0])
        heapq.heappush(self._verify, (due, 0, key, update_id))
        self._verify_wake.set()

    def drain(self) -> list[OfferUpdate]:
        """Turn intents not yet sent, and those of submits still unanswered, into updates for the outbox (at
        shutdown); they are sent by the next start."""
        waiting = {**self._in_flight, **self._pending}  # a newer intent wins over the one in flight
        updates = [u for p in waiting.values() if not self.paused(p.intent.key) and (u := self._build(p)) is not None]
        self._pending.clear()
        return updates


_OUTBOX_STATE: dict[str, OutboxState] = {
    "submitted": OutboxState.SUBMITTED,
    "accepted": OutboxState.ACCEPTED,
    "invalid": OutboxState.INVALID,
    "throttled": OutboxState.FAILED,
    "failed": OutboxState.FAILED,
}


# How many of a SKU's earlier prices an update keeps: enough for a search's steps back and forth, bounded so a SKU
# repriced faster than it is read back does not grow its record.
_EARLIER = 8


def _earlier(previous: _Sent | None, price: int, current: int | None) -> tuple[int, ...]:
    """The prices the listings view may still show from before an update at ``price``, accepted after ``previous``
    (the SKU's update accepted before it and not verified, if any) and decided when the offers view showed our price
    at ``current``: the earlier prices of ``previous``, its own unless it was sent again at the same price, and
    ``current``; each once, the latest `_EARLIER`. A verified update leaves none behind (`_sent` forgets it): the view
    showed its price, and the next update's ``current``, our price then, brings that price back in."""
    prices: tuple[int, ...] = ()
    if previous is not None:
        prices = previous.earlier if previous.price == price else (*previous.earlier, previous.price)
    if current is not None:
        prices = (*prices, current)
    latest = list(dict.fromkeys(reversed(prices)))[:_EARLIER]
    return tuple(reversed(latest))


def _never(_: OfferKey) -> bool:
    return False


def _unseen(_: OfferKey) -> int | None:
    return None
