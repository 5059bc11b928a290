"""What the SQLite store (`engine.store.sqlite`, in the daemon) and its writer process (`engine.store.writer`) say
to each other over the writer's stdin and stdout.

A frame is four bytes of length (big-endian) and that many bytes of msgpack. The store sends `Open` and the writer
answers with a `Reply` of one value once the file is ready (or the error that stopped it); then, one at a time, a
group of operations (a msgpack array of the tagged structs below, each encoded when its caller made the call) and
the writer answers each group with one `Reply`: a value per operation, in order, and the errors of those that
failed. A group's writes commit in one transaction, then its reads run (`engine.store.writer`).

Times arrive as the daemon's `Clock` readings; the writer adds `Open.offset` (Unix seconds at trio time 0 of the
daemon) to store wall time. Rows read come back as the file holds them, and the store converts them.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from engine.model import Decision, OfferUpdate, OutboxMark, PricePoint

__all__ = [
    "ENCODER",
    "GROUP",
    "HEADER",
    "OPEN",
    "REPLY",
    "Flush",
    "KeyTuple",
    "LastUpdateId",
    "LoadCatalog",
    "LoadMarketState",
    "LoadStates",
    "MarkOutbox",
    "Markets",
    "Op",
    "Open",
    "OutboxEntries",
    "PriceHistory",
    "PutOutbox",
    "RecentDecisions",
    "RecordDecisions",
    "RecordPrices",
    "RemoveOffers",
    "Reply",
    "SaveCatalog",
    "SaveMarketState",
    "SaveStates",
]

# The length of the frame that follows, big-endian.
HEADER: Final = 4

KeyTuple = tuple[str, str, str]  # (seller, marketplace, sku)


class Open(msgspec.Struct, frozen=True, tag=True):
    path: str
    offset: float  # Unix seconds at trio time 0 of the daemon
    cache_mib: int
    retention_days: float
    busy_timeout_ms: int


# --- the catalog -------------------------------------------------------------------------------------------------


class Markets(msgspec.Struct, frozen=True, tag=True):
    pass


class LoadCatalog(msgspec.Struct, frozen=True, tag=True):
    seller: str
    marketplace: str


class SaveCatalog(msgspec.Struct, frozen=True, tag=True):
    rows: list[tuple[str, str, str, bytes]]  # one row a key; the row msgpack-encoded


class RemoveOffers(msgspec.Struct, frozen=True, tag=True):
    keys: list[KeyTuple]


# --- what the engine learned ---------------------------------------------------------------------------------------


class LoadStates(msgspec.Struct, frozen=True, tag=True):
    seller: str
    marketplace: str


class SaveStates(msgspec.Struct, frozen=True, tag=True):
    rows: list[tuple[str, str, str, bytes]]


class LoadMarketState(msgspec.Struct, frozen=True, tag=True):
    seller: str
    marketplace: str


class SaveMarketState(msgspec.Struct, frozen=True, tag=True):
    seller: str
    marketplace: str
    state: bytes


# --- traces: handed over, merged with the other traces of their table in a group -----------------------------------


class RecordDecisions(msgspec.Struct, frozen=True, tag=True):
    decisions: list[Decision]


class RecordPrices(msgspec.Struct, frozen=True, tag=True):
    points: list[PricePoint]


class RecentDecisions(msgspec.Struct, frozen=True, tag=True):
    key: KeyTuple
    limit: int


class PriceHistory(msgspec.Struct, frozen=True, tag=True):
    key: KeyTuple
    limit: int


# --- the outbox --------------------------------------------------------------------------------------------------


class LastUpdateId(msgspec.Struct, frozen=True, tag=True):
    pass


class PutOutbox(msgspec.Struct, frozen=True, tag=True):
    updates: list[OfferUpdate]
    at: float


class MarkOutbox(msgspec.Struct, frozen=True, tag=True):
    marks: list[OutboxMark]


class OutboxEntries(msgspec.Struct, frozen=True, tag=True):
    seller: str
    marketplace: str
    states: list[str]


class Flush(msgspec.Struct, frozen=True, tag=True):
    """Nothing: answered once everything queued before it has committed (`SqliteStore.aclose`)."""


Op = (
    Markets
    | LoadCatalog
    | SaveCatalog
    | RemoveOffers
    | LoadStates
    | SaveStates
    | LoadMarketState
    | SaveMarketState
    | RecordDecisions
    | RecordPrices
    | RecentDecisions
    | PriceHistory
    | LastUpdateId
    | PutOutbox
    | MarkOutbox
    | OutboxEntries
    | Flush
)


class Reply(msgspec.Struct, frozen=True, array_like=True):
    values: list[Any]  # one per operation (None for a failed one)
    errors: list[tuple[int, str, str]]  # (the operation's index, the error's kind, its message)


ENCODER: Final = msgspec.msgpack.Encoder()
OPEN: Final = msgspec.msgpack.Decoder(Open)
GROUP: Final = msgspec.msgpack.Decoder(list[Op])
REPLY: Final = msgspec.msgpack.Decoder(Reply)
