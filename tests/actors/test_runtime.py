"""Actor mechanics under virtual time: conflation, isolation, supervision, shutdown."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import msgspec
import trio
import trio.testing

from engine.actors.recorder import Recorder
from engine.actors.supervisor import SupervisorConfig
from engine.daemon import MarketRuntime, RuntimeConfig
from engine.model import ChannelSettings, OfferKey, Reason
from engine.pricing.search import EngineSearch, SearchState
from engine.pricing.view import MarketView, Step
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace, daemon_of, settings, unanswered


class ExplodingFor:
    """The engine's search, except that it raises for one SKU: a bug that must not spread."""

    name = "exploding"

    def __init__(self, sku: str) -> None:
        self.sku = sku
        self.inner = EngineSearch()

    def initial_state(self) -> SearchState:
        return self.inner.initial_state()

    def decide(self, view: MarketView, state: SearchState) -> Step[SearchState]:
        if view.key.sku == self.sku:
            raise RuntimeError("strategy bug")
        return self.inner.decide(view, state)


class AsksForItsShare:
    """Holds, and asks for its Buy Box share once, the first time it sees itself at 1990."""

    name = "asks"

    def initial_state(self) -> bool:
        return False

    def decide(self, view: MarketView, state: bool) -> Step[bool]:
        ask = view.our.listing_price == 1990 and not state
        return Step(None, Reason.AWAIT_LIVE, state or ask, want_share=ask)


async def test_an_offer_that_asks_for_its_share_gets_a_reading_before_the_sweep(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = ScriptedMarketplace()
    runtime = _runtime(market, ["A", "B"], AsksForItsShare())
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        # The sweep reads every offer's share at start; the ask comes on top of it, within one call's quota.
        await trio.sleep(5.0)
        swept = len(market.share_asked)
        runtime.actors[OfferKey("SELLER", "DE", "A")].observe(
            market.snapshot(OfferKey("SELLER", "DE", "A"), price=1990)
        )
        await trio.sleep(60.0)
        nursery.cancel_scope.cancel()
    assert market.share_asked[swept:] == [OfferKey("SELLER", "DE", "A")]
    reading = runtime.actors[OfferKey("SELLER", "DE", "A")].share
    assert reading is not None and reading.share == 0.25 and reading.price == 2000


def _runtime(market: ScriptedMarketplace, skus: list[str], strategy: Any = None, **config: Any) -> MarketRuntime:
    store = MemoryStore()
    return MarketRuntime(
        market,
        [settings(s) for s in skus],
        ChannelSettings(),
        store,
        Recorder(store),
        strategy or EngineSearch(),
        tick=1,
        config=RuntimeConfig(**config),
    )


async def test_a_flood_for_one_sku_neither_blocks_the_others_nor_grows_memory(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = ScriptedMarketplace()
    runtime = _runtime(market, [f"SKU-{i:03d}" for i in range(20)])
    flooded, other = (
        runtime.actors[OfferKey("SELLER", "DE", "SKU-000")],
        runtime.actors[OfferKey("SELLER", "DE", "SKU-001")],
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        await trio.sleep(60)  # the first sweep has polled everyone
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        decisions_before = other.decisions
        for i in range(20_000):
            await market.push_send.send(market.snapshot(flooded.key, price=2000 + i % 7))
            if i == 10_000:
                await market.push_send.send(market.snapshot(other.key, price=2100))
        await trio.sleep(1)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        # The other SKU decided on its observation in the middle of the flood.
        assert other.decisions > decisions_before
        assert other.snapshot is not None and other.snapshot.our is not None
        assert other.snapshot.our.listing_price == 2100
        assert flooded.snapshot is not None and flooded.snapshot.our is not None
        assert grown < 256 * 1024
        nursery.cancel_scope.cancel()


async def test_observations_conflate_to_the_newest_before_a_decision(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    runtime = _runtime(market, ["A"])
    actor = runtime.actors[OfferKey("SELLER", "DE", "A")]
    for i in range(10_000):
        actor.observe(market.snapshot(actor.key, price=2000 + i))
    decision = actor.step(trio.current_time())
    assert decision is not None
    assert actor.decisions == 1
    assert actor.snapshot is not None and actor.snapshot.our is not None
    assert actor.snapshot.our.listing_price == 2000 + 9_999
    assert actor.step(trio.current_time()) is None  # nothing new: no decision


async def test_a_crashing_actor_is_restarted_then_quarantined_while_others_carry_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = ScriptedMarketplace()
    config = SupervisorConfig(max_crashes=3, window_s=3600, first_backoff_s=1, max_backoff_s=4)
    runtime = _runtime(market, ["BAD", "GOOD"], strategy=ExplodingFor("BAD"), supervisor=config)
    bad, good = runtime.actors[OfferKey("SELLER", "DE", "BAD")], runtime.actors[OfferKey("SELLER", "DE", "GOOD")]
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        for _ in range(6):
            await market.push_send.send(market.snapshot(bad.key))
            await market.push_send.send(market.snapshot(good.key))
            await trio.sleep(10)
        assert len(bad.crashes) == 3
        assert bad.quarantined
        assert not good.quarantined
        assert good.last is not None and good.last.reason is not Reason.NO_DATA
        assert runtime.status().quarantined == 1
        nursery.cancel_scope.cancel()


async def test_shutdown_persists_search_states_and_unsent_intents(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    store = MemoryStore()
    recorder = Recorder(store)
    runtime = MarketRuntime(
        market, [settings("A"), settings("B")], ChannelSettings(), store, recorder, EngineSearch(), tick=1
    )
    daemon = daemon_of([runtime], recorder)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(120)
        # An intent that has not gone out yet when the daemon stops.
        runtime.batcher._wake = trio.Event()  # keep the batcher asleep
        from engine.model import PriceIntent

        runtime.batcher.offer(
            PriceIntent(OfferKey("SELLER", "DE", "A"), 1500, Reason.CHALLENGE, trio.current_time(), True), 2000
        )
        daemon.stop.set()
    assert daemon.stopped_cleanly
    assert not store.closed  # the composition root closes the store, not the daemon
    states = await store.load_search_states("SELLER", "DE")
    assert set(states) == {OfferKey("SELLER", "DE", "A"), OfferKey("SELLER", "DE", "B")}
    state = msgspec.msgpack.decode(states[OfferKey("SELLER", "DE", "A")], type=SearchState)
    assert state.probes >= 1
    pending = await unanswered(store)
    assert [(u.key.sku, u.price) for u in pending][-1] == ("A", 1500)
