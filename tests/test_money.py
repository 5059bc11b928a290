from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.money import CURRENCIES, Money, MoneyError, format_minor, parse_minor, to_decimal


@given(st.sampled_from(sorted(CURRENCIES)), st.integers(-(10**12), 10**12), st.sampled_from([".", ","]))
def test_money_parsing_round_trips_for_every_currency(code: str, minor: int, mark: str) -> None:
    text = format_minor(minor, code, decimal_mark=mark)
    assert parse_minor(text, code) == minor
    assert parse_minor(to_decimal(minor, code), code) == minor
    assert Money.parse(str(Money(minor, code).to_decimal()), code).minor == minor


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
        (".5", 50),
    ],
)
def test_parses_dot_and_decimal_comma(text: str, minor: int) -> None:
    assert parse_minor(text, "EUR") == minor


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("19.999", "ambiguous"),
        ("1,299", "ambiguous"),
        ("19.9999", "more than 2 decimals"),
        ("", "empty"),
        ("abc", "not a price"),
        ("1.2.3,4,5", "more than one decimal mark"),
        ("NaN", "not a price"),
    ],
)
def test_rejects_what_it_cannot_read_exactly(text: str, why: str) -> None:
    with pytest.raises(MoneyError, match=why):
        parse_minor(text, "EUR")


def test_decimal_with_too_many_places_is_an_error_not_a_rounding() -> None:
    with pytest.raises(MoneyError, match="more than 2 decimals"):
        parse_minor(Decimal("19.995"), "EUR")
    assert parse_minor(Decimal("19.990"), "EUR") == 1999


def test_unknown_currency_names_the_known_ones() -> None:
    with pytest.raises(MoneyError, match=r"unknown currency 'XXX'.*EUR"):
        parse_minor("1", "XXX")


def test_money_does_not_mix_currencies() -> None:
    assert Money(100, "EUR") + Money(5, "EUR") == Money(105, "EUR")
    with pytest.raises(MoneyError, match="cannot combine"):
        Money(100, "EUR") - Money(5, "GBP")
    assert str(Money(1999, "GBP")) == "19.99 GBP"
