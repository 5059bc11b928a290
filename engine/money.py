"""Money as integer minor units with a currency.

The engine never holds a price as a float: a float cannot say 19.99 exactly, and a repricer that sends
19.990000000000002 or rounds a floor down by one cent breaks a seller's min price. Prices inside the engine are
plain ``int`` minor units (cents, pence, grosze) next to the marketplace's currency; `Money` pairs the two where a
value crosses a boundary (parsing, formatting, messages to Amazon).

Parsing is exact: a value with more decimals than the currency has is an error, never a silent rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

import msgspec

__all__ = [
    "CURRENCIES",
    "Currency",
    "Money",
    "MoneyError",
    "currency",
    "format_minor",
    "parse_minor",
    "to_decimal",
]


class MoneyError(ValueError):
    """A money value could not be parsed or combined; the message names the value and why."""


class Currency(msgspec.Struct, frozen=True):
    """An ISO 4217 currency as Amazon prices it.

    ``tick`` is the smallest price step Amazon accepts for a listing price, in minor units. Every marketplace the
    product serves prices to the cent, so it is 1 everywhere today; it is kept explicit because the pricing code
    rounds to it and a marketplace with a coarser grid (whole yen, say) must not need a code change.
    """

    code: str
    exponent: int
    tick: int = 1

    @property
    def scale(self) -> int:
        return int(10**self.exponent)


CURRENCIES: Final[dict[str, Currency]] = {
    code: Currency(code, 2) for code in ("USD", "CAD", "MXN", "GBP", "EUR", "PLN", "SEK", "TRY")
}


def currency(code: str) -> Currency:
    try:
        return CURRENCIES[code]
    except KeyError:
        raise MoneyError(f"unknown currency {code!r}; known: {', '.join(sorted(CURRENCIES))}") from None


def parse_minor(text: str | Decimal | int, code: str) -> int:
    """Parse a price into minor units of currency ``code``, exactly.

    Accepts ``Decimal``, ``int`` (whole units) and strings with a decimal dot or a decimal comma ("19.99",
    "19,99", "1.299,00", "1,299.00"). When a string has both separators the last one is the decimal mark; a
    single separator followed by exactly three digits ("1,299") is ambiguous for a currency with fewer than three
    fraction digits and is rejected rather than guessed.
    """
    cur = currency(code)
    if isinstance(text, bool):
        raise MoneyError(f"not a price: {text!r}")
    if isinstance(text, int):
        return int(text) * cur.scale
    if isinstance(text, Decimal):
        return _decimal_to_minor(text, cur, repr(text))
    return _decimal_to_minor(_parse_decimal(text, cur), cur, repr(text))


def _parse_decimal(text: str, cur: Currency) -> Decimal:
    raw = text.strip()
    marks = [c for c in raw if c in ".,"]
    if not raw:
        raise MoneyError("empty price")
    if len(set(marks)) == 2:
        decimal_mark = raw[max(raw.rfind("."), raw.rfind(","))]
        group_mark = "," if decimal_mark == "." else "."
        if raw.count(decimal_mark) != 1:
            raise MoneyError(f"price {text!r} has more than one decimal mark")
        cleaned = raw.replace(group_mark, "").replace(decimal_mark, ".")
    elif len(marks) == 1:
        mark = marks[0]
        fraction = raw.partition(mark)[2]
        if len(fraction) == 3 and cur.exponent < 3:
            raise MoneyError(f"price {text!r} is ambiguous: {mark!r} could be a decimal mark or a thousands separator")
        cleaned = raw.replace(mark, ".")
    elif len(marks) > 1:
        # Several identical marks can only be thousands separators ("1.299.000").
        cleaned = raw.replace(marks[0], "")
    else:
        cleaned = raw
    cleaned = cleaned.replace(" ", "").replace("\u00a0", "").replace("'", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", cleaned):
        raise MoneyError(f"not a price: {text!r}")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError(f"not a price: {text!r}") from None


def _decimal_to_minor(value: Decimal, cur: Currency, shown: str) -> int:
    if not value.is_finite():
        raise MoneyError(f"not a price: {shown}")
    scaled = value.scaleb(cur.exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{shown} has more than {cur.exponent} decimals for {cur.code}")
    return int(scaled)


def to_decimal(minor: int, code: str) -> Decimal:
    """Minor units as an exact `Decimal` in whole units (what Amazon's JSON carries)."""
    cur = currency(code)
    return Decimal(minor).scaleb(-cur.exponent)


def format_minor(minor: int, code: str, *, decimal_mark: str = ".") -> str:
    """Format minor units without a currency sign: ``format_minor(1999, "EUR") == "19.99"``."""
    cur = currency(code)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), cur.scale)
    if cur.exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}{decimal_mark}{fraction:0{cur.exponent}d}"


class Money(msgspec.Struct, frozen=True, order=True):
    """An amount in minor units of one currency, for values that cross a boundary."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        currency(self.currency)

    @classmethod
    def parse(cls, text: str | Decimal | int, code: str) -> Money:
        return cls(parse_minor(text, code), code)

    def to_decimal(self) -> Decimal:
        return to_decimal(self.minor, self.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self} with {other}")

    def __str__(self) -> str:
        return f"{format_minor(self.minor, self.currency)} {self.currency}"
