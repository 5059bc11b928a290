"""Where each seller's offers live: which market and row answer for a SKU or an ASIN in a marketplace.

The fake serves one market per marketplace (one seller account is seller ``i`` of every market, with one quota
book for all of them, as `adapters.simulated.run.build_run` builds a run). Amazon names an offer by the seller's
SKU (the listings and getListingOffers) or by the item's ASIN (getItemOffers, the competitive summary) in a
marketplace; the index answers either with a `Place`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from engine.marketplaces import MARKETPLACES
from sim import ids
from sim.api import MarketApi
from sim.market import Market

__all__ = ["Place", "PlaceIndex", "marketplace_id", "merchant_id"]


def marketplace_id(code: str) -> str:
    """Amazon's marketplace id of a simulated market's country code (a code Amazon does not have stays as it is)."""
    return MARKETPLACES[code].marketplace_id if code in MARKETPLACES else code


class Place(NamedTuple):
    """One of our offers: a row of one market, reached through that market's API."""

    api: MarketApi
    row: int

    @property
    def market(self) -> Market:
        return self.api.market


class PlaceIndex:
    """Every row of the markets by (seller, marketplace id, SKU) and by (seller, marketplace id, ASIN).

    A seller with two rows of one ASIN in one marketplace (two SKUs) is answered by ASIN from the first: what is
    asked by ASIN (the item's offers, its competitive summary) is the item's, not the SKU's."""

    def __init__(self, apis: Sequence[MarketApi]) -> None:
        self._by_sku: dict[tuple[int, str, str], Place] = {}
        self._by_asin: dict[tuple[int, str, str], Place] = {}
        self._marketplaces: set[str] = set()
        for api in apis:
            for row in api.market.catalog_rows():
                place = Place(api, row.row)
                where = marketplace_id(row.marketplace)
                self._marketplaces.add(where)
                self._by_sku.setdefault((row.seller, where, row.sku), place)
                self._by_asin.setdefault((row.seller, where, row.asin), place)

    @property
    def marketplaces(self) -> frozenset[str]:
        """The marketplace ids the fake has markets of."""
        return frozenset(self._marketplaces)

    def by_sku(self, seller: int, marketplace: str, sku: str) -> Place | None:
        return self._by_sku.get((seller, marketplace, sku))

    def by_asin(self, seller: int, marketplace: str, asin: str) -> Place | None:
        return self._by_asin.get((seller, marketplace, asin))


def merchant_id(seller: int) -> str:
    """The selling partner id of one of the market's seller accounts (the id its offers carry)."""
    return ids.our_seller_id(seller)
