"""Amazon's error replies, as the fake sends them: ``{"errors": [{"code", "message", "details"}]}``.

A route refuses a request by raising `Refusal`; the app turns it into the reply and counts it. The codes and words
are each API's own, as its model's examples give them: the pricing and feeds APIs say ``InvalidInput``, the
Listings Items API ``BAD_REQUEST`` and ``NOT_FOUND``.
"""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = [
    "DENIED",
    "ENCODER",
    "EXPIRED",
    "INVALID_TOKEN",
    "QUOTA_EXCEEDED",
    "ApiError",
    "Refusal",
    "bad_request",
    "errors_body",
    "listings_bad_request",
]

# Amazon's words, as its replies carry them (reference/spapi.md; the client's tests quote the same).
DENIED: Final = "Access to requested resource is denied."
EXPIRED: Final = "The access token you provided has expired."
INVALID_TOKEN: Final = "The access token you provided is revoked, malformed or invalid."
QUOTA_EXCEEDED: Final = "You exceeded your quota for the requested resource."

ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


class ApiError(msgspec.Struct, frozen=True, gc=False):
    """One entry of the ``errors`` list (the model's ``Error``: code and message required, details optional)."""

    code: str
    message: str
    details: str = ""


class _Errors(msgspec.Struct, frozen=True, gc=False):
    errors: tuple[ApiError, ...]


def errors_body(code: str, message: str, details: str = "") -> bytes:
    return ENCODER.encode(_Errors((ApiError(code, message, details),)))


class Refusal(Exception):
    """A request Amazon refuses whole: the HTTP ``status`` and the error it names."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(f"HTTP {status} {code}: {message} ({details})")
        self.status = status
        self.error = ApiError(code, message, details)

    @property
    def body(self) -> bytes:
        return ENCODER.encode(_Errors((self.error,)))


def bad_request(details: str) -> Refusal:
    """A 400 of the pricing and feeds APIs: a body or parameter outside the model, named in ``details``."""
    return Refusal(400, "InvalidInput", "Invalid input", details)


def listings_bad_request(details: str) -> Refusal:
    """A 400 of the Listings Items API (its model's example: ``BAD_REQUEST``, "Invalid input")."""
    return Refusal(400, "BAD_REQUEST", "Invalid input", details)
