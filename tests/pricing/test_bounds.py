from decimal import Decimal
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.marketplaces import MARKETPLACES, MarketplaceInfo
from engine.model import Fees, Fulfilment, MarginLevel, OfferBounds, OfferKey, OfferSettings
from engine.money import CURRENCIES, Currency
from engine.pricing.bounds import (
    BoundsError,
    CostBasis,
    bounds_direct,
    bounds_from_margins,
    check_bounds,
    margin_at,
    max_price_for_margin,
    min_price_for_margin,
    net_revenue,
    price_for_margin,
    profit,
)

SKU = "MUG-BLUE-042"
DE = OfferKey("SELLER", "DE", SKU)
US = OfferKey("SELLER", "US", SKU)

# DESIGN's worked example: 15% referral fee, 0.30 fixed fee, 3.00 FBA fee, 10.00 cost.
DE_FEES = Fees(variable_fee=Decimal("0.15"), fixed_fee=30, fulfilment_fee_merchant=450, fulfilment_fee_amazon=300)
DE_FBA = CostBasis.for_marketplace(MARKETPLACES["DE"], cost=1000, fees=DE_FEES, fulfilment=Fulfilment.AMAZON)


def _key(market: MarketplaceInfo) -> OfferKey:
    return OfferKey("SELLER", market.code, SKU)


@st.composite
def cost_bases(draw: st.DrawFn, market: MarketplaceInfo) -> CostBasis:
    fees = Fees(
        variable_fee=draw(st.decimals(min_value=0, max_value=Decimal("0.45"), places=4)),
        fixed_fee=draw(st.integers(0, 500)),
        fulfilment_fee_merchant=draw(st.integers(0, 3_000)),
        fulfilment_fee_amazon=draw(st.integers(0, 3_000)),
    )
    basis = CostBasis.for_marketplace(
        market, cost=draw(st.integers(0, 10**7)), fees=fees, fulfilment=draw(st.sampled_from(Fulfilment))
    )
    assume(basis.fixed_costs > 0)
    return basis


margins = st.decimals(min_value=Decimal("-0.9999"), max_value=Decimal("0.9999"), places=4)


def _possible(margin: Decimal, basis: CostBasis) -> bool:
    return margin < 1 - basis.fees.variable_fee * (1 + basis.vat_rate)


# --- the promise: derived bounds keep the margin, to within one price step ---------------------------------------


@pytest.mark.parametrize("market", MARKETPLACES.values(), ids=MARKETPLACES.keys())
@given(data=st.data(), margin=margins)
def test_margin_at_derived_min_price_equals_min_margin_within_one_tick(
    market: MarketplaceInfo, data: st.DataObject, margin: Decimal
) -> None:
    basis = data.draw(cost_bases(market))
    assume(_possible(margin, basis))
    tick = market.currency.tick

    min_price = min_price_for_margin(_key(market), margin, basis)
    assert margin_at(min_price, basis) >= margin
    if min_price - tick > 0:
        assert margin_at(min_price - tick, basis) < margin

    max_price = max_price_for_margin(_key(market), margin, basis)
    if max_price > 0:
        assert margin_at(max_price, basis) <= margin
    assert margin_at(max_price + tick, basis) > margin


@pytest.mark.parametrize("market", MARKETPLACES.values(), ids=MARKETPLACES.keys())
@given(data=st.data(), low=margins, high=margins)
def test_bounds_from_margins_are_the_inward_rounded_prices_or_an_error_naming_the_sku(
    market: MarketplaceInfo, data: st.DataObject, low: Decimal, high: Decimal
) -> None:
    basis = data.draw(cost_bases(market))
    low, high = sorted((low, high))
    assume(low < high and _possible(high, basis))
    key = _key(market)
    try:
        bounds = bounds_from_margins(key, MarginLevel(low, high), basis)
    except BoundsError as exc:
        assert exc.key == key
        assert "less than one price step apart" in str(exc)
        assert min_price_for_margin(key, low, basis) >= max_price_for_margin(key, high, basis)
    else:
        assert bounds == OfferBounds(min_price_for_margin(key, low, basis), max_price_for_margin(key, high, basis))
        assert 0 < bounds.min_price < bounds.max_price


# --- worked by hand ---------------------------------------------------------------------------------------------


def test_de_fba_price_for_ten_percent_margin_matches_the_hand_computation() -> None:
    # (0.30 + 3.00 + 10.00) / ((1 − 0.10) / 1.19 − 0.15) = 13.30 · 1.19 / 0.7215 = 21.9362… EUR
    exact = price_for_margin(DE, Decimal("0.10"), DE_FBA)
    assert exact == Fraction(1330) * Fraction("1.19") / Fraction("0.7215") == Fraction(3165400, 1443)
    assert min_price_for_margin(DE, Decimal("0.10"), DE_FBA) == 2194
    assert max_price_for_margin(DE, Decimal("0.10"), DE_FBA) == 2193
    assert margin_at(2194, DE_FBA) >= Decimal("0.10") > margin_at(2193, DE_FBA)


def test_de_margin_at_a_round_gross_price_is_exact() -> None:
    # 23.80 gross at 19% VAT is 20.00 net; 15% of 23.80 is 3.57; 20.00 − 3.57 − 13.30 = 3.13; 3.13 / 20.00.
    assert net_revenue(2380, DE_FBA) == 2000
    assert profit(2380, DE_FBA) == 313
    assert margin_at(2380, DE_FBA) == Fraction("0.1565")


def test_de_bounds_from_ten_to_thirty_percent_margin() -> None:
    # Max: 13.30 · 1.19 / ((1 − 0.30) − 0.15 · 1.19) = 15.827 / 0.5215 = 30.349… → rounded down to 30.34.
    assert bounds_from_margins(DE, MarginLevel(Decimal("0.10"), Decimal("0.30")), DE_FBA) == OfferBounds(2194, 3034)


def test_fulfilment_type_picks_its_own_fee() -> None:
    fbm = CostBasis.for_marketplace(MARKETPLACES["DE"], cost=1000, fees=DE_FEES, fulfilment=Fulfilment.MERCHANT)
    assert fbm.fixed_costs == 30 + 450 + 1000
    assert min_price_for_margin(DE, Decimal("0.10"), fbm) > min_price_for_margin(DE, Decimal("0.10"), DE_FBA)


def test_price_exactly_on_the_tick_is_not_pushed_a_step_by_rounding() -> None:
    # US prices are net: 7.00 / ((1 − 0.15) − 0.15) = 10.00 exactly, so both roundings leave it alone.
    basis = CostBasis.for_marketplace(
        MARKETPLACES["US"], cost=700, fees=Fees(variable_fee=Decimal("0.15")), fulfilment=Fulfilment.MERCHANT
    )
    assert price_for_margin(US, Decimal("0.15"), basis) == 1000
    assert min_price_for_margin(US, Decimal("0.15"), basis) == 1000
    assert max_price_for_margin(US, Decimal("0.15"), basis) == 1000


def test_net_marketplace_ignores_a_reduced_vat_rate_and_gross_one_uses_it() -> None:
    fees, fbm = Fees(), Fulfilment.MERCHANT
    us = CostBasis.for_marketplace(MARKETPLACES["US"], cost=1, fees=fees, fulfilment=fbm, vat_rate=Decimal("0.07"))
    de = CostBasis.for_marketplace(MARKETPLACES["DE"], cost=1, fees=fees, fulfilment=fbm, vat_rate=Decimal("0.07"))
    gb = CostBasis.for_marketplace(MARKETPLACES["GB"], cost=1, fees=fees, fulfilment=fbm)
    assert (us.vat_rate, de.vat_rate, gb.vat_rate) == (Decimal(0), Decimal("0.07"), Decimal("0.20"))
    assert (us.currency, de.currency, gb.currency) == ("USD", "EUR", "GBP")


def test_a_coarser_price_grid_rounds_inward_to_its_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CURRENCIES, "XTS", Currency("XTS", 2, tick=5))
    basis = CostBasis(cost=1001, fees=Fees(), vat_rate=Decimal(0), fulfilment=Fulfilment.MERCHANT, currency="XTS")
    assert price_for_margin(US, Decimal(0), basis) == 1001
    assert min_price_for_margin(US, Decimal(0), basis) == 1005
    assert max_price_for_margin(US, Decimal(0), basis) == 1000
    with pytest.raises(BoundsError, match=r"min price 10\.01 XTS is not a multiple of the 0\.05 XTS price step"):
        bounds_direct(US, 1001, 2000, currency="XTS")


def test_margin_is_undefined_without_revenue() -> None:
    with pytest.raises(ValueError, match="undefined"):
        margin_at(0, DE_FBA)


# --- errors name the SKU and the reason --------------------------------------------------------------------------


def _assert_names_sku_and(exc: pytest.ExceptionInfo[BoundsError], key: OfferKey, reason: str) -> None:
    message = str(exc.value)
    assert f"SKU {key.sku!r} on {key.marketplace}" in message
    assert reason in message
    assert exc.value.key == key


def test_impossible_margin_level_is_an_error_naming_the_sku() -> None:
    # 15% of the gross price is 17.85% of net revenue at 19% VAT, so no price reaches an 85% margin.
    with pytest.raises(BoundsError) as exc:
        price_for_margin(DE, Decimal("0.85"), DE_FBA)
    _assert_names_sku_and(exc, DE, "margin level 0.85 is impossible")
    assert "below 82.15% at any price" in str(exc.value)


def _with(**changes: Any) -> CostBasis:
    return msgspec.structs.replace(DE_FBA, **changes)


def _level(low: str, high: str) -> MarginLevel:
    return MarginLevel(Decimal(low), Decimal(high))


TEN_TO_THIRTY = _level("0.10", "0.30")


@pytest.mark.parametrize(
    ("level", "basis", "reason"),
    [
        (_level("0.30", "0.10"), DE_FBA, "max margin 0.10 is not above min margin 0.30"),
        (_level("0.20", "0.20"), DE_FBA, "max margin 0.20 is not above min margin 0.20"),
        (_level("0.10", "0.1001"), DE_FBA, "less than one price step apart"),
        (_level("0.10", "1"), DE_FBA, "max margin 1 is not below 1"),
        (_level("12", "30"), DE_FBA, "min margin 12 is not below 1"),
        (_level("-1", "0.30"), DE_FBA, "min margin -1 is not above -1"),
        (_level("-2", "-1"), DE_FBA, "min margin -2 is not above -1"),
        (_level("NaN", "0.30"), DE_FBA, "min margin NaN is not a number"),
        (_level("0.10", "Infinity"), DE_FBA, "max margin Infinity is not a number"),
        (_level("0.10", "0.90"), DE_FBA, "margin level 0.90 is impossible"),
        (_level("0.90", "0.95"), DE_FBA, "margin level 0.90 is impossible"),
        (TEN_TO_THIRTY, _with(fees=Fees(variable_fee=Decimal("0.80"))), "margin level 0.10 is impossible"),
        (TEN_TO_THIRTY, _with(cost=-1), "cost -0.01 EUR is negative"),
        (TEN_TO_THIRTY, _with(fees=Fees(fixed_fee=-30)), "fixed fee -0.30 EUR is negative"),
        (TEN_TO_THIRTY, _with(fees=Fees(fulfilment_fee_amazon=-300)), "Amazon fulfilment fee -3.00 EUR is negative"),
        (TEN_TO_THIRTY, _with(fees=Fees(fulfilment_fee_merchant=-1)), "merchant fulfilment fee -0.01 EUR is negative"),
        (TEN_TO_THIRTY, _with(fees=Fees(variable_fee=Decimal(1))), "variable fee 1 is not a share"),
        (TEN_TO_THIRTY, _with(fees=Fees(variable_fee=Decimal("-0.15"))), "variable fee -0.15 is not a share"),
        (TEN_TO_THIRTY, _with(fees=Fees(variable_fee=Decimal("NaN"))), "variable fee NaN is not a share"),
        (TEN_TO_THIRTY, _with(vat_rate=Decimal("-0.19")), "VAT rate -0.19 is not a rate"),
        (TEN_TO_THIRTY, _with(cost=0, fees=Fees()), "the margin is the same at every price"),
        (TEN_TO_THIRTY, _with(currency="XXX"), "unknown currency 'XXX'"),
    ],
)
def test_invalid_margin_bounds_are_errors_naming_the_sku(level: MarginLevel, basis: CostBasis, reason: str) -> None:
    with pytest.raises(BoundsError) as exc:
        bounds_from_margins(DE, level, basis)
    _assert_names_sku_and(exc, DE, reason)


@pytest.mark.parametrize(
    ("min_price", "max_price", "reason"),
    [
        (0, 1000, "min price 0.00 EUR must be above zero"),
        (-500, 1000, "min price -5.00 EUR must be above zero"),
        (1000, 1000, "min price 10.00 EUR must be below max price 10.00 EUR"),
        (1200, 1000, "min price 12.00 EUR must be below max price 10.00 EUR"),
        (1000, 0, "must be below max price 0.00 EUR"),
    ],
)
def test_invalid_direct_bounds_are_errors_naming_the_sku(min_price: int, max_price: int, reason: str) -> None:
    with pytest.raises(BoundsError) as exc:
        bounds_direct(DE, min_price, max_price, currency="EUR")
    _assert_names_sku_and(exc, DE, reason)


def test_valid_direct_bounds_come_back_as_given() -> None:
    assert bounds_direct(DE, 1, 2, currency="EUR") == OfferBounds(1, 2)


def test_stored_settings_with_crossed_bounds_are_rejected() -> None:
    good = OfferSettings(key=US, asin="B000000001", currency="USD", bounds=OfferBounds(1500, 2500))
    check_bounds(good)
    with pytest.raises(BoundsError) as exc:
        check_bounds(OfferSettings(key=US, asin="B000000001", currency="USD", bounds=OfferBounds(2500, 1500)))
    _assert_names_sku_and(exc, US, "min price 25.00 USD must be below max price 15.00 USD")
