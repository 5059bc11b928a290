"""How each value of a catalog record is spelled, read one field at a time.

Each reader takes the raw value (CSV text, or a decoded JSON value) and returns the field's value, or raises
`FieldError` whose reason completes "<field> <value> ...", so every message names the field and the bad value.
Values reach a reader only when present: absent ones (no key, null, empty text) never get here.

CSV cells are all text, so the ``*_cell`` readers parse words and digits; JSONL is typed, so a count must be a JSON
integer and a flag a JSON boolean there. Money and shares are text in both (numbers are accepted in JSONL too, and
decoded as `Decimal`, never as floats).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Final, TypeVar

import msgspec

from engine.marketplaces import MARKETPLACES, by_code
from engine.money import MoneyError, parse_minor

__all__ = [
    "FieldError",
    "attributes_cell",
    "attributes_json",
    "choice",
    "count_cell",
    "count_json",
    "flag_cell",
    "flag_json",
    "has_surrogate",
    "margin",
    "marketplace",
    "money",
    "plain",
    "share",
    "shown",
    "text",
]

E = TypeVar("E", bound=enum.Enum)

# What a store keeps in a signed 64-bit column; anything larger is a typo or garbage, not a price or a count.
MAX_INT: Final = 2**63 - 1
# Longer money text cannot be a price.
_MAX_MONEY_CHARS: Final = 40

_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,20}(?:[.,][0-9]{0,20})?|[.,][0-9]{1,20})")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})

_json = msgspec.json.Decoder()


class FieldError(Exception):
    """A present value that cannot be used; ``reason`` completes "<field> <value> ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def text(value: object) -> str:
    """Free text and identifiers, without surrounding whitespace (a spreadsheet's stray space is not a new SKU)."""
    if not isinstance(value, str):
        raise FieldError("must be a string")
    return value.strip()


def marketplace(value: object) -> str:
    """A marketplace's country code, in its canonical spelling ("de" reads as "DE")."""
    try:
        return by_code(text(value)).code
    except KeyError:
        raise FieldError(f"is unknown; known: {', '.join(MARKETPLACES)}") from None


def choice(kind: type[E]) -> Callable[[object], E]:
    """One of an enum's values exactly, in any case; the error lists them all."""
    members = {str(member.value): member for member in kind}
    known = ", ".join(members)

    def read(value: object) -> E:
        if not isinstance(value, str):
            raise FieldError(f"must be one of {known}")
        try:
            return members[value.strip().lower()]
        except KeyError:
            raise FieldError(f"is not one of {known}") from None

    return read


@functools.cache  # one reader per currency, not one per cell
def money(currency: str) -> Callable[[object], int]:
    """An amount in ``currency``, in minor units: never negative, and exact (`engine.money.parse_minor`)."""

    def read(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise FieldError('must be an amount such as "12.99"')
        if (isinstance(value, str) and len(value.strip()) > _MAX_MONEY_CHARS) or not _computable(value):
            raise FieldError("is not an amount")
        try:
            minor = parse_minor(value, currency)  # exact in its own context, whatever the caller's
        except MoneyError as exc:
            raise FieldError(f"is not an amount in {currency}: {exc}") from None
        return _in_range(minor)

    return read


def share(value: object) -> Decimal:
    """A fee or VAT rate as a share of the price: 0.15, not 15."""
    number = _decimal(value)
    if not 0 <= number < 1:
        raise FieldError("is not a share in [0, 1): write 0.15 for 15%")
    return number


def margin(value: object) -> Decimal:
    """A margin level: a share of net revenue below 1, and negative for a seller willing to sell at a loss."""
    number = _decimal(value)
    if number >= 1:
        raise FieldError("is not below 1: margins are shares of net revenue (0.12 for 12%)")
    return number


def count_cell(value: object) -> int:
    digits = text(value)
    if not _WHOLE.fullmatch(digits):
        raise FieldError("is not a whole number")
    return _in_range(int(digits))


def count_json(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("must be a whole number")
    return _in_range(value)


def flag_cell(value: object) -> bool:
    word = text(value).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise FieldError("is not true or false (or yes/no, 1/0)")


def flag_json(value: object) -> bool:
    if not isinstance(value, bool):
        raise FieldError("must be true or false")
    return value


def attributes_cell(value: object) -> tuple[tuple[str, str], ...]:
    """A CSV cell holding a JSON object of strings: ``{"color": "red"}``."""
    try:
        decoded = _json.decode(text(value))
    except (msgspec.DecodeError, RecursionError):
        raise FieldError('is not a JSON object of strings such as {"color": "red"}') from None
    return attributes_json(decoded)


def attributes_json(value: object) -> tuple[tuple[str, str], ...]:
    """An object of strings, kept in its order and verbatim (no trimming: these are the source's values)."""
    if not isinstance(value, dict):
        raise FieldError('must be an object of strings such as {"color": "red"}')
    for name, item in value.items():
        if not isinstance(item, str):
            raise FieldError(f"must be an object of strings: {name!r} is {shown(item)}")
    return tuple(value.items())


def plain(number: Decimal) -> str:
    """A Decimal without an exponent: "0.15", never "1.5E-1"."""
    return format(number, "f")


def has_surrogate(value: str) -> bool:
    """Whether text holds a lone surrogate, which is not Unicode and cannot be written as UTF-8."""
    return _SURROGATE.search(value) is not None


def shown(value: object) -> str:
    """A value as an error message quotes it: short, and safe for anything a decoder returned."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return "[…]"
    if isinstance(value, int) and value.bit_length() > 200:  # str() of a huge int is slow, and may raise
        return "(a very large number)"
    quoted = repr(value) if isinstance(value, str) else str(value)
    return quoted if len(quoted) <= 60 else quoted[:57] + "…"


def _decimal(value: object) -> Decimal:
    if isinstance(value, str):
        digits = value.strip()
        if not _DECIMAL.fullmatch(digits):
            raise FieldError("is not a decimal number such as 0.15")
        return Decimal(digits.replace(",", "."))
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise FieldError('must be a decimal number such as "0.15"')
    if not _computable(value):
        raise FieldError("is not a decimal number such as 0.15")
    return Decimal(value)


def _in_range(number: int) -> int:
    if number < 0:
        raise FieldError("is negative")
    if number > MAX_INT:
        raise FieldError("is too large")
    return number


def _computable(value: str | int | Decimal) -> bool:
    """Whether a number is small enough to compute with: JSON spells 1e999999999 in eleven bytes."""
    if isinstance(value, int):
        return value.bit_length() <= 64
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return isinstance(exponent, int) and exponent >= -30 and value.adjusted() <= 30
    return True
