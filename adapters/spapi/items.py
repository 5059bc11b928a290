"""What every batch decoder does alike: match Amazon's answers to the keys that asked, turn a failed item into its
`ItemFailure`, and read an amount into minor units exactly.

Amazon answers a batch in the order asked and echoes each request (its SKU or ASIN), but neither is promised
everywhere, and the model's own example echoes a SKU that was not the one asked for. So an answer goes to the key
its echo names; answers that name no key fill the keys left over, in order; a key with no answer at all fails
on its own (asked again soon), never the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final, NamedTuple, Protocol, TypeVar

from adapters.spapi.wire.common import ApiError
from engine.model import OfferKey
from engine.money import MoneyError, parse_minor
from engine.ports import ItemFailure

__all__ = [
    "INVALID_RESPONSE",
    "NO_RESPONSE",
    "Amount",
    "Unreadable",
    "amount_minor",
    "failure",
    "invalid",
    "matched",
    "minor",
    "no_response",
    "pair",
    "unreadable",
]

A = TypeVar("A")

INVALID_RESPONSE: Final = "InvalidResponse"
NO_RESPONSE: Final = "NoResponse"


class Amount(Protocol):
    """Either API generation's money (``CurrencyCode``/``Amount`` or ``currencyCode``/``amount``)."""

    @property
    def currency_code(self) -> str: ...

    @property
    def amount(self) -> Decimal: ...


def minor(money: Amount, currency: str, where: str) -> int:
    """``money`` in minor units of ``currency``, exactly, or `MoneyError` naming ``where``: an amount in another
    currency, or with more decimals than the currency has (19.999 EUR), is refused, never rounded."""
    return amount_minor(money.amount, money.currency_code, currency, where)


def amount_minor(amount: Decimal, code: str | None, currency: str, where: str) -> int:
    """`minor` of an amount whose currency is said apart from it (``code``; None where it goes unsaid)."""
    if code is not None and code != currency:
        raise MoneyError(f"{where}: an amount in {code!r} where {currency} was asked for")
    try:
        return parse_minor(amount, currency)
    except MoneyError as error:
        raise MoneyError(f"{where}: {error}") from None


def pair(wanted: Sequence[str], answered: Sequence[str | None]) -> list[int | None]:
    """For each wanted id, the index of its answer in ``answered`` (None: no answer). An answer goes to every key
    whose id it echoes (two keys may share an ASIN); the answers that echo no wanted id fill the keys still
    unanswered, in order."""
    first: dict[str, int] = {}
    for index, ident in enumerate(answered):
        if ident is not None:
            first.setdefault(ident, index)
    matched: list[int | None] = [first.get(ident) for ident in wanted]
    used, asked = {index for index in matched if index is not None}, set(wanted)
    spare = iter(index for index, ident in enumerate(answered) if index not in used and ident not in asked)
    return [index if index is not None else next(spare, None) for index in matched]


class Unreadable(NamedTuple):
    """A batch item that could not be decoded, and where: the failure of the key it answers."""

    detail: str


def matched(
    keys: Sequence[OfferKey],
    wanted: Sequence[str],
    answers: Sequence[A | Unreadable],
    echoes: Sequence[str | None],
    at: float,
) -> list[tuple[int, A] | ItemFailure]:
    """For each key (whose id is ``wanted``), its answer and the answer's index in the reply (see `pair`); or the
    key's failure when the reply has no answer for it, or one that could not be read."""
    out: list[tuple[int, A] | ItemFailure] = []
    for key, index in zip(keys, pair(wanted, echoes), strict=True):
        if index is None:
            out.append(no_response(key, at))
            continue
        answer = answers[index]
        out.append(invalid(key, at, answer.detail) if isinstance(answer, Unreadable) else (index, answer))
    return out


def failure(key: OfferKey, at: float, status: int, reason: str | None, errors: Sequence[ApiError]) -> ItemFailure:
    """A failed item as Amazon described it: its first error's code (else the status), every error and the status
    line in the message. Worth asking again soon (``transient``) for a 429 or a 5xx only."""
    code = errors[0].code if errors else f"HTTP {status}"
    line = f"HTTP {status}" + (f" {reason}" if reason else "")
    message = f"{line}: {'; '.join(str(error) for error in errors)}" if errors else line
    return ItemFailure(key, at, code, message, transient=status == 429 or status >= 500)


def invalid(key: OfferKey, at: float, detail: str) -> ItemFailure:
    """An answer that cannot be read (a field missing, an amount too precise): asking again gives the same."""
    return ItemFailure(key, at, INVALID_RESPONSE, detail, transient=False)


def unreadable(key: OfferKey, at: float, detail: str) -> ItemFailure:
    """A reply that is not JSON at all (cut short on the way, an error page): asking again may well succeed."""
    return ItemFailure(key, at, INVALID_RESPONSE, detail, transient=True)


def no_response(key: OfferKey, at: float) -> ItemFailure:
    return ItemFailure(key, at, NO_RESPONSE, "Amazon's batch reply had no answer for this item", transient=True)
