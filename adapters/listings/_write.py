"""Writing a listings export in Amazon's format: for tests' round trips and the benchmark's large files.

The header is Amazon's 29 columns in their order, then every other attribute name in the order first met. The
writer refuses what the format cannot carry (a tab or a line end inside a value, a negative number) and what the
parser would read back differently (an attribute named like a typed column, a channel that contradicts the
fulfilment), so a written file parses back to the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from adapters.listings._model import COLUMNS, CONDITION_CODES, PRODUCT_ID_TYPE_CODES, TYPED_COLUMNS, ExportRow
from engine.model import Fulfilment
from engine.money import format_minor

__all__ = ["write_export"]

_CONDITION_CODE: Final = {condition: code for code, condition in CONDITION_CODES.items()}
_PRODUCT_ID_TYPE_CODE: Final = {kind: code for code, kind in PRODUCT_ID_TYPE_CODES.items()}
_TYPED: Final = frozenset(TYPED_COLUMNS)  # the other standard columns are written from ``attributes``
_FORBIDDEN: Final = ("\t", "\n", "\r")


def write_export(
    rows: Iterable[ExportRow],
    *,
    currency: str,
    encoding: str = "utf-8",
    decimal_mark: str = ".",
    newline: str = "\n",
) -> bytes:
    """The export of ``rows`` as bytes in ``encoding`` ("utf-8-sig" writes a BOM, "cp1252" as NA/EU files come).

    Prices are written in ``currency`` with ``decimal_mark``; ``ExportRow.line`` is ignored. Raises `ValueError`
    for a row the format cannot carry, and `UnicodeEncodeError` for text ``encoding`` has no bytes for.
    """
    rows = list(rows)
    extra: dict[str, None] = {}
    for row in rows:
        for name, _ in row.attributes:
            if name not in COLUMNS:
                extra[name] = None
    header = (*COLUMNS, *extra)
    for name in extra:
        if name.strip().lower() in _TYPED:
            raise ValueError(f"attribute {name!r} would be read as the typed column {name.strip().lower()!r}")
        if any(mark in name for mark in _FORBIDDEN):
            raise ValueError(f"attribute name {name!r} holds a tab or a line end, which the format cannot carry")
    lines = ["\t".join(header)]
    lines.extend(_line(row, header, currency, decimal_mark) for row in rows)
    return (newline.join(lines) + newline).encode(encoding)


def _line(row: ExportRow, header: tuple[str, ...], currency: str, decimal_mark: str) -> str:
    if not row.sku.strip():
        raise ValueError(f"row {row.line}: a seller-sku of only blanks is read as none")
    cells = dict(row.attributes)
    if len(cells) != len(row.attributes) or not all(cells.values()):
        raise ValueError(f"SKU {row.sku!r}: attribute names must be unique and values non-empty")
    for name in cells:
        if name in _TYPED:
            raise ValueError(f"SKU {row.sku!r}: attribute {name!r} is a typed column")
    if (row.price is not None and row.price < 0) or (row.quantity is not None and row.quantity < 0):
        raise ValueError(f"SKU {row.sku!r}: negative price or quantity")
    channel = row.fulfilment_channel or ("DEFAULT" if row.fulfilment is Fulfilment.MERCHANT else "AMAZON")
    code = channel.strip().upper()
    if not (code.startswith("AMAZON") if row.fulfilment is Fulfilment.AMAZON else code == "DEFAULT"):
        raise ValueError(f"SKU {row.sku!r}: fulfillment-channel {channel!r} contradicts {row.fulfilment}")
    cells.update(
        {
            "item-name": row.item_name or "",
            "seller-sku": row.sku,
            "price": "" if row.price is None else format_minor(row.price, currency, decimal_mark=decimal_mark),
            "quantity": "" if row.quantity is None else str(row.quantity),
            "open-date": row.open_date or "",
            "product-id-type": "" if row.product_id_type is None else _PRODUCT_ID_TYPE_CODE[row.product_id_type],
            "item-condition": _CONDITION_CODE.get(row.condition, row.condition.value),
            "asin1": row.asin or "",
            "product-id": row.product_id or "",
            "fulfillment-channel": channel,
            "merchant-shipping-group": row.shipping_group or "",
            "status": row.status or "",
        }
    )
    line = "\t".join([cells.get(name, "") for name in header])
    if line.count("\t") != len(header) - 1 or "\n" in line or "\r" in line:
        raise ValueError(f"SKU {row.sku!r}: a value holds a tab or a line end, which the format cannot carry")
    return line
