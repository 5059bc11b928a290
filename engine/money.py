"""Money as integer minor units with a currency.

The engine never holds a price as a float: a float cannot say 19.99 exactly, and a repricer that sends
19.990000000000002 or rounds a floor down by one cent breaks a seller's min price. Prices inside the engine are
plain ``int`` minor units (cents, pence, grosze) next to the marketplace's currency; `Money` pairs the two where a
value crosses a boundary (parsing, formatting, messages to Amazon).

Parsing is exact: a value with more decimals than the currency has is an error, never a silent rounding. Text is
read by a strict grammar, because every character a lenient parser deletes is a guess about what the writer meant
("1,234,56" was once read as 123,456.00). Surrounding whitespace is dropped; what is left must be, in full:

- An optional sign, ``-`` or ``+`` (negative amounts are the caller's to refuse: a price adjustment may be one).
- ASCII digits only: an Arabic-Indic or full-width digit is not in any file Amazon or a spreadsheet writes for the
  marketplaces served, and reading it would only hide a mojibake.
- At most one decimal mark, ``.`` or ``,``, followed by 1 to ``exponent`` digits ("12.345" and "12.9900" are
  errors in EUR; "19." is not a price). A whole number needs no mark; ".5" is 0.50.
- Grouping in the whole part only, with one mark that is not the decimal mark, in groups of exactly three digits
  after a head of one to three digits that does not start with 0: "1.234.567,89", "1,234,567.89", "1.299.000".
  When both ``.`` and ``,`` appear, the later one is the decimal mark and may appear once.
- A space may group too ("1 234,56"), as may a no-break space (U+00A0), a narrow no-break space (U+202F) or a thin
  space (U+2009), one kind per amount and under the same rule of threes. French, Polish and Swedish spreadsheets
  (EUR, PLN, SEK are served currencies) write amounts that way, and a space is never a decimal mark, so the rule
  of threes leaves nothing to guess; a space anywhere else ("1 .5", "2538\u00a00") is an error.
- "1,234" (one mark, three digits after it, a currency with fewer than three decimals) is ambiguous: 1.234 or
  1234. It is refused rather than guessed; "1,234.00", "1.234,00" or "1234" say it.
- No exponent ("1e3"), no currency sign or code, no apostrophe grouping (Swiss "1'234.50": CHF is not served).
- At most `MAX_CHARS` characters, and a value that fits a signed 64-bit count of minor units (`MIN_MINOR` to
  `MAX_MINOR`), which is what a store keeps and what any price is far inside.

Text becomes minor units by integer arithmetic alone. A `Decimal` is checked the same way (finite, within range,
exact at the currency's decimals, "19.990" being exactly 19.99) in a local context that traps inexact results, so
neither the caller's context nor its 28-digit default precision can round a value on its way in. Every failure is a
`MoneyError` whose message names the value.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from typing import Final

import msgspec

__all__ = [
    "CURRENCIES",
    "MAX_CHARS",
    "MAX_MINOR",
    "MIN_MINOR",
    "Currency",
    "Money",
    "MoneyError",
    "currency",
    "format_minor",
    "parse_minor",
    "to_decimal",
]

# A signed 64-bit column holds every amount; anything beyond it is a typo or garbage, not a price.
MIN_MINOR: Final = -(2**63)
MAX_MINOR: Final = 2**63 - 1
# The longest amount in range, grouped and signed, is 26 characters ("-92.233.720.368.547.758,08"); the margin
# allows a few leading zeros, and the limit keeps a megabyte of digits from reaching any arithmetic.
MAX_CHARS: Final = 32

_GROUP_SPACES: Final = " \u00a0\u202f\u2009"
# What an amount may be made of at all; the grammar is checked on its parts below.
_CHARACTERS = re.compile(r"[+-]?[0-9.,\u0020\u00a0\u202f\u2009]+")
_DIGITS = re.compile(r"[0-9]+")
_HEAD = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"[0-9]{3}")
# Long enough for any in-range value scaled to minor units and then some: digits past the integer part are
# fractional, so an Inexact there is a value with too many decimals, never a rounding of one that had few enough.
_EXACT: Final = decimal.Context(
    prec=64,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero, decimal.Inexact],
)


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
    """Parse a price into minor units of currency ``code``, exactly, or raise `MoneyError` naming it.

    Accepts text in the grammar of the module docstring ("19.99", "19,99", "1.299,00", "1,299.00", "1 299,00"),
    a finite `Decimal` with no more decimals than the currency has, and an ``int`` of whole units.
    """
    cur = currency(code)
    value: object = text  # the annotation is a promise callers with decoded JSON cannot always keep
    if isinstance(value, bool):
        raise MoneyError(f"not a price: {value!r}")
    if isinstance(value, int):
        return _in_range(value * cur.scale, cur, _shown(value))
    if isinstance(value, Decimal):
        return _decimal_to_minor(value, cur, _shown(value))
    if isinstance(value, str):
        return _text_to_minor(value, cur)
    raise MoneyError(f"not a price: {_shown(value)} is a {type(value).__name__}, not text, a Decimal or an int")


def _text_to_minor(text: str, cur: Currency) -> int:
    shown = _shown(text)
    raw = text.strip()
    if not raw:
        raise MoneyError(f"empty price {shown}")
    if len(raw) > MAX_CHARS:
        raise MoneyError(f"price {shown} is longer than {MAX_CHARS} characters")
    if not _CHARACTERS.fullmatch(raw):
        raise MoneyError(f"not a price: {shown}")
    sign = -1 if raw[0] == "-" else 1
    body = raw[1:] if raw[0] in "+-" else raw
    decimal_mark, group_mark = _marks(body, cur, shown)
    whole, _, fraction = body.partition(decimal_mark) if decimal_mark else (body, "", "")
    if decimal_mark and not _DIGITS.fullmatch(fraction):
        raise MoneyError(f"not a price: {shown}")
    if group_mark:
        head, *groups = whole.split(group_mark)
        if not (_HEAD.fullmatch(head) and all(_GROUP.fullmatch(group) for group in groups)):
            raise MoneyError(
                f"bad grouping in price {shown}: group the whole part in threes after one to three leading digits,"
                " with one mark that is not the decimal mark (1.234,56 or 1,234.56 or 1 234,56)"
            )
        whole = "".join([head, *groups])
    elif not (_DIGITS.fullmatch(whole) or (whole == "" and decimal_mark)):
        raise MoneyError(f"not a price: {shown}")
    if len(fraction) > cur.exponent:
        raise MoneyError(f"{shown} has more than {cur.exponent} decimals for {cur.code}")
    # At most MAX_CHARS digits: int() is exact and quick, and no Decimal context is involved.
    minor = int(whole or "0") * cur.scale + int(fraction.ljust(cur.exponent, "0") or "0")
    return _in_range(sign * minor, cur, shown)


def _marks(body: str, cur: Currency, shown: str) -> tuple[str, str]:
    """The decimal mark and the grouping mark of an amount, each "" when it has none."""
    spaces = {char for char in body if char in _GROUP_SPACES}
    points, commas = body.count("."), body.count(",")
    if len(spaces) > 1 or (spaces and points and commas):
        raise MoneyError(f"bad grouping in price {shown}: it mixes grouping marks")
    if spaces:
        # A space only ever groups, so a point or a comma beside it is the decimal mark.
        decimal_mark = "." if points else "," if commas else ""
        if decimal_mark and body.count(decimal_mark) > 1:
            raise MoneyError(f"price {shown} has more than one decimal mark")
        return decimal_mark, spaces.pop()
    if points and commas:
        decimal_mark = body[max(body.rfind("."), body.rfind(","))]
        if body.count(decimal_mark) > 1:
            raise MoneyError(f"price {shown} has more than one decimal mark")
        return decimal_mark, "," if decimal_mark == "." else "."
    if points > 1 or commas > 1:
        # The same mark twice can only group ("1.299.000").
        return "", "." if points else ","
    if points or commas:
        mark = "." if points else ","
        whole, _, fraction = body.partition(mark)
        if len(fraction) == 3 and cur.exponent < 3 and _HEAD.fullmatch(whole):
            raise MoneyError(
                f"price {shown} is ambiguous: {mark!r} could be a decimal mark or a thousands separator"
                " (add the decimals, as in 1,234.00 or 1.234,00, or drop the mark)"
            )
        return mark, ""
    return "", ""


def _decimal_to_minor(value: Decimal, cur: Currency, shown: str) -> int:
    if not value.is_finite():
        raise MoneyError(f"not a price: {shown}")
    if value.is_zero():
        return 0  # whatever its exponent: 0E-999999999 is exactly zero
    # adjusted() is the power of ten of the leading digit, read without arithmetic: it bounds a value such as
    # 1E+999999999 or 1E-999999999 before any context could overflow or flush it to zero.
    if value.adjusted() > len(str(MAX_MINOR)) - cur.exponent:
        raise _out_of_range(cur, shown)
    if value.adjusted() < -cur.exponent:
        raise MoneyError(f"{shown} has more than {cur.exponent} decimals for {cur.code}")
    try:
        with decimal.localcontext(_EXACT):
            scaled = value.scaleb(cur.exponent)
            exact = scaled == scaled.to_integral_value()
    except decimal.Inexact:
        exact = False
    if not exact:
        raise MoneyError(f"{shown} has more than {cur.exponent} decimals for {cur.code}")
    return _in_range(int(scaled), cur, shown)


def _in_range(minor: int, cur: Currency, shown: str) -> int:
    if not MIN_MINOR <= minor <= MAX_MINOR:
        raise _out_of_range(cur, shown)
    return minor


def _out_of_range(cur: Currency, shown: str) -> MoneyError:
    low, high = format_minor(MIN_MINOR, cur.code), format_minor(MAX_MINOR, cur.code)
    return MoneyError(f"price {shown} is out of range: amounts in {cur.code} are from {low} to {high}")


def _shown(value: object) -> str:
    """A value as a message quotes it: in full when short, its start and its length when not."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"(a whole number of {value.bit_length()} bits)"  # str() of a huge int is slow, or raises
    if isinstance(value, Decimal) and len(value.as_tuple().digits) > 48:
        return f"(a Decimal of {len(value.as_tuple().digits)} digits, exponent {value.as_tuple().exponent})"
    quoted = repr(value)
    if len(quoted) <= 60:
        return quoted
    length = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return quoted[:48] + "…" + length


def to_decimal(minor: int, code: str) -> Decimal:
    """Minor units as an exact `Decimal` in whole units (what Amazon's JSON carries)."""
    cur = currency(code)
    _in_range(minor, cur, _shown(minor))
    with decimal.localcontext(_EXACT):
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
        cur = currency(self.currency)
        amount: object = self.minor  # msgspec does not check types at construction
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise MoneyError(f"minor units must be an int, not {_shown(amount)}")
        _in_range(amount, cur, _shown(amount))

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
