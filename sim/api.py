"""The seller's side of the simulated Amazon: every call charged to the calling seller's quota.

The in-process adapter (and the HTTP fake) call these methods instead of reaching into `Market`, so the engine
meets Amazon's rate limits, batch sizes and refusals exactly where it would meet them in production: a throttled
call raises `QuotaExceeded` and changes nothing, an oversized batch is a client error (`ValueError`, Amazon's 400),
and a row that is not the seller's is refused. The market itself stays free of quota logic, so tests and the oracle
can read it freely.

A call is taken when it reaches Amazon (limits checked, the quota charged, or refused there and then) and answered
when its `Reply` is read, as of that time: over a network the answer comes a little later than the 429 would have,
and reflects the market when Amazon answered. ``api.listing_offers(0, rows, t).answer()`` answers at once.
patchListingsItem and getListingsItem take one SKU a call, so a seller changing five offers makes five calls, each
charged on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from engine.model import OurListing
from sim.market import Market
from sim.orders import Order
from sim.quotas import QuotaBook, QuotaExceeded
from sim.snapshot import FoepResult, Notification, Snapshot
from sim.summary import encode

__all__ = ["MarketApi", "QuotaExceeded", "Reply"]

T = TypeVar("T")


class Reply(Generic[T]):
    """A call Amazon took at ``received_at``; `answer` gives what it answers as of a later time (once)."""

    __slots__ = ("_answer", "received_at")

    def __init__(self, received_at: float, answer: Callable[[float], T]) -> None:
        self.received_at = received_at
        self._answer = answer

    def answer(self, t: float | None = None) -> T:
        """The answer as of ``t`` (default: when the call was taken)."""
        at = self.received_at if t is None else t
        if at < self.received_at:
            raise ValueError(f"a call taken at {self.received_at} cannot be answered at {at}")
        return self._answer(at)


class MarketApi:
    """Quota-charged calls onto one `Market`; one token bucket per (seller, operation).

    ``quotas`` may be shared by the markets of several marketplaces (one seller account's buckets serve all of
    them: seller ``i`` of each market is the same account); it needs a bucket for every seller of this market.
    """

    def __init__(self, market: Market, quotas: QuotaBook | None = None) -> None:
        sellers = market.spec.n_sellers
        if quotas is not None and quotas.n_sellers < sellers:
            raise ValueError(
                f"the quota book has buckets for {quotas.n_sellers} sellers; the market has {sellers} "
                "(a book shared by several markets needs as many sellers as the largest of them)"
            )
        self.market = market
        self.quotas = quotas or QuotaBook(max(sellers, 1), start=market.now)
        self._seller_of: list[int] = market.spec.seller.tolist()

    def charge(self, seller: int, operation: str, t: float, items: int = 1) -> None:
        """Take one call of ``operation`` from the seller's bucket at ``t`` (raises `QuotaExceeded`)."""
        limit = self.quotas.operation(operation).batch
        if items > limit:
            raise ValueError(f"{operation} takes at most {limit} items per call, got {items}")
        self.quotas.acquire(seller, operation, t)

    def _own(self, seller: int, rows: Sequence[int]) -> list[int]:
        owned = [int(row) for row in rows]
        if any(self._seller_of[row] != seller for row in owned):
            raise PermissionError(f"seller {seller} does not own every row of {owned}")
        return owned

    def _take(self, seller: int, operation: str, rows: Sequence[int], t: float) -> list[int]:
        owned = self._own(seller, rows)
        self.charge(seller, operation, t, len(owned))
        return owned

    def listing_offers(self, seller: int, rows: Sequence[int], t: float) -> Reply[list[Snapshot]]:
        """getListingOffersBatch: the offers on each row's item (≤ 20 rows)."""
        owned = self._take(seller, "getListingOffersBatch", rows, t)
        return Reply(t, lambda at: self._snapshots(owned, at))

    def item_offers(self, seller: int, rows: Sequence[int], t: float) -> Reply[list[Snapshot]]:
        """getItemOffersBatch: the same view by ASIN (≤ 20 rows), on its own, slower quota."""
        owned = self._take(seller, "getItemOffersBatch", rows, t)
        return Reply(t, lambda at: self._snapshots(owned, at))

    def _snapshots(self, rows: list[int], t: float) -> list[Snapshot]:
        self.market.advance_to(t)
        return [self.market.snapshot(r) for r in rows]

    def featured_offer_expected_price(self, seller: int, rows: Sequence[int], t: float) -> Reply[list[FoepResult]]:
        """getFeaturedOfferExpectedPriceBatch (≤ 40 rows)."""
        owned = self._take(seller, "getFeaturedOfferExpectedPriceBatch", rows, t)
        return Reply(t, lambda at: self.market.foep(owned, at))

    def competitive_summary(self, seller: int, rows: Sequence[int], t: float) -> Reply[list[bytes]]:
        """getCompetitiveSummary (≤ 20 rows): each row's response of the batch as the JSON Amazon sends
        (``{"status", "body"}``, the body in the shape of its model; `sim.summary`), in the order asked."""
        owned = self._take(seller, "getCompetitiveSummary", rows, t)
        return Reply(t, lambda at: [encode(body) for body in self.market.competitive_summary(owned, at)])

    def patch_listing(self, seller: int, row: int, price: int, t: float, quantity: int | None = None) -> Reply[bool]:
        """patchListingsItem for one SKU: True when Amazon ACCEPTED it (which is not the same as applied).

        ``quantity`` None leaves the quantity as it is; a quantity is the units on offer at the answer, less
        what sells before it goes live (`Market.submit`)."""
        (owned,) = self._take(seller, "patchListingsItem", [row], t)
        qty = None if quantity is None else [quantity]
        return Reply(t, lambda at: bool(self.market.submit([owned], [price], at, qty)[0]))

    def get_listing(self, seller: int, row: int, t: float) -> Reply[OurListing]:
        """getListingsItem: our offer as Amazon holds it, to verify an accepted update (read-back)."""
        (owned,) = self._take(seller, "getListingsItem", [row], t)
        return Reply(t, lambda at: self.market.our_listing(owned, at))

    def get_orders(self, seller: int, since: float, t: float) -> Reply[list[Order]]:
        """getOrders with LastUpdatedAfter ``since`` (one call; paging is the adapter's business)."""
        self.charge(seller, "getOrders", t)

        def orders(at: float) -> list[Order]:
            self.market.advance_to(at)
            return self.market.orders.orders_changed_since(seller, since, at)

        return Reply(t, orders)

    def confirm_shipment(self, seller: int, order_id: str, t: float) -> Reply[bool]:
        """confirmShipment: False when the order is not Unshipped."""
        self.market.advance_to(t)
        if self.market.orders.order(order_id, t).seller != seller:
            raise PermissionError(f"order {order_id} is not seller {seller}'s")
        self.charge(seller, "confirmShipment", t)

        def confirm(at: float) -> bool:
            self.market.advance_to(at)
            return self.market.orders.confirm_shipment(order_id, at)

        return Reply(t, confirm)

    def notifications(self, t: float) -> list[Notification]:
        """Notifications delivered by ``t`` (SQS is not rate-limited like the SP-API; no quota here)."""
        return self.market.pop_notifications(t)
