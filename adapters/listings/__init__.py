"""Amazon's listings export (Reports API GET_MERCHANT_LISTINGS_ALL_DATA and its variants), parsed and written.

The format, as Amazon writes it and as this package reads it:

- Tab-separated text, one header row, then one listing per line. Amazon quotes nothing and no value holds a tab
  or a line end, so a line is split on TAB (a ``"`` in a title is just a character) and a line number is a
  physical line of the file, the header being line 1. Lines end in LF or CRLF; blank lines are skipped.
- Columns are read by name, never by position: GET_MERCHANT_LISTINGS_DATA has no ``status``, older files no
  ``merchant-shipping-group``, B2B sellers get ``Business Price`` and ``Quantity Price``/``Quantity Lower Bound``
  columns, GET_FLAT_FILE_OPEN_LISTINGS_DATA calls its columns ``sku``, ``asin``, ``price``, ``quantity``. Only
  ``seller-sku`` (or ``sku``) is required. The columns `ExportRow` has no field for are kept as ``attributes``.
- Encoding: NA/EU files come as Cp1252, but a file saved by a spreadsheet may be UTF-8 with or without a BOM. A
  BOM means UTF-8; otherwise strict UTF-8 is tried first (cp1252 would decode UTF-8 too, as mojibake) and cp1252
  second. Bytes that fit neither cost only their own lines, each reported. Shift_JIS (Amazon JP) is not read,
  nor are the localised headers JP uses.
- ``price`` has a decimal point or, in some locales, a decimal comma ("12,99"); it is read exactly in the
  marketplace's currency by `engine.money.parse_minor`, which refuses the ambiguous "1,299". Grouping marks are
  refused except in the one unambiguous shape "1.299,00" / "1,299.00". An empty price is None (inactive listing).
- ``quantity`` is empty on FBA rows: None. ``item-condition`` is Amazon's numeric code (1-4 used like new to
  acceptable, 5-8 collectible likewise, 10 refurbished, 11 new); words ("New", "Used - Like New",
  "UsedLikeNew") are read too. ``fulfillment-channel`` DEFAULT is merchant-fulfilled, AMAZON_xx (AMAZON_EU,
  AMAZON_NA…) FBA. ``product-id-type`` is 1 ASIN, 2 ISBN, 3 UPC, 4 EAN. Condition code 9 is reported, not
  read: public sources disagree on it (Club, "Not Used"). A file without an ``item-condition`` or a
  ``fulfillment-channel`` column (the open listings report) reads as New and merchant-fulfilled, which the caller
  must correct for FBA offers; an empty cell in a column that is there is an error.

A line that gives no row is a `RowError` with its line, its SKU when known and the reason: a wrong number of
cells, no SKU, a SKU seen on an earlier line (the repeat is the one reported), an unreadable price or quantity,
a negative one, an unknown condition, channel or product-id-type. `parse_export` never raises for the file's
content; a file without a header or without a ``seller-sku`` column is one error on line 1.
"""

from adapters.listings._model import (
    COLUMNS,
    CONDITION_CODES,
    PRODUCT_ID_TYPE_CODES,
    TYPED_COLUMNS,
    ExportRow,
    ParsedExport,
    ProductIdType,
    RowError,
)
from adapters.listings._parse import parse_export
from adapters.listings._write import write_export

__all__ = [
    "COLUMNS",
    "CONDITION_CODES",
    "PRODUCT_ID_TYPE_CODES",
    "TYPED_COLUMNS",
    "ExportRow",
    "ParsedExport",
    "ProductIdType",
    "RowError",
    "parse_export",
    "write_export",
]
