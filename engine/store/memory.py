"""An in-memory `Store`: the same contract as the SQLite store (tests/store holds both to it), for runs under
virtual time. Nothing in it waits on a thread or a socket, so it runs under trio's MockClock."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence
from typing import TypeVar

import msgspec

from engine.catalog import CatalogRow
from engine.model import (
    Decision,
    OfferKey,
    OfferUpdate,
    OutboxEntry,
    OutboxMark,
    OutboxState,
    PricePoint,
)
from engine.ports import CatalogChange
from engine.store.outbox import apply_mark, superseded_by_put

__all__ = ["MemoryStore", "StoreClosed"]


class StoreClosed(RuntimeError):
    """The store was used after `aclose`."""


class MemoryStore:
    """Dicts behind the `Store` protocol. Decisions and prices keep the newest ``trace_per_offer`` per offer."""

    def __init__(self, *, trace_per_offer: int = 1000) -> None:
        self._catalog: dict[OfferKey, CatalogRow] = {}
        self._states: dict[OfferKey, bytes] = {}
        self._market_states: dict[tuple[str, str], bytes] = {}
        self._decisions: dict[OfferKey, deque[Decision]] = {}
        self._prices: dict[OfferKey, deque[PricePoint]] = {}
        self._outbox: dict[int, OutboxEntry] = {}
        self._open: dict[OfferKey, list[int]] = {}  # update ids of each offer not yet in a final state
        self._last_id = 0
        self._keep = trace_per_offer
        self.closed = False

    @property
    def persistent(self) -> bool:
        return False

    def _check(self) -> None:
        if self.closed:
            raise StoreClosed("the store is closed")

    async def markets(self) -> list[tuple[str, str]]:
        self._check()
        return sorted({(k.seller, k.marketplace) for k in self._catalog})

    async def load_catalog(self, seller: str, marketplace: str) -> list[CatalogRow]:
        self._check()
        return [r for k, r in sorted(self._catalog.items()) if (k.seller, k.marketplace) == (seller, marketplace)]

    async def save_catalog(self, rows: Sequence[CatalogRow]) -> CatalogChange:
        self._check()
        created = updated = unchanged = 0
        for row in _last_per_key(rows):
            old = self._catalog.get(row.key)
            if old is None:
                created += 1
            elif old == row:
                unchanged += 1
                continue
            else:
                updated += 1
            self._catalog[row.key] = row
        return CatalogChange(created, updated, unchanged)

    async def remove_offers(self, keys: Sequence[OfferKey]) -> None:
        self._check()
        for key in keys:
            self._catalog.pop(key, None)
            self._states.pop(key, None)

    async def load_search_states(self, seller: str, marketplace: str) -> dict[OfferKey, bytes]:
        self._check()
        return {k: v for k, v in self._states.items() if (k.seller, k.marketplace) == (seller, marketplace)}

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None:
        self._check()
        self._states.update(states)

    async def load_market_state(self, seller: str, marketplace: str) -> bytes | None:
        self._check()
        return self._market_states.get((seller, marketplace))

    async def save_market_state(self, seller: str, marketplace: str, state: bytes) -> None:
        self._check()
        self._market_states[seller, marketplace] = state

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        self._check()
        _append(self._decisions, decisions, self._keep)

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]:
        self._check()
        return _newest(self._decisions.get(key), limit)

    async def record_prices(self, points: Sequence[PricePoint]) -> None:
        self._check()
        _append(self._prices, points, self._keep)

    async def price_history(self, key: OfferKey, limit: int) -> list[PricePoint]:
        self._check()
        return _newest(self._prices.get(key), limit)

    async def last_update_id(self) -> int:
        self._check()
        return self._last_id

    async def outbox_put(self, updates: Sequence[OfferUpdate], at: float) -> None:
        self._check()
        for update in updates:
            if update.update_id in self._outbox:
                raise ValueError(f"update {update.update_id} is in the outbox already")
        for update in updates:
            for update_id in list(self._open.get(update.key, ())):
                entry = self._outbox[update_id]
                if superseded_by_put(entry.state):
                    self._set(msgspec.structs.replace(entry, state=OutboxState.SUPERSEDED, at=at))
            self._outbox[update.update_id] = OutboxEntry(update, OutboxState.STORED, at)
            self._open.setdefault(update.key, []).append(update.update_id)
            self._last_id = max(self._last_id, update.update_id)

    async def outbox_mark(self, marks: Sequence[OutboxMark]) -> int:
        self._check()
        applied = 0
        for mark in marks:
            entry = self._outbox.get(mark.update_id)
            if entry is None or entry.update.key != mark.key:
                continue
            moved = apply_mark(entry, mark)
            if moved is None:
                continue
            applied += 1
            self._set(moved)
            if moved.state is OutboxState.ACCEPTED:
                for update_id in list(self._open.get(mark.key, ())):
                    older = self._outbox[update_id]
                    if update_id < mark.update_id and older.state is OutboxState.ACCEPTED:
                        self._set(msgspec.structs.replace(older, state=OutboxState.SUPERSEDED, at=mark.at))
        return applied

    def _set(self, entry: OutboxEntry) -> None:
        update = entry.update
        self._outbox[update.update_id] = entry
        if entry.state.final:
            open_ids = self._open.get(update.key)
            if open_ids is not None and update.update_id in open_ids:
                open_ids.remove(update.update_id)
                if not open_ids:
                    del self._open[update.key]

    async def outbox_entries(self, seller: str, marketplace: str, states: Collection[OutboxState]) -> list[OutboxEntry]:
        self._check()
        return [
            entry
            for _, entry in sorted(self._outbox.items())
            if entry.state in states
            and (entry.update.key.seller, entry.update.key.marketplace) == (seller, marketplace)
        ]

    async def aclose(self) -> None:
        self.closed = True

    async def __aenter__(self) -> MemoryStore:
        self._check()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def _last_per_key(rows: Sequence[CatalogRow]) -> list[CatalogRow]:
    """A key given twice in one call: the later row wins, counted once."""
    return list({row.key: row for row in rows}.values())


_Traced = TypeVar("_Traced", Decision, PricePoint)
_T = TypeVar("_T")


def _append(trace: dict[OfferKey, deque[_Traced]], items: Sequence[_Traced], keep: int) -> None:
    for item in items:
        kept = trace.get(item.key)
        if kept is None:
            kept = trace[item.key] = deque(maxlen=keep)
        kept.append(item)


def _newest(kept: deque[_T] | None, limit: int) -> list[_T]:
    if kept is None or limit <= 0:
        return []
    return list(kept)[-limit:][::-1]
