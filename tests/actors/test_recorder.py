"""The decision recorder: batches reach the store one flush interval after they start, and idle costs nothing."""

from __future__ import annotations

from collections.abc import Sequence

import trio
import trio.testing

from engine.actors.recorder import Recorder, RecorderConfig
from engine.model import Decision, OfferKey, Reason
from engine.store import MemoryStore


class TimedStore(MemoryStore):
    """Remembers when each batch was written; a write takes ``write_s``."""

    def __init__(self, write_s: float = 0.0) -> None:
        super().__init__()
        self.write_s = write_s
        self.writes: list[tuple[float, int]] = []

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        self.writes.append((trio.current_time(), len(decisions)))
        await trio.sleep(self.write_s)
        await super().record_decisions(decisions)


class StepsOf(trio.abc.Instrument):
    """Counts the scheduler steps of one task."""

    def __init__(self) -> None:
        self.task: trio.lowlevel.Task | None = None
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps += 1


def _decision(at: float) -> Decision:
    return Decision(OfferKey("SELLER", "DE", "SKU-1"), at, None, Reason.REJECTED)


async def test_an_idle_recorder_does_not_wake(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder(TimedStore(), RecorderConfig(flush_interval_s=5.0))
    steps = StepsOf()
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        steps.task = next(t for t in nursery.child_tasks if "run" in t.name)
        trio.lowlevel.add_instrument(steps)
        await trio.sleep(24 * 3600)
        nursery.cancel_scope.cancel()
    trio.lowlevel.remove_instrument(steps)
    assert steps.steps <= 1  # the cancellation's step only
    assert recorder.recorded == 0


async def test_writes_a_batch_one_flush_interval_after_its_first_decision(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = TimedStore()
    recorder = Recorder(store, RecorderConfig(flush_interval_s=5.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        await trio.sleep(100.0)
        recorder.decision(_decision(100.0))
        await trio.sleep(2.0)
        recorder.decision(_decision(102.0))
        await trio.sleep(600.0)
        recorder.decision(_decision(702.0))
        await trio.sleep(600.0)
        nursery.cancel_scope.cancel()
    assert store.writes == [(105.0, 2), (707.0, 1)]
    assert recorder.recorded == 3


async def test_a_decision_made_while_the_store_writes_is_written_next(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = TimedStore(write_s=1.0)
    recorder = Recorder(store, RecorderConfig(flush_interval_s=5.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        recorder.decision(_decision(0.0))
        await trio.sleep(5.5)  # the first batch is being written
        recorder.decision(_decision(5.5))
        await trio.sleep(60.0)
        nursery.cancel_scope.cancel()
    assert store.writes == [(5.0, 1), (11.0, 1)]
    assert recorder.recorded == 2


async def test_a_full_buffer_drops_and_counts(autojump_clock: trio.testing.MockClock) -> None:
    store = TimedStore()
    recorder = Recorder(store, RecorderConfig(flush_interval_s=5.0, capacity=2))
    for i in range(3):
        recorder.decision(_decision(float(i)))
    await recorder.flush()
    assert (recorder.recorded, recorder.dropped) == (2, 1)
