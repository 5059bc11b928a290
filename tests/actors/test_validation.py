"""Observations are checked where they enter the engine: a bad one is dropped, counted and traced, and nothing else
notices."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from engine.actors.recorder import Recorder
from engine.actors.validate import CLOCK_SKEW_S, FUTURE_LIMIT_S, Invalid, InvalidReason, validate
from engine.daemon import MarketRuntime, RuntimeConfig
from engine.model import (
    BuyBoxPrice,
    ChannelSettings,
    CompetitorOffer,
    FoepReading,
    HealthEvent,
    Observation,
    OfferKey,
    OfferSnapshot,
    OurListing,
    Reason,
    ShareReading,
)
from engine.ports import ItemFailure
from engine.pricing.search import EngineSearch, SearchState
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace, settings

A = OfferKey("SELLER", "DE", "A")
B = OfferKey("SELLER", "DE", "B")


def _runtime(market: ScriptedMarketplace, **config: Any) -> MarketRuntime:
    store = MemoryStore()
    return MarketRuntime(
        market,
        [settings("A"), settings("B")],
        ChannelSettings(),
        store,
        Recorder(store),
        EngineSearch(),
        tick=1,
        config=RuntimeConfig(**config),
    )


@asynccontextmanager
async def _running(market: ScriptedMarketplace, **config: Any) -> AsyncIterator[MarketRuntime]:
    """A runtime over ``market``, started and a minute on (its first sweep has polled every offer); stopped when
    the block ends."""
    runtime = _runtime(market, **config)
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)
        await trio.sleep(60)
        yield runtime
        nursery.cancel_scope.cancel()


def _listing_price(runtime: MarketRuntime, key: OfferKey) -> int | None:
    snapshot = runtime.actors[key].snapshot
    return None if snapshot is None or snapshot.our is None else snapshot.our.listing_price


def _traced(runtime: MarketRuntime, key: OfferKey) -> list[Reason]:
    return [decision.reason for decision in runtime.actors[key].trace]


# --- end to end, through a runtime ---------------------------------------------------------------------------------


async def test_nan_timestamp_dropped(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    async with _running(market) as runtime:
        # A price change at a NaN time once made the search ask for a recheck at NaN, and the intake died of it
        # on every restart: no more polls for any offer.
        await market.push_send.send(msgspec.structs.replace(market.snapshot(A, price=2100), as_of=math.nan))
        await trio.sleep(1)
        b_decisions = runtime.actors[B].decisions
        await market.push_send.send(market.snapshot(B, price=2150))
        await trio.sleep(1)
        assert runtime.actors[B].decisions > b_decisions
        assert _listing_price(runtime, B) == 2150
        polls = runtime.status().polls
        await trio.sleep(2 * runtime.config.intake.sweep_interval_s)
        status = runtime.status()
    assert status.invalid_observations == {InvalidReason.TIME_NOT_FINITE: 1}
    assert status.service_restarts == 0
    assert status.polls > polls  # the sweep goes on
    assert _listing_price(runtime, A) == 2000  # pricing never saw the 2100
    assert Reason.INVALID_OBSERVATION in _traced(runtime, A)
    assert Reason.INVALID_OBSERVATION not in _traced(runtime, B)
    state = runtime.actors[A].state
    assert isinstance(state, SearchState) and math.isfinite(state.seen_as_of) and math.isfinite(state.live_since)


async def test_future_timestamp_clamped_at_intake(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    async with _running(market) as runtime:
        ahead = msgspec.structs.replace(
            market.snapshot(A, price=2100),
            as_of=trio.current_time() + 600,
            received_at=trio.current_time() + 600,
        )
        sent_at = trio.current_time()
        await market.push_send.send(ahead)
        await trio.sleep(1)
        snapshot = runtime.actors[A].snapshot
        assert snapshot is not None and snapshot.our is not None and snapshot.our.listing_price == 2100
        assert snapshot.as_of == snapshot.received_at == sent_at  # moved back to now, its data kept
        # The next observation, a minute on, is newer than the clamped one: the search moves on with it.
        await trio.sleep(60)
        await market.push_send.send(market.snapshot(A, price=2050))
        await trio.sleep(1)
        status = runtime.status()
    assert _listing_price(runtime, A) == 2050
    state = runtime.actors[A].state
    assert isinstance(state, SearchState) and state.seen_as_of == sent_at + 61
    assert status.clamped_observations == 1
    assert status.invalid_observations == {}


@pytest.mark.parametrize(
    ("ahead", "cause"), [(1e9, InvalidReason.TIME_FAR_FUTURE), (math.inf, InvalidReason.TIME_NOT_FINITE)]
)
async def test_far_future_timestamp_dropped(
    autojump_clock: trio.testing.MockClock, ahead: float, cause: InvalidReason
) -> None:
    market = ScriptedMarketplace()
    async with _running(market) as runtime:
        future = msgspec.structs.replace(market.snapshot(A, price=2100), as_of=trio.current_time() + ahead)
        await market.push_send.send(future)
        await trio.sleep(60)
        await market.push_send.send(market.snapshot(A, price=2050))
        await trio.sleep(1)
        status = runtime.status()
    assert status.invalid_observations == {cause: 1}
    assert _listing_price(runtime, A) == 2050  # not frozen: the later observation is not taken for stale


async def test_negative_price_dropped(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    async with _running(market) as runtime:
        rival = CompetitorOffer("RIVAL", 1900, shipping=-500, is_buybox_winner=True)
        await market.push_send.send(msgspec.structs.replace(market.snapshot(A, price=2100), competitors=(rival,)))
        await trio.sleep(1)
        status = runtime.status()
    assert status.invalid_observations == {InvalidReason.NEGATIVE_PRICE: 1}
    assert _listing_price(runtime, A) == 2000
    assert _traced(runtime, A)[0] is Reason.INVALID_OBSERVATION


async def test_share_outside_unit_interval_dropped(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    async with _running(market) as runtime:
        held = runtime.actors[A].share
        for share in (1.5, -0.1, math.nan):
            await market.push_send.send(ShareReading(A, trio.current_time(), share, 2000))
        await trio.sleep(1)
        status = runtime.status()
    assert status.invalid_observations == {InvalidReason.SHARE_OUT_OF_RANGE: 3}
    assert runtime.actors[A].share is held


class ZeroFoep(ScriptedMarketplace):
    """Amazon's FOEP for offer A reads 0."""

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading | ItemFailure]:
        now = trio.current_time()
        return [FoepReading(key, now, 0) if key == A else FoepReading(key, now, 1950) for key in keys]


async def test_foep_of_zero_dropped(autojump_clock: trio.testing.MockClock) -> None:
    market = ZeroFoep()
    runtime = _runtime(market)
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.run)  # the readings' sweep reads every offer's FOEP at once
        await trio.sleep(60)
        status = runtime.status()
        nursery.cancel_scope.cancel()
    # The sweep's reading, and the one A's search asks for when it has none.
    assert list(status.invalid_observations) == [InvalidReason.FOEP_NOT_POSITIVE]
    assert runtime.actors[A].foep is None
    foep = runtime.actors[B].foep
    assert foep is not None and foep.price == 1950
    assert Reason.INVALID_OBSERVATION in _traced(runtime, A)


async def test_a_flood_of_invalid_observations_logs_and_traces_each_cause_once(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    market = ScriptedMarketplace()
    async with _running(market) as runtime:
        with caplog.at_level(logging.WARNING, logger="engine.actors.router"):
            for i in range(1000):
                await market.push_send.send(ShareReading(A, trio.current_time(), 2.0 + i))
                await market.push_send.send(FoepReading(A, math.nan, 1900))
            await trio.sleep(1)
        status = runtime.status()
    assert status.invalid_observations == {InvalidReason.SHARE_OUT_OF_RANGE: 1000, InvalidReason.TIME_NOT_FINITE: 1000}
    assert len(caplog.records) == 2
    assert _traced(runtime, A).count(Reason.INVALID_OBSERVATION) == 1


async def test_a_recheck_at_a_time_that_is_not_finite_is_ignored(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    async with _running(market) as runtime:
        polls = runtime.status().polls
        for at in (math.nan, math.inf, -math.inf):
            runtime.intake.recheck(A, at)
        runtime.intake.recheck(B, trio.current_time() + 10)  # a sane one still comes
        await trio.sleep(20)
        assert market.polled[-1] == B
        await trio.sleep(2 * runtime.config.intake.sweep_interval_s)
        status = runtime.status()
    assert runtime.intake.counters.ignored_rechecks == 3
    assert status.service_restarts == 0
    assert status.polls > polls + 1


# --- the validator ---------------------------------------------------------------------------------------------------

NOW = 1000.0
_keys = st.builds(OfferKey, st.just("SELLER"), st.just("DE"), st.sampled_from(["A", "B"]))
_any_time = st.floats(allow_nan=True, allow_infinity=True)
_sane_time = st.floats(-1e7, NOW + CLOCK_SKEW_S)
_any_price = st.integers(-(10**6), 10**6)
_sane_price = st.integers(0, 10**6)


def _snapshots(
    time: st.SearchStrategy[float], price: st.SearchStrategy[int], threshold: st.SearchStrategy[int | None]
) -> st.SearchStrategy[OfferSnapshot]:
    return st.builds(
        OfferSnapshot,
        key=_keys,
        source=st.sampled_from(["notification", "poll"]),
        as_of=time,
        received_at=time,
        our=st.none() | st.builds(OurListing, listing_price=price, shipping=price, live=st.booleans()),
        competitors=st.lists(st.builds(CompetitorOffer, st.just("RIVAL"), price, shipping=price), max_size=3).map(
            tuple
        ),
        buybox=st.lists(st.builds(BuyBoxPrice, price, price, shipping=price), max_size=2).map(tuple),
        competitive_price_threshold=threshold,
    )


def _observations(*, sane: bool) -> st.SearchStrategy[Observation]:
    """Any observation a decoder could let through (``sane``: only those that are fine as they are)."""
    time, price = (_sane_time, _sane_price) if sane else (_any_time, _any_price)
    positive = st.none() | (st.integers(1, 10**6) if sane else _any_price)  # the prices that may be None, not 0
    share = st.floats(0.0, 1.0) if sane else st.floats(allow_nan=True, allow_infinity=True)
    return st.one_of(
        _snapshots(time, price, positive),
        st.builds(FoepReading, _keys, time, positive),
        st.builds(ShareReading, _keys, time, st.none() | share, positive),
        st.builds(HealthEvent, _keys, time, st.booleans(), positive),
    )


@given(_observations(sane=False), st.floats(-1e9, 1e9))
def test_validate_never_raises_nor_passes_a_bad_time_or_price(observation: Observation, now: float) -> None:
    checked = validate(observation, now)
    if isinstance(checked, Invalid):
        return
    assert type(checked) is type(observation) and checked.key == observation.key
    assert math.isfinite(checked.as_of) and checked.as_of <= now + CLOCK_SKEW_S
    match checked:
        case OfferSnapshot():
            assert math.isfinite(checked.received_at) and checked.received_at <= now + CLOCK_SKEW_S
            prices = [p for b in checked.buybox for p in (b.landed_price, b.listing_price, b.shipping)]
            prices += [p for c in checked.competitors for p in (c.listing_price, c.shipping)]
            if checked.our is not None:
                prices += [checked.our.listing_price, checked.our.shipping]
            assert all(price >= 0 for price in prices)
            assert checked.competitive_price_threshold is None or checked.competitive_price_threshold > 0
            # Only the times may have changed.
            assert isinstance(observation, OfferSnapshot)
            times = {"as_of": observation.as_of, "received_at": observation.received_at}
            assert msgspec.structs.replace(checked, **times) == observation
        case FoepReading():
            assert checked.price is None or checked.price > 0
        case ShareReading():
            assert checked.share is None or 0.0 <= checked.share <= 1.0
            assert checked.price is None or checked.price > 0
        case HealthEvent():
            assert checked.reference_price is None or checked.reference_price > 0


@given(_observations(sane=True))
def test_a_sane_observation_passes_as_it_is(observation: Observation) -> None:
    assert validate(observation, NOW) is observation


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        (CLOCK_SKEW_S, NOW + CLOCK_SKEW_S),  # clock skew: as it is
        (CLOCK_SKEW_S + 0.001, NOW),
        (FUTURE_LIMIT_S, NOW),
        (FUTURE_LIMIT_S + 1, Invalid(InvalidReason.TIME_FAR_FUTURE)),
        (math.inf, Invalid(InvalidReason.TIME_NOT_FINITE)),
    ],
)
def test_a_time_ahead_of_ours_passes_moves_back_to_now_or_is_dropped(ahead: float, expected: float | Invalid) -> None:
    reading = FoepReading(A, NOW + ahead, 1900)
    checked = validate(reading, NOW)
    assert checked == expected if isinstance(expected, Invalid) else checked == FoepReading(A, expected, 1900)


def test_a_received_time_from_the_future_moves_back_to_now() -> None:
    snapshot = OfferSnapshot(A, "poll", NOW - 30, NOW + 60, OurListing(2000), ())
    assert validate(snapshot, NOW) == OfferSnapshot(A, "poll", NOW - 30, NOW, OurListing(2000), ())
