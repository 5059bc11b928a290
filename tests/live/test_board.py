"""The board of a running daemon: what the live view and `repricer ctl top` show is what the actors hold."""

from __future__ import annotations

import msgspec
import pytest
import trio

from adapters.simulated.run import SimRun, build_run
from engine.daemon import MarketRuntime
from engine.live import Board, board
from engine.model import OfferKey
from engine.pricing.policy import segment_winner
from engine.pricing.search import EngineSearch


def _run(skus: int = 30) -> SimRun:
    return build_run(scenario="S1b", seed=1, skus=skus, strategy=EngineSearch(), marketplaces=("DE", "GB"))


async def test_board_holds_the_status_and_the_offers_as_the_actors_hold_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    run = _run()
    async with trio.open_nursery() as nursery:
        await nursery.start(run.daemon.run)
        await trio.sleep(2 * 3600)
        now = trio.current_time()
        shown = board(run.daemon, now, started_at=run.started_at, clock_rate=60.0, rows=5)
        # No await from here on: the actors hold what the board was made from.
        _check(shown, run, now)
        run.daemon.stop.set()


def _check(shown: Board, run: SimRun, now: float) -> None:
    assert [m.status for m in shown.markets] == run.daemon.status()
    assert [m.currency for m in shown.markets] == ["EUR", "GBP"]
    assert shown.phase == "running" and shown.uptime_s == 2 * 3600 and shown.clock_rate == 60.0

    # The moves: the newest price changes asked for of all offers, newest first.
    newest_per_offer = {}
    for runtime in run.daemon.markets:
        for actor in runtime.actors.values():
            latest = next((d for d in actor.trace if d.target is not None), None)
            if latest is not None:
                newest_per_offer[actor.key] = latest
    assert newest_per_offer  # the run moved prices
    newest = sorted((d.at for d in newest_per_offer.values()), reverse=True)[:5]
    # Offers that moved at the same moment tie, so the times are compared, then each move with its offer's.
    assert [now - m.age_s for m in shown.moves] == pytest.approx(newest)
    for move in shown.moves:
        decision = newest_per_offer[OfferKey("SIM", move.marketplace, move.sku)]
        assert (move.now, move.reason, move.ours) == (decision.target, decision.reason.value, decision.inputs.we_win)

    # At min and beaten below it, by their definitions, counted over every live offer.
    for market, runtime in zip(shown.markets, run.daemon.markets, strict=True):
        at_min, below = _at_and_below_min(runtime)
        assert (market.at_min, market.below_min) == (len(at_min), len(below))
    assert shown.at_min, "S1b has offers whose Buy Box is won below their min"
    for row in shown.at_min:
        assert row.price <= row.min_price or row.below_min
        if row.below_min:
            assert row.buybox is not None and row.buybox < row.min_price and not row.ours
    assert [row.below_min for row in shown.at_min] == sorted((row.below_min for row in shown.at_min), reverse=True)
    assert len(shown.at_min) <= 5


def _at_and_below_min(runtime: MarketRuntime) -> tuple[set[OfferKey], set[OfferKey]]:
    """The live offers at their min, and those beaten below it, by their definitions (an offer can be both)."""
    at_min, below = set(), set()
    for actor in runtime.actors.values():
        snapshot = actor.snapshot
        our = None if snapshot is None else snapshot.our
        if snapshot is None or our is None or not our.live:
            continue
        floor = actor.settings.bounds.min_price
        winner = None if our.is_buybox_winner else segment_winner(snapshot.buybox, our)
        if our.listing_price <= floor:
            at_min.add(actor.key)
        if winner is not None and winner.landed_price < floor + our.shipping:
            below.add(actor.key)
    return at_min, below


async def test_board_says_stopping_then_stopped(autojump_clock: trio.testing.MockClock) -> None:
    run = _run(skus=5)
    async with trio.open_nursery() as nursery:
        await nursery.start(run.daemon.run)
        await trio.sleep(600)
        assert board(run.daemon, trio.current_time()).phase == "running"
        run.daemon.stop.set()
        assert board(run.daemon, trio.current_time()).phase == "stopping"
    last = board(run.daemon, trio.current_time())
    assert last.phase == "stopped"
    assert last.uptime_s is None and "10 offers" in last.title
    assert msgspec.json.decode(msgspec.json.encode(last), type=Board) == last


async def test_board_of_many_marketplaces_whose_offers_tie(autojump_clock: trio.testing.MockClock) -> None:
    """Offers of several marketplaces that rank alike (at min at the same moment) once made the heaps compare the
    rows themselves, and `python -m engine.live` died of a TypeError: the offer's key breaks ties now.

    A board every five minutes of the first half hour: offers that moved at one instant tie among the newest moves
    at some of these moments whatever the simulator's details (with the key left out of the heaps' entries, the
    first board already dies of the TypeError). One board after an hour of 40 SKUs, as this test had it, no longer
    met a tie, and passed without the fix."""
    run = build_run(scenario="S1b", seed=1, skus=20, strategy=EngineSearch(), marketplaces=("DE", "FR", "GB"))
    async with trio.open_nursery() as nursery:
        await nursery.start(run.daemon.run)
        for _ in range(6):
            await trio.sleep(300)
            floor = set()
            for runtime in run.daemon.markets:
                floor.update(*_at_and_below_min(runtime))
            for rows in (1, 3, 8):
                shown = board(run.daemon, trio.current_time(), rows=rows)
                assert len(shown.moves) == rows and len(shown.at_min) == min(rows, len(floor))
        run.daemon.stop.set()
