import decimal
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.money import (
    CURRENCIES,
    MAX_MINOR,
    MIN_MINOR,
    Money,
    MoneyError,
    currency,
    format_minor,
    parse_minor,
    to_decimal,
)

_INT64 = st.integers(MIN_MINOR, MAX_MINOR)


def _grouped(text: str, group_mark: str) -> str:
    """``text`` as format_minor wrote it, with its whole part grouped in threes by ``group_mark``."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, mark, fraction = digits.partition("." if "." in digits else ",")
    head = len(whole) % 3 or 3
    groups = [whole[:head], *(whole[i : i + 3] for i in range(head, len(whole), 3))]
    return f"{sign}{group_mark.join(groups)}{mark}{fraction}"


@given(st.sampled_from(sorted(CURRENCIES)), _INT64, st.sampled_from([".", ","]))
def test_money_parsing_round_trips_for_every_currency(code: str, minor: int, mark: str) -> None:
    text = format_minor(minor, code, decimal_mark=mark)
    assert parse_minor(text, code) == minor
    assert parse_minor(to_decimal(minor, code), code) == minor
    assert Money.parse(str(Money(minor, code).to_decimal()), code).minor == minor


@given(st.sampled_from(sorted(CURRENCIES)), _INT64, st.sampled_from([".", ","]), st.sampled_from(". ,\u00a0\u202f"))
def test_grouped_amounts_round_trip(code: str, minor: int, mark: str, group_mark: str) -> None:
    if group_mark == mark:
        return  # a mark cannot group and separate decimals at once
    assert parse_minor(_grouped(format_minor(minor, code, decimal_mark=mark), group_mark), code) == minor


_AMOUNT_ALPHABET = "0123456789" * 3 + ".,-+ \u00a0\u202f'eE\u0661\uff11_"


@settings(max_examples=300)
@given(st.text(_AMOUNT_ALPHABET, max_size=40) | st.text(max_size=40), st.sampled_from(sorted(CURRENCIES)))
def test_any_text_is_an_exact_amount_or_a_money_error(text: str, code: str) -> None:
    try:
        minor = parse_minor(text, code)
    except MoneyError as exc:
        assert repr(text)[:40] in str(exc)  # the message names the text
        return
    # The amount is the text's own digits, in order, at no more than the currency's decimals, and formats back.
    digits = "".join(char for char in text if char in "0123456789")
    scale = currency(code).exponent
    assert any(abs(minor) == int(digits) * 10**shift for shift in range(scale + 1))
    assert minor >= 0 or "-" in text
    assert parse_minor(format_minor(minor, code), code) == minor


_DECIMALS = st.decimals(allow_nan=True, allow_infinity=True) | st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=60),
    st.integers(-999_999_999, 999_999_999) | st.integers(-40, 20),
)


@given(_DECIMALS)
def test_any_decimal_is_exact_or_a_money_error(value: Decimal) -> None:
    try:
        minor = parse_minor(value, "EUR")
    except MoneyError:
        return
    assert to_decimal(minor, "EUR") == value


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("19.99", 1999),
        ("19,99", 1999),
        ("19,9", 1990),
        ("19", 1900),
        (" 0.05 ", 5),
        ("1.299,00", 129900),
        ("1,299.00", 129900),
        ("1.299.000", 129900000),
        ("-3,50", -350),
        ("+3.50", 350),
        (".5", 50),
        ("007.50", 750),
    ],
)
def test_parses_dot_and_decimal_comma(text: str, minor: int) -> None:
    assert parse_minor(text, "EUR") == minor


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("1.234.567,89", 123456789),
        ("1,234,567.89", 123456789),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),
        ("1\u202f234.5", 123450),
        ("-1 234 567", -123456700),
        ("12 345", 1234500),
        ("\u00a01 234,56\u00a0", 123456),
    ],
)
def test_groups_in_threes_with_the_other_mark_or_a_space(text: str, minor: int) -> None:
    assert parse_minor(text, "EUR") == minor


@pytest.mark.parametrize(
    "text",
    [
        "1,234,56",
        "12.34.56",
        "1 .5",
        "2538\u00a00",
        "1 2.99",
        "1.23.456",
        "1,2.00",
        ".299,00",
        "1234.567,89",
        "0.123.456",
        "1.234.5678",
        "12,34,567.00",
        "1 234\u00a0567",
        "1 234.567,89",
        "- 5",
    ],
)
def test_money_rejects_bad_grouping(text: str) -> None:
    with pytest.raises(MoneyError, match="bad grouping") as raised:
        parse_minor(text, "EUR")
    assert repr(text) in str(raised.value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("19.999", "ambiguous"),
        ("1,299", "ambiguous"),
        ("19.9999", "more than 2 decimals"),
        ("12.9900", "more than 2 decimals"),
        ("1.299,000", "more than 2 decimals"),
        ("1234,567", "more than 2 decimals"),
        ("1.0000000000000000000000000001", "more than 2 decimals"),
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "not a price"),
        ("1.2.3,4,5", "more than one decimal mark"),
        ("1 234,5,6", "more than one decimal mark"),
        ("NaN", "not a price"),
        ("Infinity", "not a price"),
        ("1e3", "not a price"),
        ("1E+2", "not a price"),
        ("1e-999999999", "not a price"),
        ("12.99 EUR", "not a price"),
        ("€12.99", "not a price"),
        ("1'299.00", "not a price"),
        ("(12.99)", "not a price"),
        ("12.99-", "not a price"),
        ("+-5", "not a price"),
        ("-", "not a price"),
        ("19.", "not a price"),
        ("1_000", "not a price"),
        ("12,5\n0", "not a price"),
    ],
)
def test_rejects_what_it_cannot_read_exactly(text: str, why: str) -> None:
    with pytest.raises(MoneyError, match=why) as raised:
        parse_minor(text, "EUR")
    assert repr(text) in str(raised.value)


@pytest.mark.parametrize(
    "text", ["\u0661\u0662", "\uff11\uff12.50", "\u0661\u0662\u066b\u0665\u0660", "12\u00b2", "1\u0663.00"]
)
def test_only_ascii_digits_are_digits(text: str) -> None:
    with pytest.raises(MoneyError, match="not a price"):
        parse_minor(text, "EUR")


@pytest.mark.parametrize("text", ["123456789012345678901234567890.00", "9" * 5000, " 1" * 40])
def test_text_longer_than_any_price_is_refused_with_a_short_message(text: str) -> None:
    with pytest.raises(MoneyError, match="longer than 32 characters") as raised:
        parse_minor(text, "EUR")
    assert len(str(raised.value)) < 200


def test_amounts_are_limited_to_int64_minor_units() -> None:
    assert parse_minor("92233720368547758.07", "EUR") == MAX_MINOR
    assert parse_minor("-92.233.720.368.547.758,08", "EUR") == MIN_MINOR
    for value in (
        "92233720368547758.08",
        "-92233720368547758.09",
        "99999999999999999999",
        Decimal("1e999999999"),
        Decimal("-1e999999999"),
        Decimal("92233720368547758.08"),
        10**17,
        10**5000,
    ):
        with pytest.raises(MoneyError, match="out of range"):
            parse_minor(value, "EUR")


def test_decimal_with_too_many_places_is_an_error_not_a_rounding() -> None:
    with pytest.raises(MoneyError, match="more than 2 decimals"):
        parse_minor(Decimal("19.995"), "EUR")
    with pytest.raises(MoneyError, match="more than 2 decimals"):
        parse_minor(Decimal("1.0000000000000000000000000001"), "EUR")
    with pytest.raises(MoneyError, match="more than 2 decimals"):
        parse_minor(Decimal("1e-999999999"), "EUR")
    with pytest.raises(MoneyError, match="more than 2 decimals"):
        parse_minor(Decimal("12345678901234567.99" + "0" * 70 + "1"), "EUR")
    assert parse_minor(Decimal("19.990"), "EUR") == 1999
    assert parse_minor(Decimal("19.99" + "0" * 200), "EUR") == 1999
    assert parse_minor(Decimal("0E-999999999"), "EUR") == 0
    assert parse_minor(Decimal("1.5E+3"), "EUR") == 150000


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")])
def test_a_decimal_that_is_not_a_number_is_a_money_error(value: Decimal) -> None:
    with pytest.raises(MoneyError, match="not a price"):
        parse_minor(value, "EUR")


def test_the_callers_decimal_context_neither_rounds_nor_traps() -> None:
    coarse = decimal.Context(prec=3, traps=list(decimal.Context().flags))  # every signal a trap, three digits
    with decimal.localcontext(coarse) as context:
        assert parse_minor(Decimal("123456789012345.67"), "EUR") == 12345678901234567
        assert parse_minor("123456789012345.67", "EUR") == 12345678901234567
        assert to_decimal(12345678901234567, "EUR") == Decimal("123456789012345.67")
        with pytest.raises(MoneyError, match="more than 2 decimals"):
            parse_minor(Decimal("1.001"), "EUR")
        assert not any(context.flags.values())


def test_only_text_decimals_and_ints_are_prices() -> None:
    for value in (12.5, True, None, b"12.50", [1]):
        with pytest.raises(MoneyError, match="not a price"):
            parse_minor(value, "EUR")  # type: ignore[arg-type]


def test_unknown_currency_names_the_known_ones() -> None:
    with pytest.raises(MoneyError, match=r"unknown currency 'XXX'.*EUR"):
        parse_minor("1", "XXX")


def test_money_does_not_mix_currencies() -> None:
    assert Money(100, "EUR") + Money(5, "EUR") == Money(105, "EUR")
    with pytest.raises(MoneyError, match="cannot combine"):
        Money(100, "EUR") - Money(5, "GBP")
    assert str(Money(1999, "GBP")) == "19.99 GBP"


def test_money_stays_within_int64_minor_units() -> None:
    with pytest.raises(MoneyError, match="out of range"):
        Money(MAX_MINOR, "EUR") + Money(1, "EUR")
    with pytest.raises(MoneyError, match="out of range"):
        to_decimal(MIN_MINOR - 1, "EUR")
    with pytest.raises(MoneyError, match="must be an int"):
        Money(19.99, "EUR")  # type: ignore[arg-type]
