"""What the engine needs from the outside world, as protocols.

Adapters implement `Marketplace` (Amazon over HTTP, or the in-process simulator); stores implement `Store`
(SQLite for the daemon, memory under virtual time). `Clock` is the one source of time: trio's clock for
everything that waits, and a wall-clock reading anchored to it for timestamps, so the whole engine runs under
`trio.testing.MockClock` and two simulated hours take seconds.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import msgspec
import trio

from engine.catalog import CatalogRow
from engine.model import (
    Decision,
    FoepReading,
    ListingState,
    Observation,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OfferUpdate,
    OutboxEntry,
    OutboxMark,
    OutboxState,
    PricePoint,
    ShareReading,
    SubmissionResult,
)

__all__ = [
    "AccountError",
    "CatalogChange",
    "Clock",
    "FollowsSubmissions",
    "ItemFailure",
    "Marketplace",
    "MarketplaceError",
    "Quota",
    "StockProvider",
    "Store",
    "Throttled",
    "TransientError",
]


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


# --- the port's fault contract ----------------------------------------------------------------------------------
#
# A marketplace call either answers (per item: an answer or an `ItemFailure`), or raises one of these for the whole
# call. Anything else a call raises is a bug in the adapter: the engine restarts the service that made the call.


class MarketplaceError(Exception):
    """A whole call failed; the subclass says what the caller does about it."""


class Throttled(MarketplaceError):
    """Amazon (or the simulator) refused a call for quota (HTTP 429). ``retry_after`` is a hint in seconds.

    The caller's pacer empties its bucket and waits; nothing is retried faster than the quota refills."""

    def __init__(self, operation: str, retry_after: float | None = None) -> None:
        super().__init__(f"{operation} throttled" + (f"; retry in {retry_after:.1f}s" if retry_after else ""))
        self.operation = operation
        self.retry_after = retry_after


class TransientError(MarketplaceError):
    """A failure that time may cure: an HTTP 5xx, a timeout, a refused or dropped connection.

    The caller retries with capped, jittered backoff (`engine.actors.backoff`); nothing is lost meanwhile."""

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"{operation}: {detail}")
        self.operation = operation
        self.detail = detail


class AccountError(MarketplaceError):
    """A failure no retry cures: the seller's authorization was revoked, the account is suspended or unknown.

    It stops that seller's runtimes (their state saved) and shows in the status; the daemon and every other
    seller carry on."""

    def __init__(self, seller: str, detail: str) -> None:
        super().__init__(f"seller {seller}: {detail}")
        self.seller = seller
        self.detail = detail


class ItemFailure(msgspec.Struct, frozen=True, gc=False, tag=True):
    """One item of a batch call failed while the others answered (Amazon's batch replies carry a status per
    item). ``transient``: worth asking again soon (a 5xx or 429 for that item); otherwise the item is wrong as
    asked (an unknown SKU, a 400) and asking again will not help until something changes."""

    key: OfferKey
    at: float
    code: str
    message: str = ""
    transient: bool = True


class Quota(msgspec.Struct, frozen=True):
    """A token bucket: ``rate`` calls per second, up to ``burst`` at once, ``batch`` items per call."""

    rate: float
    burst: int
    batch: int = 1


class Marketplace(Protocol):
    """One seller account on one Amazon marketplace: the pricing side of the SP-API.

    Every call may raise `Throttled`, `TransientError` or `AccountError` (see above). Orders, inventory and reports
    join this port with their own issues.
    """

    @property
    def code(self) -> str:
        """The marketplace's country code ("DE")."""
        ...

    @property
    def seller(self) -> str:
        """The seller account this adapter acts for (the ``seller`` of every `OfferKey` it serves)."""
        ...

    def quota(self, operation: str) -> Quota:
        """One seller's rate limit of an operation: ``poll_offers``, ``featured_offer_prices``,
        ``featured_shares``, ``submit``, ``read_back``. Amazon's buckets are per seller and application, shared by
        every marketplace of the seller's region: the engine keeps one pacer per (seller, region, operation)."""
        ...

    async def stream_observations(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Push notifications (ANY_OFFER_CHANGED, PRICING_HEALTH) as observations until cancelled."""
        ...

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot | ItemFailure]:
        """The current offers on each key's item (one batch call, at most ``quota('poll_offers').batch`` keys);
        one answer per key, in order."""
        ...

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading | ItemFailure]:
        """Amazon's featured offer expected price for each key (one batch call); one answer per key, in order."""
        ...

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading | ItemFailure]:
        """Our share of each key's Buy Box from the items' competitive summaries (one batch call); one answer per
        key, in order."""
        ...

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        """Send offer updates; one result per update, in order (an update Amazon throttled on its own comes back
        ``throttled``, one that failed on its own ``failed``). Raises `Throttled` when refused whole. Only a
        marketplace that `FollowsSubmissions` answers ``submitted``, and only while its outcomes are followed."""
        ...

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState | ItemFailure]:
        """Read our listings back, to verify that accepted updates were applied; one answer per key, in order."""
        ...


@runtime_checkable
class FollowsSubmissions(Protocol):
    """What a `Marketplace` also offers when it answers some submissions later: Amazon's JSON_LISTINGS_FEED takes
    thousands of updates in one call, but says how each went only minutes later, once the feed is processed.

    Its `submit` may then answer an update ``submitted``, with the submission's id (the feed's): Amazon has it. The
    caller holds no submit slot meanwhile (a slot is for a call on the wire, and the quota it spends) and keeps the
    update in flight, so no newer price of the same SKU overtakes it; the update's outcome arrives through
    `follow_submissions`, which the caller runs for as long as it submits. A marketplace that answers every update
    at once (the simulator, the tests' fakes) does not implement this, and its callers see no difference.
    """

    def reserve_bulk(self, waiting: int) -> int | None:
        """With ``waiting`` updates ready to go, whether the next `submit` may carry them in bulk (a feed), and how
        many at most; the quota of one bulk submission is then set aside for that submit (the seller's, which
        the seller's other marketplaces spend too), so the batch taken on this answer finds it. None: too few wait
        for a bulk to pay, its quota has no room, or outcomes are not followed; submit batches of
        ``quota('submit').batch`` as usual. A reservation not used yet is given again, not made twice, so the
        caller takes one bulk batch at a time."""
        ...

    async def follow_submissions(
        self,
        send: trio.MemorySendChannel[Sequence[SubmissionResult]],
        submitted: Mapping[str, Sequence[OfferUpdate]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Until cancelled: send, once Amazon has it, the outcome of every update that `submit` answered
        ``submitted`` while this runs, and of ``submitted`` (the updates of each submission id whose outcome the
        caller still waits for: after a restart, from the outbox; after this task was restarted, its own), one
        message per submission. Each outcome is ``accepted``, ``invalid`` with Amazon's issues, or ``failed`` (the
        submission went nowhere, Amazon does not know it, or it did not finish within the time the adapter waits):
        a failed update is sent again, which is harmless since the latest price of a SKU wins.

        An outcome may come twice (one handed over just before this task was cancelled is given again when it runs
        next), so the caller keeps the first for each update. Transient failures are retried here; `AccountError`
        ends the task. Closes ``send`` when it ends, as `Marketplace.stream_observations` does."""
        ...


class StockProvider(Protocol):
    """How many units to offer for a merchant-fulfilled offer, sent with its next price (None: do not say).

    Today the catalog's own stock (`engine.daemon.CatalogStock`); the stock ledger replaces it with its own issue.
    """

    def available(self, offer: OfferSettings) -> int | None: ...


class CatalogChange(msgspec.Struct, frozen=True):
    """What saving catalog rows changed, as the store committed it."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Store(Protocol):
    """Persistent state. Every method is atomic: when it returns, its change has committed (or, for the traces,
    ``record_decisions`` and ``record_prices``, been handed to the writer, which logs and counts what it could not
    write); when it raises, nothing of it happened (except when the caller is cancelled while waiting: it then does
    not learn whether its change committed, so an outcome that matters is read back). ``persistent`` says whether
    anything survives the process (the in-memory store's does not), so no output claims a save that is not one.

    Times (``Decision.at``, ``OutboxMark.at``, ``PricePoint.at``) are the caller's `Clock` readings; a store that
    outlives the process keeps them as wall time and gives them back on the reading process's clock. Search states
    are opaque bytes: the runtime stores their times as wall time itself (`engine.pricing.view.Strategy.rebase`).
    """

    @property
    def persistent(self) -> bool: ...

    # --- the catalog ---

    async def markets(self) -> list[tuple[str, str]]:
        """Every (seller, marketplace) with a catalog row, sorted."""
        ...

    async def load_catalog(self, seller: str, marketplace: str) -> list[CatalogRow]:
        """The catalog rows of one seller's marketplace, sorted by SKU."""
        ...

    async def save_catalog(self, rows: Sequence[CatalogRow]) -> CatalogChange:
        """Create or replace rows (keyed by their `OfferKey`) in one transaction."""
        ...

    async def remove_offers(self, keys: Sequence[OfferKey]) -> None:
        """Forget offers the seller no longer reprices, with their search states."""
        ...

    # --- what the engine learned ---

    async def load_search_states(self, seller: str, marketplace: str) -> dict[OfferKey, bytes]:
        """Each offer's stored search state, msgpack-encoded by the pricing code that owns its shape."""
        ...

    async def save_search_states(self, states: Mapping[OfferKey, bytes]) -> None: ...

    async def load_market_state(self, seller: str, marketplace: str) -> bytes | None:
        """What the marketplace as a whole learned (the Buy Box weights and share temperature), or None."""
        ...

    async def save_market_state(self, seller: str, marketplace: str, state: bytes) -> None: ...

    # --- traces ---

    async def record_decisions(self, decisions: Sequence[Decision]) -> None: ...

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]:
        """The newest ``limit`` decisions of one offer, newest first."""
        ...

    async def record_prices(self, points: Sequence[PricePoint]) -> None: ...

    async def price_history(self, key: OfferKey, limit: int) -> list[PricePoint]:
        """The newest ``limit`` prices of one offer that went live, newest first."""
        ...

    # --- the outbox ---

    async def last_update_id(self) -> int:
        """The highest update id ever put in the outbox (0 for none): update ids continue above it."""
        ...

    async def outbox_put(self, updates: Sequence[OfferUpdate], at: float) -> None:
        """Remember updates (``stored`` at ``at``) before they are sent, so a crash cannot lose one. An older update
        of the same offer that is not yet answered, or failed, is ``superseded`` by it."""
        ...

    async def outbox_mark(self, marks: Sequence[OutboxMark]) -> int:
        """Move updates along `OutboxState`; a mark the state machine does not allow (an answer for an update
        already superseded, a repeat) changes nothing. An update ``accepted`` supersedes an older accepted one of
        the same offer (only the newest can go live). How many marks applied."""
        ...

    async def outbox_entries(self, seller: str, marketplace: str, states: Collection[OutboxState]) -> list[OutboxEntry]:
        """The updates of one seller's marketplace in ``states``, by update id."""
        ...

    async def aclose(self) -> None: ...
