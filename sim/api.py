"""The seller's side of the simulated Amazon: every call charged to the calling seller's quota.

The in-process adapter (and the HTTP fake) call these methods instead of reaching into `Market`, so the engine
meets Amazon's rate limits, batch sizes and refusals exactly where it would meet them in production: a throttled
call raises `QuotaExceeded` and changes nothing, an oversized batch is a client error, and a row that is not the
seller's is refused. The market itself stays free of quota logic, so tests and the oracle can read it freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.model import OurListing
from sim.market import Market
from sim.orders import Order
from sim.quotas import QuotaBook, QuotaExceeded
from sim.snapshot import FoepResult, Notification, Snapshot

__all__ = ["MarketApi", "QuotaExceeded"]


class MarketApi:
    """Quota-charged calls onto one `Market`; one token bucket per (seller, operation)."""

    def __init__(self, market: Market, quotas: QuotaBook | None = None) -> None:
        self.market = market
        self.quotas = quotas or QuotaBook(max(market.spec.n_sellers, 1), start=market.now)

    def charge(self, seller: int, operation: str, t: float, items: int = 1) -> None:
        """Take one call of ``operation`` from the seller's bucket at ``t`` (raises `QuotaExceeded`)."""
        limit = self.quotas.operation(operation).batch
        if items > limit:
            raise ValueError(f"{operation} takes at most {limit} items per call, got {items}")
        self.quotas.acquire(seller, operation, t)

    def _own(self, seller: int, rows: Sequence[int]) -> list[int]:
        owned = self.market.spec.seller[np.asarray(rows, np.intp)] if len(rows) else np.empty(0, np.int64)
        if np.any(owned != seller):
            raise PermissionError(f"seller {seller} does not own every row of {list(rows)}")
        return [int(r) for r in rows]

    def listing_offers(self, seller: int, rows: Sequence[int], t: float) -> list[Snapshot]:
        """getListingOffersBatch: the offers on each row's item (≤ 20 rows)."""
        rows = self._own(seller, rows)
        self.charge(seller, "getListingOffersBatch", t, len(rows))
        self.market.advance_to(t)
        return [self.market.snapshot(r) for r in rows]

    def item_offers(self, seller: int, rows: Sequence[int], t: float) -> list[Snapshot]:
        """getItemOffersBatch: the same view by ASIN (≤ 20 rows), on its own, slower quota."""
        rows = self._own(seller, rows)
        self.charge(seller, "getItemOffersBatch", t, len(rows))
        self.market.advance_to(t)
        return [self.market.snapshot(r) for r in rows]

    def featured_offer_expected_price(self, seller: int, rows: Sequence[int], t: float) -> list[FoepResult]:
        """getFeaturedOfferExpectedPriceBatch (≤ 40 rows)."""
        rows = self._own(seller, rows)
        self.charge(seller, "getFeaturedOfferExpectedPriceBatch", t, len(rows))
        return self.market.foep(rows, t)

    def patch_listing(self, seller: int, row: int, price: int, t: float, quantity: int | None = None) -> bool:
        """patchListingsItem for one SKU: True when Amazon ACCEPTED it (which is not the same as applied)."""
        self._own(seller, [row])
        self.charge(seller, "patchListingsItem", t)
        return bool(self.market.submit([row], [price], t, None if quantity is None else [quantity])[0])

    def get_listing(self, seller: int, row: int, t: float) -> OurListing:
        """getListingsItem: our offer as Amazon holds it now, to verify an accepted update (read-back)."""
        self._own(seller, [row])
        self.charge(seller, "getListingsItem", t)
        return self.market.our_listing(row, t)

    def get_orders(self, seller: int, since: float, t: float) -> list[Order]:
        """getOrders with LastUpdatedAfter ``since`` (one call; paging is the adapter's business)."""
        self.charge(seller, "getOrders", t)
        self.market.advance_to(t)
        return self.market.orders.orders_changed_since(seller, since, t)

    def confirm_shipment(self, seller: int, order_id: str, t: float) -> bool:
        """confirmShipment: False when the order is not Unshipped."""
        self.charge(seller, "confirmShipment", t)
        self.market.advance_to(t)
        order = self.market.orders.order(order_id, t)
        if order.seller != seller:
            raise PermissionError(f"order {order_id} is not seller {seller}'s")
        return self.market.orders.confirm_shipment(order_id, t)

    def notifications(self, t: float) -> list[Notification]:
        """Notifications delivered by ``t`` (SQS is not rate-limited like the SP-API; no quota here)."""
        return self.market.pop_notifications(t)
