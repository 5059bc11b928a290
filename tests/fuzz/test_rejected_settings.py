"""Settings the project's checks refuse never reach a runtime, and the fuzz does not feed them in: it asserts here
that they are refused where they enter, with a `BoundsError` naming the SKU (or a `GuardError` for a tick that got
past them), never a bare arithmetic error or a quiet default."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.catalog import CatalogRow
from engine.catalog import settings as catalog_settings
from engine.model import Fees, MarginLevel, OfferBounds, OfferKey, OfferSettings
from engine.money import CURRENCIES, Currency
from engine.pricing.bounds import BoundsError, check_bounds
from engine.pricing.guard import GuardError, guard, sale_price_issue, tick_bounds
from tests.fuzz.market import CODE, SELLER
from tests.fuzz.profiles import examples

KEY = OfferKey(SELLER, CODE, "MUG-BLUE-042")

_amounts = st.one_of(st.none(), st.sampled_from((0, -1, 1)), st.integers(-(10**6), 10**6), st.integers(1, 10**6))
_margins = st.one_of(
    st.sampled_from(
        tuple(
            Decimal(text)
            for text in ("-1", "-1.0001", "-1000000000", "1", "0.9999", "-0.9999", "0", "NaN", "sNaN", "Infinity")
        )
    ),
    st.decimals(-3, 3, places=3),
)
_shares = st.one_of(st.decimals(-1, 2, places=3), st.sampled_from((Decimal("NaN"), Decimal("-Infinity"))))
_fees = st.builds(
    Fees,
    variable_fee=_shares,
    fixed_fee=st.integers(-10, 1000),
    fulfilment_fee_merchant=st.integers(-10, 1000),
    fulfilment_fee_amazon=st.integers(-10, 1000),
)


@st.composite
def _rows(draw: st.DrawFn) -> CatalogRow:
    """A row as a careless seller or an old import may write it: bounds missing, equal, crossed or not positive;
    margin levels at or past ±100% or not numbers; negative costs, fees, sale prices, stock and lead times."""
    low = draw(_amounts)
    near = st.sampled_from((-1, 0, 1)).map(lambda step: None if low is None else low + step)
    margins = st.none() | st.builds(MarginLevel, _margins, _margins)
    return CatalogRow(
        key=KEY,
        asin=draw(st.sampled_from(("B000000001", "B000000001", "B000000001", None))),
        cost=draw(_amounts),
        fees=draw(st.none() | _fees),
        vat_rate=draw(st.none() | _shares),
        margins=draw(margins),
        min_price=low,
        max_price=draw(st.one_of(near, _amounts)),
        sale_price=draw(_amounts),
        stock=draw(_amounts),
        lead_time_days=draw(_amounts),
    )


def _must_refuse(row: CatalogRow) -> bool:
    """The rows no check may let through, whatever else they hold."""
    if (row.min_price is None) != (row.max_price is None):
        return True
    if row.min_price is not None and row.max_price is not None:
        return row.min_price <= 0 or row.min_price >= row.max_price
    margins = row.margins
    if row.min_price is None and row.max_price is None and margins is not None:
        levels = (margins.min_margin, margins.max_margin)
        return any(not level.is_finite() or not -1 < level < 1 for level in levels)
    return False


@examples(ci=200)
@given(row=_rows())
def test_a_row_is_priced_within_sane_bounds_or_refused_naming_its_sku(row: CatalogRow) -> None:
    try:
        offer = catalog_settings(row)
    except BoundsError as error:
        assert error.key == KEY
        assert str(error).startswith(f"SKU {KEY.sku!r} on {KEY.marketplace}: ")
        return
    assert not _must_refuse(row)
    check_bounds(offer)
    assert 0 < offer.bounds.min_price < offer.bounds.max_price
    for amount in (offer.sale_price, offer.quantity, offer.lead_time_days):
        assert amount is None or amount >= 0


@examples(ci=100)
@given(low=st.integers(-(10**6), 10**6), room=st.sampled_from((-1, 0, 1)) | st.integers(-(10**6), 10**6))
def test_stored_bounds_are_refused_when_not_positive_or_not_apart(low: int, room: int) -> None:
    """`check_bounds` is what stored settings and new bounds over the control socket pass: min == max is refused
    like min > max, an offer with no room to move being a typo far more often than a fixed price."""
    offer = OfferSettings(KEY, "B000000001", "EUR", OfferBounds(low, low + room))
    if low > 0 and room > 0:
        check_bounds(offer)
        return
    with pytest.raises(BoundsError, match=f"^SKU {KEY.sku!r} on {KEY.marketplace}: min price .* must be"):
        check_bounds(offer)


@pytest.mark.parametrize("tick", [0, -1, -5])
def test_a_tick_below_one_is_refused_by_the_checks_and_by_the_guard(tick: int) -> None:
    row = CatalogRow(key=KEY, asin="B000000001", min_price=1000, max_price=3000)
    with mock.patch.dict(CURRENCIES, {"EUR": Currency("EUR", 2, tick=tick)}), pytest.raises(BoundsError) as error:
        catalog_settings(row)
    assert f"the EUR price step (tick) of {tick} minor units is not 1 or more" in str(error.value)
    bounds = OfferBounds(1000, 3000)
    with pytest.raises(GuardError, match="is not a price step"):
        guard(2000, bounds, tick, current=2000, signal_backed=False, step_cap=Decimal("0.1"))
    with pytest.raises(GuardError, match="is not a price step"):
        sale_price_issue(2000, bounds, tick)


@pytest.mark.parametrize(("tick", "bounds"), [(5, OfferBounds(1001, 1004)), (10, OfferBounds(1, 9))])
def test_bounds_with_no_price_on_the_tick_are_refused_by_the_guard(tick: int, bounds: OfferBounds) -> None:
    """Bounds on a coarser grid than the currency's pass `check_bounds`; the guard then sends nothing rather than
    a price outside them or off the grid."""
    with pytest.raises(GuardError, match="lies within"):
        tick_bounds(bounds, tick)
