"""Stand-ins with no I/O for the throughput benchmark: a marketplace that answers at once and never throttles, a
store that keeps nothing, and the offer actor with its decision taken out.

The marketplace is also the load generator: its `stream_observations` is where notifications enter the engine,
so it pushes offer snapshots there, either as fast as the engine takes them or at a fixed rate (open loop: each
observation is stamped with the time it was due, so a backlog shows up as latency instead of hiding it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import trio

from engine.actors.offer import OfferActor
from engine.catalog import CatalogRow
from engine.model import (
    CompetitorOffer,
    Decision,
    FoepReading,
    Fulfilment,
    ListingState,
    Observation,
    OfferKey,
    OfferSnapshot,
    OfferUpdate,
    OurListing,
    OutboxEntry,
    OutboxMark,
    OutboxState,
    PricePoint,
    ShareReading,
    SubmissionResult,
)
from engine.ports import CatalogChange, ItemFailure, Quota

__all__ = ["NoopActor", "NoopMarketplace", "NullStore", "competitors", "snapshot"]

COMPETITORS = 5
VARIANTS = 64  # distinct competitor sets the load cycles through, so the search sees the market move


def competitors(key_index: int, variant: int) -> tuple[CompetitorOffer, ...]:
    """Five competitors around 100.00, the lowest moving by up to ±3% with ``variant``."""
    base = 10_000 + 300 * ((variant * 7919) % 21 - 10) // 10
    return tuple(
        CompetitorOffer(
            seller_id=f"S{(key_index + j) % 997}",
            listing_price=base + 150 * j,
            shipping=0 if j % 2 else 299,
            fulfilment=Fulfilment.AMAZON if j == 3 else Fulfilment.MERCHANT,
            is_amazon=j == 4,
            feedback_pct=90 + j,
            feedback_count=100 * (j + 1),
            is_buybox_winner=j == 0,
        )
        for j in range(COMPETITORS)
    )


def snapshot(
    key: OfferKey, at: float, rivals: tuple[CompetitorOffer, ...], *, price: int = 10_500, hold: bool = False
) -> OfferSnapshot:
    our = OurListing(listing_price=price, live=True, feedback_pct=97, is_buybox_winner=hold)
    return OfferSnapshot(key=key, source="notification", as_of=at, received_at=at, our=our, competitors=rivals)


class NoopMarketplace:
    """Answers every call at once, never throttles; `stream_observations` is the load.

    ``rate`` None pushes as fast as the channel takes; a number pushes that many observations per second of
    trio time. ``limit`` stops after that many (None: until cancelled). ``shared`` competitor tuples keep the
    generator cheap; the memory measurement passes ``shared=False`` so every actor holds its own.
    """

    def __init__(
        self,
        keys: Sequence[OfferKey],
        *,
        rate: float | None = None,
        limit: int | None = None,
        shared: bool = True,
        code: str = "DE",
    ) -> None:
        self.keys = list(keys)
        self.rate = rate
        self.limit = limit
        self.shared = shared
        self._code = code
        self.sent = 0
        self.started_at: float | None = None
        self.done = trio.Event()  # set once ``limit`` observations were sent
        self._variants = [competitors(0, v) for v in range(VARIANTS)]

    @property
    def code(self) -> str:
        return self._code

    @property
    def seller(self) -> str:
        return "BENCH"

    def quota(self, operation: str) -> Quota:
        return Quota(rate=1e9, burst=1_000_000_000, batch=100 if operation == "submit" else 20)

    def observation(self, i: int, at: float) -> OfferSnapshot:
        index = i % len(self.keys)
        variant = i // len(self.keys) + index
        rivals = self._variants[variant % VARIANTS] if self.shared else competitors(index, variant)
        return snapshot(self.keys[index], at, rivals)

    async def stream_observations(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        async with send:
            task_status.started()
            start = self.started_at = trio.current_time()
            while self.limit is None or self.sent < self.limit:
                if self.rate is None:
                    await send.send(self.observation(self.sent, trio.current_time()))
                    self.sent += 1
                    continue
                due = int((trio.current_time() - start) * self.rate)
                if self.limit is not None:
                    due = min(due, self.limit)
                while self.sent < due:
                    # Stamped with the time it was due: time spent waiting to be sent counts as latency.
                    await send.send(self.observation(self.sent, start + self.sent / self.rate))
                    self.sent += 1
                await trio.sleep(0.001)
            self.done.set()
            await trio.sleep_forever()

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot | ItemFailure]:
        return []

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading | ItemFailure]:
        return []

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading | ItemFailure]:
        return []

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        now = trio.current_time()
        return [SubmissionResult(u.key, u.update_id, "accepted", now, u.price) for u in updates]

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState | ItemFailure]:
        return []


class NullStore:
    """A `Store` that keeps nothing: the throughput benchmark measures the actors, not a database."""

    @property
    def persistent(self) -> bool:
        return False

    async def markets(self) -> list[tuple[str, str]]:
        return []

    async def load_catalog(self, seller: str, marketplace: str) -> list[CatalogRow]:
        return []

    async def save_catalog(self, rows: Sequence[CatalogRow]) -> CatalogChange:
        return CatalogChange(unchanged=len(rows))

    async def remove_offers(self, keys: Sequence[OfferKey]) -> None:
        return None

    async def load_search_states(self, seller: str, marketplace: str) -> dict[OfferKey, bytes]:
        return {}

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None:
        return None

    async def load_market_state(self, seller: str, marketplace: str) -> bytes | None:
        return None

    async def save_market_state(self, seller: str, marketplace: str, state: bytes) -> None:
        return None

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        return None

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]:
        return []

    async def record_prices(self, points: Sequence[PricePoint]) -> None:
        return None

    async def price_history(self, key: OfferKey, limit: int) -> list[PricePoint]:
        return []

    async def last_update_id(self) -> int:
        return 0

    async def outbox_put(self, updates: Sequence[OfferUpdate], at: float) -> None:
        return None

    async def outbox_mark(self, marks: Sequence[OutboxMark]) -> int:
        return len(marks)

    async def outbox_entries(self, seller: str, marketplace: str, states: Collection[OutboxState]) -> list[OutboxEntry]:
        return []

    async def aclose(self) -> None:
        return None


class NoopCounter:
    taken: int = 0


class NoopActor(OfferActor):
    """The engine's offer actor with the decision taken out: the same conflating slots, wake-up and loop
    (`engine.actors.offer.OfferActor`), and a step that only takes what arrived and counts it. The ceiling the
    real actor's rate is compared with."""

    __slots__ = ("counter",)

    def __init__(self, actor: OfferActor, counter: NoopCounter) -> None:
        super().__init__(actor.settings, actor.channel, actor.tick, actor.strategy, actor.sinks)
        self.counter = counter

    def step(self, now: float) -> Decision | None:
        self._take_observations()
        self.counter.taken += 1
        return None
