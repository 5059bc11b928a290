"""Amazon's listings export reads into typed rows, reports every bad line by number, and never raises on bytes."""

from __future__ import annotations

import time

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.listings import (
    COLUMNS,
    TYPED_COLUMNS,
    ExportRow,
    ParsedExport,
    ProductIdType,
    RowError,
    parse_export,
    write_export,
)
from engine.model import Condition, Fulfilment
from engine.money import MoneyError

B2B = ("Business Price", "Quantity Price Type", "Quantity Lower Bound 1", "Quantity Price 1")


def _line(**cells: str) -> str:
    """One line in GET_MERCHANT_LISTINGS_ALL_DATA's column order; ``cells`` by column name with "_" for "-"."""
    named = {name.replace("_", "-"): value for name, value in cells.items()}
    return "\t".join(named.get(name, "") for name in COLUMNS)


HEADER = "\t".join(COLUMNS)


def _errors(parsed: ParsedExport) -> list[tuple[int, str | None]]:
    return [(error.line, error.sku) for error in parsed.errors]


# --- realistic files ------------------------------------------------------------------------------------------


def test_reads_a_utf8_export_with_bom_and_crlf() -> None:
    lines = [
        HEADER,
        _line(
            item_name='Kaffeebecher "Classic" 12oz',
            listing_id="0301AB12345",
            seller_sku="MUG-1",
            price="12.99",
            quantity="7",
            open_date="2024-03-01 10:15:00 MET",
            product_id_type="1",
            item_condition="11",
            asin1="B000MUG001",
            product_id="B000MUG001",
            pending_quantity="1",
            fulfillment_channel="DEFAULT",
            merchant_shipping_group="Standardvorlage",
            status="Active",
        ),
        _line(
            item_name="Teekanne",
            seller_sku="POT-1",
            price="24.50",
            product_id_type="4",
            item_condition="3",
            asin1="B000POT001",
            product_id="4006381333931",
            fulfillment_channel="AMAZON_EU",
            status="Active",
        ),
    ]
    data = b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode()

    parsed = parse_export(data, currency="EUR")

    assert parsed.errors == ()
    assert parsed.encoding == "utf-8-sig"
    assert parsed.columns == COLUMNS
    mug, pot = parsed.rows
    assert mug == ExportRow(
        line=2,
        sku="MUG-1",
        asin="B000MUG001",
        product_id="B000MUG001",
        product_id_type=ProductIdType.ASIN,
        price=1299,
        quantity=7,
        condition=Condition.NEW,
        fulfilment=Fulfilment.MERCHANT,
        fulfilment_channel="DEFAULT",
        status="Active",
        item_name='Kaffeebecher "Classic" 12oz',
        open_date="2024-03-01 10:15:00 MET",
        shipping_group="Standardvorlage",
        attributes=(("listing-id", "0301AB12345"), ("pending-quantity", "1")),
    )
    # Amazon leaves the quantity of an FBA row empty: it counts that stock itself.
    assert (pot.line, pot.quantity, pot.fulfilment, pot.condition) == (3, None, Fulfilment.AMAZON, Condition.USED_GOOD)
    assert (pot.product_id, pot.product_id_type) == ("4006381333931", ProductIdType.EAN)


def test_reads_a_cp1252_german_export_with_decimal_commas() -> None:
    lines = [
        HEADER,
        _line(
            item_name="Größe M – Jacke für Männer",
            seller_sku="JACKE-M",
            price="49,90",
            quantity="3",
            item_condition="11",
            fulfillment_channel="DEFAULT",
        ),
        _line(
            item_name="Übergröße",
            seller_sku="JACKE-XXL",
            price="1.299,00",
            quantity="0",
            item_condition="1",
            fulfillment_channel="DEFAULT",
        ),
    ]
    data = "\n".join(lines).encode("cp1252")

    parsed = parse_export(data, currency="EUR")

    assert parsed.errors == ()
    assert parsed.encoding == "cp1252"
    assert [(r.item_name, r.price, r.quantity, r.condition) for r in parsed.rows] == [
        ("Größe M – Jacke für Männer", 4990, 3, Condition.NEW),
        ("Übergröße", 129900, 0, Condition.USED_LIKE_NEW),
    ]


def test_keeps_b2b_and_unknown_columns_as_attributes_in_file_order() -> None:
    header = "\t".join((*COLUMNS[:-2], *B2B, "merchant-shipping-group", "status"))
    line = "\t".join(
        {
            "seller-sku": "B2B-1",
            "price": "10.00",
            "item-condition": "11",
            "fulfillment-channel": "DEFAULT",
            "Business Price": "9.50",
            "Quantity Price Type": "percent",
            "Quantity Lower Bound 1": "10",
            "Quantity Price 1": "5",
        }.get(name, "")
        for name in header.split("\t")
    )

    parsed = parse_export(f"{header}\n{line}\n".encode(), currency="EUR")

    (row,) = parsed.rows
    assert row.attributes == (
        ("Business Price", "9.50"),
        ("Quantity Price Type", "percent"),
        ("Quantity Lower Bound 1", "10"),
        ("Quantity Price 1", "5"),
    )
    assert row.price == 1000


def test_reads_the_variants_without_status_or_shipping_group_and_the_open_listings_report() -> None:
    # GET_MERCHANT_LISTINGS_DATA has no status; older files have no merchant-shipping-group either.
    older = [name for name in COLUMNS if name not in ("status", "merchant-shipping-group")]
    cells = {"seller-sku": "OLD-1", "price": "5.00", "quantity": "2", "item-condition": "11"}
    cells["fulfillment-channel"] = "AMAZON_NA"
    line = "\t".join(cells.get(name, "") for name in older)
    (row,) = parse_export(("\t".join(older) + "\n" + line).encode(), currency="USD").rows
    assert (row.status, row.shipping_group, row.fulfilment) == (None, None, Fulfilment.AMAZON)

    # GET_FLAT_FILE_OPEN_LISTINGS_DATA: short names, no condition or channel column.
    open_listings = "sku\tasin\tprice\tquantity\tBusiness Price\nSHORT-1\tB000SHORT1\t7.25\t4\t7.00\n"
    parsed = parse_export(open_listings.encode(), currency="USD")
    b2b = (("Business Price", "7.00"),)
    assert parsed.rows == (ExportRow(line=2, sku="SHORT-1", asin="B000SHORT1", price=725, quantity=4, attributes=b2b),)


@pytest.mark.parametrize(
    ("cell", "condition"),
    [
        ("11", Condition.NEW),
        ("New", Condition.NEW),
        ("Used - Like New", Condition.USED_LIKE_NEW),
        ("UsedVeryGood", Condition.USED_VERY_GOOD),
        ("Collectible - Acceptable", Condition.COLLECTIBLE_ACCEPTABLE),
        ("10", Condition.REFURBISHED),
        ("refurbished", Condition.REFURBISHED),
        ("new_open_box", Condition.NEW_OPEN_BOX),
    ],
)
def test_reads_numeric_and_textual_conditions(cell: str, condition: Condition) -> None:
    data = f"seller-sku\titem-condition\nA\t{cell}\n".encode()
    assert parse_export(data, currency="EUR").rows[0].condition is condition


def test_a_title_with_quotes_is_text_not_csv_quoting() -> None:
    data = b'seller-sku\titem-name\tprice\nQ-1\t"12" Vinyl\t3.00\nQ-2\t"unbalanced\t4.00\n'
    parsed = parse_export(data, currency="GBP")
    assert [(row.item_name, row.price) for row in parsed.rows] == [('"12" Vinyl', 300), ('"unbalanced', 400)]


@pytest.mark.parametrize(
    ("cell", "minor"),
    [
        ("12.99", 1299),
        ("12,99", 1299),
        ("12,9", 1290),
        ("12", 1200),
        ("0", 0),
        ("1.299,00", 129900),
        ("1,299.00", 129900),
    ],
)
def test_reads_a_decimal_point_or_a_decimal_comma(cell: str, minor: int) -> None:
    assert parse_export(f"seller-sku\tprice\nA\t{cell}\n".encode(), currency="EUR").rows[0].price == minor


@pytest.mark.parametrize(
    "cell",
    [
        "1,299",
        "12.999",
        "1.2.3",
        "1,2.00",
        ".299,00",
        "1 2.99",
        "1'299.00",
        "\u0661\u0662",
        "12.99 EUR",
        "1e3",
        "9" * 25,
    ],
)
def test_refuses_a_price_it_would_have_to_guess(cell: str) -> None:
    parsed = parse_export(f"seller-sku\tprice\nA\t{cell}\n".encode(), currency="EUR")
    assert (parsed.rows, _errors(parsed)) == ((), [(2, "A")])


# --- bad rows -----------------------------------------------------------------------------------------------------


def test_reports_each_bad_row_with_its_line_and_sku_and_keeps_the_good_ones() -> None:
    rows = [
        ("GOOD-1", "12.99", "5", "11", "DEFAULT"),  # line 2
        ("", "12.99", "5", "11", "DEFAULT"),  # line 3: no SKU
        ("BAD-PRICE", "12.99 EUR", "5", "11", "DEFAULT"),
        ("AMBIGUOUS", "1,299", "5", "11", "DEFAULT"),
        ("BAD-QTY", "12.99", "five", "11", "DEFAULT"),
        ("NEG-QTY", "12.99", "-2", "11", "DEFAULT"),
        ("BAD-COND", "12.99", "5", "9", "DEFAULT"),
        ("GOOD-1", "13.99", "5", "11", "DEFAULT"),  # line 9: repeats line 2
        ("BAD-CHANNEL", "12.99", "5", "11", "SOMEONE_ELSE"),
        ("NEG-PRICE", "-1.00", "5", "11", "DEFAULT"),
        ("GOOD-2", "12.99", "", "11", "AMAZON_FE"),  # line 12
    ]
    header = "seller-sku\tprice\tquantity\titem-condition\tfulfillment-channel"
    text = "\n".join([header, *("\t".join(row) for row in rows), "SHORT\t1.00"])

    parsed = parse_export(text.encode(), currency="EUR")

    assert [(row.line, row.sku) for row in parsed.rows] == [(2, "GOOD-1"), (12, "GOOD-2")]
    assert _errors(parsed) == [
        (3, None),
        (4, "BAD-PRICE"),
        (5, "AMBIGUOUS"),
        (6, "BAD-QTY"),
        (7, "NEG-QTY"),
        (8, "BAD-COND"),
        (9, "GOOD-1"),
        (10, "BAD-CHANNEL"),
        (11, "NEG-PRICE"),
        (13, None),
    ]
    reasons = {error.line: error.reason for error in parsed.errors}
    assert "ambiguous" in reasons[5]
    assert "negative quantity" in reasons[7]
    assert "unknown item-condition '9'" in reasons[8]
    assert reasons[9] == "seller-sku 'GOOD-1' repeated: first on line 2"
    assert "2 cells where the header has 5" in reasons[13]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no header row"),
        (b"\r\nseller-sku\nA\n", "no header row"),
        (b"item-name\tprice\nMug\t1.00\n", "no seller-sku column"),
        (b"A-1\t12.99\t5\n", "no seller-sku column"),
        (b"seller-sku\tprice\tPrice\nA\t1\t2\n", "'price' appears twice"),
    ],
)
def test_a_file_without_a_usable_header_is_one_error(data: bytes, reason: str) -> None:
    parsed = parse_export(data, currency="EUR")
    assert parsed.rows == ()
    ((line, sku, message),) = [(error.line, error.sku, error.reason) for error in parsed.errors]
    assert (line, sku) == (1, None)
    assert reason in message


def test_a_line_of_bytes_in_no_encoding_costs_only_that_line() -> None:
    # A BOM says UTF-8: a stray cp1252 byte then spoils its own line only.
    data = b"\xef\xbb\xbfseller-sku\titem-name\nA\tGr\xf6\xdfe\nB\tGr\xc3\xb6\xc3\x9fe\n"
    parsed = parse_export(data, currency="EUR")
    assert [(row.sku, row.item_name) for row in parsed.rows] == [("B", "Größe")]
    assert _errors(parsed) == [(2, "A")]
    # 0x81 is no character in cp1252 either.
    parsed = parse_export(b"seller-sku\titem-name\nA\t\x81\nB\tGr\xf6\xdfe\n", currency="EUR")
    assert ([row.item_name for row in parsed.rows], _errors(parsed)) == (["Größe"], [(2, "A")])


def test_an_unknown_currency_is_the_callers_mistake() -> None:
    with pytest.raises(MoneyError):
        parse_export(b"seller-sku\nA\n", currency="XXX")


def test_a_large_export_parses_in_linear_time() -> None:
    rows = [_sample_row(i) for i in range(20_000)]
    data = write_export(rows, currency="EUR", encoding="cp1252", decimal_mark=",")
    started = time.perf_counter()
    parsed = parse_export(data, currency="EUR")
    elapsed = time.perf_counter() - started
    assert (len(parsed.rows), parsed.errors) == (20_000, ())
    # About 0.3 s here; the bound catches a quadratic step, not a slow machine.
    assert elapsed < 10


def _sample_row(i: int) -> ExportRow:
    fba = i % 3 == 0
    return ExportRow(
        line=0,
        sku=f"SKU-{i:06d}",
        asin=f"B0{i:08d}",
        price=500 + i % 10_000,
        quantity=None if fba else i % 50,
        fulfilment=Fulfilment.AMAZON if fba else Fulfilment.MERCHANT,
        fulfilment_channel="AMAZON_EU" if fba else "DEFAULT",
        item_name=f"Größe {i}",
        attributes=(("listing-id", f"0301A{i:06d}"), ("Business Price", "9,99")),
    )


# --- properties ---------------------------------------------------------------------------------------------------

_TYPED = set(TYPED_COLUMNS)
_ANY_TEXT = st.characters(blacklist_characters="\t\r\n", blacklist_categories=("Cs",))
# cp1252 letters that no UTF-8 sequence starts or continues with in this mix: the file cannot pass for UTF-8.
_CP1252_TEXT = st.sampled_from("abcXYZ 09-_.,'\"/äöüßÄÖÜéè")


def _rows(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[list[ExportRow]]:
    text = st.text(alphabet, min_size=1, max_size=12)
    optional = st.none() | text
    names = st.sampled_from([*B2B, "listing-id", "pending-quantity", "zshop-category1"]) | text.filter(
        lambda name: name.strip().lower() not in _TYPED
    )
    channel = st.sampled_from(
        [(Fulfilment.MERCHANT, "DEFAULT")] + [(Fulfilment.AMAZON, f"AMAZON_{r}") for r in ("EU", "NA", "FE", "IN")]
    )
    row = st.builds(
        lambda sku, fulfilment, attributes, **fields: ExportRow(
            line=0, sku=sku, fulfilment=fulfilment[0], fulfilment_channel=fulfilment[1], attributes=attributes, **fields
        ),
        sku=text.filter(str.strip),
        fulfilment=channel,
        attributes=st.lists(st.tuples(names, text), max_size=4, unique_by=lambda pair: pair[0]).map(tuple),
        asin=optional,
        product_id=optional,
        product_id_type=st.none() | st.sampled_from(ProductIdType),
        price=st.none() | st.integers(0, 10**11),
        quantity=st.none() | st.integers(0, 10**9 - 1),
        condition=st.sampled_from(Condition),
        status=optional,
        item_name=optional,
        open_date=optional,
        shipping_group=optional,
    )
    return st.lists(row, max_size=6, unique_by=lambda row: row.sku)


def _by_name(row: ExportRow) -> ExportRow:
    """The row with its attributes in name order: a written file puts them in its own column order."""
    return msgspec.structs.replace(row, line=0, attributes=tuple(sorted(row.attributes)))


@settings(max_examples=60)
@given(
    rows=_rows(_ANY_TEXT),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
    decimal_mark=st.sampled_from([".", ","]),
    newline=st.sampled_from(["\n", "\r\n"]),
    currency=st.sampled_from(["EUR", "GBP", "USD"]),
)
def test_any_row_round_trips(
    rows: list[ExportRow], encoding: str, decimal_mark: str, newline: str, currency: str
) -> None:
    data = write_export(rows, currency=currency, encoding=encoding, decimal_mark=decimal_mark, newline=newline)
    parsed = parse_export(data, currency=currency)
    assert parsed.errors == ()
    assert [row.line for row in parsed.rows] == list(range(2, len(rows) + 2))
    assert [_by_name(row) for row in parsed.rows] == [_by_name(row) for row in rows]
    # Once written, a file reads back exactly, attribute order included.
    assert parse_export(write_export(parsed.rows, currency=currency), currency=currency).rows == parsed.rows


@settings(max_examples=30)
@given(rows=_rows(_CP1252_TEXT))
def test_any_row_round_trips_through_cp1252(rows: list[ExportRow]) -> None:
    parsed = parse_export(write_export(rows, currency="EUR", encoding="cp1252"), currency="EUR")
    assert parsed.errors == ()
    assert [_by_name(row) for row in parsed.rows] == [_by_name(row) for row in rows]


def _assert_every_line_accounted_for(data: bytes, parsed: ParsedExport) -> None:
    """Each non-blank line after the header is a row or an error, once; or the header is the one error."""
    if parsed.errors and parsed.errors[0].line == 1:
        assert parsed.rows == ()
        assert len(parsed.errors) == 1
        return
    body = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    lines = {number for number, raw in enumerate(body, start=1) if number > 1 and raw.removesuffix(b"\r")}
    reported = [row.line for row in parsed.rows] + [error.line for error in parsed.errors]
    assert sorted(reported) == sorted(lines)
    skus = [row.sku for row in parsed.rows]
    assert len(skus) == len(set(skus))
    for row in parsed.rows:
        assert row.price is None or row.price >= 0
        assert row.quantity is None or row.quantity >= 0
    for error in parsed.errors:
        assert isinstance(error, RowError)
        assert error.reason


@settings(max_examples=100)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _assert_every_line_accounted_for(data, parse_export(data, currency="EUR"))


_SMALL_HEADER = "seller-sku\tprice\tquantity\titem-condition\tfulfillment-channel\tproduct-id-type\tBusiness Price"
_CELLS = st.sampled_from(
    [
        "A",
        "B",
        "",
        " ",
        "12.99",
        "12,99",
        "1,299",
        "1.299,00",
        "-1",
        "0",
        "5",
        "x",
        "11",
        "9",
        "New",
        "DEFAULT",
        "AMAZON_EU",
        "1",
        "4",
        "\u00e4",
        "\ufeff",
        '"',
        "\r",
    ]
) | st.text(max_size=4)


@settings(max_examples=100)
@given(
    header=st.sampled_from([_SMALL_HEADER, HEADER]),
    lines=st.lists(st.lists(_CELLS, min_size=5, max_size=8).map("\t".join), max_size=8),
    tail=st.binary(max_size=40),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
)
def test_any_lines_after_a_header_are_each_a_row_or_a_reported_error(
    header: str, lines: list[str], tail: bytes, encoding: str
) -> None:
    data = "\n".join([header, *lines]).encode(encoding, "replace") + b"\n" + tail
    _assert_every_line_accounted_for(data, parse_export(data, currency="EUR"))
