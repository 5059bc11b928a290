from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.model import OfferBounds
from engine.pricing.guard import GuardError, guard, tick_bounds


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
