"""An in-memory `Store`: the same contract as the SQLite store, for runs under virtual time."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from engine.model import Decision, OfferKey, OfferSettings, OfferUpdate, SubmissionResult

__all__ = ["MemoryStore"]


class StoreClosed(RuntimeError):
    """The store was used after `aclose`."""


class MemoryStore:
    """Dicts behind the `Store` protocol. Decisions keep the newest ``decisions_per_offer`` per offer."""

    def __init__(self, *, decisions_per_offer: int = 1000) -> None:
        self._offers: dict[OfferKey, OfferSettings] = {}
        self._states: dict[OfferKey, bytes] = {}
        self._decisions: dict[OfferKey, deque[Decision]] = {}
        self._outbox: dict[tuple[OfferKey, int], OfferUpdate] = {}
        self._keep = decisions_per_offer
        self.closed = False

    @property
    def persistent(self) -> bool:
        return False

    def _check(self) -> None:
        if self.closed:
            raise StoreClosed("the store is closed")

    async def load_offers(self, seller: str, marketplace: str) -> list[OfferSettings]:
        self._check()
        return [o for k, o in sorted(self._offers.items()) if (k.seller, k.marketplace) == (seller, marketplace)]

    async def save_offers(self, offers: Sequence[OfferSettings]) -> None:
        self._check()
        self._offers.update((o.key, o) for o in offers)

    async def remove_offers(self, keys: Sequence[OfferKey]) -> None:
        self._check()
        for key in keys:
            self._offers.pop(key, None)
            self._states.pop(key, None)

    async def load_search_states(self, seller: str, marketplace: str) -> dict[OfferKey, bytes]:
        self._check()
        return {k: v for k, v in self._states.items() if (k.seller, k.marketplace) == (seller, marketplace)}

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None:
        self._check()
        self._states.update(states)

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        self._check()
        for decision in decisions:
            trace = self._decisions.get(decision.key)
            if trace is None:
                trace = self._decisions[decision.key] = deque(maxlen=self._keep)
            trace.append(decision)

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]:
        self._check()
        trace = self._decisions.get(key, ())
        return list(trace)[-limit:][::-1]

    async def outbox_put(self, updates: Sequence[OfferUpdate]) -> None:
        self._check()
        self._outbox.update(((u.key, u.update_id), u) for u in updates)

    async def outbox_done(self, results: Sequence[SubmissionResult]) -> None:
        self._check()
        for result in results:
            self._outbox.pop((result.key, result.update_id), None)

    async def outbox_pending(self, seller: str, marketplace: str) -> list[OfferUpdate]:
        self._check()
        latest: dict[OfferKey, OfferUpdate] = {}
        for (key, update_id), update in self._outbox.items():
            if (key.seller, key.marketplace) == (seller, marketplace) and (
                key not in latest or update_id > latest[key].update_id
            ):
                latest[key] = update
        return sorted(latest.values(), key=lambda u: u.update_id)

    async def aclose(self) -> None:
        self.closed = True

    async def __aenter__(self) -> MemoryStore:
        self._check()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
