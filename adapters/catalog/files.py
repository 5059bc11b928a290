"""Catalog files: CSV or JSON Lines in, `CatalogRow`s and a report of the rows that could not be read out.

A seller's file is edited by hand and by spreadsheets, so reading it never raises on its content: every row that
cannot be taken is reported with its physical line (1-based; a CSV's header is line 1, and a record whose quoted
cell spans lines is reported at its first), its SKU when one was readable, and a reason naming the field and the
value. The good rows are still read, so the caller decides whether a file with errors is imported at all.

What a record may hold, and how each field is spelled, is `adapters.catalog.record`'s business; this module frames
records: decoding (UTF-8, with or without a byte-order mark), CSV headers and JSONL lines, and SKUs given twice.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Final, Literal

import msgspec

from adapters.catalog.record import COLUMNS, format_record, parse_record
from engine.catalog import CatalogRow, settings
from engine.marketplaces import by_code
from engine.model import OfferKey
from engine.pricing.bounds import BoundsError

__all__ = ["CatalogFile", "Format", "RowError", "check_row", "detect_format", "read_catalog", "write_catalog"]

Format = Literal["csv", "jsonl"]

_EXTENSIONS: Final[dict[str, Format]] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# A spreadsheet in a locale with a decimal comma writes CSV with semicolons; tabs come from "text" exports.
_DELIMITERS: Final = (",", ";", "\t")
_NOT_UTF8 = re.compile(r"[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8
_SAVE_AS_UTF8: Final = "save the file as UTF-8 (Excel: 'CSV UTF-8')"

# Floats decode as Decimal: 12.99 in a JSON line is exactly 12.99, never 12.9900000000000002131628.
_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder()


class RowError(msgspec.Struct, frozen=True, gc=False):
    """A record that was not read: its physical line, its SKU when readable, and why.

    A problem with the whole file (an unknown column, a file in UTF-16) has the line it was found on and no SKU.
    """

    line: int
    sku: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.sku is None else f"line {self.line} (SKU {self.sku!r})"
        return f"{where}: {self.reason}"


class CatalogFile(msgspec.Struct):
    """The rows a file gave, in file order, and the records it could not give, in file order."""

    rows: list[CatalogRow]
    errors: list[RowError]


def detect_format(path: str | os.PathLike[str]) -> Format | None:
    """The format a file name says (``.csv``, ``.jsonl``, ``.ndjson``; any case), or None for any other name."""
    return _EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower())


def read_catalog(
    data: bytes, *, format: Format, seller: str | None = None, marketplace: str | None = None
) -> CatalogFile:
    """Read a catalog file; ``seller`` and ``marketplace`` fill records that have none (no column, or empty).

    A file for one seller and marketplace need not repeat them on every line. The defaults are the caller's, not
    the file's: an empty seller or an unknown marketplace raises ValueError. Nothing in ``data`` raises.

    A CSV's header names its columns (any case, any order; `COLUMNS` are the known ones) and says its separator:
    commas, or the semicolons or tabs a spreadsheet in a decimal-comma locale writes. A SKU given twice for the
    same seller and marketplace keeps its first row; the repeat is an error naming the first's line.
    """
    if format not in ("csv", "jsonl"):
        raise ValueError(f"unknown catalog format {format!r}: csv or jsonl")
    if seller is not None:
        seller = seller.strip()
        if not seller:
            raise ValueError("the default seller is empty")
    if marketplace is not None:
        try:
            marketplace = by_code(marketplace.strip()).code
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return CatalogFile([], [RowError(1, None, f"the file is UTF-16: {_SAVE_AS_UTF8}")])
    data = data.removeprefix(codecs.BOM_UTF8)
    cells = format == "csv"
    records = _csv_records(data, seller, marketplace) if cells else _jsonl_records(data)
    rows: list[CatalogRow] = []
    errors: list[RowError] = []
    first_line: dict[OfferKey, int] = {}
    for record in records:
        if isinstance(record, RowError):
            errors.append(record)
            continue
        line, values = record
        parsed = parse_record(values, cells=cells, seller=seller, marketplace=marketplace)
        problems = parsed.problems
        if parsed.key is not None:
            first = first_line.setdefault(parsed.key, line)
            if first != line:
                key = parsed.key
                problems = [*problems, f"repeats line {first} (seller {key.seller!r}, {key.marketplace}, same SKU)"]
        if parsed.row is not None and not problems:
            rows.append(parsed.row)
        else:
            errors.append(RowError(line, parsed.sku, "; ".join(problems)))
    return CatalogFile(rows, errors)


def check_row(row: CatalogRow) -> str | None:
    """Why the engine could not price ``row`` (`engine.catalog.settings`'s message), or None when it can.

    Not a reading error: a row imported before its bounds are known is a valid catalog row, to be shown as a
    warning, not refused.
    """
    try:
        settings(row)
    except BoundsError as exc:
        return str(exc)
    return None


def write_catalog(rows: Iterable[CatalogRow], *, format: Format) -> bytes:
    """Rows as a catalog file that `read_catalog` reads back as the same rows.

    CSV has a header of every column in `COLUMNS` order and CRLF line ends (RFC 4180; it also makes the writer
    quote a cell with a bare carriage return). JSONL has one object per line, absent fields left out. Text is
    written as given; the reader drops surrounding whitespace and reads empty text as absent, so such values come
    back trimmed or absent. Raises ValueError, naming the SKU, for a row no file can hold (`format_record`).
    """
    if format == "jsonl":
        return b"".join(_encoder.encode(format_record(row)) + b"\n" for row in rows)
    if format != "csv":
        raise ValueError(f"unknown catalog format {format!r}: csv or jsonl")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        record = format_record(row)
        writer.writerow(_cell(record.get(name)) for name in COLUMNS)
    return buffer.getvalue().encode("utf-8")


# --- framing ------------------------------------------------------------------------------------------------------


def _csv_records(
    data: bytes, seller: str | None, marketplace: str | None
) -> Iterator[RowError | tuple[int, dict[str, str]]]:
    """The header, checked, then each non-blank record with its first line; a header problem ends the file."""
    # Bytes that are not UTF-8 become lone surrogates, so one bad cell costs its record, not the whole file.
    text = data.decode("utf-8", "surrogateescape")
    header_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    delimiter = max(_DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    names: list[str] | None = None
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(line, None, f"malformed CSV: {exc}")
            if names is None:
                return
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if names is None:
            names = [cell.strip().lower() for cell in cells]
            problem = _header_problem(names, seller, marketplace)
            if problem is not None:
                yield RowError(line, None, problem)
                return
            continue
        values = dict(zip(names, cells, strict=False))
        given = values.get("sku", "").strip()
        sku = None if not given or _NOT_UTF8.search(given) else given
        if len(cells) != len(names):
            count = f"{len(cells)} field" + ("" if len(cells) == 1 else "s")
            yield RowError(line, sku, f"has {count}; the header has {len(names)}")
            continue
        if _NOT_UTF8.search("".join(cells)):
            name, match = next((name, m) for name, cell in values.items() if (m := _NOT_UTF8.search(cell)))
            byte = ord(match.group()) - 0xDC00
            yield RowError(line, sku, f"{name} is not UTF-8 (byte 0x{byte:02x}): {_SAVE_AS_UTF8}")
            continue
        yield line, values


def _header_problem(names: list[str], seller: str | None, marketplace: str | None) -> str | None:
    # Reading on past an unknown column would drop what the seller put there (a misspelt min_price, say).
    if any(_NOT_UTF8.search(name) for name in names):
        return f"the header is not UTF-8: {_SAVE_AS_UTF8}"
    if "" in names:
        return f"column {names.index('') + 1} has no name; known columns: {', '.join(COLUMNS)}"
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        label = "unknown column" if len(unknown) == 1 else "unknown columns"
        return f"{label} {', '.join(map(repr, unknown))}; known columns: {', '.join(COLUMNS)}"
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return f"column {', '.join(map(repr, repeated))} given twice"
    for name, default in (("sku", None), ("seller", seller), ("marketplace", marketplace)):
        if name not in names and default is None:
            hint = "" if name == "sku" else f", and no default {name} was given"
            return f"no {name!r} column{hint}"
    return None


def _jsonl_records(data: bytes) -> Iterator[RowError | tuple[int, dict[str, object]]]:
    # JSON escapes every line break inside a string, so a record is exactly one line: split on LF and nothing else.
    for line, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield RowError(line, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")
            continue
        try:
            value = _decoder.decode(text)
        except (msgspec.DecodeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            yield RowError(line, None, f"not JSON: {reason}")
            continue
        if not isinstance(value, dict):
            yield RowError(line, None, "not a JSON object")
            continue
        yield line, value


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _encoder.encode(value).decode()
    return str(value)
