"""A marketplace where prices go live: the fuzz needs a search that moves, not one that sees 2000 forever.

Each offer has a live price, our shipping and its rivals. A submitted price goes live at once, and polls, FOEP and
share readings and read-backs all tell the truth about it: the Buy Box goes to the lowest landed price, ours on a
tie. Whatever the script pushes on top comes through the notification stream, as in `ScriptedMarketplace`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import msgspec
import trio

from engine.model import (
    BuyBoxPrice,
    CompetitorOffer,
    FoepReading,
    ListingState,
    OfferKey,
    OfferSnapshot,
    OfferUpdate,
    OurListing,
    ShareReading,
    SubmissionResult,
)
from engine.ports import ItemFailure
from tests.actors.fakes import ScriptedMarketplace

__all__ = ["CODE", "SELLER", "LiveMarketplace", "Market"]

SELLER, CODE = "SELLER", "DE"


class Market(NamedTuple):
    """One offer's market: our live price and shipping, and rivals (each with a positive landed price)."""

    price: int
    shipping: int
    rivals: tuple[CompetitorOffer, ...]


class LiveMarketplace(ScriptedMarketplace):
    """`ScriptedMarketplace`'s stream and quotas, over markets that follow what is submitted. ``sent`` holds every
    update with the time the marketplace got it."""

    def __init__(self, markets: Mapping[OfferKey, Market]) -> None:
        super().__init__(CODE, SELLER)
        self.markets = dict(markets)
        self.sent: list[tuple[float, OfferUpdate]] = []

    def snapshot(self, key: OfferKey, price: int | None = None) -> OfferSnapshot:
        """The offer as a poll sees it now; ``price`` stands in for ours, as in `ScriptedMarketplace`."""
        market = self.markets[key]
        now = trio.current_time()
        ours = market.price if price is None else price
        landed = ours + market.shipping
        lowest = min(market.rivals, key=_landed, default=None)
        if lowest is None or landed <= lowest.landed_price:
            winner = BuyBoxPrice(landed, ours, market.shipping)
            rivals = market.rivals
            we_win = True
        else:
            winner = BuyBoxPrice(lowest.landed_price, lowest.listing_price, lowest.shipping, seller_id=lowest.seller_id)
            rivals = tuple(msgspec.structs.replace(r, is_buybox_winner=r is lowest) for r in market.rivals)
            we_win = False
        our = OurListing(ours, market.shipping, is_buybox_winner=we_win)
        return OfferSnapshot(key, "poll", now, now, our, rivals, (winner,))

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        now = trio.current_time()
        for update in updates:
            self.sent.append((now, update))
            self.markets[update.key] = self.markets[update.key]._replace(price=update.price)
        return [SubmissionResult(u.key, u.update_id, "accepted", now, u.price) for u in updates]

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState | ItemFailure]:
        now = trio.current_time()
        return [ListingState(key, now, self.markets[key].price) for key in keys]

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading | ItemFailure]:
        """A tick under the lowest rival's landed price, or none without a rival to beat."""
        now = trio.current_time()
        readings: list[FoepReading | ItemFailure] = []
        for key in keys:
            market = self.markets[key]
            lowest = min((r.landed_price for r in market.rivals), default=None)
            foep = None if lowest is None else lowest - market.shipping - 1
            if foep is None or foep <= 0:
                readings.append(FoepReading(key, now, None, "NO_COMPETING_OFFER"))
            else:
                readings.append(FoepReading(key, now, foep))
        return readings

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading | ItemFailure]:
        """Every view while we hold the Buy Box, none otherwise: nobody shares it here."""
        readings: list[ShareReading | ItemFailure] = []
        for key in keys:
            snapshot = self.snapshot(key)
            our = snapshot.our
            holds = our is not None and our.is_buybox_winner
            price = our.listing_price if our is not None and holds else None
            readings.append(ShareReading(key, snapshot.as_of, 1.0 if holds else None, price))
        return readings


def _landed(rival: CompetitorOffer) -> int:
    return rival.landed_price
