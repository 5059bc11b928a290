"""The notifications' reader: one SQS queue read by one task, each notice handed to the adapter it is for.

One queue usually serves every seller and marketplace of an application (Amazon's destination is the application's),
while the engine runs one adapter per seller and marketplace. Were each adapter to read the queue, each would receive
the others' messages: deleting them loses them, leaving them makes every message wait out visibility timeouts until
the right adapter happens to draw it. So one `Inbox` per queue, a daemon service (`engine.daemon.Service`), reads it
and routes each notice by the seller (Amazon's merchant token) and marketplace it names to that adapter's route: a
bounded channel made when the adapter is (`Inbox.route`), which the adapter's `stream_observations` drains into the
engine, and which keeps what arrives while the adapter's stream is down (at start, between restarts).

A message is deleted once it is handled, in batches of SQS's ten: handed to its route, or told apart as one nobody
here reads (a seller or marketplace this daemon does not run; counted and logged, first per pair and then at each
power of two), or unreadable (`adapters.spapi.notices.Unreadable`: logged naming the message id and why). A message
whose route is full is not deleted: SQS shows it again after the visibility timeout, by when the adapter has caught
up. So no message is lost, and none is handed over twice: a message or notification id handed over recently (the
last `SEEN_KEPT`) is deleted without handing it over again, which covers a delete that failed (SQS then delivers the
message again) and Amazon's own duplicates (two messages of one notification).

At start, before and beside reading, each seller on the queue is subscribed (`adapters.spapi.subscribe`), retried
with backoff until it is. Failures (`engine.ports`'s contract): a throttled receive waits SQS's hint or the backoff;
a transient one (5xx, timeout, connection) waits a capped, jittered backoff; a refusal no retry cures as it stands
(`QueueRefused`: the key, the signature, the queue, its policy) is logged as an error and tried again at the
backoff's cap, so fixing the queue needs no restart. A seller whose authorization Amazon refuses is not subscribed
(logged as an error); the others are. Meanwhile the engine learns the market from its polls, as without
notifications. Cancelled, the reader stops between calls: a message received and not yet deleted comes again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final, NamedTuple

import msgspec
import trio

from adapters.spapi.notices import Notice, Unreadable, read_notice
from adapters.spapi.sqs import QueueRefused, SqsMessage, SqsQueue
from adapters.spapi.subscribe import NotSubscribed
from engine.actors.supervisor import Backoff
from engine.ports import AccountError, Throttled, TransientError

__all__ = ["ROUTE_CAPACITY", "SEEN_KEPT", "VISIBILITY_S", "Inbox", "InboxCounters", "RouteKey"]

log = logging.getLogger(__name__)

ROUTE_CAPACITY: Final = 1000  # notices kept for one adapter while it does not drain them
SEEN_KEPT: Final = 10_000  # message and notification ids remembered as handed over
VISIBILITY_S: Final = 30  # a received message is hidden this long: far longer than routing and deleting take
WAIT_S: Final = 20  # SQS's longest long poll: the fewest receives for the same latency
BACKOFF_CAP_S: Final = 300.0


class RouteKey(NamedTuple):
    seller_id: str  # Amazon's merchant token
    marketplace_id: str


class InboxCounters(msgspec.Struct):
    """What the reader did: messages received, notices handed to a route, duplicates deleted without handing them
    over, messages left for later as their route was full (``deferred``), deleted as nobody here reads them
    (``unrouted``) or as unreadable, messages deleted, and failures of receives, deletes and set-ups."""

    received: int = 0
    routed: int = 0
    duplicates: int = 0
    deferred: int = 0
    unrouted: int = 0
    unreadable: int = 0
    deleted: int = 0
    receive_failures: int = 0
    delete_failures: int = 0
    setup_failures: int = 0
    subscribed: int = 0  # sellers subscribed


class _Route:
    __slots__ = ("receive", "send")

    def __init__(self) -> None:
        self.send, self.receive = trio.open_memory_channel[Notice](ROUTE_CAPACITY)


class Inbox:
    """One queue's reader (see the module docstring); a daemon service."""

    def __init__(self, queue: SqsQueue) -> None:
        self._queue = queue
        self._routes: dict[RouteKey, _Route] = {}
        self._setups: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        self._seen: dict[str, None] = {}  # insertion-ordered: the oldest is forgotten first
        self._unrouted: dict[RouteKey, int] = {}
        self.counters = InboxCounters()
        self.subscribed = trio.Event()  # every seller's set-up has ended (subscribed or given up)

    @property
    def name(self) -> str:
        return f"notifications {self._queue.url}"

    @property
    def queue(self) -> SqsQueue:
        return self._queue

    def route(self, seller_id: str, marketplace_id: str) -> trio.MemoryReceiveChannel[Notice]:
        """The notices for ``seller_id`` (a merchant token) on ``marketplace_id``, from now on; the same channel to
        every caller (one adapter per seller and marketplace drains it)."""
        key = RouteKey(seller_id, marketplace_id)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = _Route()
        return route.receive

    def subscriber(self, seller: str, setup: Callable[[], Awaitable[object]]) -> None:
        """Run ``setup`` (a seller's `adapters.spapi.subscribe.subscribe`) when the reader starts."""
        self._setups.append((seller, setup))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._set_up)
            task_status.started()
            await self._read()

    async def finish(self) -> None:
        return None

    # --- subscribing ------------------------------------------------------------------------------------------------

    async def _set_up(self) -> None:
        async with trio.open_nursery() as nursery:
            for seller, setup in self._setups:
                nursery.start_soon(self._set_up_one, seller, setup)
        self.subscribed.set()

    async def _set_up_one(self, seller: str, setup: Callable[[], Awaitable[object]]) -> None:
        backoff = Backoff(f"{self.name} set-up {seller}", first_s=5.0, cap_s=BACKOFF_CAP_S)
        while True:
            try:
                await setup()
            except AccountError as error:
                self.counters.setup_failures += 1
                log.error("notifications for seller %s not subscribed: %s (polls go on)", seller, error)
                return
            except (Throttled, TransientError, NotSubscribed) as error:
                self.counters.setup_failures += 1
                wait = backoff.next()
                level = logging.ERROR if isinstance(error, NotSubscribed) else logging.WARNING
                log.log(
                    level, "notifications for seller %s not subscribed yet: %s; again in %.0fs", seller, error, wait
                )
                await trio.sleep(wait)
                continue
            self.counters.subscribed += 1
            return

    # --- reading ----------------------------------------------------------------------------------------------------

    async def _read(self) -> None:
        backoff = Backoff(self.name, cap_s=BACKOFF_CAP_S)
        while True:
            try:
                messages = await self._queue.receive(wait_s=WAIT_S, visibility_s=VISIBILITY_S)
            except (Throttled, TransientError, QueueRefused) as error:
                self.counters.receive_failures += 1
                await trio.sleep(self._failed("receive", error, backoff))
                continue
            backoff.reset()
            self.counters.received += len(messages)
            done = [message for message in messages if self._hand_over(message)]
            if done:
                await self._delete(done)

    def _failed(self, what: str, error: Exception, backoff: Backoff) -> float:
        wait = backoff.next()
        if isinstance(error, Throttled) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        if isinstance(error, QueueRefused):
            wait = backoff.cap_s
            log.error("%s: %s refused: %s; again in %.0fs (fix the queue or its key)", self.name, what, error, wait)
        else:
            log.warning("%s: %s failed (%s); again in %.1fs", self.name, what, error, wait)
        return wait

    def _hand_over(self, message: SqsMessage) -> bool:
        """Hand one message's notice to its route; whether the message is done with (to be deleted)."""
        if message.message_id in self._seen:
            self.counters.duplicates += 1
            return True
        try:
            notice = read_notice(message.message_id, message.body, received_at=trio.current_time())
        except Unreadable as error:
            self.counters.unreadable += 1
            log.warning("%s: %s; deleted", self.name, error)
            return True
        if notice.notification_id in self._seen:
            self.counters.duplicates += 1
            self._remember(message.message_id)
            return True
        key = RouteKey(notice.seller_id, notice.marketplace_id)
        route = self._routes.get(key)
        if route is None:
            self._nobody(key, message.message_id)
            return True
        try:
            route.send.send_nowait(notice)
        except trio.WouldBlock:
            self.counters.deferred += 1
            if _worth_saying(self.counters.deferred):
                log.warning(
                    "%s: seller %s on %s takes no more notices for now (%d waiting); message %s left for later",
                    self.name,
                    key.seller_id,
                    key.marketplace_id,
                    ROUTE_CAPACITY,
                    message.message_id,
                )
            return False
        self.counters.routed += 1
        self._remember(message.message_id)
        self._remember(notice.notification_id)
        return True

    def _nobody(self, key: RouteKey, message_id: str) -> None:
        self.counters.unrouted += 1
        seen = self._unrouted[key] = self._unrouted.get(key, 0) + 1
        if _worth_saying(seen):
            log.warning(
                "%s: message %s is for seller %s on marketplace %s, which this daemon does not run; deleted "
                "(%d such so far)",
                self.name,
                message_id,
                key.seller_id,
                key.marketplace_id,
                seen,
            )

    def _remember(self, ident: str) -> None:
        self._seen[ident] = None
        if len(self._seen) > SEEN_KEPT:
            del self._seen[next(iter(self._seen))]

    async def _delete(self, messages: list[SqsMessage]) -> None:
        try:
            failed = await self._queue.delete(messages)
        except (Throttled, TransientError, QueueRefused) as error:
            # They come again after the visibility timeout, and are deleted then without being handed over again.
            self.counters.delete_failures += 1
            log.warning("%s: deleting %d messages failed (%s); they come again", self.name, len(messages), error)
            return
        self.counters.deleted += len(messages) - len(failed)
        for undeleted in failed:
            self.counters.delete_failures += 1
            log.warning(
                "%s: message %s not deleted (%s: %s); it comes again",
                self.name,
                undeleted.message_id,
                undeleted.code,
                undeleted.message,
            )


def _worth_saying(count: int) -> bool:
    """The 1st, 2nd, 4th, 8th ... time: one stuck seller must not flood the log."""
    return count & (count - 1) == 0
