"""The client-side token bucket: callers sharing it are spaced out at Amazon's rate, never bunched."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from engine.actors.pacing import Pacer
from engine.ports import Quota


def test_callers_sharing_a_pacer_queue_up_instead_of_calling_at_once() -> None:
    # patchListingsItem: 5 calls a second, a burst of 5; ten senders each want a call's worth (5 tokens) at once.
    pacer = Pacer(Quota(5.0, 5, 5))
    called: list[float] = []

    async def sender() -> None:
        await pacer.acquire(5)
        called.append(trio.current_time())

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(sender)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    # One call's worth a second: the bucket's rate, and never two calls' worth in the same second.
    assert sorted(called) == pytest.approx([float(k) for k in range(10)], abs=0.01)


def test_a_throttle_empties_the_bucket_for_the_time_amazon_asks() -> None:
    pacer = Pacer(Quota(1.0, 2, 1))
    called: list[float] = []

    async def main() -> None:
        await pacer.acquire()
        pacer.penalise(retry_after=3.0)
        await pacer.acquire()
        called.append(trio.current_time())

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert called == pytest.approx([4.0], abs=0.01)  # 3 s of debt, then a second for the token


def test_a_throttle_keeps_the_turns_already_taken() -> None:
    pacer = Pacer(Quota(1.0, 1, 1))
    called: dict[str, float] = {}

    async def caller(name: str) -> None:
        await pacer.acquire()
        called[name] = trio.current_time()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller, "a")  # one takes the token there is, the other waits its turn
            nursery.start_soon(caller, "b")
            await trio.sleep(0.5)
            pacer.penalise()  # a call of someone else's was throttled meanwhile: it goes after both
            nursery.start_soon(caller, "late")

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert sorted([called["a"], called["b"]]) == pytest.approx([0.0, 1.0], abs=0.01)
    assert called["late"] == pytest.approx(2.0, abs=0.01)
