"""The `Marketplace` port onto the in-process simulator.

The engine talks to this adapter exactly as it talks to Amazon: batch polls, FOEP readings, offer updates and
read-backs, each charged against the seller's token bucket (`sim.quotas`) and answered after a small API latency,
and notifications pushed when the simulator delivers them. Time is trio's clock: the adapter's `run` task
advances the market to `trio.current_time()` and sleeps until its next event, so under `MockClock` with autojump
the whole run jumps from event to event and hours take seconds.

An adapter serves one seller account's rows of a simulated marketplace (one `sim.market.Market`), by default all
of them. Every row's seller is charged for its own row; in the "one seller" mode that is a single account sharing
one quota, as a real seller does. A market of several seeds (independent markets in the same arrays, see
`sim.spec.MarketSpec.concat`) is shared by one adapter per seed through a `MarketFeed`, the one task that
advances the market and hands each notification to the adapter of its row; a lone adapter runs its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import trio

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
)
from engine.ports import Quota, Throttled
from sim.market import Market
from sim.quotas import QuotaBook
from sim.snapshot import Notification, Snapshot

__all__ = ["OPERATIONS", "MarketFeed", "SimulatedMarketplace", "catalog_settings"]

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


def catalog_settings(market: Market, rows: Iterable[int] | None = None) -> list[OfferSettings]:
    """The engine's catalog for a simulated market (or some of its rows): one offer per row, bounds and stock from
    the scenario."""
    offers = []
    for row in market.catalog_rows() if rows is None else [market.catalog(r) for r in rows]:
        offers.append(
            OfferSettings(
                key=OfferKey(row.marketplace, row.sku),
                asin=row.asin,
                currency=row.currency,
                bounds=OfferBounds(row.min_price, row.max_price),
                fulfilment=row.fulfilment,
                quantity=int(market.spec.our_stock[row.row]),
                lead_time_days=int(market.spec.our_handling_days[row.row]),
            )
        )
    return offers


class MarketFeed:
    """Advances one simulated market with trio's clock and hands what it delivers to the adapter of each row.

    It also keeps the market's quota book: every seller's token buckets, charged by the adapters' calls.
    """

    def __init__(self, market: Market, *, step_s: float = 1.0) -> None:
        self.market = market
        self.step_s = step_s
        self.quotas = QuotaBook(market.spec.n_sellers, start=market.now)
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
            for note in market.pop_notifications(now):
                owner = self._owner[note.row]
                if owner is not None:
                    await owner.deliver(note, now)
            upcoming = min(market.next_event_time(), market.next_notification_time())
            await trio.sleep_until(max(now + self.step_s, min(upcoming, now + 60.0)))


class SimulatedMarketplace:
    """See the module docstring. ``api_latency_s`` is the time each call takes to answer. ``rows`` are this
    adapter's rows of the market (default: all); ``feed`` is the market's shared feed, run by whoever built it
    (default: a feed of the adapter's own, run inside `stream_observations`)."""

    def __init__(
        self,
        market: Market,
        *,
        code: str,
        api_latency_s: float = 0.25,
        step_s: float = 1.0,
        rows: Sequence[int] | None = None,
        feed: MarketFeed | None = None,
    ) -> None:
        self.market = market
        self._code = code
        self._own_feed = feed is None
        self.feed = MarketFeed(market, step_s=step_s) if feed is None else feed
        self.quotas = self.feed.quotas
        self.api_latency_s = api_latency_s
        self.rows = list(range(market.n_rows)) if rows is None else list(rows)
        self.feed.attach(self, self.rows)
        self._rows: dict[OfferKey, int] = {}
        self._keys: dict[int, OfferKey] = {}
        for row in self.rows:
            catalog = market.catalog(row)
            key = OfferKey(catalog.marketplace, catalog.sku)
            self._rows[key] = row
            self._keys[row] = key
        self._sellers: list[int] = np.asarray(market.spec.seller, np.int64).tolist()
        self._n_sellers = max(1, len({self._sellers[row] for row in self.rows}))
        self._send: trio.MemorySendChannel[Observation] | None = None
        self._undelivered: list[Observation] = []
        self.calls: dict[str, int] = dict.fromkeys(OPERATIONS, 0)
        self.throttled: dict[str, int] = dict.fromkeys(OPERATIONS, 0)

    @property
    def code(self) -> str:
        return self._code

    def quota(self, operation: str) -> Quota:
        """The limit the engine paces itself on: one seller's, times the number of sellers sharing the market."""
        op = self.quotas.operation(OPERATIONS[operation])
        batch = _PER_SKU_BATCH.get(operation, op.batch)
        return Quota(op.rate * self._n_sellers, op.burst * self._n_sellers, batch)

    def row(self, key: OfferKey) -> int:
        try:
            return self._rows[key]
        except KeyError:
            raise KeyError(f"{key} is not an offer of this simulated marketplace") from None

    # --- the clock --------------------------------------------------------------------------------------------

    async def stream_observations(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Push what the market delivers for our rows, until cancelled (advancing the market ourselves unless a
        shared feed does)."""
        async with send:
            self._send = send
            try:
                for observation in self._undelivered:
                    await send.send(observation)
                self._undelivered.clear()
                if self._own_feed:
                    await self.feed.run(task_status=task_status)
                else:
                    task_status.started()
                    await trio.sleep_forever()
            finally:
                self._send = None

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

    async def _call(self, operation: str, rows: Sequence[int]) -> float:
        """Charge one call per row's seller (one token each), wait the API latency, return the answer time."""
        now = trio.current_time()
        name = OPERATIONS[operation]
        # Rows per seller, in seller order (a call carries a few rows: a Counter beats numpy here).
        rows_of = sorted(Counter(self._sellers[row] for row in rows).items())
        per_call = operation in _PER_SKU_BATCH
        for seller, count in rows_of:
            if self.quotas.wait_time(seller, name, now, count if per_call else 1) > 0:
                self.throttled[operation] += 1
                raise Throttled(name)
        for seller, count in rows_of:
            self.quotas.try_acquire(seller, name, now, count if per_call else 1)
        self.calls[operation] += 1
        await trio.sleep(self.api_latency_s)
        return trio.current_time()

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot]:
        rows = [self.row(k) for k in keys]
        at = await self._call("poll_offers", rows)
        return [
            self._observation(key, self.market.snapshot(row, at), "poll", at)
            for key, row in zip(keys, rows, strict=True)
        ]

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading]:
        rows = [self.row(k) for k in keys]
        at = await self._call("featured_offer_prices", rows)
        readings = self.market.foep(rows, at)
        # Amazon does not say how old its estimate is: the reading carries the time we got it, and whether our
        # offer was the featured one when Amazon made it (currentFeaturedOffer).
        return [
            FoepReading(key, at, r.price, r.status.value, r.ours_featured)
            for key, r in zip(keys, readings, strict=True)
        ]

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading]:
        rows = [self.row(k) for k in keys]
        at = await self._call("featured_shares", rows)
        return [
            ShareReading(key, at, r.share, r.price)
            for key, r in zip(keys, self.market.competitive_summary(rows, at), strict=True)
        ]

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        rows = [self.row(u.key) for u in updates]
        at = await self._call("submit", rows)
        quantity = [-1 if u.quantity is None else u.quantity for u in updates]
        accepted = self.market.submit(rows, [u.price for u in updates], at, quantity)
        return [
            SubmissionResult(u.key, u.update_id, "accepted" if ok else "invalid", at, u.price)
            for u, ok in zip(updates, accepted.tolist(), strict=True)
        ]

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState]:
        rows = [self.row(k) for k in keys]
        at = await self._call("read_back", rows)
        listings = [self.market.our_listing(row, at) for row in rows]
        return [
            ListingState(key, at, listing.listing_price, listing.live)
            for key, listing in zip(keys, listings, strict=True)
        ]

    # --- shapes ----------------------------------------------------------------------------------------------

    def _observation(
        self, key: OfferKey, snap: Snapshot, source: ObservationSource, received_at: float
    ) -> OfferSnapshot:
        row = snap.row
        our = None
        if snap.our is not None:
            spec = self.market.spec
            our = OurListing(
                listing_price=snap.our.listing_price,
                shipping=snap.our.shipping,
                live=snap.our.live,
                fulfilment=Fulfilment.AMAZON if spec.our_fba[row] else Fulfilment.MERCHANT,
                prime=snap.our.prime,
                feedback_pct=round(float(spec.our_feedback[row]) * 100),
                handling_max_hours=int(spec.our_handling_days[row]) * 24,
                is_buybox_winner=snap.our.is_buybox_winner,
            )
        winner: tuple[BuyBoxPrice, ...] = ()
        if snap.featured_seller_id is not None:
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
