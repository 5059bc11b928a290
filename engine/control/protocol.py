"""The control socket's protocol: newline-delimited JSON, every message a msgspec Struct.

A client sends one request per line, an object tagged by ``cmd`` with an ``id`` of its choosing (an integer or a
short string) that the answer repeats:

    {"cmd": "pause", "id": 7, "sku": "A-1", "marketplace": "DE"}
    {"id": 7, "ok": {"target": "offer SELLER/DE/A-1", "paused": true, "changed": true, ...}}

and gets one line back: ``{"id", "ok": result}`` or ``{"id", "error": {"code", "message"}}``. ``watch`` answers
``ok`` once and then streams ``{"id", "event": decision}`` lines (and ``{"id", "dropped": n}`` when its buffer
overflowed) until the client hangs up. A line that cannot be read as a request gets an error with the id it
carried where one could be found, else ``"id": null``; nothing a client sends makes the decoder raise.

Amounts travel as decimal strings in the marketplace's currency ("19.99"): JSON numbers are floats to most
clients, and a float cannot say 19.99. Requests accept a string or a number for an amount and read it exactly.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated, Any, Final

import msgspec
from msgspec import UNSET, Meta, UnsetType

from engine.model import BuyBoxAction, Condition, Fulfilment

__all__ = [
    "COMMANDS",
    "Bounds",
    "Code",
    "Dropped",
    "Error",
    "ErrorReply",
    "Event",
    "History",
    "OfferQuery",
    "Ok",
    "Pause",
    "Release",
    "Reload",
    "Reprice",
    "Request",
    "RequestId",
    "Resume",
    "Settings",
    "SettingsChange",
    "Status",
    "Top",
    "Watch",
    "decode_request",
    "encode",
    "error_reply",
]

# An id the answer repeats: a 64-bit integer or a string short enough to log.
RequestId = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)] | Annotated[str, Meta(max_length=128)]
Sku = Annotated[str, Meta(min_length=1, max_length=200)]
Name = Annotated[str, Meta(min_length=1, max_length=64)]  # a marketplace code or a seller id


class Code(enum.StrEnum):
    """Why a request failed; the message says it in words and names the SKU, marketplace or seller."""

    BAD_JSON = "bad_json"  # the line is not JSON, or not a JSON object
    BAD_REQUEST = "bad_request"  # a field missing, unknown or of the wrong type
    UNKNOWN_COMMAND = "unknown_command"
    LINE_TOO_LONG = "line_too_long"  # the connection is closed after this one
    NOT_FOUND = "not_found"  # no such SKU, marketplace or seller
    AMBIGUOUS = "ambiguous"  # the SKU (or marketplace) is on more than one: name the marketplace (or seller)
    INVALID = "invalid"  # the daemon refused the change (bounds, settings) and changed nothing
    BUSY = "busy"  # too many connections; the connection is closed
    TIMEOUT = "timeout"  # a request took too long, or the connection sat idle; see the message
    FORBIDDEN = "forbidden"  # the client runs as another user; the connection is closed
    INTERNAL = "internal"  # a bug; the daemon carries on
    STOPPING = "stopping"  # the daemon has stopped: nothing was done; the connection closes soon


# --- requests ----------------------------------------------------------------------------------------------------


class _Request(msgspec.Struct, frozen=True, tag_field="cmd", forbid_unknown_fields=True, kw_only=True):
    id: RequestId


class Status(_Request, frozen=True, tag="status"):
    """Every seller's marketplaces at a glance."""


class OfferQuery(_Request, frozen=True, tag="offer"):
    """One offer: settings, bounds, what Amazon shows, the search, its latest decisions. The marketplace (and
    seller) may be left out when only one has the SKU."""

    sku: Sku
    marketplace: Name | None = None
    seller: Name | None = None


class Pause(_Request, frozen=True, tag="pause"):
    """Stop deciding and sending: one SKU, a marketplace, a seller, or (``all``) everything: the kill switch."""

    sku: Sku | None = None
    marketplace: Name | None = None
    seller: Name | None = None
    all: bool = False


class Resume(_Request, frozen=True, tag="resume"):
    """Undo a pause at the same level (a pause above it still holds, and the answer says so)."""

    sku: Sku | None = None
    marketplace: Name | None = None
    seller: Name | None = None
    all: bool = False


class Bounds(_Request, frozen=True, tag="bounds"):
    """New bounds for one offer: prices (either or both; the other stays), or a margin level (both margins),
    priced from ``cost`` or the catalog's cost and fees."""

    sku: Sku
    marketplace: Name | None = None
    seller: Name | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_margin: Decimal | None = None
    max_margin: Decimal | None = None
    cost: Decimal | None = None


class Reprice(_Request, frozen=True, tag="reprice"):
    """Observe one offer now and decide on it; waits up to ``wait_s`` real seconds for the decision."""

    sku: Sku
    marketplace: Name | None = None
    seller: Name | None = None
    wait_s: Annotated[float, Meta(ge=0, le=60)] = 5.0


class Release(_Request, frozen=True, tag="release"):
    """Bring a quarantined offer back; its search starts afresh."""

    sku: Sku
    marketplace: Name | None = None
    seller: Name | None = None


class SettingsChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Channel settings to change; a field left out stays as it is. The competitor filter's fields are flat here
    (``min_feedback_pct``, not ``competitors.min_feedback_pct``), as `Settings` shows them."""

    buybox_unavailable_action: BuyBoxAction | UnsetType = UNSET
    no_competition_use_sale_price: bool | UnsetType = UNSET
    send_prices_only: bool | UnsetType = UNSET
    step_cap: Decimal | UnsetType = UNSET
    max_observation_age_s: float | UnsetType = UNSET
    dry_run: bool | UnsetType = UNSET
    conditions: tuple[Condition, ...] | UnsetType = UNSET
    fulfilment: tuple[Fulfilment, ...] | UnsetType = UNSET
    min_feedback_pct: int | UnsetType = UNSET
    min_feedback_count: int | UnsetType = UNSET
    include_amazon: bool | UnsetType = UNSET
    max_handling_hours: int | UnsetType | None = UNSET  # null: no limit


class Settings(_Request, frozen=True, tag="settings"):
    """Show one marketplace's channel settings, and change them when ``change`` is given."""

    marketplace: Name | None = None
    seller: Name | None = None
    change: SettingsChange | None = None


class Watch(_Request, frozen=True, tag="watch"):
    """Stream decisions as they are made, optionally only one SKU's, one marketplace's or one seller's."""

    sku: Sku | None = None
    marketplace: Name | None = None
    seller: Name | None = None


class History(_Request, frozen=True, tag="history"):
    """One offer's newest decisions and live prices, from the store."""

    sku: Sku
    marketplace: Name | None = None
    seller: Name | None = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 20


class Top(_Request, frozen=True, tag="top"):
    """The live view's board (`engine.live.Board`): what `repricer run --sim` shows, for `repricer ctl top`."""


class Reload(_Request, frozen=True, tag="reload"):
    """Read the configuration file and the catalog again, as SIGHUP does."""


Request = Status | OfferQuery | Pause | Resume | Bounds | Reprice | Release | Settings | Watch | History | Top | Reload
COMMANDS: Final[tuple[str, ...]] = (
    "status",
    "offer",
    "pause",
    "resume",
    "bounds",
    "reprice",
    "release",
    "settings",
    "watch",
    "history",
    "top",
    "reload",
)


# --- replies -----------------------------------------------------------------------------------------------------


class Error(msgspec.Struct, frozen=True):
    code: Code
    message: str


class ErrorReply(msgspec.Struct, frozen=True):
    id: RequestId | None
    error: Error


class Ok(msgspec.Struct, frozen=True):
    id: RequestId
    ok: Any  # the command's result struct (`engine.control.results`)


class Event(msgspec.Struct, frozen=True):
    """One decision of a ``watch``."""

    id: RequestId
    event: Any


class Dropped(msgspec.Struct, frozen=True):
    """A ``watch`` fell behind: ``dropped`` decisions so far went unsent (the daemon never waits for a watcher)."""

    id: RequestId
    dropped: int


def error_reply(request_id: RequestId | None, code: Code, message: str) -> ErrorReply:
    return ErrorReply(request_id, Error(code, message))


# --- decoding and encoding ---------------------------------------------------------------------------------------


class _Envelope(msgspec.Struct):
    """What is read of a line before the request itself: the id to answer with and the command named."""

    id: Any = None
    cmd: Any = None


_requests = msgspec.json.Decoder(Request)
_envelopes = msgspec.json.Decoder(_Envelope)
_encoder = msgspec.json.Encoder()
_TOO_DEEP: Final = "not a request: JSON nested too deep"


def decode_request(line: bytes) -> Request | ErrorReply:
    """A request, or the error to answer it with; never raises, whatever ``line`` holds."""
    try:
        envelope = _envelopes.decode(line)
    except RecursionError:
        # msgspec recurses once per level of nesting, even while skipping a field it ignores: a 2 KB line of
        # brackets reaches Python's limit. The id may sit behind the nesting, so none can be trusted.
        return error_reply(None, Code.BAD_JSON, _TOO_DEEP)
    except msgspec.ValidationError:
        return error_reply(None, Code.BAD_JSON, "a request is a JSON object on one line")
    except msgspec.DecodeError as error:
        return error_reply(None, Code.BAD_JSON, f"not JSON: {error}")
    request_id = _usable_id(envelope.id)
    if envelope.cmd is None:
        return error_reply(request_id, Code.BAD_REQUEST, f'no command: say "cmd", one of {", ".join(COMMANDS)}')
    if not isinstance(envelope.cmd, str) or envelope.cmd not in COMMANDS:
        shown = _shown(envelope.cmd)
        return error_reply(request_id, Code.UNKNOWN_COMMAND, f"unknown command {shown}; known: {', '.join(COMMANDS)}")
    if envelope.id is None:
        return error_reply(None, Code.BAD_REQUEST, 'no request id: say "id", an integer or a string')
    try:
        return _requests.decode(line)
    except RecursionError:
        return error_reply(request_id, Code.BAD_JSON, _TOO_DEEP)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        return error_reply(request_id, Code.BAD_REQUEST, f"{envelope.cmd}: {error}")


def encode(reply: ErrorReply | Ok | Event | Dropped) -> bytes:
    """One reply as a line."""
    return _encoder.encode(reply) + b"\n"


def _usable_id(value: Any) -> RequestId | None:
    """The request's id if it is one an answer may carry, else None (the answer then cannot be matched)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    if isinstance(value, str) and len(value) <= 128:
        return value
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
