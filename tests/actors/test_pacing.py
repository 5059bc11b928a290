"""The client-side token bucket: callers sharing it are spaced out at Amazon's rate, never bunched."""

from __future__ import annotations

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
    # One call's worth a second: the bucket's rate, and never two calls' worth in the same second. (A little late
    # rather than early: a margin for the network between our clock and Amazon's, which a full bucket does not
    # refill, so each call of a full burst loses it.)
    for got, due in zip(sorted(called), range(10), strict=True):
        assert due <= got <= due * 1.06 + 0.1


def test_a_throttle_empties_the_bucket_for_the_time_amazon_asks() -> None:
    pacer = Pacer(Quota(1.0, 2, 1))
    called: list[float] = []

    async def main() -> None:
        await pacer.acquire()
        pacer.penalise(retry_after=3.0)
        await pacer.acquire()
        called.append(trio.current_time())

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert 4.0 <= called[0] <= 4.1  # 3 s of debt, then a second for the token


def test_a_throttle_sends_everyone_in_line_to_wait_for_the_refill() -> None:
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
            pacer.penalise()  # a call of someone else's was refused meanwhile: the bucket was empty at 0.5 s
            nursery.start_soon(caller, "late")

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    first, second = sorted([called["a"], called["b"]])
    # The one waiting goes when the bucket has refilled from the throttle, not at its earlier plan (it would find
    # the bucket short); the one behind it a token later.
    assert first == 0.0 and 1.5 <= second <= 1.6
    assert 2.5 <= called["late"] <= 2.7


def test_a_caller_woken_late_pushes_the_next_one_back_by_as_much() -> None:
    # poll_offers: one call every 2 s, a burst of 1. Amazon's full bucket does not fill further while our loop
    # is busy, so a call made late must not let the next one come as early as the plan had it.
    clock = trio.testing.MockClock()  # time moves only when the test moves it
    pacer = Pacer(Quota(0.5, 1, 20))
    called: list[float] = []

    async def caller() -> None:
        for _ in range(3):
            await pacer.acquire()
            called.append(trio.current_time())

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller)
            await trio.testing.wait_all_tasks_blocked()
            clock.jump(3.0)  # the loop was busy: the second call, due at about 2 s, goes at 3 s
            await trio.testing.wait_all_tasks_blocked()
            clock.jump(1.5)  # 4.5 s: too early for the third, 2 s after the late second is 5 s
            await trio.testing.wait_all_tasks_blocked()
            clock.jump(1.0)

    trio.run(main, clock=clock)
    assert called == [0.0, 3.0, 5.5]


def test_a_pacer_counts_the_tokens_it_hands_out() -> None:
    """What `repricer ctl status` reports as quota use: every token taken, without a wait or after one, a batch's
    cost as its items (capped at the burst, as the bucket can give no more)."""
    pacer = Pacer(Quota(5.0, 5, 5))

    async def main() -> None:
        for cost in (1, 1, 3, 4, 8):  # the last three wait for the refill; 8 takes the burst of 5
            await pacer.acquire(cost)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert pacer.spent == 1 + 1 + 3 + 4 + 5


def test_a_caller_with_another_way_to_go_takes_tokens_only_when_they_are_there_now() -> None:
    """`ready` and `try_acquire` never wait: a feed whose quota is spent goes as patches instead."""
    pacer = Pacer(Quota(0.5, 2, 1))
    seen: list[tuple[bool, bool]] = []

    async def main() -> None:
        seen.append((pacer.ready(), pacer.try_acquire()))
        seen.append((pacer.ready(), pacer.try_acquire()))
        seen.append((pacer.ready(), pacer.try_acquire()))  # the burst is spent
        assert pacer.spent == 2
        await trio.sleep(2.0)  # one token back
        seen.append((pacer.ready(2), pacer.try_acquire()))

        async def waiting() -> None:
            await pacer.acquire()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiting)
            nursery.start_soon(waiting)
            await trio.sleep(1.0)  # both in line, one of them asleep holding the lock
            seen.append((pacer.ready(), pacer.try_acquire()))  # one waits in line: not for us to jump it

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert seen == [(True, True), (True, True), (False, False), (False, True), (False, False)]
