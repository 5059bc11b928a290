"""Faults injected into the simulated marketplace, for the engine's failure tests: explicit, never random."""

from __future__ import annotations

import pytest
import trio.testing

from adapters.simulated import SimulatedMarketplace
from adapters.simulated.marketplace import SIM_SELLER, STREAM_FAULT_AFTER_S, MarketFeed
from engine.model import ListingState, Observation, OfferKey, OfferSnapshot, OfferUpdate
from engine.ports import AccountError, ItemFailure, TransientError
from sim.market import Market
from sim.quotas import QuotaBook
from sim.spec import OurSpec, RowSpec, spec_from_rows


def _market(rows: int) -> tuple[Market, list[OfferKey]]:
    our = OurSpec(price=10_000, min_price=8_000, max_price=12_000)
    market = Market(spec_from_rows([RowSpec(our=our) for _ in range(rows)]), seed=5)
    return market, [OfferKey(SIM_SELLER, c.marketplace, c.sku) for c in market.catalog_rows()]


def _adapter(rows: int = 3) -> tuple[SimulatedMarketplace, list[OfferKey], QuotaBook]:
    """An adapter running its own feed, its keys, and the quota book it charges (the test keeps the book: the
    adapter keeps its own private)."""
    market, keys = _market(rows)
    book = QuotaBook(1, start=market.now)
    return SimulatedMarketplace(market, code="DE", api_latency_s=0.25, quotas=book), keys, book


def _shared(rows: int = 3) -> tuple[SimulatedMarketplace, list[OfferKey], MarketFeed]:
    """An adapter on a feed that whoever runs the market runs, its keys, and the feed."""
    market, keys = _market(rows)
    feed = MarketFeed(market)
    return SimulatedMarketplace(market, code="DE", api_latency_s=0.25, feed=feed), keys, feed


def _update(key: OfferKey, update_id: int) -> OfferUpdate:
    return OfferUpdate(key, update_id, "EUR", 10_100, 8_000, 12_000)


def _wait_for_a_token(book: QuotaBook, operation: str) -> float:
    return book.wait_time(0, operation, trio.current_time(), 1)


async def test_failed_calls_raise_transient_errors_and_charge_no_quota(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter, keys, book = _adapter()
    adapter.fail("poll_offers", times=2)
    adapter.fail("submit", kind="connection")
    started = trio.current_time()
    for _ in range(2):
        with pytest.raises(TransientError, match="503") as failed:
            await adapter.poll_offers(keys)
        assert failed.value.operation == "poll_offers"
    assert trio.current_time() - started == pytest.approx(0.5)  # a 503 answers after the API latency
    with pytest.raises(TransientError, match="connection"):
        await adapter.submit([_update(keys[0], 1)])
    assert trio.current_time() - started == pytest.approx(0.5)  # a reset connection fails at once
    assert _wait_for_a_token(book, "getListingOffersBatch") == 0.0  # still a full bucket: nothing was charged
    assert adapter.faults["poll_offers"] == 2 and adapter.calls["poll_offers"] == 0
    # The next calls go through.
    assert all(isinstance(s, OfferSnapshot) for s in await adapter.poll_offers(keys))
    assert [r.status for r in await adapter.submit([_update(keys[0], 2)])] == ["accepted"]
    with pytest.raises(ValueError, match="unknown operation"):
        adapter.fail("getOffers")


async def test_failing_items_answer_item_failures_and_the_others_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter, (a, b, c), book = _adapter()
    for operation in ("poll_offers", "featured_offer_prices", "featured_shares", "read_back"):
        adapter.fail_items(operation, [b], code="InvalidInput", message="no such SKU", transient=False)
    adapter.fail_items("submit", [a])
    polled = await adapter.poll_offers([a, b, c])
    assert isinstance(polled[0], OfferSnapshot) and isinstance(polled[2], OfferSnapshot)
    assert polled[1] == ItemFailure(b, trio.current_time(), "InvalidInput", "no such SKU", transient=False)
    sent = trio.current_time()
    for answers in (
        await adapter.read_back([a, b, c]),
        await adapter.featured_offer_prices([a, b, c]),
        await adapter.featured_shares([a, b, c]),
    ):
        assert [isinstance(answer, ItemFailure) for answer in answers] == [False, True, False]
    # getListingsItem is one call per SKU: the failed one took no token (8 of 10 left when they were sent).
    assert book.wait_time(0, "getListingsItem", sent, 8) == 0.0
    assert book.wait_time(0, "getListingsItem", sent, 9) > 0.0
    results = await adapter.submit([_update(a, 1), _update(b, 2)])
    assert [(r.status, r.issues) for r in results] == [("failed", ("InternalFailure",)), ("accepted", ())]
    # Until cleared.
    adapter.clear_faults("poll_offers")
    await trio.sleep(2.0)  # a getListingOffersBatch token
    assert all(isinstance(s, OfferSnapshot) for s in await adapter.poll_offers([a, b, c]))
    assert isinstance((await adapter.read_back([b]))[0], ItemFailure)
    adapter.clear_faults()
    assert isinstance((await adapter.read_back([b]))[0], ListingState)


async def test_a_revoked_account_fails_every_call_with_an_account_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter, keys, book = _adapter()
    adapter.revoke()
    calls = (
        adapter.poll_offers(keys),
        adapter.featured_offer_prices(keys),
        adapter.featured_shares(keys),
        adapter.submit([_update(keys[0], 1)]),
        adapter.read_back(keys),
    )
    for call in calls:
        with pytest.raises(AccountError) as refused:
            await call
        assert refused.value.seller == SIM_SELLER
    assert _wait_for_a_token(book, "getListingOffersBatch") == 0.0  # nothing charged
    assert _wait_for_a_token(book, "patchListingsItem") == 0.0
    assert sum(adapter.calls.values()) == 0
    adapter.clear_faults()
    assert len(await adapter.poll_offers(keys)) == 3


async def test_a_failing_stream_breaks_a_short_while_after_it_starts(autojump_clock: trio.testing.MockClock) -> None:
    adapter, _, _ = _adapter()
    adapter.fail("stream", times=2)
    for _ in range(2):
        send, _receive = trio.open_memory_channel[Observation](1000)
        started = trio.current_time()
        with pytest.raises(TransientError, match="503") as failed:
            await adapter.stream_observations(send)
        assert failed.value.operation == "stream"
        assert trio.current_time() - started == pytest.approx(STREAM_FAULT_AFTER_S)
    assert adapter.faults["stream"] == 2
    # The third stream stays up.
    send, _receive = trio.open_memory_channel[Observation](1000)
    with trio.move_on_after(600.0) as stayed_up:
        await adapter.stream_observations(send)
    assert stayed_up.cancelled_caught


@pytest.mark.parametrize("shared_feed", [False, True], ids=["own feed", "shared feed"])
async def test_a_running_stream_breaks_when_a_fault_is_injected_and_loses_no_notification(
    autojump_clock: trio.testing.MockClock, shared_feed: bool
) -> None:
    market_feed: MarketFeed | None = None
    if shared_feed:
        adapter, keys, market_feed = _shared()
    else:
        adapter, keys, _ = _adapter()
    send, _receive = trio.open_memory_channel[Observation](1000)
    broke: list[TransientError] = []

    async def stream() -> None:
        with pytest.raises(TransientError) as failed:
            await adapter.stream_observations(send)
        broke.append(failed.value)

    async with trio.open_nursery() as nursery:
        if market_feed is not None:  # the market moves on while the stream is down; the adapter keeps what it delivers
            await nursery.start(market_feed.run)
        nursery.start_soon(stream)
        await trio.sleep(600.0)
        adapter.fail("stream", kind="connection")
        injected = trio.current_time()
        await trio.sleep(STREAM_FAULT_AFTER_S / 2)
        assert not broke
        await trio.sleep(STREAM_FAULT_AFTER_S / 2 + 0.01)
        assert len(broke) == 1 and "connection" in str(broke[0])
        assert trio.current_time() - injected == pytest.approx(STREAM_FAULT_AFTER_S + 0.01)
        # While the stream is down our prices change; their notifications wait for the next stream (SQS keeps them).
        results = await adapter.submit([_update(key, i) for i, key in enumerate(keys)])
        assert all(r.status == "accepted" for r in results)
        await trio.sleep(3600.0)
        send, receive = trio.open_memory_channel[Observation](1000)
        await nursery.start(adapter.stream_observations, send)
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    received = [receive.receive_nowait() for _ in range(receive.statistics().current_buffer_used)]
    new_prices = {o.key for o in received if isinstance(o, OfferSnapshot) and o.our and o.our.listing_price == 10_100}
    assert new_prices == set(keys)


async def test_a_revoked_account_stops_the_stream(autojump_clock: trio.testing.MockClock) -> None:
    adapter, _, _ = _adapter()
    send, _receive = trio.open_memory_channel[Observation](1000)
    adapter.revoke("the seller removed the app")
    with pytest.raises(AccountError, match="removed the app"):
        await adapter.stream_observations(send)
