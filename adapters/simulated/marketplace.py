"""The `Marketplace` port onto the in-process simulator.

The engine talks to this adapter exactly as it talks to Amazon: batch polls, FOEP readings, Buy Box shares, offer
updates and read-backs, each made through the simulated SP-API (`sim.api.MarketApi`: Amazon's batch limits, and
every call charged against the seller's token bucket, `sim.quotas`) and answered after a small API latency, and
notifications pushed when the simulator delivers them. Time is trio's clock: the feed's `run` task advances the
market to `trio.current_time()` and sleeps until its next event, so under `MockClock` with autojump the whole run
jumps from event to event and hours take seconds.

An adapter serves one seller account's rows of a simulated marketplace (one `sim.market.Market`), by default all
of them. Every row's seller is charged for its own row; in the "one seller" mode that is a single account sharing
one quota, as a real seller does. A market of several seeds (independent markets in the same arrays, see
`sim.spec.MarketSpec.concat`) is shared by one adapter per seed through a `MarketFeed`, the one task that
advances the market and hands each notification to the adapter of its row; a lone adapter runs its own. The feeds
of one seller's marketplaces may share one `QuotaBook`: the seller then has one quota for all of them, as on Amazon.

patchListingsItem and getListingsItem take one SKU a call: an engine `submit` or `read_back` of N offers is N calls,
each charged on its own, so with fewer tokens than offers the first ones are answered and the rest come back
throttled (the whole call is refused only when not one SKU got a token). A batch read is one call per seller in it,
answered or refused whole.

For tests, faults are injected explicitly (never at random, so runs stay reproducible): `fail` fails the next calls
of an operation with a `TransientError`, `fail_items` makes some keys answer an `ItemFailure`, `revoke` makes every
call raise `AccountError`. A failed call charges no quota.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Literal, TypeVar

import trio

from adapters.spapi import share_reading
from engine.model import (
    BuyBoxPrice,
    FoepReading,
    Fulfilment,
    HealthEvent,
    ListingState,
    Observation,
    ObservationSource,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OfferUpdate,
    OurListing,
    ShareReading,
    SubmissionResult,
    SubmissionStatus,
)
from engine.ports import AccountError, ItemFailure, MarketplaceError, Quota, Throttled, TransientError
from sim.api import MarketApi, QuotaExceeded, Reply
from sim.market import Market
from sim.quotas import QuotaBook
from sim.snapshot import Notification, Snapshot

__all__ = [
    "FAULT_OPERATIONS",
    "OPERATIONS",
    "SIM_SELLER",
    "STREAM_FAULT_AFTER_S",
    "FaultKind",
    "MarketFeed",
    "SimulatedMarketplace",
    "catalog_settings",
]

# The engine's operations and the SP-API operation each one is made of.
OPERATIONS: Final[dict[str, str]] = {
    "poll_offers": "getListingOffersBatch",
    "featured_offer_prices": "getFeaturedOfferExpectedPriceBatch",
    "featured_shares": "getCompetitiveSummary",
    "submit": "patchListingsItem",
    "read_back": "getListingsItem",
}
# patchListingsItem and getListingsItem take one SKU a call; the adapter makes one call per SKU, so a batch of the
# engine's is as many calls, limited to what one burst allows.
_PER_SKU_BATCH: Final[dict[str, int]] = {"submit": 5, "read_back": 10}

SIM_SELLER: Final = "SIM"

# What `SimulatedMarketplace.fail` can fail: the engine's operations, and "stream" (`stream_observations`).
FAULT_OPERATIONS: Final = (*OPERATIONS, "stream")
FaultKind = Literal["server_error", "connection"]
STREAM_FAULT_AFTER_S: Final = 1.0  # a failing notification stream breaks this long after it was (re)started
_QUOTA_EXCEEDED: Final = "You exceeded your quota for the requested resource."

A = TypeVar("A")


def catalog_settings(
    market: Market, rows: Iterable[int] | None = None, *, seller: str = SIM_SELLER
) -> list[OfferSettings]:
    """The engine's catalog for a simulated market (or some of its rows) as ``seller``'s: one offer per row, bounds
    and stock from the scenario."""
    offers = []
    for row in market.catalog_rows() if rows is None else [market.catalog(r) for r in rows]:
        offers.append(
            OfferSettings(
                key=OfferKey(seller, row.marketplace, row.sku),
                asin=row.asin,
                currency=row.currency,
                bounds=OfferBounds(row.min_price, row.max_price),
                fulfilment=row.fulfilment,
                # Amazon counts the stock of an offer it fulfils; the catalog keeps none for it (`engine.catalog`).
                quantity=None if row.fulfilment is Fulfilment.AMAZON else int(market.spec.our_stock[row.row]),
                lead_time_days=int(market.spec.our_handling_days[row.row]),
            )
        )
    return offers


class MarketFeed:
    """Advances one simulated market with trio's clock and hands what it delivers to the adapter of each row.

    It also keeps the market's API (`api`) and quota book (`quotas`): every seller's token buckets, charged by the
    adapters' calls. A ``quotas`` book given is shared, not copied: pass one book to the feeds of every marketplace
    of one seller account and seller ``i`` of each market is one account with one quota (the book needs a bucket
    for every seller of each market).
    """

    def __init__(self, market: Market, *, step_s: float = 1.0, quotas: QuotaBook | None = None) -> None:
        self.market = market
        self.step_s = step_s
        self.api = MarketApi(market, quotas)
        self.quotas = self.api.quotas
        self._owner: list[SimulatedMarketplace | None] = [None] * market.n_rows

    def attach(self, adapter: SimulatedMarketplace, rows: Iterable[int]) -> None:
        for row in rows:
            if self._owner[row] is not None:
                raise ValueError(f"row {row} of the simulated market already has an adapter")
            self._owner[row] = adapter

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Until cancelled: bring the market to trio's time, deliver, sleep until the next event (at least
        ``step_s``, at most a minute)."""
        task_status.started()
        market = self.market
        while True:
            now = trio.current_time()
            for note in self.api.notifications(now):
                owner = self._owner[note.row]
                if owner is not None:
                    await owner.deliver(note, now)
            upcoming = min(market.next_event_time(), market.next_notification_time())
            await trio.sleep_until(max(now + self.step_s, min(upcoming, now + 60.0)))


class _ItemFault:
    __slots__ = ("code", "message", "transient")

    def __init__(self, code: str, message: str, transient: bool) -> None:
        self.code, self.message, self.transient = code, message, transient


class SimulatedMarketplace:
    """See the module docstring. ``api_latency_s`` is the time each call takes to answer. ``rows`` are this
    adapter's rows of the market (default: all); ``feed`` is the market's shared feed, run by whoever built it
    (default: a feed of the adapter's own, run inside `stream_observations`, charging ``quotas`` when given).

    ``calls`` counts the calls answered per engine operation, ``throttled`` those refused whole for quota,
    ``throttled_items`` the SKUs of per-SKU operations answered throttled, ``faults`` the injected failures raised.

    The market, its feed, API and quota book are private: the engine holds this object as its `Marketplace`, and
    nothing of the simulator (p*, the threshold, the Buy Box coefficients) may be one attribute away from engine
    code (`tests/adapters/test_sim_privacy.py`). Whoever builds the adapter keeps the market, feed and book it
    passed in; `adapters.simulated.run.SimRun` holds a run's for the benchmark's metrics.
    """

    def __init__(
        self,
        market: Market,
        *,
        code: str,
        api_latency_s: float = 0.25,
        step_s: float = 1.0,
        rows: Sequence[int] | None = None,
        feed: MarketFeed | None = None,
        seller: str = SIM_SELLER,
        quotas: QuotaBook | None = None,
    ) -> None:
        if feed is not None and feed.market is not market:
            raise ValueError("the feed given advances another market")
        if feed is not None and quotas is not None and feed.quotas is not quotas:
            raise ValueError("a shared feed brings its own quota book: give the book to the feed")
        self._code = code
        self._seller = seller
        self._own_feed = feed is None
        self._feed = MarketFeed(market, step_s=step_s, quotas=quotas) if feed is None else feed
        self._api = self._feed.api
        self._quotas = self._api.quotas
        self.api_latency_s = api_latency_s
        self.rows = list(range(market.n_rows)) if rows is None else list(rows)
        self._feed.attach(self, self.rows)
        spec = market.spec
        self._rows: dict[OfferKey, int] = {}
        self._keys: dict[int, OfferKey] = {}
        self._sellers: dict[int, int] = {}
        # Our offer's own attributes (they do not change in the simulator): fulfilment, feedback %, handling hours.
        self._facts: dict[int, tuple[Fulfilment, int, int]] = {}
        # Our merchant id on each row, as a seller knows its own: how it finds its offer in Amazon's replies.
        self._merchant: dict[int, str] = {}
        self._currency: dict[int, str] = {}
        for row in self.rows:
            catalog = market.catalog(row)
            key = OfferKey(seller, catalog.marketplace, catalog.sku)
            self._rows[key] = row
            self._keys[row] = key
            self._sellers[row] = int(spec.seller[row])
            self._facts[row] = (
                Fulfilment.AMAZON if spec.our_fba[row] else Fulfilment.MERCHANT,
                round(float(spec.our_feedback[row]) * 100),
                int(spec.our_handling_days[row]) * 24,
            )
            self._merchant[row] = market.seller_id(row, 0)
            self._currency[row] = catalog.currency
        self._n_sellers = max(1, len(set(self._sellers.values())))
        self._send: trio.MemorySendChannel[Observation] | None = None
        self._undelivered: deque[Observation] = deque()
        self.calls: dict[str, int] = dict.fromkeys(OPERATIONS, 0)
        self.throttled: dict[str, int] = dict.fromkeys(OPERATIONS, 0)
        self.throttled_items: dict[str, int] = dict.fromkeys(_PER_SKU_BATCH, 0)
        self.faults: dict[str, int] = dict.fromkeys(FAULT_OPERATIONS, 0)
        self._call_faults: dict[str, deque[FaultKind]] = {op: deque() for op in FAULT_OPERATIONS}
        self._item_faults: dict[str, dict[OfferKey, _ItemFault]] = {op: {} for op in OPERATIONS}
        self._revoked: str | None = None
        self._stream_scope: trio.CancelScope | None = None

    @property
    def code(self) -> str:
        return self._code

    @property
    def seller(self) -> str:
        return self._seller

    def quota(self, operation: str) -> Quota:
        """The limit the engine paces itself on: one seller's, times the number of sellers sharing the market."""
        op = self._quotas.operation(OPERATIONS[operation])
        batch = _PER_SKU_BATCH.get(operation, op.batch)
        return Quota(op.rate * self._n_sellers, op.burst * self._n_sellers, batch)

    def row(self, key: OfferKey) -> int:
        try:
            return self._rows[key]
        except KeyError:
            raise KeyError(f"{key} is not an offer of this simulated marketplace") from None

    # --- faults, for tests -------------------------------------------------------------------------------------

    def fail(self, operation: str, *, times: int = 1, kind: FaultKind = "server_error") -> None:
        """The next ``times`` calls of ``operation`` (an engine operation, or "stream") raise `TransientError`:
        "server_error" (an HTTP 503) after the API latency, "connection" (a reset) at once. A failing stream
        breaks `STREAM_FAULT_AFTER_S` after it started, or after this call if it is running."""
        self._check_operation(operation, FAULT_OPERATIONS)
        if kind not in ("server_error", "connection"):
            raise ValueError(f"unknown fault kind {kind!r}; known: server_error, connection")
        if times < 0:
            raise ValueError(f"times must be at least 0, got {times}")
        self._call_faults[operation].extend([kind] * times)
        self._arm_stream_fault()

    def fail_items(
        self,
        operation: str,
        keys: Iterable[OfferKey],
        *,
        code: str = "InternalFailure",
        message: str = "",
        transient: bool = True,
    ) -> None:
        """Until cleared, ``keys`` answer ``ItemFailure(key, at, code, message, transient)`` in ``operation``'s
        answers (in `submit`, a ``failed`` result when transient, else ``invalid``); the other keys answer as
        usual. A per-SKU call that fails charges no quota."""
        self._check_operation(operation, OPERATIONS)
        fault = _ItemFault(code, message, transient)
        for key in keys:
            self.row(key)
            self._item_faults[operation][key] = fault

    def revoke(self, detail: str = "access to the seller's account was revoked") -> None:
        """The seller's authorization is withdrawn: every call (and the stream) raises `AccountError` until
        `clear_faults`."""
        self._revoked = detail
        self._arm_stream_fault()

    def clear_faults(self, operation: str | None = None) -> None:
        """Forget the faults injected for ``operation`` (its pending failures and failing keys), or every fault
        and the revocation."""
        if operation is not None:
            self._check_operation(operation, FAULT_OPERATIONS)
        for op in FAULT_OPERATIONS if operation is None else (operation,):
            self._call_faults[op].clear()
            if op in self._item_faults:
                self._item_faults[op].clear()
        if operation is None:
            self._revoked = None
        if self._stream_scope is not None and not self._stream_fault_due():
            self._stream_scope.deadline = float("inf")

    @staticmethod
    def _check_operation(operation: str, known: Iterable[str]) -> None:
        if operation not in known:
            raise ValueError(f"unknown operation {operation!r}; known: {', '.join(known)}")

    async def _fail_call(self, operation: str) -> None:
        """Raise the injected fault due for this call, if any, before it is charged."""
        if self._revoked is not None:
            self.faults[operation] += 1
            await trio.sleep(self.api_latency_s)
            raise AccountError(self._seller, f"{self._revoked} (HTTP 403 Unauthorized)")
        pending = self._call_faults[operation]
        if not pending:
            return
        kind = pending.popleft()
        self.faults[operation] += 1
        if kind == "connection":
            raise TransientError(operation, "connection reset by peer")
        await trio.sleep(self.api_latency_s)
        raise TransientError(operation, "HTTP 503 Service Unavailable")

    def _stream_fault_due(self) -> bool:
        return self._revoked is not None or bool(self._call_faults["stream"])

    def _arm_stream_fault(self) -> None:
        """A running stream with a fault due breaks `STREAM_FAULT_AFTER_S` from now (unless already due to)."""
        scope = self._stream_scope
        if scope is not None and self._stream_fault_due() and scope.deadline == float("inf"):
            scope.deadline = trio.current_time() + STREAM_FAULT_AFTER_S

    def _stream_fault(self) -> MarketplaceError:
        self.faults["stream"] += 1
        if self._revoked is not None:
            return AccountError(self._seller, f"{self._revoked} (notifications stopped)")
        pending = self._call_faults["stream"]
        kind = pending.popleft() if pending else "server_error"
        detail = "connection reset by peer" if kind == "connection" else "HTTP 503 Service Unavailable"
        return TransientError("stream", detail)

    # --- the clock ----------------------------------------------------------------------------------------------

    async def stream_observations(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Push what the market delivers for our rows, until cancelled (advancing the market ourselves unless a
        shared feed does). An injected stream fault or a revocation ends it with that error, a little later."""
        async with send:
            self._send = send
            try:
                # A fault due cancels this scope at its deadline (`_arm_stream_fault`); nothing else sets one.
                with trio.CancelScope() as scope:
                    self._stream_scope = scope
                    self._arm_stream_fault()
                    while self._undelivered:  # one at a time: a fault or a cancel keeps the rest for next time
                        await send.send(self._undelivered[0])
                        self._undelivered.popleft()
                    if self._own_feed:
                        await self._feed.run(task_status=task_status)
                    else:
                        task_status.started()
                        await trio.sleep_forever()
            finally:
                self._send = None
                self._stream_scope = None
        if scope.cancelled_caught:
            raise self._stream_fault()

    async def deliver(self, note: Notification, now: float) -> None:
        """One delivered notification of our rows, to intake (kept until intake listens, as SQS would)."""
        key = self._keys[note.row]
        observation: Observation
        if note.kind == "PRICING_HEALTH":
            observation = HealthEvent(key, note.event_at, bool(note.disqualified), note.snapshot.reference_price)
        else:
            observation = self._observation(key, note.snapshot, "notification", now)
        if self._send is None:
            self._undelivered.append(observation)
        else:
            await self._send.send(observation)

    # --- the API ---------------------------------------------------------------------------------------------

    def _rows_of(self, operation: str, keys: Sequence[OfferKey]) -> list[int]:
        limit = self.quota(operation).batch
        if len(keys) > limit:
            raise ValueError(f"{operation} takes at most {limit} offers a call, got {len(keys)}")
        return [self.row(k) for k in keys]

    async def _batch(
        self,
        operation: str,
        keys: Sequence[OfferKey],
        ask: Callable[[int, list[int], float], Reply[list[A]]],
    ) -> tuple[float, list[A | ItemFailure]]:
        """One batch call for each seller among the keys' rows, answered or refused whole; the answers per key,
        with each failing key's `ItemFailure` in its place, and the time they were answered."""
        rows = self._rows_of(operation, keys)
        await self._fail_call(operation)
        now = trio.current_time()
        name = OPERATIONS[operation]
        positions: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            positions.setdefault(self._sellers[row], []).append(i)
        for seller in positions:
            if self._quotas.wait_time(seller, name, now) > 0:
                self.throttled[operation] += 1
                raise Throttled(name)
        replies = [(own, ask(seller, [rows[i] for i in own], now)) for seller, own in sorted(positions.items())]
        self.calls[operation] += 1
        await trio.sleep(self.api_latency_s)
        at = trio.current_time()
        by_position: dict[int, A] = {}
        for own, reply in replies:
            by_position.update(zip(own, reply.answer(at), strict=True))
        failing = self._item_faults[operation]
        answers: list[A | ItemFailure] = []
        for i, key in enumerate(keys):
            fault = failing.get(key) if failing else None
            if fault is None:
                answers.append(by_position[i])
            else:
                answers.append(ItemFailure(key, at, fault.code, fault.message, fault.transient))
        return at, answers

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot | ItemFailure]:
        at, answers = await self._batch("poll_offers", keys, self._api.listing_offers)
        return [
            answer if isinstance(answer, ItemFailure) else self._observation(key, answer, "poll", at)
            for key, answer in zip(keys, answers, strict=True)
        ]

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading | ItemFailure]:
        at, answers = await self._batch("featured_offer_prices", keys, self._api.featured_offer_expected_price)
        # Amazon does not say how old its estimate is: the reading carries the time we got it, and whether our
        # offer was the featured one when Amazon made it (currentFeaturedOffer).
        return [
            r if isinstance(r, ItemFailure) else FoepReading(key, at, r.price, r.status.value, r.ours_featured)
            for key, r in zip(keys, answers, strict=True)
        ]

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading | ItemFailure]:
        at, answers = await self._batch("featured_shares", keys, self._api.competitive_summary)
        return [
            r if isinstance(r, ItemFailure) else self._share(key, at, r) for key, r in zip(keys, answers, strict=True)
        ]

    def _share(self, key: OfferKey, at: float, reply: bytes) -> ShareReading | ItemFailure:
        """One row's competitive summary, read as the SP-API adapter reads Amazon's (the simulator answers in the
        model's shape)."""
        row = self._rows[key]
        return share_reading(key, at, reply, seller_id=self._merchant[row], currency=self._currency[row])

    async def _per_sku(
        self, operation: str, keys: Sequence[OfferKey], ask: Callable[[int, int, float], Reply[A]]
    ) -> tuple[float, list[Reply[A] | _ItemFault | None]]:
        """One call per key, in order, each charged on its own: its reply, the injected fault that failed it, or
        None where its seller had no token left. Refused whole (`Throttled`) when no key got a token."""
        rows = self._rows_of(operation, keys)
        await self._fail_call(operation)
        now = trio.current_time()
        failing = self._item_faults[operation]
        replies: list[Reply[A] | _ItemFault | None] = []
        for i, (key, row) in enumerate(zip(keys, rows, strict=True)):
            fault = failing.get(key)
            if fault is not None:
                replies.append(fault)
                continue
            try:
                replies.append(ask(self._sellers[row], i, now))
            except QuotaExceeded:
                replies.append(None)
        throttled = replies.count(None)
        if throttled and not any(isinstance(reply, Reply) for reply in replies):
            self.throttled[operation] += 1
            raise Throttled(OPERATIONS[operation])
        self.throttled_items[operation] += throttled
        self.calls[operation] += 1
        await trio.sleep(self.api_latency_s)
        return trio.current_time(), replies

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        def patch(seller: int, i: int, now: float) -> Reply[bool]:
            u = updates[i]
            return self._api.patch_listing(seller, self._rows[u.key], u.price, now, u.quantity)

        at, replies = await self._per_sku("submit", [u.key for u in updates], patch)
        results = []
        for u, reply in zip(updates, replies, strict=True):
            if isinstance(reply, Reply):
                status: SubmissionStatus = "accepted" if reply.answer(at) else "invalid"
                results.append(SubmissionResult(u.key, u.update_id, status, at, u.price))
            elif reply is None:
                results.append(SubmissionResult(u.key, u.update_id, "throttled", at, u.price, ("QuotaExceeded",)))
            else:
                status = "failed" if reply.transient else "invalid"
                issue = f"{reply.code}: {reply.message}" if reply.message else reply.code
                results.append(SubmissionResult(u.key, u.update_id, status, at, u.price, (issue,)))
        return results

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState | ItemFailure]:
        def get(seller: int, i: int, now: float) -> Reply[OurListing]:
            return self._api.get_listing(seller, self._rows[keys[i]], now)

        at, replies = await self._per_sku("read_back", keys, get)
        answers: list[ListingState | ItemFailure] = []
        for key, reply in zip(keys, replies, strict=True):
            if isinstance(reply, Reply):
                listing = reply.answer(at)
                answers.append(ListingState(key, at, listing.listing_price, listing.live))
            elif reply is None:
                answers.append(ItemFailure(key, at, "QuotaExceeded", _QUOTA_EXCEEDED, transient=True))
            else:
                answers.append(ItemFailure(key, at, reply.code, reply.message, reply.transient))
        return answers

    # --- shapes ----------------------------------------------------------------------------------------------

    def _observation(
        self, key: OfferKey, snap: Snapshot, source: ObservationSource, received_at: float
    ) -> OfferSnapshot:
        our = None
        if snap.our is not None:
            fulfilment, feedback_pct, handling_max_hours = self._facts[snap.row]
            our = OurListing(
                listing_price=snap.our.listing_price,
                shipping=snap.our.shipping,
                live=snap.our.live,
                fulfilment=fulfilment,
                prime=snap.our.prime,
                feedback_pct=feedback_pct,
                handling_max_hours=handling_max_hours,
                is_buybox_winner=snap.our.is_buybox_winner,
            )
        # Amazon gives a Buy Box price per segment (Prime, non-Prime) where their winners differ, else one.
        winner: tuple[BuyBoxPrice, ...] = snap.segment_winners
        if not winner and snap.featured_seller_id is not None:
            for offer in snap.competitors:
                if offer.is_buybox_winner:
                    winner = (
                        BuyBoxPrice(offer.landed_price, offer.listing_price, offer.shipping, None, offer.seller_id),
                    )
            if our is not None and our.is_buybox_winner:
                winner = (
                    BuyBoxPrice(our.landed_price, our.listing_price, our.shipping, None, snap.featured_seller_id),
                )
        return OfferSnapshot(
            key=key,
            source=source,
            as_of=snap.as_of,
            received_at=received_at,
            our=our,
            competitors=snap.competitors,
            buybox=winner,
            buybox_state="suppressed" if snap.suppressed else "available",
            competitive_price_threshold=snap.reference_price,
        )
