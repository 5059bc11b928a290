"""Orders: a sale follows our expected share; each order then lives through Amazon's statuses.

Page views arrive per row as a Poisson process (the market schedules them); a view buys from us with probability
``conversion × our expected share`` while our offer is buyable. An order is Pending while Amazon verifies payment
(minutes to hours; the stock is already taken), then Unshipped until it ships (Amazon ships FBA orders; merchant
orders ship within our handling time, or when the seller confirms the shipment), or Canceled: payment that never
clears, or a buyer's cancellation request that the seller accepts.

Every transition time is drawn when the order is created, from the row's order stream, so an order's status at
any time is a pure function of that time: no events to process, and `orders_changed_since` is a filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from sim import ids
from sim.rng import Z_95, Purpose, lognormal, normal_from, quantile_sigma, stream_base, uniform_from

__all__ = ["Order", "OrderBook", "OrderItem", "OrderParams", "OrderStatus"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

OrderStatus = Literal["Pending", "Unshipped", "Shipped", "Canceled"]
_STATUSES: Final[tuple[OrderStatus, ...]] = ("Pending", "Unshipped", "Shipped", "Canceled")
DAY_S: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class OrderParams:
    """Demand and order lifecycle. ``auto_ship_merchant`` false leaves merchant orders Unshipped until the seller
    confirms the shipment (for tests of an orders actor)."""

    conversion: float = 0.1
    two_units: float = 0.1
    pending_median_s: float = 600.0
    pending_p95_s: float = 6 * 3600.0
    pending_max_s: float = 21 * 86_400.0  # Amazon cancels an order whose payment is still unverified then
    payment_fail: float = 0.02
    buyer_cancel: float = 0.03
    fba_ship_max_s: float = 12 * 3600.0
    auto_ship_merchant: bool = True


class OrderItem(msgspec.Struct, frozen=True, gc=False):
    """One line of an order; prices are totals for the line in minor units."""

    order_item_id: str
    sku: str
    asin: str
    quantity: int
    item_price: int
    shipping_price: int
    is_buyer_requested_cancel: bool
    buyer_cancel_reason: str | None = None


class Order(msgspec.Struct, frozen=True, gc=False):
    """An order as getOrders + getOrderItems would show it at ``as_of``."""

    amazon_order_id: str
    row: int
    seller: int
    marketplace: str
    currency: str
    status: OrderStatus
    purchase_at: float
    last_update_at: float
    fulfillment_channel: Literal["AFN", "MFN"]
    order_total: int
    items: tuple[OrderItem, ...]
    as_of: float


_COLUMNS: Final = (
    "row",
    "index",
    "seller",
    "quantity",
    "unit_price",
    "shipping",
    "fba",
    "created_at",
    "pending_until",
    "ship_at",
    "cancel_at",
    "request_at",
)


class OrderBook:
    """All orders of a market, as columns; ids map to positions for the seller's actions."""

    def __init__(
        self,
        *,
        seed: npt.ArrayLike,
        stream_key: I64,
        handling_days: I64,
        sku: tuple[str, ...],
        asin: tuple[str, ...],
        marketplace: tuple[str, ...],
        currency: tuple[str, ...],
        params: OrderParams,
    ) -> None:
        self._seed = np.broadcast_to(np.asarray(seed, np.int64), np.shape(stream_key))
        self._stream_key = stream_key
        self._handling_s = np.asarray(handling_days, np.float64) * DAY_S
        self._catalog = (sku, asin, marketplace, currency)
        self.params = params
        self._base = stream_base(seed, stream_key, Purpose.ORDER_LIFECYCLE)
        self._count = np.zeros(len(stream_key), np.int64)
        self._pending_sigma = quantile_sigma(params.pending_median_s, params.pending_p95_s, Z_95)
        self._chunks: list[dict[str, npt.NDArray[Any]]] = []
        self._cols: dict[str, npt.NDArray[Any]] = {name: np.empty(0) for name in _COLUMNS}
        self._ids: list[str] = []
        self._position: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def create(
        self, rows: npt.NDArray[np.intp], at: F64, quantity: I64, unit_price: I64, shipping: I64, fba: B, seller: I64
    ) -> None:
        """New orders (rows distinct), with every later transition drawn now."""
        if not rows.size:
            return
        p = self.params
        k = self._count[rows]
        self._count[rows] += 1
        base = self._base[rows]
        pending = lognormal(p.pending_median_s, self._pending_sigma, normal_from(base, k, 0), p.pending_max_s)
        pending_until = at + pending
        fails = (uniform_from(base, k, 2) < p.payment_fail) | (pending >= p.pending_max_s)
        ship_window = np.where(fba, p.fba_ship_max_s, self._handling_s[rows])
        ship_at = pending_until + ship_window * (0.2 + 0.8 * uniform_from(base, k, 3))
        if not p.auto_ship_merchant:
            ship_at = np.where(fba, ship_at, np.inf)
        requested = ~fails & (uniform_from(base, k, 4) < p.buyer_cancel)
        request_at = np.where(requested, at + (pending + 0.5 * ship_window) * uniform_from(base, k, 5), np.inf)
        self._chunks.append(
            {
                "row": rows.astype(np.int64),
                "index": k,
                "seller": seller,
                "quantity": quantity,
                "unit_price": unit_price,
                "shipping": shipping,
                "fba": fba,
                "created_at": at,
                "pending_until": pending_until,
                "ship_at": np.where(fails, np.inf, ship_at),
                "cancel_at": np.where(fails, pending_until, np.inf),
                "request_at": request_at,
            }
        )
        for row, index in zip(rows.tolist(), k.tolist(), strict=True):
            order_id = ids.order_id(int(self._seed[row]), int(self._stream_key[row]), index)
            self._position[order_id] = len(self._ids)
            self._ids.append(order_id)

    def _flat(self) -> dict[str, npt.NDArray[Any]]:
        if self._chunks:
            self._cols = {
                name: np.concatenate(
                    [self._cols[name].astype(self._chunks[0][name].dtype)] + [c[name] for c in self._chunks]
                )
                for name in _COLUMNS
            }
            self._chunks = []
        return self._cols

    def status_codes(self, t: float) -> npt.NDArray[np.int8]:
        """Every order's status at ``t`` as a code: 0 Pending, 1 Unshipped, 2 Shipped, 3 Canceled."""
        c = self._flat()
        canceled = (c["cancel_at"] <= t) & (c["cancel_at"] < c["ship_at"])
        shipped = ~canceled & (c["ship_at"] <= t)
        pending = ~canceled & (c["pending_until"] > t)
        return np.select([canceled, shipped, pending], [3, 2, 0], 1).astype(np.int8)

    def orders_changed_since(self, seller: int, since: float, now: float) -> list[Order]:
        """The seller's orders created or changed in ``(since, now]`` (getOrders with LastUpdatedAfter)."""
        c = self._flat()
        times = np.stack([c[n] for n in ("created_at", "pending_until", "ship_at", "cancel_at", "request_at")])
        changed = ((times > since) & (times <= now)).any(axis=0) & (c["seller"] == seller)
        return [self._order(int(i), now) for i in np.flatnonzero(changed)]

    def order(self, order_id: str, t: float) -> Order:
        """One order as it stands at ``t`` (KeyError for an unknown id)."""
        self._flat()
        return self._order(self._position[order_id], t)

    def confirm_shipment(self, order_id: str, t: float) -> bool:
        """The seller shipped an Unshipped order at ``t``; False when the order was not Unshipped."""
        c = self._flat()
        i = self._position[order_id]
        if self.status_codes(t)[i] != 1:
            return False
        c["ship_at"][i] = t
        return True

    def accept_cancellation(self, order_id: str, t: float) -> bool:
        """Cancel an order not yet shipped (the seller accepting a buyer's request); False when too late."""
        c = self._flat()
        i = self._position[order_id]
        if self.status_codes(t)[i] in (2, 3):
            return False
        c["cancel_at"][i] = t
        return True

    def _order(self, i: int, t: float) -> Order:
        c = self._cols
        row = int(c["row"][i])
        sku, asin, marketplace, currency = (col[row] for col in self._catalog)
        status = _STATUSES[int(self.status_codes(t)[i])]
        quantity = int(c["quantity"][i])
        item_price = int(c["unit_price"][i]) * quantity
        shipping = int(c["shipping"][i]) * quantity
        stamps = [float(c[n][i]) for n in ("created_at", "pending_until", "ship_at", "cancel_at", "request_at")]
        requested = bool(c["request_at"][i] <= t)
        item = OrderItem(
            order_item_id=ids.order_item_id(int(self._seed[row]), int(self._stream_key[row]), int(c["index"][i])),
            sku=sku,
            asin=asin,
            quantity=quantity,
            item_price=item_price,
            shipping_price=shipping,
            is_buyer_requested_cancel=requested,
            buyer_cancel_reason="BuyerCanceled" if requested else None,
        )
        return Order(
            amazon_order_id=self._ids[i],
            row=row,
            seller=int(c["seller"][i]),
            marketplace=marketplace,
            currency=currency,
            status=status,
            purchase_at=stamps[0],
            last_update_at=max(s for s in stamps if s <= t),
            fulfillment_channel="AFN" if bool(c["fba"][i]) else "MFN",
            order_total=item_price + shipping,
            items=(item,),
            as_of=t,
        )
