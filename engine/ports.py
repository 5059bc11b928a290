"""What the engine needs from the outside world, as protocols.

Adapters implement `Marketplace` (Amazon over HTTP, or the in-process simulator); stores implement `Store`
(SQLite for the daemon, memory under virtual time). `Clock` is the one source of time: trio's clock for
everything that waits, and a wall-clock reading anchored to it for timestamps, so the whole engine runs under
`trio.testing.MockClock` and two simulated hours take seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import msgspec
import trio

from engine.model import (
    Decision,
    FoepReading,
    ListingState,
    Observation,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OfferUpdate,
    ShareReading,
    SubmissionResult,
)

__all__ = ["Clock", "Marketplace", "Quota", "Store", "Throttled"]


class Clock:
    """Trio's clock, and UTC wall time anchored to it.

    ``now()`` is `trio.current_time()`. ``now_utc()`` is the wall time at the anchor plus the trio time elapsed
    since, so under a MockClock wall timestamps advance with virtual time and a test can pin the anchor.
    Create it inside `trio.run`.
    """

    __slots__ = ("_trio_anchor", "_wall_anchor")

    def __init__(self, wall_anchor: datetime | None = None) -> None:
        self._trio_anchor = trio.current_time()
        self._wall_anchor = wall_anchor if wall_anchor is not None else datetime.now(UTC)
        if self._wall_anchor.tzinfo is None:
            raise ValueError("the wall-clock anchor must be timezone-aware")

    def now(self) -> float:
        return trio.current_time()

    def now_utc(self) -> datetime:
        return self._wall_anchor + timedelta(seconds=trio.current_time() - self._trio_anchor)

    def to_utc(self, at: float) -> datetime:
        """The wall time of a trio-clock reading."""
        return self._wall_anchor + timedelta(seconds=at - self._trio_anchor)

    def from_utc(self, when: datetime) -> float:
        """The trio-clock reading of a wall time (for Amazon's timestamps)."""
        return self._trio_anchor + (when - self._wall_anchor).total_seconds()


class Throttled(Exception):
    """Amazon (or the simulator) refused a call for quota (HTTP 429). ``retry_after`` is a hint in seconds."""

    def __init__(self, operation: str, retry_after: float | None = None) -> None:
        super().__init__(f"{operation} throttled" + (f"; retry in {retry_after:.1f}s" if retry_after else ""))
        self.operation = operation
        self.retry_after = retry_after


class Quota(msgspec.Struct, frozen=True):
    """A token bucket: ``rate`` calls per second, up to ``burst`` at once, ``batch`` items per call."""

    rate: float
    burst: int
    batch: int = 1


class Marketplace(Protocol):
    """One seller account on one Amazon marketplace: the pricing side of the SP-API.

    Orders, inventory and reports join this port with their own issues.
    """

    @property
    def code(self) -> str:
        """The marketplace's country code ("DE")."""
        ...

    def quota(self, operation: str) -> Quota:
        """The rate limit of an operation: ``poll_offers``, ``featured_offer_prices``, ``featured_shares``,
        ``submit``, ``read_back``."""
        ...

    async def stream_observations(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Push notifications (ANY_OFFER_CHANGED, PRICING_HEALTH) as observations until cancelled."""
        ...

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot]:
        """The current offers on each key's item (one batch call, at most ``quota('poll_offers').batch`` keys)."""
        ...

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading]:
        """Amazon's featured offer expected price for each key (one batch call)."""
        ...

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading]:
        """Our share of each key's Buy Box from the items' competitive summaries (one batch call)."""
        ...

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        """Send offer updates; one result per update, in order. Raises `Throttled` when refused whole."""
        ...

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState]:
        """Read our listings back, to verify that accepted updates were applied."""
        ...


class Store(Protocol):
    """Persistent state. Every method is atomic: it either happened or it did not."""

    async def load_offers(self, marketplace: str) -> list[OfferSettings]: ...

    async def save_offers(self, offers: Sequence[OfferSettings]) -> None: ...

    async def load_search_states(self, marketplace: str) -> dict[OfferKey, bytes]:
        """Each offer's stored search state, msgpack-encoded by the pricing code that owns its shape."""
        ...

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None: ...

    async def record_decisions(self, decisions: Sequence[Decision]) -> None: ...

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]: ...

    async def outbox_put(self, updates: Sequence[OfferUpdate]) -> None:
        """Remember updates before they are sent, so a crash cannot lose one."""
        ...

    async def outbox_done(self, results: Sequence[SubmissionResult]) -> None: ...

    async def outbox_pending(self, marketplace: str) -> list[OfferUpdate]:
        """Updates stored but not yet answered: the latest per SKU, to send again after a restart."""
        ...

    async def aclose(self) -> None: ...
