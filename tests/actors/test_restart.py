"""Restart: what one process saved, another resumes, whatever its trio clock reads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from adapters.simulated.run import build_run
from engine.actors.offer import OfferActor
from engine.actors.recorder import Recorder
from engine.daemon import Daemon, MarketRuntime, SellerRuntime
from engine.model import (
    ChannelSettings,
    OfferBounds,
    OfferKey,
    OfferSnapshot,
    OfferUpdate,
    OutboxMark,
    OutboxState,
    Reason,
)
from engine.ports import Clock
from engine.pricing.policy import PolicyInputs, decide
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace, settings

WALL = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _inputs(actor: OfferActor, runtime: Any, delta: float) -> PolicyInputs:
    """What the actor's next decision looks at, with every time moved by ``delta``."""

    def moved(observation: Any) -> Any:
        if observation is None:
            return None
        fields = {"as_of": observation.as_of + delta}
        if hasattr(observation, "received_at"):
            fields["received_at"] = observation.received_at + delta
        return msgspec.structs.replace(observation, **fields)

    return PolicyInputs(
        settings=actor.settings,
        channel=actor.channel,
        tick=actor.tick,
        snapshot=moved(actor.snapshot),
        foep=moved(actor.foep),
        share=moved(actor.share),
        health=moved(actor.health),
        prior=runtime.prior(),
        # What this actor asked for is not stored: the outbox resends what went unanswered. Both runs decide as
        # a freshly started actor does, so the search state alone makes the difference.
        asked=None,
        unsent=False,
    )


def test_resume_across_processes() -> None:
    """A daemon saves under one `trio.run`; a second, an hour later by the wall clock and whose trio clock reads
    12,345.5 s at start, loads, and every search's next decision is the one the first would have made at the same
    wall moment."""
    store = MemoryStore()  # plain dicts: it outlives one trio.run as a file outlives a process
    strategy = EngineSearch()
    expected: dict[OfferKey, tuple[Any, ...]] = {}
    observations: dict[OfferKey, tuple[Any, ...]] = {}
    saved_at: float = 0.0

    async def first() -> None:
        nonlocal saved_at
        run = build_run(scenario="S1b", seed=5, skus=12, strategy=strategy, store=store)
        run.daemon.clock = Clock(WALL)
        async with trio.open_nursery() as nursery:
            await nursery.start(run.daemon.run)
            await trio.sleep(8 * 60)
            run.daemon.stop.set()
        (runtime,) = run.runtimes
        (adapter,) = run.adapters
        await trio.sleep(90.0)  # the market moves on; the next poll shows it
        saved_at = trio.current_time()
        polled = await adapter.poll_offers(list(runtime.actors))
        for snapshot in polled:
            assert isinstance(snapshot, OfferSnapshot)
            actor = runtime.actors[snapshot.key]
            actor.snapshot = snapshot
            outcome = decide(_inputs(actor, runtime, 0.0), strategy, actor.state, saved_at)
            decision = outcome.decision
            expected[snapshot.key] = (decision.target, decision.reason, decision.signal_backed, outcome.state)
            observations[snapshot.key] = (snapshot, actor.foep, actor.share, actor.health)

    trio.run(first, clock=trio.testing.MockClock(autojump_threshold=0))
    # Searches in the middle of their work, not at rest: waiting for a price to go live, climbing, probing.
    assert {Reason.AWAIT_LIVE, Reason.SEARCH_UP} <= {reason for _, reason, *_ in expected.values()}

    async def second() -> None:
        run = build_run(scenario="S1b", seed=5, skus=12, strategy=strategy, store=store)
        (runtime,) = run.runtimes
        # The first run's trio time 0 was WALL; this one starts at trio time 12,345.5 an hour later, so WALL is
        # trio time 8,745.5 here: every time moves by that.
        restart = Clock(WALL + timedelta(hours=1))
        delta = restart.from_utc(WALL)
        assert delta == 8_745.5
        report = await runtime.restore(restart)
        assert report.states_resumed == len(runtime.actors) and report.states_unreadable == 0
        for key, actor in runtime.actors.items():
            assert actor.state != strategy.initial_state()
            actor.snapshot, actor.foep, actor.share, actor.health = observations[key]
            outcome = decide(_inputs(actor, runtime, delta), strategy, actor.state, saved_at + delta)
            decision = outcome.decision
            target, reason, signal_backed, state = expected[key]
            assert (decision.target, decision.reason, decision.signal_backed) == (target, reason, signal_backed), key
            _same_state(strategy.rebase(outcome.state, -delta), state)

    clock = trio.testing.MockClock(autojump_threshold=0)
    clock.jump(12_345.5)
    trio.run(second, clock=clock)


def _same_state(got: Any, want: Any) -> None:
    """Equal field by field; times to a millisecond (they went through wall time, ~1.8e9 s, and back)."""
    for name in want.__struct_fields__:
        a, b = getattr(got, name), getattr(want, name)
        if isinstance(b, float) and math.isfinite(b):
            assert math.isclose(a, b, abs_tol=1e-3), name
        elif isinstance(b, tuple) and b and isinstance(b[0], float):
            assert len(a) == len(b) and all(math.isclose(x, y, abs_tol=1e-3) for x, y in zip(a, b, strict=True)), name
        else:
            assert a == b, name


class _File(MemoryStore):
    """A memory store that says it outlives the process, as the SQLite file does (what the daemon does for a
    persistent store alone); plain dicts, so it runs under `MockClock`."""

    @property
    def persistent(self) -> bool:
        return True


def test_a_daemon_killed_before_its_periodic_save_resumes_every_search() -> None:
    """A daemon SIGKILLed four minutes in, before its first periodic save (five minutes) and with no stop to save
    at: what the store held at that moment is all the next process finds, and it holds the search state of every
    offer as of its last decision a second before, so every search resumes from where it was. (Found by the
    daemon-level kill test, tests/loopback/test_kill.py: states were stored only every five minutes and at a stop,
    so a killed daemon's next start resumed none.)"""
    store = _File()
    strategy = EngineSearch()
    left: dict[OfferKey, bytes] = {}

    async def killed() -> None:
        run = build_run(scenario="S1b", seed=5, skus=12, strategy=strategy, store=store)
        run.daemon.clock = Clock(WALL)
        (runtime,) = run.runtimes
        async with trio.open_nursery() as nursery:
            await nursery.start(run.daemon.run)
            await trio.sleep(4 * 60)
            # The kill: what the store holds now is what the next process reads (the stop's save never comes).
            left.update(await store.load_search_states(runtime.seller, runtime.code))
            nursery.cancel_scope.cancel()

    trio.run(killed, clock=trio.testing.MockClock(autojump_threshold=0))
    assert len(left) == 12

    async def next_start() -> None:
        after_kill = _File()
        await after_kill.save_search_states(left)
        run = build_run(scenario="S1b", seed=5, skus=12, strategy=strategy, store=after_kill)
        (runtime,) = run.runtimes
        report = await runtime.restore(Clock(WALL + timedelta(minutes=5)))
        assert (report.states_resumed, report.states_unreadable) == (12, 0)
        assert all(actor.state != strategy.initial_state() for actor in runtime.actors.values())

    trio.run(next_start, clock=trio.testing.MockClock(autojump_threshold=0))


class _FullDisk(_File):
    """A store whose first saves of search states fail, as on a full disk that is then cleared."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        await super().save_search_states(states)


async def test_states_a_full_disk_refused_are_saved_with_the_next_decisions(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The saves of decided states fail three times: the daemon decides on, says so once, and the states it could
    not save go with the next write (no periodic save comes in these four minutes)."""
    store = _FullDisk(failures=3)
    run = build_run(scenario="S1b", seed=5, skus=12, strategy=EngineSearch(), store=store)
    (runtime,) = run.runtimes
    async with trio.open_nursery() as nursery:
        await nursery.start(run.daemon.run)
        await trio.sleep(4 * 60)
        stored = await store.load_search_states(runtime.seller, runtime.code)
        nursery.cancel_scope.cancel()
    assert store.failures == 0 and len(stored) == 12
    failed = [r for r in caplog.records if "saving the search states of offers that decided failed" in r.message]
    assert len(failed) == 1


async def test_unanswered_updates_are_sent_again_within_todays_bounds(autojump_clock: trio.testing.MockClock) -> None:
    """At start, an update never answered goes out again as an intent, guarded against the bounds as they are now
    (not replayed with the old min/max); an accepted one not yet verified is read back, and sent again when Amazon
    never applied it; update ids continue above the stored ones."""
    store = MemoryStore()
    a, b = OfferKey("SELLER", "DE", "A"), OfferKey("SELLER", "DE", "B")
    await store.outbox_put([OfferUpdate(a, 40, "EUR", 2900, 1000, 3000)], at=0.0)
    await store.outbox_put([OfferUpdate(b, 41, "EUR", 1800, 1000, 3000)], at=0.0)
    await store.outbox_mark([OutboxMark(b, 41, OutboxState.ACCEPTED, 0.0)])
    market = ScriptedMarketplace()
    market.failing_items[b] = False  # B is never observed, so it decides nothing: only the read-back moves it
    narrowed = msgspec.structs.replace(settings("A"), bounds=OfferBounds(1000, 2200))
    recorder = Recorder(store)
    runtime = MarketRuntime(
        market, [narrowed, settings("B")], ChannelSettings(), store, recorder, EngineSearch(), tick=1
    )
    daemon = Daemon([SellerRuntime("SELLER", [runtime], runtime.switch)], services=[recorder], store=store)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(5)
        assert daemon.restored[0].updates_resent == 1 and daemon.restored[0].updates_to_verify == 1
        (resent,) = [u for u in market.submitted if u.key == a]
        assert resent.update_id > 41 and (resent.min_price, resent.max_price) == (1000, 2200)
        assert resent.price <= 2200
        await trio.sleep(600)  # the first read-back is due: B reads 2000, not 1800, so it goes again
        assert [u.price for u in market.submitted if u.key == b] == [1800]
        daemon.stop.set()
    states = {e.update.update_id: e.state for e in await store.outbox_entries("SELLER", "DE", set(OutboxState))}
    assert states[40] is OutboxState.SUPERSEDED


def test_a_timeline_saved_ahead_of_the_wall_clock_moves_back() -> None:
    """A simulation run faster than real time (or a system clock stepped back) stores times ahead of the next
    process's wall clock: restored, no search waits for a moment that has not come, and the daemon decides at once."""
    store = MemoryStore()
    strategy = EngineSearch()

    async def first() -> None:
        run = build_run(scenario="S1b", seed=2, skus=8, strategy=strategy, store=store)
        run.daemon.clock = Clock(WALL)
        async with trio.open_nursery() as nursery:
            await nursery.start(run.daemon.run)
            await trio.sleep(30 * 60)
            run.daemon.stop.set()

    trio.run(first, clock=trio.testing.MockClock(autojump_threshold=0))

    async def second() -> None:
        run = build_run(scenario="S1b", seed=2, skus=8, strategy=strategy, store=store)
        run.daemon.clock = Clock(WALL + timedelta(seconds=20))  # 30 simulated minutes took 20 s of wall time
        (runtime,) = run.runtimes
        async with trio.open_nursery() as nursery:
            await nursery.start(run.daemon.run)
            now = trio.current_time()
            states = [actor.state for actor in runtime.actors.values()]
            assert all(state.seen_as_of <= now and state.live_since <= now for state in states)
            assert max(state.seen_as_of for state in states) > now - 600  # moved back, not thrown away
            await trio.sleep(10 * 60)
            assert runtime.batcher.counters.updates_sent > 0
            run.daemon.stop.set()

    trio.run(second, clock=trio.testing.MockClock(autojump_threshold=0))


async def test_corrupt_state_resets_one_sku(autojump_clock: trio.testing.MockClock) -> None:
    """A stored search state that cannot be read, or reads as a state no search could resume (a NaN time, a time
    far ahead, an integer past any price), is discarded for its SKU alone: that offer starts afresh and decides,
    the others resume. Such a state once raised OverflowError in the search, or froze it for good."""
    market = ScriptedMarketplace()
    store = MemoryStore()
    strategy = EngineSearch()
    skus = ("GARBLED", "NAN", "AHEAD", "HUGE", "GOOD")
    wall = WALL.timestamp()

    def stored(**fields: Any) -> bytes:
        return msgspec.msgpack.encode(msgspec.structs.replace(strategy.initial_state(), **fields))

    good = stored(seen_as_of=wall - 60.0, live_price=2000, live_since=wall - 600.0)
    await store.save_search_states(
        {
            OfferKey("SELLER", "DE", "GARBLED"): b"\xc1 not msgpack",
            OfferKey("SELLER", "DE", "NAN"): stored(seen_as_of=math.nan),
            OfferKey("SELLER", "DE", "AHEAD"): stored(seen_as_of=wall + 10 * 365 * 86_400.0),
            OfferKey("SELLER", "DE", "HUGE"): stored(live_price=2**62),
            OfferKey("SELLER", "DE", "GOOD"): good,
        }
    )
    runtime = MarketRuntime(
        market, [settings(sku) for sku in skus], ChannelSettings(), store, Recorder(store), strategy, tick=1
    )
    report = await runtime.restore(Clock(WALL))
    assert (report.states_resumed, report.states_unreadable) == (1, 4)
    for sku in skus[:-1]:
        assert runtime.offer(sku).state == strategy.initial_state(), sku
    assert runtime.offer("GOOD").state.live_price == 2000
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        await trio.sleep(120)
        runtime.stop()
    for sku in skus:
        actor = runtime.offer(sku)
        assert not actor.quarantined and actor.decisions > 0, sku
