"""A scripted marketplace for actor mechanics tests: it records what it is asked and serves what it is told."""

from __future__ import annotations

from collections.abc import Sequence

import trio

from engine.model import (
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
from engine.ports import Quota

QUOTAS = {
    "poll_offers": Quota(0.5, 1, 20),
    "featured_offer_prices": Quota(1 / 30, 1, 40),
    "featured_shares": Quota(1 / 30, 1, 20),
    "submit": Quota(5.0, 5, 5),
    "read_back": Quota(5.0, 10, 10),
}


def settings(sku: str, marketplace: str = "DE") -> OfferSettings:
    return OfferSettings(
        key=OfferKey(marketplace, sku),
        asin="B0" + sku[-8:].rjust(8, "0"),
        currency="EUR",
        bounds=OfferBounds(1000, 3000),
    )


class ScriptedMarketplace:
    """Every offer sits at 2000 facing one rival at 1900; nobody ever wins. Submissions are accepted and recorded."""

    def __init__(self, code: str = "DE") -> None:
        self._code = code
        self.submitted: list[OfferUpdate] = []
        self.polled: list[OfferKey] = []
        self.share_asked: list[OfferKey] = []
        self.push_send, self.push_receive = trio.open_memory_channel[Observation](0)

    @property
    def code(self) -> str:
        return self._code

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
        async with send, self.push_receive:
            task_status.started()
            async for observation in self.push_receive:
                await send.send(observation)

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot]:
        self.polled.extend(keys)
        return [self.snapshot(key) for key in keys]

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading]:
        return [FoepReading(key, trio.current_time(), None, "ASIN_NOT_ELIGIBLE") for key in keys]

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading]:
        self.share_asked.extend(keys)
        return [ShareReading(key, trio.current_time(), 0.25, 2000) for key in keys]

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        self.submitted.extend(updates)
        now = trio.current_time()
        return [SubmissionResult(u.key, u.update_id, "accepted", now, u.price) for u in updates]

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState]:
        return [ListingState(key, trio.current_time(), 2000) for key in keys]
