"""A scripted marketplace for actor mechanics tests: it records what it is asked and serves what it is told."""

from __future__ import annotations

from collections.abc import Sequence

import trio

from engine.actors.recorder import Recorder
from engine.daemon import Daemon, MarketRuntime, RuntimeConfig, SellerRuntime, Switch
from engine.model import (
    OUTBOX_UNANSWERED,
    CompetitorOffer,
    FoepReading,
    ListingState,
    Observation,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OfferUpdate,
    OurListing,
    ShareReading,
    SubmissionResult,
)
from engine.ports import ItemFailure, Quota, Store

QUOTAS = {
    "poll_offers": Quota(0.5, 1, 20),
    "featured_offer_prices": Quota(1 / 30, 1, 40),
    "featured_shares": Quota(1 / 30, 1, 20),
    "submit": Quota(5.0, 5, 5),
    "read_back": Quota(5.0, 10, 10),
}


def settings(sku: str, marketplace: str = "DE", seller: str = "SELLER") -> OfferSettings:
    return OfferSettings(
        key=OfferKey(seller, marketplace, sku),
        asin="B0" + sku[-8:].rjust(8, "0"),
        currency="EUR",
        bounds=OfferBounds(1000, 3000),
    )


class ScriptedMarketplace:
    """Every offer sits at 2000 facing one rival at 1900; nobody ever wins. Submissions are accepted and recorded.

    Faults are scripted: ``submit_faults`` and ``poll_faults`` are raised, one per call, before anything else
    happens (so a failed call is not recorded); ``submit_delay`` is how long a submit takes to answer.
    """

    def __init__(self, code: str = "DE", seller: str = "SELLER") -> None:
        self._code = code
        self._seller = seller
        self.submitted: list[OfferUpdate] = []
        self.polled: list[OfferKey] = []
        self.share_asked: list[OfferKey] = []
        self.submit_faults: list[Exception] = []
        self.poll_faults: list[Exception] = []
        self.submit_delay = 0.0
        self.failing_items: dict[OfferKey, bool] = {}  # key → transient: polls answer an ItemFailure for it
        self.push_send, self.push_receive = trio.open_memory_channel[Observation](0)

    @property
    def code(self) -> str:
        return self._code

    @property
    def seller(self) -> str:
        return self._seller

    def quota(self, operation: str) -> Quota:
        return QUOTAS[operation]

    def snapshot(self, key: OfferKey, price: int = 2000) -> OfferSnapshot:
        now = trio.current_time()
        return OfferSnapshot(
            key=key,
            source="poll",
            as_of=now,
            received_at=now,
            our=OurListing(price),
            competitors=(CompetitorOffer("RIVAL", 1900, is_buybox_winner=True),),
        )

    async def stream_observations(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        # The push channel stays open when the stream ends: a stream subscribed again reads on from it.
        async with send:
            task_status.started()
            async for observation in self.push_receive:
                await send.send(observation)

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot | ItemFailure]:
        if self.poll_faults:
            raise self.poll_faults.pop(0)
        self.polled.extend(keys)
        now = trio.current_time()
        return [
            ItemFailure(key, now, "InternalFailure", transient=self.failing_items[key])
            if key in self.failing_items
            else self.snapshot(key)
            for key in keys
        ]

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading | ItemFailure]:
        return [FoepReading(key, trio.current_time(), None, "ASIN_NOT_ELIGIBLE") for key in keys]

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading | ItemFailure]:
        self.share_asked.extend(keys)
        return [ShareReading(key, trio.current_time(), 0.25, 2000) for key in keys]

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        if self.submit_faults:
            raise self.submit_faults.pop(0)
        await trio.sleep(self.submit_delay)
        self.submitted.extend(updates)
        now = trio.current_time()
        return [SubmissionResult(u.key, u.update_id, "accepted", now, u.price) for u in updates]

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState | ItemFailure]:
        return [ListingState(key, trio.current_time(), 2000) for key in keys]


def daemon_of(runtimes: Sequence[MarketRuntime], recorder: Recorder, config: RuntimeConfig | None = None) -> Daemon:
    """A daemon over runtimes built by hand: one seller runtime per seller among them."""
    by_seller: dict[str, list[MarketRuntime]] = {}
    for runtime in runtimes:
        by_seller.setdefault(runtime.seller, []).append(runtime)
    root = Switch()
    sellers = []
    for seller, markets in by_seller.items():
        switch = Switch(root)
        for market in markets:
            market.switch.parent = switch
        sellers.append(SellerRuntime(seller, markets, switch))
    return Daemon(sellers, config=config, services=[recorder], switch=root)


async def unanswered(store: Store, seller: str = "SELLER", marketplace: str = "DE") -> list[OfferUpdate]:
    """The updates the store holds as not answered (sent again by the next start), by update id."""
    return [e.update for e in await store.outbox_entries(seller, marketplace, OUTBOX_UNANSWERED)]
