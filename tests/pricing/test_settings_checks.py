"""Settings are checked where they enter the engine (a catalog row, stored settings, new bounds over the control
socket), and each error names the SKU: among thousands of offers, the operator must see which one to fix."""

from decimal import Decimal

import msgspec
import pytest

from engine.catalog import CatalogRow, settings
from engine.model import ChannelSettings, MarginLevel, OfferBounds, OfferKey, OfferSettings
from engine.money import CURRENCIES, Currency
from engine.pricing.bounds import BoundsError, bounds_direct, check_bounds

KEY = OfferKey("SELLER", "US", "MUG-BLUE-042")
COSTS = 92208  # the fuzzed offer's fixed costs: 922.08 USD


def _row(**fields: object) -> CatalogRow:
    return CatalogRow(key=KEY, asin="B000000001", **fields)  # type: ignore[arg-type]


def _names_sku_and(exc: pytest.ExceptionInfo[BoundsError], reason: str) -> None:
    assert f"SKU {KEY.sku!r} on {KEY.marketplace}" in str(exc.value)
    assert reason in str(exc.value)
    assert exc.value.key == KEY


def test_margin_below_minus_100_rejected() -> None:
    """A min margin of −1,000,000,000 was accepted and derived a min price of 0.01 for fixed costs of 922.08."""
    with pytest.raises(BoundsError) as exc:
        settings(_row(cost=COSTS, margins=MarginLevel(Decimal(-1_000_000_000), Decimal("0.30"))))
    _names_sku_and(exc, "min margin -1000000000 is not above -1")
    with pytest.raises(BoundsError) as exc:
        settings(_row(cost=COSTS, margins=MarginLevel(Decimal(-1), Decimal("0.30"))))
    _names_sku_and(exc, "min margin -1 is not above -1")


def test_a_margin_level_within_minus_100_and_100_percent_is_accepted() -> None:
    # A loss leader at −50%: 922.08 / (1 + 0.5) = 614.72; at 30%, 922.08 / 0.7 = 1317.257… → 1317.25.
    offer = settings(_row(cost=COSTS, margins=MarginLevel(Decimal("-0.5"), Decimal("0.30"))))
    assert offer.bounds == OfferBounds(61472, 131725)


@pytest.mark.parametrize("tick", [0, -5])
def test_a_tick_below_one_is_rejected_naming_the_sku(monkeypatch: pytest.MonkeyPatch, tick: int) -> None:
    """A tick of 0 raised ZeroDivisionError in the guard (and would have ended the batcher): it never gets that far."""
    monkeypatch.setitem(CURRENCIES, "USD", Currency("USD", 2, tick=tick))
    reason = f"the USD price step (tick) of {tick} minor units is not 1 or more"
    with pytest.raises(BoundsError) as exc:
        settings(_row(min_price=1000, max_price=3000))
    _names_sku_and(exc, reason)
    with pytest.raises(BoundsError) as exc:
        settings(_row(cost=COSTS, margins=MarginLevel(Decimal("0.10"), Decimal("0.30"))))
    _names_sku_and(exc, reason)
    with pytest.raises(BoundsError) as exc:
        check_bounds(OfferSettings(key=KEY, asin="B000000001", currency="USD", bounds=OfferBounds(1000, 3000)))
    _names_sku_and(exc, reason)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (_row(min_price=0, max_price=3000), "min price 0.00 USD must be above zero"),
        (_row(min_price=3000, max_price=1000), "min price 30.00 USD must be below max price 10.00 USD"),
        (_row(min_price=1000), "only one of min price and max price is set"),
        (_row(), "no bounds"),
        (_row(min_price=1000, max_price=3000, sale_price=-1), "sale price -1 is negative"),
    ],
)
def test_catalog_settings_are_checked_naming_the_sku(row: CatalogRow, reason: str) -> None:
    with pytest.raises(BoundsError) as exc:
        settings(row)
    _names_sku_and(exc, reason)


def test_catalog_bounds_off_the_tick_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CURRENCIES, "USD", Currency("USD", 2, tick=5))
    with pytest.raises(BoundsError) as exc:
        settings(_row(min_price=1001, max_price=3000))
    _names_sku_and(exc, "min price 10.01 USD is not a multiple of the 0.05 USD price step")
    assert settings(_row(min_price=1000, max_price=3000)).bounds == OfferBounds(1000, 3000)


@pytest.mark.parametrize(
    ("bounds", "reason"),
    [
        (OfferBounds(0, 3000), "min price 0.00 USD must be above zero"),
        (OfferBounds(2000, 2000), "min price 20.00 USD must be below max price 20.00 USD"),
        (OfferBounds(3000, 1000), "min price 30.00 USD must be below max price 10.00 USD"),
    ],
)
def test_new_bounds_for_a_running_offer_are_checked_naming_the_sku(bounds: OfferBounds, reason: str) -> None:
    """What `SetBounds` must run on the offer's new settings before they replace the old ones."""
    offer = settings(_row(min_price=1000, max_price=3000, sale_price=2500))
    check_bounds(offer)
    with pytest.raises(BoundsError) as exc:
        check_bounds(msgspec.structs.replace(offer, bounds=bounds))
    _names_sku_and(exc, reason)


def test_sane_settings_come_back_as_given() -> None:
    offer = settings(_row(min_price=1000, max_price=3000, sale_price=2500, stock=4, lead_time_days=2))
    assert (offer.bounds, offer.sale_price, offer.quantity, offer.lead_time_days) == (
        OfferBounds(1000, 3000),
        2500,
        4,
        2,
    )
    assert bounds_direct(KEY, 1000, 3000, currency="USD") == offer.bounds


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (b'{"step_cap": "NaN"}', "step_cap NaN is not a share above 0 and at most 1"),
        (b'{"step_cap": "0"}', "step_cap 0 is not a share above 0"),
        (b'{"step_cap": "1.5"}', "step_cap 1.5 is not a share above 0"),
        (b'{"max_observation_age_s": -1}', "max_observation_age_s -1.0 is not a positive number"),
        (b'{"competitors": {"min_feedback_pct": 140}}', "min_feedback_pct 140 is not a percentage"),
        (b'{"competitors": {"max_handling_hours": -2}}', "max_handling_hours -2 is negative"),
    ],
)
def test_channel_settings_checked_where_they_enter(document: bytes, problem: str) -> None:
    """Channel settings decoded from a file or the control socket, or built in code, are checked as they are made: a
    NaN step cap once raised inside the guard and took the batcher down at every unbacked move (the fuzz suite)."""
    with pytest.raises(msgspec.ValidationError, match=problem):
        msgspec.json.decode(document, type=ChannelSettings)
    assert msgspec.json.decode(b'{"step_cap": "0.05"}', type=ChannelSettings).step_cap == Decimal("0.05")
