"""What every Selling Partner API reply shares: the error list, a batch item's status line, and how a reply that
does not fit its Struct is reported.

The Structs here and beside this module (one module per API) hold only the fields the adapter reads or writes,
named as Amazon spells them. Decoding ignores every other field, as a client of an API that grows must; a field the
adapter needs and the model requires is required, so a reply without it is an error that names its path. Amounts
are `Decimal`s: msgspec reads a JSON number into a Decimal from its text, exactly, and accepts a string as well
(Amazon sends both, even within one API).
"""

from __future__ import annotations

from typing import Final, TypeVar

import msgspec

__all__ = ["ApiError", "ErrorList", "StatusLine", "WireError", "decode", "errors_of", "located"]

T = TypeVar("T")


class WireError(ValueError):
    """A reply that does not have the shape Amazon's model promises. The message names the operation and the path
    of the field at fault (``$.responses[3].body.payload.Offers[0]``), as msgspec reports it."""

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"{operation}: {detail}")
        self.operation = operation
        self.detail = detail


class ApiError(msgspec.Struct, frozen=True, gc=False):
    """One entry of Amazon's ``{"errors": [...]}``: every API's error body, a batch item's included."""

    code: str
    message: str = ""
    details: str | None = None

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.message else self.code
        return f"{text} ({self.details})" if self.details and self.details != self.message else text


class ErrorList(msgspec.Struct, frozen=True, gc=False):
    errors: tuple[ApiError, ...] = ()


class StatusLine(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """A batch item's own HTTP status: one item can fail while the others answer."""

    status_code: int
    reason_phrase: str | None = None


_ERRORS: Final = msgspec.json.Decoder(ErrorList)


def errors_of(body: bytes) -> tuple[ApiError, ...]:
    """Amazon's errors in an error reply's body; none when the body is not an error list (an HTML page from a proxy,
    an empty body): the status code then says all there is."""
    try:
        return _ERRORS.decode(body).errors
    except (msgspec.ValidationError, msgspec.DecodeError):
        return ()


def located(error: msgspec.ValidationError | msgspec.DecodeError, where: str) -> str:
    """msgspec's message with its path rooted at ``where`` (the part of the reply that was decoded on its own)."""
    text = str(error)
    if " - at `$" in text:
        return text.replace(" - at `$", f" - at `$.{where}", 1)
    return f"{text} - at `$.{where}`"


def decode(decoder: msgspec.json.Decoder[T], data: bytes, operation: str) -> T:
    """``decoder.decode(data)``, or `WireError` naming ``operation`` and the path at fault."""
    try:
        return decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise WireError(operation, str(error)) from None
