"""Verification of accepted updates by reading the listing back, against a marketplace whose two views of our price
are scripted apart: the offers view (what polls and notifications show the actors) and the listings view (what the
read-back shows), which lags it and may still show an older price equal to the one sent."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import trio
import trio.testing

from engine.actors.recorder import Recorder
from engine.daemon import Daemon, MarketRuntime, SellerRuntime
from engine.model import (
    ChannelSettings,
    ListingState,
    OfferKey,
    OfferSnapshot,
    OfferUpdate,
    OutboxMark,
    OutboxState,
    Reason,
    SubmissionResult,
)
from engine.ports import ItemFailure
from engine.pricing.view import MarketView, Step
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace, settings

KEY = OfferKey("SELLER", "DE", "A")
FIRST_READ_BACK_S = 600.0  # `BatcherConfig.verify_after_s[0]`


class TwoViews(ScriptedMarketplace):
    """Our price in the offers view (``offers``) and in the listings view (``listed``). An accepted update goes live
    in the offers view at once, and Amazon's notification says so, unless its price is ``unapplied``; the listings
    view shows it at once too when ``listing_follows``, and otherwise only when the test says. ``hidden``: the offers
    view does not list our offer at all."""

    def __init__(self, price: int) -> None:
        super().__init__()
        self.offers = self.listed = price
        self.unapplied: set[int] = set()
        self.listing_follows = True
        self.hidden = False
        self.read_backs = 0

    def snapshot(self, key: OfferKey, price: int | None = None) -> OfferSnapshot:
        snapshot = super().snapshot(key, self.offers if price is None else price)
        return msgspec.structs.replace(snapshot, our=None) if self.hidden else snapshot

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        results = await super().submit(updates)
        for update in updates:
            if update.price not in self.unapplied:
                await self.go_live(update.price)
        return results

    async def go_live(self, price: int) -> None:
        self.offers = price
        if self.listing_follows:
            self.listed = price
        await self.push_send.send(self.snapshot(KEY))

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState | ItemFailure]:
        self.read_backs += 1
        return [ListingState(key, trio.current_time(), self.listed) for key in keys]


class Asks:
    """Asks for the ``prices`` in turn, each once the one before shows live in the offers view, then holds."""

    name = "asks"

    def __init__(self, *prices: int) -> None:
        self.prices = prices

    def initial_state(self) -> int:
        return 0

    def decide(self, view: MarketView, state: int) -> Step[int]:
        if state == len(self.prices) or (state > 0 and view.our.listing_price != self.prices[state - 1]):
            return Step(None, Reason.AWAIT_LIVE, state)
        return Step(self.prices[state], Reason.SEARCH_UP, state + 1)

    def rebase(self, state: int, delta: float) -> int:
        return state


def _runtime(market: TwoViews, strategy: Asks, store: MemoryStore | None = None) -> MarketRuntime:
    store = store or MemoryStore()
    return MarketRuntime(market, [settings("A")], ChannelSettings(), store, Recorder(store), strategy, tick=1)


async def _states(runtime: MarketRuntime) -> dict[int, OutboxState]:
    entries = await runtime.store.outbox_entries("SELLER", "DE", set(OutboxState))
    return {entry.update.update_id: entry.state for entry in entries}


async def test_a_listing_still_showing_an_older_equal_price_does_not_verify_an_update_never_applied(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Our price goes from 2100 to 2000 (the offers view shows it; the listings view, lagging, still shows 2100),
    and an update back to 2100 is accepted and never applied. Its read-back shows 2100, the old one, while the offers
    view shows 2000: not proof. The update is sent again, and verified once both views show it live."""
    market = TwoViews(2100)
    market.listing_follows = False
    market.unapplied.add(2100)
    runtime = _runtime(market, Asks(2000, 2100))
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        await trio.sleep(FIRST_READ_BACK_S + 5)
        down, back, again = market.submitted
        assert (down.price, back.price, again.price) == (2000, 2100, 2100)
        assert (runtime.batcher.counters.verified, runtime.batcher.counters.unverified) == (0, 1)
        assert (await _states(runtime))[back.update_id] is not OutboxState.VERIFIED
        # Sent again, it applies: the next read-back verifies it.
        await market.go_live(2100)
        await trio.sleep(900)
        nursery.cancel_scope.cancel()
    assert (await _states(runtime))[again.update_id] is OutboxState.VERIFIED
    assert len(market.submitted) == 3


async def test_a_price_back_to_an_earlier_one_is_verified_at_once_when_the_offers_view_shows_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = TwoViews(2100)
    runtime = _runtime(market, Asks(2000, 2100))
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        await trio.sleep(FIRST_READ_BACK_S + 5)
        nursery.cancel_scope.cancel()
    _, back = market.submitted
    assert (await _states(runtime))[back.update_id] is OutboxState.VERIFIED
    assert market.read_backs == 1 and runtime.batcher.counters.unverified == 0


async def test_a_new_price_is_verified_by_the_read_back_alone_before_the_offers_view_shows_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The listings view cannot show 2100 from before: our price was never 2100. No notification came and no poll
    since the update went live, so the offers view still shows 2000; the read-back needs no other word."""
    market = TwoViews(2000)
    market.unapplied.add(2100)  # not live when the test says so: without a notification
    runtime = _runtime(market, Asks(2100))
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        await trio.sleep(5)
        market.listed = 2100
        await trio.sleep(FIRST_READ_BACK_S)
        nursery.cancel_scope.cancel()
    (update,) = market.submitted
    assert runtime.actors[KEY].our_price == 2000
    assert (await _states(runtime))[update.update_id] is OutboxState.VERIFIED
    assert market.read_backs == 1


async def test_with_our_offer_missing_from_the_offers_view_the_read_back_alone_verifies(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The offers view lists only the top offers: once ours is not among them it says nothing of our price, and the
    read-back decides alone, even for a price back to an earlier one."""
    market = TwoViews(2100)
    market.unapplied.add(2100)
    runtime = _runtime(market, Asks(2000, 2100))
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        await trio.sleep(5)
        market.hidden = True
        await market.go_live(2100)
        await trio.sleep(FIRST_READ_BACK_S)
        nursery.cancel_scope.cancel()
    _, back = market.submitted
    assert (await _states(runtime))[back.update_id] is OutboxState.VERIFIED
    assert len(market.submitted) == 2


async def test_after_a_restart_a_read_back_at_the_price_sent_is_checked_against_the_offers_view(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """What the listings view may still show from before a restart is not known: an update accepted before it, read
    back at its price while the offers view (polled at start) shows another, is sent again."""
    store = MemoryStore()
    await store.outbox_put([OfferUpdate(KEY, 41, "EUR", 2100, 1000, 3000)], at=0.0)
    await store.outbox_mark([OutboxMark(KEY, 41, OutboxState.ACCEPTED, 0.0)])
    market = TwoViews(2000)
    market.listed = 2100
    market.unapplied.add(2100)
    runtime = _runtime(market, Asks(), store)
    recorder = runtime.recorder
    daemon = Daemon([SellerRuntime("SELLER", [runtime], runtime.switch)], services=[recorder], store=store)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(FIRST_READ_BACK_S + 5)
        daemon.stop.set()
    assert [u.price for u in market.submitted] == [2100]
    assert (await _states(runtime))[41] is not OutboxState.VERIFIED
