"""What a parsed listings export holds, and Amazon's codes for its coded columns."""

from __future__ import annotations

import enum
from typing import Final

import msgspec

from engine.model import Condition, Fulfilment

__all__ = [
    "COLUMNS",
    "CONDITION_CODES",
    "PRODUCT_ID_TYPE_CODES",
    "TYPED_COLUMNS",
    "ExportRow",
    "ParsedExport",
    "ProductIdType",
    "RowError",
]


class ProductIdType(enum.StrEnum):
    """What kind of identifier a row's ``product-id`` is (its ``product-id-type`` code)."""

    ASIN = "ASIN"
    ISBN = "ISBN"
    UPC = "UPC"
    EAN = "EAN"


# GET_MERCHANT_LISTINGS_ALL_DATA's columns in Amazon's order; the writer emits them so, the parser reads by name.
COLUMNS: Final = (
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
)

# Seller Central's "Active Listings Report" help page (200385890) and spapi.md; 9 is left out on purpose: public
# code disagrees on what it means (Club, "Not Used"), so a row carrying it is reported rather than guessed.
# The columns that become `ExportRow` fields, in the order of its fields; every other column is an attribute.
TYPED_COLUMNS: Final = (
    "seller-sku",
    "asin1",
    "product-id",
    "product-id-type",
    "price",
    "quantity",
    "item-condition",
    "fulfillment-channel",
    "status",
    "item-name",
    "open-date",
    "merchant-shipping-group",
)

CONDITION_CODES: Final[dict[str, Condition]] = {
    "1": Condition.USED_LIKE_NEW,
    "2": Condition.USED_VERY_GOOD,
    "3": Condition.USED_GOOD,
    "4": Condition.USED_ACCEPTABLE,
    "5": Condition.COLLECTIBLE_LIKE_NEW,
    "6": Condition.COLLECTIBLE_VERY_GOOD,
    "7": Condition.COLLECTIBLE_GOOD,
    "8": Condition.COLLECTIBLE_ACCEPTABLE,
    "10": Condition.REFURBISHED,
    "11": Condition.NEW,
}

PRODUCT_ID_TYPE_CODES: Final[dict[str, ProductIdType]] = {
    "1": ProductIdType.ASIN,
    "2": ProductIdType.ISBN,
    "3": ProductIdType.UPC,
    "4": ProductIdType.EAN,
}


class ExportRow(msgspec.Struct, frozen=True, gc=False):
    """One listing of the export, typed. ``line`` is its physical line in the file (the header is line 1).

    ``price`` is in minor units of the marketplace's currency and None when the cell is empty (an inactive
    listing); ``quantity`` is None when empty, as Amazon leaves it on FBA rows. Text columns are kept verbatim,
    None when empty or absent. ``fulfilment_channel`` is Amazon's code as written (``DEFAULT``, ``AMAZON_EU``…),
    ``fulfilment`` what it means. ``attributes`` holds every other non-empty cell, column name to value, in the
    file's column order: B2B prices, ``listing-id``, ``pending-quantity``, the legacy ``zshop-*`` columns.
    """

    line: int
    sku: str
    asin: str | None = None
    product_id: str | None = None
    product_id_type: ProductIdType | None = None
    price: int | None = None
    quantity: int | None = None
    condition: Condition = Condition.NEW
    fulfilment: Fulfilment = Fulfilment.MERCHANT
    fulfilment_channel: str | None = None
    status: str | None = None
    item_name: str | None = None
    open_date: str | None = None
    shipping_group: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


class RowError(msgspec.Struct, frozen=True, gc=False):
    """A line that gave no row: its physical line number, its SKU when one could be read, and why."""

    line: int
    sku: str | None
    reason: str


class ParsedExport(msgspec.Struct, frozen=True):
    """The good rows and the reported lines of one export, its header as written and the encoding it was read as.

    A file whose header is missing or has no ``seller-sku`` column gives no rows and that one error (line 1).
    """

    rows: tuple[ExportRow, ...]
    errors: tuple[RowError, ...]
    columns: tuple[str, ...]
    encoding: str
