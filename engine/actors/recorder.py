"""The decision recorder: offer actors hand it every decision without waiting; it writes them in batches.

The trace is for operators and benchmarks, not for correctness, so a full buffer drops (and counts) rather than
slowing a decision down. It also keeps the price history: each time a decision sees our offer live at a price
other than the one it last saw, that price went live (at the time of the observation the decision read).

The writer sleeps until a decision is buffered, then waits one flush interval so the batch can fill, and writes.
An idle daemon (or a simulated day in which prices rarely move) therefore costs it no wake-ups at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec
import trio

from engine.model import Decision, OfferKey, PricePoint
from engine.ports import Store

__all__ = ["Recorder", "RecorderConfig"]

log = logging.getLogger(__name__)


class RecorderConfig(msgspec.Struct, frozen=True):
    flush_interval_s: float = 5.0
    capacity: int = 200_000


class Recorder:
    """A daemon service (`engine.daemon.Service`): decisions in, batches to the store out."""

    name = "recorder"

    def __init__(self, store: Store, config: RecorderConfig | None = None) -> None:
        self.store = store
        self.config = config or RecorderConfig()
        self._buffer: list[Decision] = []
        self._prices: list[PricePoint] = []
        self._live: dict[OfferKey, int] = {}  # the live price each offer was last seen at
        self._buffered = trio.Event()
        self.recorded = 0
        self.dropped = 0
        # Who else hears of every decision as it is made (`repricer ctl watch`): called in line, so each must
        # return at once and never raise; a tuple, replaced whole, so one may go while the others are called.
        self._listeners: tuple[Callable[[Decision], None], ...] = ()

    def listen(self, listener: Callable[[Decision], None]) -> Callable[[], None]:
        """Call ``listener`` with every decision from now on, also those a full buffer drops; returns the call
        that stops it."""
        self._listeners = (*self._listeners, listener)

        def stop() -> None:
            self._listeners = tuple(other for other in self._listeners if other is not listener)

        return stop

    def forget(self, key: OfferKey) -> None:
        """The offer went: its last live price goes too."""
        self._live.pop(key, None)

    def decision(self, decision: Decision) -> None:
        if log.isEnabledFor(logging.DEBUG):  # one line per decision at debug; nothing else costs at other levels
            log.debug("%s %s: target %s, inputs %s", decision.key, decision.reason, decision.target, decision.inputs)
        for listener in self._listeners:
            listener(decision)
        if len(self._buffer) >= self.config.capacity:
            self.dropped += 1
            return
        self._buffer.append(decision)
        inputs = decision.inputs
        if inputs.our_live and inputs.our_price is not None and self._live.get(decision.key) != inputs.our_price:
            self._live[decision.key] = inputs.our_price
            self._prices.append(PricePoint(decision.key, decision.at - inputs.age_s, inputs.our_price))
        self._buffered.set()

    async def flush(self) -> None:
        # A fresh event before the swap: a decision arriving while the store writes wakes the next round.
        self._buffered = trio.Event()
        batch, self._buffer = self._buffer, []
        prices, self._prices = self._prices, []
        if batch:
            await self.store.record_decisions(batch)
            self.recorded += len(batch)
        if prices:
            await self.store.record_prices(prices)

    async def finish(self) -> None:
        """At the stop: write what is buffered."""
        await self.flush()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await self._buffered.wait()
            await trio.sleep(self.config.flush_interval_s)
            await self.flush()
