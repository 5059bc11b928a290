from decimal import Decimal

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.actors.batcher import OfferBatcher
from engine.model import ChannelSettings, OfferBounds, OfferKey, OfferSettings, OfferUpdate, PriceIntent, Reason
from engine.pricing.guard import GuardError, guard, sale_price_issue, tick_bounds
from engine.store.memory import MemoryStore
from tests.actors.fakes import ScriptedMarketplace
from tests.actors.fakes import settings as fake_settings


@given(
    target=st.integers(-(10**7), 10**7),
    low=st.integers(1, 10**6),
    width=st.integers(0, 10**6),
    tick=st.sampled_from([1, 5, 10, 100]),
    current=st.none() | st.integers(-100, 10**7),
    signal_backed=st.booleans(),
    step_cap=st.decimals(Decimal("0"), Decimal("1"), places=3),
)
def test_guard_never_leaves_bounds(
    target: int,
    low: int,
    width: int,
    tick: int,
    current: int | None,
    signal_backed: bool,
    step_cap: Decimal,
) -> None:
    bounds = OfferBounds(low, low + width)
    try:
        lo, hi = tick_bounds(bounds, tick)
    except GuardError:
        assume(False)
        return
    sent = guard(target, bounds, tick, current=current, signal_backed=signal_backed, step_cap=step_cap)
    assert bounds.min_price <= sent.price <= bounds.max_price
    assert sent.price % tick == 0
    assert lo <= sent.price <= hi


@given(current=st.integers(1000, 10**6), target=st.integers(1, 10**7))
def test_a_move_without_a_fresh_signal_is_capped(current: int, target: int) -> None:
    bounds = OfferBounds(1, 10**8)
    sent = guard(target, bounds, 1, current=current, signal_backed=False, step_cap=Decimal("0.10"))
    assert abs(sent.price - current) <= current // 10
    backed = guard(target, bounds, 1, current=current, signal_backed=True, step_cap=Decimal("0.10"))
    assert backed.price == target


def test_bounds_win_over_the_step_cap() -> None:
    sent = guard(500, OfferBounds(900, 1000), 1, current=2000, signal_backed=False, step_cap=Decimal("0.05"))
    assert sent.price == 1000
    assert sent.clamped


def test_kill_switch_decides_but_sends_nothing() -> None:
    sent = guard(950, OfferBounds(900, 1000), 1, current=920, signal_backed=True, step_cap=Decimal(1), dry_run=True)
    assert sent.price == 950
    assert not sent.send


def test_no_tick_price_within_bounds_is_an_error() -> None:
    with pytest.raises(GuardError, match="no price"):
        tick_bounds(OfferBounds(101, 104), 5)


def test_a_tick_below_one_is_refused_naming_it() -> None:
    """A tick of 0 divided by zero in the guard, and the batcher calling it went down with it."""
    for tick in (0, -5):
        with pytest.raises(GuardError, match=f"tick of {tick}"):
            guard(950, OfferBounds(900, 1000), tick, current=920, signal_backed=False, step_cap=Decimal("0.1"))


def _batcher(settings: OfferSettings, tick: int) -> OfferBatcher:
    return OfferBatcher(
        ScriptedMarketplace(), {settings.key: settings}, ChannelSettings(), tick, MemoryStore(), deliver=lambda _: True
    )


def _updates(batcher: OfferBatcher, key: OfferKey, price: int) -> list[OfferUpdate]:
    batcher.offer(PriceIntent(key, price, Reason.CHALLENGE, 0.0, signal_backed=True), current=None)
    return batcher.drain()


def test_a_tick_below_one_sends_nothing_and_keeps_the_batcher() -> None:
    offer = fake_settings("SKU-1")
    assert _updates(_batcher(offer, 0), offer.key, 1500) == []


def test_sale_price_guarded() -> None:
    """Every price field of an update is guarded: a sale price outside ``[min, max]`` or off the tick is not sent
    (logged and counted) rather than sent as is, and min and max go as configured."""
    bounds = OfferBounds(1000, 3000)
    assert sale_price_issue(2500, bounds, 5) is None
    assert sale_price_issue(1000, bounds, 5) is None
    assert sale_price_issue(3000, bounds, 5) is None
    assert sale_price_issue(499, bounds, 5) == "sale price 499 lies outside [1000, 3000]"
    assert sale_price_issue(3005, bounds, 5) == "sale price 3005 lies outside [1000, 3000]"
    assert sale_price_issue(2503, bounds, 5) == "sale price 2503 is not on the 5-unit tick"

    base = msgspec.structs.replace(fake_settings("SKU-1"), bounds=bounds)
    for sale, sent in ((499, None), (2503, None), (3005, None), (2500, 2500), (None, None)):
        batcher = _batcher(msgspec.structs.replace(base, sale_price=sale), 5)
        (update,) = _updates(batcher, base.key, 1500)
        assert update.sale_price == sent
        assert (update.price, update.min_price, update.max_price) == (1500, 1000, 3000)
        assert batcher.counters.sale_price_dropped == (sale is not None and sent is None)


@given(
    sale=st.integers(-(10**6), 10**7),
    low=st.integers(1, 10**6),
    width=st.integers(1, 10**6),
    tick=st.sampled_from([1, 5, 10, 100]),
)
def test_a_sale_price_sent_is_within_bounds_and_on_the_tick(sale: int, low: int, width: int, tick: int) -> None:
    bounds = OfferBounds(low, low + width)
    if sale_price_issue(sale, bounds, tick) is None:
        assert bounds.min_price <= sale <= bounds.max_price
        assert sale % tick == 0
