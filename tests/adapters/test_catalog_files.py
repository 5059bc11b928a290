"""The seller's catalog file: what a seller's CSV or JSONL reads as, every bad record reported at its line, and
whatever the engine keeps written back so that it reads as the same rows."""

from __future__ import annotations

import codecs
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.catalog import COLUMNS, CatalogFile, Format, check_row, detect_format, read_catalog, write_catalog
from engine.catalog import CatalogRow
from engine.marketplaces import MARKETPLACES
from engine.model import Condition, Fees, Fulfilment, MarginLevel, OfferKey

_encoder = msgspec.json.Encoder()

SELLER_CSV = """\
seller,marketplace,sku,asin,title,condition,fulfilment,cost,variable_fee,fixed_fee,fulfilment_fee_amazon,\
min_margin,max_margin,min_price,max_price,stock,lead_time_days,repricing,attributes
acme,DE,MUG-01,B00MUG0001,"Kaffeebecher ""Classic"", 300 ml",new_new,merchant,4.20,0.15,0.99,,0.10,0.30,,,25,2,yes,\
"{""color"": ""red""}"
acme,DE,MUG-02-FBA,B00MUG0002,Kaffeebecher XL,new_new,amazon,5.10,0.15,,3.05,0.08,0.25,,,,,true,
acme,DE,BOOK-7,3161484100,"Der Process
(gebraucht)",used_very_good,,,,,,,,7.00,19.99,1,3,0,
"""


def _read(text: str, **defaults: str) -> CatalogFile:
    return read_catalog(text.encode(), format="csv", **defaults)


def _read_jsonl(*lines: str, **defaults: str) -> CatalogFile:
    return read_catalog("\n".join(lines).encode(), format="jsonl", **defaults)


def _reasons(catalog: CatalogFile) -> list[tuple[int, str | None, str]]:
    return [(error.line, error.sku, error.reason) for error in catalog.errors]


# --- a seller's files -------------------------------------------------------------------------------------------


def test_reads_a_sellers_csv() -> None:
    catalog = _read(SELLER_CSV)

    assert catalog.errors == []
    mug, fba, book = catalog.rows
    assert mug == CatalogRow(
        key=OfferKey("acme", "DE", "MUG-01"),
        asin="B00MUG0001",
        title='Kaffeebecher "Classic", 300 ml',
        cost=420,
        fees=Fees(variable_fee=Decimal("0.15"), fixed_fee=99),
        margins=MarginLevel(Decimal("0.10"), Decimal("0.30")),
        stock=25,
        lead_time_days=2,
        attributes=(("color", "red"),),
    )
    assert fba.fulfilment is Fulfilment.AMAZON
    assert fba.fees == Fees(variable_fee=Decimal("0.15"), fulfilment_fee_amazon=305)
    assert book.title == "Der Process\n(gebraucht)"
    assert book.condition is Condition.USED_VERY_GOOD
    assert (book.fees, book.margins, book.min_price, book.max_price) == (None, None, 700, 1999)
    assert book.repricing is False


def test_every_row_of_the_sample_can_be_priced() -> None:
    assert [check_row(row) for row in _read(SELLER_CSV).rows] == [None, None, None]


def test_reads_a_sellers_jsonl_with_money_as_text_or_number() -> None:
    catalog = _read_jsonl(
        '{"seller": "acme", "marketplace": "US", "sku": "LAMP-1", "asin": "B0LAMP0001", "min_price": "19.99",'
        ' "max_price": 34.5, "stock": 3, "repricing": false, "attributes": {"bulb": "E27"}}',
        "",
        '{"seller": "acme", "marketplace": "GB", "sku": "LAMP-1", "cost": 12, "vat_rate": 0.05,'
        ' "min_margin": "0.1", "max_margin": 0.25, "condition": null, "price": "22.00"}',
    )

    assert catalog.errors == []
    us, gb = catalog.rows
    assert (us.min_price, us.max_price, us.stock, us.repricing) == (1999, 3450, 3, False)
    assert us.attributes == (("bulb", "E27"),)
    assert gb.key == OfferKey("acme", "GB", "LAMP-1")
    assert (gb.cost, gb.vat_rate, gb.price, gb.condition) == (1200, Decimal("0.05"), 2200, Condition.NEW)
    assert gb.margins == MarginLevel(Decimal("0.1"), Decimal("0.25"))


def test_a_file_for_one_seller_and_marketplace_need_not_repeat_them() -> None:
    catalog = _read("sku,min_price,max_price\nA,1.00,2.00\nB,3.00,4.00\n", seller="acme", marketplace="fr")

    assert [row.key for row in catalog.rows] == [OfferKey("acme", "FR", "A"), OfferKey("acme", "FR", "B")]


def test_a_column_value_wins_over_the_default_and_an_empty_cell_takes_it() -> None:
    catalog = _read("seller,sku\nbeta,A\n,B\n", seller="acme", marketplace="DE")

    assert [row.key.seller for row in catalog.rows] == ["beta", "acme"]


def test_reads_a_csv_saved_by_a_german_spreadsheet() -> None:
    """Excel in a decimal-comma locale: a byte-order mark, semicolons, decimal commas, CRLF, header in capitals."""
    data = codecs.BOM_UTF8 + "SKU;Marketplace;Cost;Variable_Fee;Title\r\nA;DE;1.299,50;0,15;Größe M\r\n".encode()

    catalog = read_catalog(data, format="csv", seller="acme")

    assert catalog.errors == []
    (row,) = catalog.rows
    assert (row.cost, row.fees, row.title) == (129950, Fees(variable_fee=Decimal("0.15")), "Größe M")


def test_jsonl_with_a_byte_order_mark_and_crlf_reads() -> None:
    data = codecs.BOM_UTF8 + b'{"sku": "A"}\r\n{"sku": "B"}\r\n'

    catalog = read_catalog(data, format="jsonl", seller="acme", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["A", "B"]


def test_surrounding_whitespace_is_dropped_and_empty_text_is_absent() -> None:
    catalog = _read_jsonl('{"sku": " A ", "title": "", "asin": "  "}', seller="acme", marketplace="DE")

    (row,) = catalog.rows
    assert (row.key.sku, row.title, row.asin) == ("A", None, None)


def test_fees_exist_only_when_a_fee_is_given() -> None:
    catalog = _read("sku,cost,fixed_fee\nA,1.00,\nB,1.00,0\n", seller="s", marketplace="DE")

    assert [row.fees for row in catalog.rows] == [None, Fees()]


def test_marketplaces_use_their_own_currency() -> None:
    catalog = _read("marketplace,sku,cost\nSE,A,129.90\nPL,B,49.99\n", seller="s")

    assert [row.cost for row in catalog.rows] == [12990, 4999]


def test_detects_the_format_from_the_file_name() -> None:
    assert detect_format("catalog.csv") == "csv"
    assert detect_format("/tmp/Export.CSV") == "csv"
    assert detect_format("catalog.jsonl") == "jsonl"
    assert detect_format("catalog.ndjson") == "jsonl"
    assert detect_format("catalog.json") is None
    assert detect_format("catalog") is None


# --- writing ------------------------------------------------------------------------------------------------------


def test_written_csv_has_every_column_in_a_stable_order() -> None:
    written = write_catalog(_read(SELLER_CSV).rows, format="csv").decode()

    header, first, *_ = written.split("\r\n")
    assert tuple(header.split(",")) == COLUMNS
    assert first.startswith(
        'acme,DE,MUG-01,B00MUG0001,,,"Kaffeebecher ""Classic"", 300 ml",new_new,merchant,4.20,0.15,'
    )


def test_written_jsonl_leaves_out_absent_fields_and_writes_money_as_text() -> None:
    row = CatalogRow(key=OfferKey("acme", "US", "A"), min_price=1999, max_price=2500, stock=0)

    assert write_catalog([row], format="jsonl") == (
        b'{"seller":"acme","marketplace":"US","sku":"A","condition":"new_new","fulfilment":"merchant",'
        b'"min_price":"19.99","max_price":"25.00","stock":0,"repricing":true}\n'
    )


def test_the_sample_reads_back_the_same_in_both_formats() -> None:
    rows = _read(SELLER_CSV).rows

    for format in ("csv", "jsonl"):
        assert read_catalog(write_catalog(rows, format=format), format=format) == CatalogFile(rows, [])


def test_a_row_no_file_can_hold_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'A'.*unknown marketplace 'XX'"):
        write_catalog([CatalogRow(key=OfferKey("s", "XX", "A"))], format="csv")
    with pytest.raises(ValueError, match=r"'B'.*attribute name is given twice"):
        write_catalog([CatalogRow(key=OfferKey("s", "DE", "B"), attributes=(("a", "1"), ("a", "2")))], format="jsonl")


# --- every bad record is reported at its line ---------------------------------------------------------------------


def test_an_unknown_column_is_one_error_for_the_file_and_lists_the_known_ones() -> None:
    catalog = _read("seller,marketplace,sku,min_prce\ns,DE,A,1.00\ns,DE,B,2.00\n")

    assert catalog.rows == []
    ((line, sku, reason),) = _reasons(catalog)
    assert (line, sku) == (1, None)
    assert reason.startswith("unknown column 'min_prce'; known columns: seller, marketplace, sku, asin,")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("seller,marketplace,title", "no 'sku' column"),
        ("marketplace,sku", "no 'seller' column, and no default seller was given"),
        ("seller,sku,sku", "column 'sku' given twice"),
        ("seller,sku,", "column 3 has no name"),
    ],
)
def test_a_header_that_cannot_be_read_is_one_error(header: str, reason: str) -> None:
    catalog = _read(f"{header}\nrow\n", marketplace="DE")

    assert catalog.rows == []
    ((line, sku, message),) = _reasons(catalog)
    assert (line, sku) == (1, None)
    assert message.startswith(reason)


def test_an_unknown_field_in_jsonl_is_an_error_for_its_line_only() -> None:
    catalog = _read_jsonl('{"sku": "A"}', '{"sku": "B", "colour": "red"}', seller="s", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["A"]
    ((line, sku, reason),) = _reasons(catalog)
    assert (line, sku) == (2, "B")
    assert reason.startswith("unknown field 'colour'; known: seller, marketplace, sku,")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sku", "12", "sku 12 must be a string"),
        ("stock", '"5"', "stock '5' must be a whole number"),
        ("stock", "5.0", "stock 5.0 must be a whole number"),
        ("stock", "true", "stock true must be a whole number"),
        ("repricing", '"yes"', "repricing 'yes' must be true or false"),
        ("cost", "true", 'cost true must be an amount such as "12.99"'),
        ("cost", "[1]", 'cost […] must be an amount such as "12.99"'),
        ("min_margin", "{}", 'min_margin {…} must be a decimal number such as "0.15"'),
        ("condition", "1", "condition 1 must be one of new_new,"),
        ("attributes", '{"size": 3}', "attributes {…} must be an object of strings: 'size' is 3"),
        ("attributes", '"red"', "attributes 'red' must be an object of strings"),
    ],
)
def test_a_value_of_the_wrong_type_in_jsonl_is_named(field: str, value: str, reason: str) -> None:
    catalog = _read_jsonl('{"sku": "A"}', f'{{"sku": "B", "{field}": {value}}}', seller="s", marketplace="DE")

    assert len(catalog.rows) == 1
    ((line, sku, message),) = _reasons(catalog)
    assert line == 2
    assert sku == (None if field == "sku" else "B")
    assert message.startswith(reason)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("cost", "12.9901", "cost '12.9901' is not an amount in EUR: '12.9901' has more than 2 decimals for EUR"),
        ("cost", "1,299", "cost '1,299' is not an amount in EUR: price '1,299' is ambiguous"),
        ("max_price", "twelve", "max_price 'twelve' is not an amount in EUR: not a price: 'twelve'"),
        ("price", "12.99 EUR", "price '12.99 EUR' is not an amount in EUR"),
        ("cost", "-3.00", "cost '-3.00' is negative"),
        ("fixed_fee", "-0.01", "fixed_fee '-0.01' is negative"),
        ("stock", "-1", "stock '-1' is negative"),
        ("stock", "2.5", "stock '2.5' is not a whole number"),
        ("lead_time_days", "99999999999999999999", "lead_time_days '99999999999999999999' is not a whole number"),
        ("variable_fee", "15", "variable_fee '15' is not a share in [0, 1): write 0.15 for 15%"),
        ("vat_rate", "-0.07", "vat_rate '-0.07' is not a share in [0, 1)"),
        ("min_margin", "12%", "min_margin '12%' is not a decimal number such as 0.15"),
        ("condition", "New", "condition 'New' is not one of new_new, new_open_box, new_oem, refurbished_refurbished,"),
        ("fulfilment", "FBA", "fulfilment 'FBA' is not one of merchant, amazon"),
        ("repricing", "maybe", "repricing 'maybe' is not true or false (or yes/no, 1/0)"),
        ("attributes", "color=red", "attributes 'color=red' is not a JSON object of strings"),
    ],
)
def test_a_bad_value_is_named_with_its_field_and_line(field: str, value: str, reason: str) -> None:
    text = f'sku,{field}\nA,\nB,"{value}"\nC,\n'

    catalog = _read(text, seller="s", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["A", "C"]
    ((line, sku, message),) = _reasons(catalog)
    assert (line, sku) == (3, "B")
    assert message.startswith(reason)


def test_max_margin_of_one_or_more_is_refused_with_the_percent_hint() -> None:
    catalog = _read("sku,min_margin,max_margin\nA,0.1,30\n", seller="s", marketplace="DE")

    assert _reasons(catalog) == [
        (2, "A", "max_margin '30' is not below 1: margins are shares of net revenue (0.12 for 12%)")
    ]


def test_every_problem_of_a_row_is_in_its_one_error() -> None:
    catalog = _read("sku,cost,stock,condition\nA,-1,x,old\n", seller="s", marketplace="DE")

    ((line, sku, reason),) = _reasons(catalog)
    assert (line, sku) == (2, "A")
    assert reason.split("; ") == [
        "condition 'old' is not one of " + ", ".join(c.value for c in Condition),
        "cost '-1' is negative",
        "stock 'x' is not a whole number",
    ]


def test_an_unknown_marketplace_is_named_with_the_known_ones() -> None:
    catalog = _read("marketplace,sku,cost\nDE,A,1.00\nJP,B,1200\n", seller="s")

    assert _reasons(catalog) == [(3, "B", "marketplace 'JP' is unknown; known: " + ", ".join(MARKETPLACES))]


def test_an_unknown_default_marketplace_is_the_callers_error() -> None:
    with pytest.raises(ValueError, match="unknown marketplace 'XX'"):
        read_catalog(b"sku\nA\n", format="csv", seller="s", marketplace="XX")


def test_a_row_without_seller_or_marketplace_says_how_to_give_one() -> None:
    catalog = _read("seller,marketplace,sku\n,DE,A\ns,,B\ns,DE,\n")

    assert _reasons(catalog) == [
        (2, "A", "no seller: add a seller column, or give a default seller"),
        (3, "B", "no marketplace: add a marketplace column, or give a default marketplace"),
        (4, None, "no sku"),
    ]


def test_one_margin_without_the_other_is_an_error() -> None:
    catalog = _read("sku,min_margin,max_margin\nA,0.1,\nB,,0.3\n", seller="s", marketplace="DE")

    assert _reasons(catalog) == [
        (2, "A", "min_margin is set but max_margin is not: give both, or neither"),
        (3, "B", "max_margin is set but min_margin is not: give both, or neither"),
    ]


def test_a_repeated_sku_is_reported_at_the_repeat_naming_the_first_line() -> None:
    text = "seller,marketplace,sku,cost\nacme,DE,A,1.00\nacme,FR,A,1.00\nbeta,DE,A,1.00\nacme,de,A,2.00\n"

    catalog = _read(text)

    assert [row.key for row in catalog.rows] == [
        OfferKey("acme", "DE", "A"),
        OfferKey("acme", "FR", "A"),
        OfferKey("beta", "DE", "A"),
    ]
    assert catalog.rows[0].cost == 100  # the first stays: the repeat is the one reported
    assert _reasons(catalog) == [(5, "A", "repeats line 2 (seller 'acme', DE, same SKU)")]


def test_line_numbers_are_physical_across_quoted_newlines_and_blank_lines() -> None:
    text = 'sku,title,stock\nA,"two\nlines",x\n\nB,"three\r\nphysical\nlines",1\nC,,-2\n'

    catalog = _read(text, seller="s", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["B"]
    assert [(line, sku) for line, sku, _ in _reasons(catalog)] == [(2, "A"), (8, "C")]


def test_a_record_with_the_wrong_number_of_cells_is_an_error() -> None:
    catalog = _read("sku,cost\nA,1.00,extra\nB\nC,1.00\n", seller="s", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["C"]
    assert _reasons(catalog) == [
        (2, "A", "has 3 fields; the header has 2"),
        (3, "B", "has 1 field; the header has 2"),
    ]


def test_malformed_csv_quoting_is_an_error_for_its_record() -> None:
    catalog = _read('sku,title\nA,"bad"quote\nB,fine\n', seller="s", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["B"]
    ((line, sku, reason),) = _reasons(catalog)
    assert (line, sku) == (2, None)
    assert reason.startswith("malformed CSV:")


def test_a_cell_that_is_not_utf8_costs_its_record_and_says_how_to_save() -> None:
    data = b"sku,title\nA,Gr\xf6\xdfe M\nB,fine\n"  # Latin-1, as an old spreadsheet saves it

    catalog = read_catalog(data, format="csv", seller="s", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["B"]
    assert _reasons(catalog) == [
        (2, "A", "title is not UTF-8 (byte 0xf6): save the file as UTF-8 (Excel: 'CSV UTF-8')")
    ]


def test_a_jsonl_line_that_is_not_utf8_or_not_an_object_is_an_error_for_its_line() -> None:
    data = b'{"sku": "A"}\n{"sku": "\xff"}\n[1, 2]\n{"sku": \n"B"\n{"sku": "C"}\n'

    catalog = read_catalog(data, format="jsonl", seller="s", marketplace="DE")

    assert [row.key.sku for row in catalog.rows] == ["A", "C"]
    assert [(line, sku) for line, sku, _ in _reasons(catalog)] == [(2, None), (3, None), (4, None), (5, None)]
    reasons = [reason for _, _, reason in _reasons(catalog)]
    assert reasons[0] == "not UTF-8 (byte 0xff at column 10)"
    assert reasons[1] == "not a JSON object"
    assert reasons[2].startswith("not JSON:")


def test_a_utf16_file_is_one_error() -> None:
    data = "sku\nA\n".encode("utf-16")

    assert _reasons(read_catalog(data, format="csv", seller="s", marketplace="DE")) == [
        (1, None, "the file is UTF-16: save the file as UTF-8 (Excel: 'CSV UTF-8')")
    ]


def test_absurd_numbers_are_errors_not_crashes_or_roundings() -> None:
    """parse_minor alone would round a 29-digit value to 28 digits, or raise decimal.Overflow on 1e999999999."""
    catalog = _read_jsonl(
        '{"sku": "A", "cost": "1.0000000000000000000000000001"}',
        '{"sku": "B", "cost": 1e999999999}',
        '{"sku": "C", "cost": 1e-999999999}',
        '{"sku": "D", "min_margin": 1e-999999999, "max_margin": 0.5}',
        '{"sku": "E", "stock": 100000000000000000000}',
        '{"sku": "F", "cost": "99999999999999999999"}',
        "[" * 100_000 + "]" * 100_000,
        seller="s",
        marketplace="DE",
    )

    assert catalog.rows == []
    assert [line for line, _, _ in _reasons(catalog)] == [1, 2, 3, 4, 5, 6, 7]


# --- check_row ------------------------------------------------------------------------------------------------------


def test_check_row_warns_about_a_row_the_engine_cannot_price_yet() -> None:
    catalog = _read("sku,asin,cost,min_margin,max_margin\nA,B01,,0.1,0.2\nB,,,,\n", seller="s", marketplace="DE")

    assert catalog.errors == []  # imported: a row without bounds is still a catalog row
    assert [check_row(row) for row in catalog.rows] == [
        "SKU 'A' on DE: a margin level needs the offer's cost",
        "SKU 'B' on DE: no ASIN: the offer's item is unknown",
    ]


# --- invariants -------------------------------------------------------------------------------------------------------

_unicode = st.characters(codec="utf-8")  # anything UTF-8 can hold: no lone surrogates
_texts = st.text(_unicode, min_size=1, max_size=12).filter(lambda text: text == text.strip())
_money = st.integers(min_value=0, max_value=10**12)
_shares = st.decimals(min_value=0, max_value=Decimal("0.9999"), places=4)
_margins = st.decimals(min_value=-2, max_value=Decimal("0.9999"), places=4)
_counts = st.integers(min_value=0, max_value=10**6)

rows = st.builds(
    CatalogRow,
    key=st.builds(OfferKey, _texts, st.sampled_from(list(MARKETPLACES)), _texts),
    asin=st.none() | _texts,
    product_id=st.none() | _texts,
    product_id_type=st.none() | _texts,
    title=st.none() | _texts,
    condition=st.sampled_from(Condition),
    fulfilment=st.sampled_from(Fulfilment),
    cost=st.none() | _money,
    fees=st.none() | st.builds(Fees, _shares, _money, _money, _money),
    vat_rate=st.none() | _shares,
    margins=st.none() | st.builds(MarginLevel, _margins, _margins),
    min_price=st.none() | _money,
    max_price=st.none() | _money,
    price=st.none() | _money,
    sale_price=st.none() | _money,
    stock=st.none() | _counts,
    lead_time_days=st.none() | _counts,
    shipping_group=st.none() | _texts,
    repricing=st.booleans(),
    attributes=st.dictionaries(st.text(_unicode, max_size=8), st.text(_unicode, max_size=12), max_size=3).map(
        lambda attributes: tuple(attributes.items())
    ),
)
catalogs = st.lists(rows, max_size=4, unique_by=lambda row: row.key)


formats: st.SearchStrategy[Format] = st.sampled_from(["csv", "jsonl"])


@given(catalogs, formats)
def test_any_catalog_reads_back_as_written(catalog: list[CatalogRow], format: Format) -> None:
    assert read_catalog(write_catalog(catalog, format=format), format=format) == CatalogFile(catalog, [])


@given(rows)
def test_check_row_answers_for_any_row(row: CatalogRow) -> None:
    warning = check_row(row)

    assert warning is None or warning.startswith(f"SKU {row.key.sku!r} on {row.key.marketplace}: ")


@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode), formats, st.booleans())
def test_arbitrary_bytes_never_raise(data: bytes, format: Format, defaults: bool) -> None:
    catalog = read_catalog(data, format=format, **({"seller": "s", "marketplace": "DE"} if defaults else {}))

    lines = data.count(b"\n") + data.count(b"\r") + 1
    assert all(1 <= error.line <= lines for error in catalog.errors)


_cell = st.text(
    st.sampled_from(list(' ,;"\r\n\t\x00\xe9-0123456789.eE+yestruNaIf{}[]:')), max_size=8
) | st.sampled_from(["", "1.00", "-1", "0.15", "1e999999999", "new_new", "amazon", "DE", "XX", '{"a": "b"}', "true"])


def _jsonable(value: object) -> object:
    # msgspec writes a Decimal as a string; as a number it reaches the reader the way a hand-written 12.99 does.
    if isinstance(value, Decimal):
        return msgspec.Raw(str(value).encode())
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {name: _jsonable(item) for name, item in value.items()}
    return value


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@given(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True), st.lists(st.lists(_cell), max_size=4))
def test_any_csv_of_known_columns_gives_a_row_or_an_error_per_record(
    header: list[str], records: list[list[str]]
) -> None:
    """Cells near the format's edges (separators, quotes, odd numbers): never an exception, never a record lost."""
    text = "\n".join([",".join(header), *(",".join(map(_quoted, record)) for record in records)])

    catalog = read_catalog(text.encode(), format="csv", seller="s", marketplace="DE")

    if "sku" not in header:
        assert [(error.line, error.reason) for error in catalog.errors] == [(1, "no 'sku' column")]
    else:
        non_blank = [record for record in records if any(cell.strip() for cell in record)]
        assert len(catalog.rows) + len(catalog.errors) == len(non_blank)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@given(st.lists(st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=4), _json_values, max_size=6), max_size=4))
def test_any_jsonl_object_gives_a_row_or_an_error_per_line(objects: list[dict[str, object]]) -> None:
    """Values of every JSON type in every field: never an exception, and each line a row or an error."""
    data = b"\n".join(_encoder.encode({name: _jsonable(value) for name, value in item.items()}) for item in objects)

    catalog = read_catalog(data, format="jsonl", seller="s", marketplace="DE")

    assert len(catalog.rows) + len(catalog.errors) == len(objects)
