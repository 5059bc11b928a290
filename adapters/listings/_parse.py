"""Reading a listings export: bytes in, typed rows and reported lines out, never an exception.

The file is split into physical lines on LF (a CR before it is dropped), each line into cells on TAB with
`str.split`: Amazon writes no quoting, so a ``"`` in a title is a character, which the csv module would take for
a quote. The header maps column names to positions once; each line then costs one split, a few dict lookups and
a `msgspec.Struct`, and a price cell already seen is not parsed again (a catalogue repeats its prices a lot).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Final

from adapters.listings._model import (
    CONDITION_CODES,
    PRODUCT_ID_TYPE_CODES,
    TYPED_COLUMNS,
    ExportRow,
    ParsedExport,
    ProductIdType,
    RowError,
)
from engine import money
from engine.model import Condition, Fulfilment
from engine.money import MoneyError, parse_minor

__all__ = ["parse_export"]

_BOM: Final = b"\xef\xbb\xbf"

# GET_FLAT_FILE_OPEN_LISTINGS_DATA names its columns ``sku`` and ``asin``; they count only where the long
# name is absent.
_ALIASES: Final = {"sku": "seller-sku", "asin": "asin1"}

# Textual conditions, compared lower-case with everything but letters and digits dropped: "New", "Used - Like
# New", "UsedLikeNew", "used_like_new" and our own `Condition` values all land here.
_CONDITION_WORDS: Final[dict[str, Condition]] = {
    **{c.value.replace("_", ""): c for c in Condition},
    "new": Condition.NEW,
    "newitem": Condition.NEW,
    "refurbished": Condition.REFURBISHED,
    "club": Condition.CLUB,
}

# Decimal's default context keeps 28 digits: a longer price would be rounded before it is checked, so it is
# refused as text instead. No listing price comes near this.
_MAX_PRICE_CHARS: Final = 20


class _BadRow(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_export(data: bytes, *, currency: str) -> ParsedExport:
    """Parse a listings export; prices are read in ``currency`` (the marketplace's, e.g. "EUR").

    Every problem in ``data`` is a `RowError`; an unknown ``currency`` is the caller's and raises `MoneyError`.
    """
    money.currency(currency)  # an unknown code raises here, naming the known ones
    encoding, lines, undecodable = _decode(data)
    if not lines or not lines[0].strip():
        return ParsedExport(
            (), (RowError(1, None, "no header row: the file is empty or starts with a blank line"),), (), encoding
        )
    columns = tuple(lines[0].split("\t"))
    if 0 in undecodable:
        return ParsedExport((), (RowError(1, None, f"header: {undecodable[0]}"),), columns, encoding)
    try:
        reader = _RowReader(columns, currency)
    except _BadRow as exc:
        return ParsedExport((), (RowError(1, None, exc.reason),), columns, encoding)

    rows: list[ExportRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    width = len(columns)
    for index in range(1, len(lines)):
        text = lines[index]
        if not text:
            continue  # a blank line carries nothing (the file's final newline leaves one)
        line = index + 1
        cells = text.split("\t")
        if len(cells) != width:
            errors.append(RowError(line, None, f"{len(cells)} cells where the header has {width} columns"))
            continue
        sku = cells[reader.sku]
        if not sku.strip():
            errors.append(RowError(line, None, "no seller-sku"))
            continue
        first = first_line.setdefault(sku, line)
        if first != line:
            errors.append(RowError(line, sku, f"seller-sku {sku!r} repeated: first on line {first}"))
            continue
        if index in undecodable:
            errors.append(RowError(line, sku, undecodable[index]))
            continue
        try:
            rows.append(reader.read(line, sku, cells))
        except _BadRow as exc:
            errors.append(RowError(line, sku, exc.reason))
    return ParsedExport(tuple(rows), tuple(errors), columns, encoding)


def _decode(data: bytes) -> tuple[str, list[str], dict[int, str]]:
    """The encoding's name, the lines without their line ends, and the lines (by index) whose bytes fit it not.

    Strict UTF-8 first: cp1252 decodes almost any bytes, so trying it first would turn every UTF-8 umlaut into
    mojibake. A UTF-8 BOM settles the encoding. Bytes that fit neither lose only their own lines.
    """
    bom = data.startswith(_BOM)
    body = data[len(_BOM) :] if bom else data
    codec = "utf-8" if bom else "cp1252"
    name = "utf-8-sig" if bom else "cp1252"
    try:
        return ("utf-8-sig" if bom else "utf-8"), _lines(body.decode("utf-8")), {}
    except UnicodeDecodeError:
        if not bom:
            try:
                return name, _lines(body.decode(codec)), {}
            except UnicodeDecodeError:
                pass
    lines: list[str] = []
    undecodable: dict[int, str] = {}
    for index, raw in enumerate(body.split(b"\n")):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            text = raw.decode(codec, "replace")
            undecodable[index] = f"byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line is not {name}"
        lines.append(text.removesuffix("\r"))
    return name, lines, undecodable


def _lines(text: str) -> list[str]:
    # Only LF ends a line: `str.splitlines` would also split on characters a title may hold (U+2028, \x1c…).
    return text.replace("\r\n", "\n").split("\n")


class _RowReader:
    """Column positions found once from the header, and the reading of one line's cells into an `ExportRow`."""

    def __init__(self, columns: tuple[str, ...], code: str) -> None:
        self._currency = code
        self._prices: dict[str, int | None] = {}
        found: dict[str, int] = {}
        attributes: list[tuple[int, str]] = []
        for position, name in enumerate(columns):
            key = name.strip().lower()
            if key in TYPED_COLUMNS:
                if key in found:
                    raise _BadRow(f"header: column {key!r} appears twice (columns {found[key] + 1} and {position + 1})")
                found[key] = position
            else:
                attributes.append((position, name))
        for alias, key in _ALIASES.items():
            aliased = [(p, n) for p, n in attributes if n.strip().lower() == alias]
            if key not in found and len(aliased) == 1:
                found[key] = aliased[0][0]
                attributes.remove(aliased[0])
        if "seller-sku" not in found:
            raise _BadRow("header has no seller-sku column: not a listings export, or its header line is missing")
        self._present = frozenset(found)
        # An absent column reads from one past the end, where `read` puts an empty cell. One itemgetter fetches
        # all the typed cells of a line, another the attributes: this is the per-line cost of a 100,000-row file.
        absent = len(columns)
        self.sku = found["seller-sku"]
        self._typed = _getter([found.get(name, absent) for name in TYPED_COLUMNS[1:]])
        self._attribute_names = tuple(name for _, name in attributes)
        self._attribute_cells = _getter([position for position, _ in attributes])

    def read(self, line: int, sku: str, cells: list[str]) -> ExportRow:
        """The row of a line with the header's number of cells; `_BadRow` says why there is none."""
        cells.append("")
        (
            asin,
            product_id,
            product_id_type,
            price,
            quantity,
            condition,
            channel,
            status,
            item_name,
            open_date,
            shipping_group,
        ) = self._typed(cells)
        return ExportRow(
            line=line,
            sku=sku,
            asin=asin or None,
            product_id=product_id or None,
            product_id_type=_product_id_type(product_id_type),
            price=self._read_price(price),
            quantity=_quantity(quantity),
            condition=self._read_condition(condition),
            fulfilment=self._read_fulfilment(channel),
            fulfilment_channel=channel or None,
            status=status or None,
            item_name=item_name or None,
            open_date=open_date or None,
            shipping_group=shipping_group or None,
            # zip and filter stay in C: most of the ~20 other cells are empty legacy columns.
            attributes=tuple(filter(_value, zip(self._attribute_names, self._attribute_cells(cells), strict=True))),
        )

    def _read_price(self, cell: str) -> int | None:
        try:
            return self._prices[cell]
        except KeyError:
            price = self._prices[cell] = _price(cell, self._currency)
            return price

    def _read_condition(self, cell: str) -> Condition:
        code = cell.strip()
        if not code:
            if "item-condition" in self._present:
                raise _BadRow("empty item-condition")
            # The open listings report has no such column: New, as `OfferSettings` assumes too.
            return Condition.NEW
        condition = CONDITION_CODES.get(code) or _CONDITION_WORDS.get("".join(c for c in code.lower() if c.isalnum()))
        if condition is None:
            raise _BadRow(f"unknown item-condition {cell!r}")
        return condition

    def _read_fulfilment(self, cell: str) -> Fulfilment:
        code = cell.strip().upper()
        if code == "DEFAULT":
            return Fulfilment.MERCHANT
        if code.startswith("AMAZON"):
            return Fulfilment.AMAZON
        if not code and "fulfillment-channel" not in self._present:
            # The open listings report has no such column; the caller must know which of its offers are FBA.
            return Fulfilment.MERCHANT
        # Guessing "merchant" here would have the engine send a quantity for an FBA offer, which turns it into a
        # merchant-fulfilled one: the row is reported instead.
        raise _BadRow(f"unknown fulfillment-channel {cell!r}" if code else "empty fulfillment-channel")


def _getter(positions: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """The cells at ``positions`` as a tuple (`operator.itemgetter` returns a bare value for one position)."""
    if len(positions) == 1:
        (position,) = positions
        return lambda cells: (cells[position],)
    if not positions:
        return lambda cells: ()
    return itemgetter(*positions)


_value = itemgetter(1)


def _price(cell: str, code: str) -> int | None:
    """Minor units, or None for an empty cell. A decimal point or a decimal comma; grouping only as "1.299,00"."""
    text = cell.strip()
    if not text:
        return None
    points, commas = text.count("."), text.count(",")
    # Amazon's files hold plain ASCII amounts with at most one of each mark: anything else (parse_minor would take
    # "1 234,56" as grouped) is not from such a file, so it is refused here.
    if not text.isascii() or " " in text or "'" in text or len(text) > _MAX_PRICE_CHARS or points > 1 or commas > 1:
        raise _BadRow(f"not a price: {cell!r}")
    if points and commas:
        # parse_minor takes the later mark for the decimal one; the earlier must then group exactly three digits.
        group, decimal = sorted((text.index("."), text.index(",")))
        if group == 0 or decimal - group != 4:
            raise _BadRow(f"not a price: {cell!r}")
    try:
        minor = parse_minor(text, code)
    except MoneyError as exc:
        raise _BadRow(str(exc)) from None
    if minor < 0:
        raise _BadRow(f"negative price {cell!r}")
    return minor


def _quantity(cell: str) -> int | None:
    text = cell.strip()
    if not text:
        return None
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        raise _BadRow(f"not a quantity: {cell!r}")
    quantity = int(text)
    if quantity < 0:
        raise _BadRow(f"negative quantity {cell!r}")
    return quantity


def _product_id_type(cell: str) -> ProductIdType | None:
    code = cell.strip()
    if not code:
        return None
    kind = PRODUCT_ID_TYPE_CODES.get(code)
    if kind is None:
        try:
            kind = ProductIdType(code.upper())
        except ValueError:
            raise _BadRow(f"unknown product-id-type {cell!r}") from None
    return kind
