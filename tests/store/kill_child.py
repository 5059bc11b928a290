"""The process `test_kill.py` kills: it drives a SQLite store through outbox transitions until it is killed.

    python -m tests.store.kill_child PATH SEED
    python -m tests.store.kill_child PATH blocked

Several tasks work at once, so the writer's groups hold many operations. Each task owns a few offers, no other
task touches them, and it calls the store one call at a time, so the test can replay one task's calls in order.
It prints JSON lines to stdout, each flushed: ``{"opening": path}`` first, ``{"open": last update id, "writer":
the store's writer process id}`` once the store is open, and for every call ``{"try": n, ...}`` (the call, with
every transition it asks for) before the call and ``{"done": n}`` after the awaited call returned, i.e. after its
group committed. A call tried but not done when the kill lands may or may not have committed; one done has.

Update ids continue above `SqliteStore.last_update_id`, so a child restarted on the same file goes on where the
killed one stopped, and its new updates supersede what the killed one left unanswered.

With ``blocked``, it opens the store, reports ``open`` as above, waits for a line on stdin (the test saying it
holds the file's write lock), puts one update in the outbox (update id 1 of offer ``blocked``), reports
``{"sent": 1}`` once the group went to the writer process, and waits to be killed.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from collections.abc import Iterator
from typing import Any

import trio
import trio.testing

from engine.model import OfferKey, OfferUpdate, OutboxMark, OutboxState
from engine.ports import Clock
from engine.store.sqlite import SqliteConfig, SqliteStore

TASKS = 16
OFFERS_PER_TASK = 3
# The marks an update walks through after `stored` (an outbox put): answered, refused, failed, or left standing
# until a newer update or acceptance of its offer supersedes it.
PATHS: tuple[tuple[OutboxState, ...], ...] = (
    (OutboxState.SUBMITTED, OutboxState.ACCEPTED, OutboxState.VERIFIED),
    (OutboxState.ACCEPTED, OutboxState.VERIFIED),
    (OutboxState.SUBMITTED, OutboxState.ACCEPTED),
    (OutboxState.SUBMITTED, OutboxState.FAILED),
    (OutboxState.FAILED, OutboxState.GIVEN_UP),
    (OutboxState.SUBMITTED, OutboxState.INVALID),
    (OutboxState.INVALID,),
    (),
)
# A child the test forgot (it failed before killing it) does not outlive it by much.
LIFETIME_S = 60.0


def offer(task: int, number: int) -> OfferKey:
    return OfferKey("s1", "DE", f"t{task}-{number}")


def task_of(sku: str) -> int:
    """The task that owns an offer (the inverse of `offer`)."""
    return int(sku[1:].split("-")[0])


def report(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


async def drive(store: SqliteStore, clock: Clock, task: int, ids: Iterator[int], calls: Iterator[int]) -> None:
    """One task: put new updates of its offers, and mark its updates along their paths, one call at a time."""
    rng = random.Random(f"{sys.argv[2]}-{task}")
    offers = [offer(task, number) for number in range(OFFERS_PER_TASK)]
    walking: dict[int, tuple[OfferKey, list[OutboxState]]] = {}
    while True:
        call = next(calls)
        if len(walking) < 2 or rng.random() < 0.3:
            updates = [
                OfferUpdate(key, next(ids), "EUR", rng.randrange(1000, 2001), 1000, 2000)
                for key in rng.sample(offers, rng.randint(1, len(offers)))
            ]
            report({"try": call, "put": [[u.update_id, u.key.sku] for u in updates]})
            await store.outbox_put(updates, clock.now())
            for u in updates:
                if path := list(rng.choice(PATHS)):
                    walking[u.update_id] = (u.key, path)
        else:
            moving = rng.sample(sorted(walking), rng.randint(1, min(3, len(walking))))
            marks = []
            for update_id in moving:
                key, path = walking[update_id]
                state = path.pop(0)
                if not path:
                    del walking[update_id]
                submission = f"feed-{update_id}" if state is OutboxState.SUBMITTED else None
                marks.append(OutboxMark(key, update_id, state, clock.now(), submission_id=submission))
            report({"try": call, "mark": [[m.update_id, m.key.sku, m.state.value] for m in marks]})
            await store.outbox_mark(marks)
        report({"done": call})


async def main(path: str) -> None:
    clock = Clock()
    report({"opening": path})
    with trio.move_on_after(LIFETIME_S):
        async with SqliteStore.open(path, clock=clock) as store:
            last = await store.last_update_id()
            report({"open": last, "writer": store.writer_pid})
            ids, calls = itertools.count(last + 1), itertools.count()
            async with trio.open_nursery() as nursery:
                for task in range(TASKS):
                    nursery.start_soon(drive, store, clock, task, ids, calls)


async def blocked(path: str) -> None:
    clock = Clock()
    report({"opening": path})
    config = SqliteConfig(busy_timeout_ms=600_000)  # the writer waits for the test's lock, never giving up
    with trio.move_on_after(LIFETIME_S):
        async with SqliteStore.open(path, clock=clock, config=config) as store:
            report({"open": await store.last_update_id(), "writer": store.writer_pid})
            await trio.to_thread.run_sync(sys.stdin.buffer.readline)  # the test holds the lock
            async with trio.open_nursery() as nursery:
                update = OfferUpdate(OfferKey("s1", "DE", "blocked"), 1, "EUR", 1500, 1000, 2000)
                nursery.start_soon(store.outbox_put, [update], clock.now())
                await trio.testing.wait_all_tasks_blocked()  # the writer task sent the group and waits
                report({"sent": 1})
                await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(blocked if sys.argv[2] == "blocked" else main, sys.argv[1])
