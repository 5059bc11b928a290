"""An offer's price bounds: set directly or derived from a margin level, and always checked.

Every price the engine sends lies inside ``[min_price, max_price]``, so a wrong bound is a wrong price at Amazon.
This module is where bounds are built and validated, and where the margin economics of DESIGN.md live:

    net revenue  n = p / (1 + v)
    profit       π = n − f·p − F − Φ − c
    margin       m = π / n
    price for m  p = (F + Φ + c) / ((1 − m)/(1 + v) − f)

with p the listed price in minor units (gross where the marketplace shows VAT-inclusive prices), v the VAT rate
inside that price, f the variable fee as a share of the gross price, F the fixed fee, Φ the fulfilment fee of the
offer's fulfilment type and c the cost. Arithmetic is exact (`Fraction`): a margin computed in floats can land a
hair below the seller's floor, and the floor is the one number a repricer must never break.

Derived prices are rounded to the currency's tick *inward*: the min price up (the margin there is never below the
min margin) and the max price down (never above the max margin). Because the margin rises strictly with the price
once any cost or fee is positive, each is then within one tick of its margin level.

``min_price == max_price`` is rejected like ``min > max``: a repriced offer with no room to move is almost always a
typo or two margin levels that rounding collapsed into one price. An offer meant to sell at a fixed price turns
repricing off (`OfferSettings.repricing`) instead.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import msgspec

from engine.marketplaces import MarketplaceInfo
from engine.model import Fees, Fulfilment, MarginLevel, OfferBounds, OfferKey, OfferSettings
from engine.money import Currency, MoneyError, currency, format_minor

__all__ = [
    "BoundsError",
    "CostBasis",
    "bounds_direct",
    "bounds_from_margins",
    "check_bounds",
    "margin_at",
    "max_price_for_margin",
    "min_price_for_margin",
    "net_revenue",
    "price_for_margin",
    "profit",
]


class BoundsError(ValueError):
    """An offer's bounds or margin level cannot be used; the message names the SKU, its marketplace and why.

    Raised while loading a catalog or changing bounds over the control socket, so the operator sees which of
    thousands of SKUs to fix rather than a bare arithmetic error.
    """

    def __init__(self, key: OfferKey, reason: str) -> None:
        super().__init__(f"SKU {key.sku!r} on {key.marketplace}: {reason}")
        self.key = key
        self.reason = reason


class CostBasis(msgspec.Struct, frozen=True, gc=False):
    """Everything the margin of one offer depends on besides its price, as one value.

    ``vat_rate`` is the rate *inside the listed price*: zero on marketplaces that list net prices (US, CA), the
    goods' rate on gross ones. `CostBasis.for_marketplace` picks it so callers cannot apply VAT twice or forget it.
    """

    cost: int
    fees: Fees
    vat_rate: Decimal
    fulfilment: Fulfilment
    currency: str

    @classmethod
    def for_marketplace(
        cls,
        marketplace: MarketplaceInfo,
        *,
        cost: int,
        fees: Fees,
        fulfilment: Fulfilment,
        vat_rate: Decimal | None = None,
    ) -> CostBasis:
        """The cost basis on ``marketplace``; ``vat_rate`` overrides the standard rate for reduced-rate goods.

        The override only matters where prices are gross: on a net marketplace no VAT sits inside the price, so
        a catalog row's reduced rate must not shrink the net revenue there.
        """
        rate = marketplace.price_vat_rate
        if vat_rate is not None and marketplace.vat_inclusive:
            rate = vat_rate
        return cls(cost, fees, rate, fulfilment, marketplace.currency_code)

    @property
    def fulfilment_fee(self) -> int:
        return self.fees.fulfilment_fee(self.fulfilment)

    @property
    def fixed_costs(self) -> int:
        """F + Φ + c: what one sale costs whatever the price."""
        return self.fees.fixed_fee + self.fulfilment_fee + self.cost


# --- the economics (exact) --------------------------------------------------------------------------------------


def net_revenue(price: int, basis: CostBasis) -> Fraction:
    """n = p / (1 + v): the part of the listed price that is the seller's before fees and cost."""
    return Fraction(price) / (1 + Fraction(basis.vat_rate))


def profit(price: int, basis: CostBasis) -> Fraction:
    """π = n − f·p − F − Φ − c, in minor units. Amazon's variable fee is charged on the gross price."""
    fee = Fraction(basis.fees.variable_fee) * price
    return net_revenue(price, basis) - fee - basis.fixed_costs


def margin_at(price: int, basis: CostBasis) -> Fraction:
    """m = π / n, exactly; undefined (ValueError) at a price of zero or below, where there is no revenue."""
    if price <= 0:
        raise ValueError(f"the margin is undefined at a price of {price}: there is no revenue to share")
    return profit(price, basis) / net_revenue(price, basis)


def price_for_margin(key: OfferKey, margin: Decimal, basis: CostBasis) -> Fraction:
    """The exact price (minor units, not rounded) at which the margin is ``margin``.

    Raises `BoundsError` when no price reaches that margin: the margin tends to 1 − f·(1 + v) as the price grows,
    so a level at or above that is impossible however high the price. Zero cost and fees make the margin the same
    at every price, so a margin cannot pick one either.
    """
    _check_basis(key, basis)
    _check_margin(key, "margin level", margin)
    denominator = (1 - Fraction(margin)) / (1 + Fraction(basis.vat_rate)) - Fraction(basis.fees.variable_fee)
    if denominator <= 0:
        raise BoundsError(key, _impossible(margin, basis))
    if basis.fixed_costs == 0:
        raise BoundsError(
            key, "cost and all fixed and fulfilment fees are zero, so the margin is the same at every price"
        )
    return basis.fixed_costs / denominator


def min_price_for_margin(key: OfferKey, margin: Decimal, basis: CostBasis) -> int:
    """The lowest price on the currency's tick whose margin is at least ``margin``: rounded up, never below."""
    tick = _currency(key, basis.currency).tick
    return math.ceil(price_for_margin(key, margin, basis) / tick) * tick


def max_price_for_margin(key: OfferKey, margin: Decimal, basis: CostBasis) -> int:
    """The highest price on the currency's tick whose margin is at most ``margin``: rounded down, never above."""
    tick = _currency(key, basis.currency).tick
    return math.floor(price_for_margin(key, margin, basis) / tick) * tick


# --- building and checking bounds -------------------------------------------------------------------------------


def bounds_from_margins(key: OfferKey, level: MarginLevel, basis: CostBasis) -> OfferBounds:
    """Min and max price from a margin level, each rounded inward to the tick, then checked like direct bounds.

    A max margin equal to the min margin is rejected up front: it can only give min ≥ max after rounding, and the
    margins are the numbers the seller typed, so they make the clearer message.
    """
    _check_margin(key, "min margin", level.min_margin)
    _check_margin(key, "max margin", level.max_margin)
    if level.max_margin <= level.min_margin:
        raise BoundsError(
            key, f"max margin {level.max_margin} is not above min margin {level.min_margin}: no room to reprice"
        )
    min_price = min_price_for_margin(key, level.min_margin, basis)
    max_price = max_price_for_margin(key, level.max_margin, basis)
    if min_price >= max_price:
        raise BoundsError(
            key,
            f"margins {level.min_margin}..{level.max_margin} give min price {_fmt(min_price, basis.currency)}"
            f" and max price {_fmt(max_price, basis.currency)}: less than one price step apart",
        )
    return bounds_direct(key, min_price, max_price, currency=basis.currency)


def bounds_direct(key: OfferKey, min_price: int, max_price: int, *, currency: str) -> OfferBounds:
    """Bounds the seller set as prices, checked: positive, on the currency's tick, and min strictly below max."""
    cur = _currency(key, currency)
    if min_price <= 0:
        raise BoundsError(key, f"min price {_fmt(min_price, currency)} must be above zero")
    if min_price >= max_price:
        raise BoundsError(
            key, f"min price {_fmt(min_price, currency)} must be below max price {_fmt(max_price, currency)}"
        )
    for name, price in (("min price", min_price), ("max price", max_price)):
        if price % cur.tick:
            raise BoundsError(
                key, f"{name} {_fmt(price, currency)} is not a multiple of the {_fmt(cur.tick, currency)} price step"
            )
    return OfferBounds(min_price, max_price)


def check_bounds(settings: OfferSettings) -> None:
    """Check stored settings' bounds: a store edited by hand or by an older version must not reach Amazon."""
    bounds_direct(settings.key, settings.bounds.min_price, settings.bounds.max_price, currency=settings.currency)


# --- validation helpers ------------------------------------------------------------------------------------------


def _check_margin(key: OfferKey, name: str, margin: Decimal) -> None:
    # Checked before any comparison: ordering a NaN Decimal raises InvalidOperation, not a useful message.
    if not margin.is_finite():
        raise BoundsError(key, f"{name} {margin} is not a number")
    if margin >= 1:
        raise BoundsError(key, f"{name} {margin} is not below 1: margins are shares of net revenue (0.12 = 12%)")
    # A margin of −100% gives away all the net revenue on top of the costs: a level at or below it is a typo (a
    # min margin of −1,000,000,000 derived a min price of 0.01 for fixed costs of 922.08), not a price floor.
    if margin <= -1:
        raise BoundsError(key, f"{name} {margin} is not above -1: a margin of -1 (-100%) loses all the net revenue")


def _check_basis(key: OfferKey, basis: CostBasis) -> None:
    _currency(key, basis.currency)
    fees = basis.fees
    for name, amount in (
        ("cost", basis.cost),
        ("fixed fee", fees.fixed_fee),
        ("merchant fulfilment fee", fees.fulfilment_fee_merchant),
        ("Amazon fulfilment fee", fees.fulfilment_fee_amazon),
    ):
        if amount < 0:
            raise BoundsError(key, f"{name} {_fmt(amount, basis.currency)} is negative")
    if not fees.variable_fee.is_finite() or not 0 <= fees.variable_fee < 1:
        raise BoundsError(key, f"variable fee {fees.variable_fee} is not a share of the price in [0, 1)")
    if not basis.vat_rate.is_finite() or basis.vat_rate < 0:
        raise BoundsError(key, f"VAT rate {basis.vat_rate} is not a rate of zero or more")


def _impossible(margin: Decimal, basis: CostBasis) -> str:
    fee, vat = basis.fees.variable_fee, basis.vat_rate
    ceiling = 1 - fee * (1 + vat)
    return (
        f"margin level {margin} is impossible: a {fee:%} fee on the gross price at {vat:%} VAT keeps the margin"
        f" below {ceiling:.2%} at any price"
    )


def _currency(key: OfferKey, code: str) -> Currency:
    try:
        cur = currency(code)
    except MoneyError as exc:
        raise BoundsError(key, str(exc)) from None
    # Every price is rounded to the tick; a tick of 0 divided by zero in the guard, a negative one is no grid.
    if cur.tick < 1:
        raise BoundsError(key, f"the {code} price step (tick) of {cur.tick} minor units is not 1 or more")
    return cur


def _fmt(minor: int, code: str) -> str:
    return f"{format_minor(minor, code)} {code}"
