"""The intake's polls, one call at a time: what a batch asks for."""

from __future__ import annotations

import trio
import trio.testing

from engine.actors.intake import Intake, IntakeConfig
from engine.model import Observation, OfferKey
from tests.actors.fakes import ScriptedMarketplace


async def test_an_offer_due_for_a_recheck_and_the_sweep_is_asked_for_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A recheck that falls due when the sweep comes round to the same offer (here both at the start) puts it in
    the batch once: Amazon answers a batch that names an item twice with a 400 for every item of it. The offer
    counts as swept, so the sweep does not ask for it again before its interval."""
    market = ScriptedMarketplace()
    keys = [OfferKey("SELLER", "DE", sku) for sku in ("A", "B", "C")]
    send, receive = trio.open_memory_channel[Observation](100)
    intake = Intake(market, keys, send, IntakeConfig(sweep_interval_s=1800.0, foep=False, shares=False))
    intake.recheck(keys[0], trio.current_time())
    async with trio.open_nursery() as nursery:
        await nursery.start(intake.run)
        await trio.sleep(600)
        nursery.cancel_scope.cancel()
    assert market.polled == keys
    assert receive.statistics().current_buffer_used == 3
