"""The seller's catalog: what the seller tells us about each offer, and the settings the engine derives from it.

A `CatalogRow` holds the seller's inputs for one (seller, marketplace, SKU): identifiers, condition, fulfilment,
cost and fees, a margin level or explicit min/max, sale price, own stock, lead time, shipping profile, activation.
It is what the store keeps and what `repricer catalog import`, `repricer import` (Amazon's listings export) and
`repricer catalog export` read and write. `OfferSettings`, what the engine prices with, is derived from it by
`settings` through `engine.pricing.bounds`, so a margin that no price reaches is an error naming the SKU, found
when the catalog is loaded rather than when a price goes out.

Explicit bounds win over a margin level: a seller who typed a min and a max meant those prices.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from engine.marketplaces import by_code
from engine.model import Condition, Fees, Fulfilment, MarginLevel, OfferKey, OfferSettings
from engine.pricing.bounds import BoundsError, CostBasis, bounds_direct, bounds_from_margins

__all__ = ["CatalogRow", "from_settings", "settings"]


class CatalogRow(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """One offer as the seller describes it. Money is in minor units of the marketplace's currency.

    ``price`` is the listing price Amazon last reported (the listings export's), kept for reference: the engine
    prices within the bounds, not from it. ``stock`` is the seller's own stock for a merchant-fulfilled offer (Amazon
    counts its own for FBA). ``attributes`` keeps columns of an import the catalog has no field for (B2B prices,
    for example), as they came.
    """

    key: OfferKey
    asin: str | None = None
    product_id: str | None = None
    product_id_type: str | None = None
    title: str | None = None
    condition: Condition = Condition.NEW
    fulfilment: Fulfilment = Fulfilment.MERCHANT
    cost: int | None = None
    fees: Fees | None = None
    vat_rate: Decimal | None = None  # a reduced rate for these goods, where prices include VAT
    margins: MarginLevel | None = None
    min_price: int | None = None
    max_price: int | None = None
    price: int | None = None
    sale_price: int | None = None
    stock: int | None = None
    lead_time_days: int | None = None
    shipping_group: str | None = None
    repricing: bool = True
    attributes: tuple[tuple[str, str], ...] = ()


def settings(row: CatalogRow) -> OfferSettings:
    """The engine's settings for a row; `BoundsError` (naming the SKU and why) when it cannot be repriced."""
    key = row.key
    try:
        info = by_code(key.marketplace)
    except KeyError:
        raise BoundsError(key, f"unknown marketplace {key.marketplace!r}") from None
    code = info.currency_code
    if row.asin is None:
        raise BoundsError(key, "no ASIN: the offer's item is unknown")
    if row.min_price is not None or row.max_price is not None:
        if row.min_price is None or row.max_price is None:
            raise BoundsError(key, "only one of min price and max price is set: give both, or a margin level")
        bounds = bounds_direct(key, row.min_price, row.max_price, currency=code)
    elif row.margins is not None:
        if row.cost is None:
            raise BoundsError(key, "a margin level needs the offer's cost")
        basis = CostBasis.for_marketplace(
            info, cost=row.cost, fees=row.fees or Fees(), fulfilment=row.fulfilment, vat_rate=row.vat_rate
        )
        bounds = bounds_from_margins(key, row.margins, basis)
    else:
        raise BoundsError(key, "no bounds: give min and max price, or cost and a margin level")
    for name, amount in (("sale price", row.sale_price), ("stock", row.stock), ("lead time", row.lead_time_days)):
        if amount is not None and amount < 0:
            raise BoundsError(key, f"{name} {amount} is negative")
    return OfferSettings(
        key=key,
        asin=row.asin,
        currency=code,
        bounds=bounds,
        condition=row.condition,
        fulfilment=row.fulfilment,
        sale_price=row.sale_price,
        quantity=None if row.fulfilment is Fulfilment.AMAZON else row.stock,
        lead_time_days=row.lead_time_days,
        shipping_group=row.shipping_group,
        repricing=row.repricing,
    )


def from_settings(offer: OfferSettings) -> CatalogRow:
    """The row that derives ``offer`` (explicit bounds): how offers built in code (the simulator's) are stored."""
    return CatalogRow(
        key=offer.key,
        asin=offer.asin,
        condition=offer.condition,
        fulfilment=offer.fulfilment,
        min_price=offer.bounds.min_price,
        max_price=offer.bounds.max_price,
        sale_price=offer.sale_price,
        stock=offer.quantity,
        lead_time_days=offer.lead_time_days,
        shipping_group=offer.shipping_group,
        repricing=offer.repricing,
    )
