"""Orders: sales follow our share; Pending → Unshipped → Shipped or Canceled; FBA stock runs out."""

from __future__ import annotations

import re

import numpy as np

from sim.competitors import CompetitorSpec
from sim.orders import OrderParams
from sim.snapshot import FoepStatus
from sim.spec import OurSpec
from sim.trajectory import UNWINNABLE
from tests.sim.markets import one_row_market


def test_fba_stock_depletes_with_sales_and_the_offer_goes_out_of_stock_at_zero() -> None:
    market = one_row_market(
        OurSpec(1000, 500, 2000, fba=True, stock=5), views_per_s=0.05, orders=OrderParams(conversion=1.0)
    )
    market.advance_to(2 * 3600.0)
    orders = market.orders.orders_changed_since(0, -1.0, market.now)
    assert sum(o.items[0].quantity for o in orders) == 5
    assert market.our_stock[0] == 0 and not market.in_stock[0, 0]
    assert market.snapshot(0).our is None
    assert market.p_star[0] == UNWINNABLE and market.our_share[0] == 0.0
    assert all(o.fulfillment_channel == "AFN" for o in orders)
    assert market.foep([0], market.now)[0].status in (FoepStatus.NO_COMPETING_OFFER, FoepStatus.OFFER_NOT_ELIGIBLE)


def test_sales_follow_our_expected_share() -> None:
    winning = one_row_market(OurSpec(900, 500, 2000), [CompetitorSpec(price=1000)], views_per_s=0.02, copies=50)
    losing = one_row_market(OurSpec(1100, 500, 2000), [CompetitorSpec(price=1000)], views_per_s=0.02, copies=50)
    for market in (winning, losing):
        market.advance_to(4 * 3600.0)
    assert len(winning.orders) > 5 * max(len(losing.orders), 1)
    # conversion 0.1 × views 0.02/s × 4 h × 50 rows × share ≈ 1 gives about 1,440 orders
    assert 1200 < len(winning.orders) < 1700


def test_order_lifecycle() -> None:
    params = OrderParams(conversion=1.0, payment_fail=0.1, buyer_cancel=0.2, auto_ship_merchant=False)
    market = one_row_market(OurSpec(1000, 500, 2000), views_per_s=0.01, copies=40, orders=params)
    market.advance_to(4 * 3600.0)
    orders = market.orders.orders_changed_since(0, -1.0, market.now)
    assert len(orders) > 1000
    assert all(re.fullmatch(r"\d{3}-\d{7}-\d{7}", o.amazon_order_id) for o in orders)
    assert len({o.amazon_order_id for o in orders}) == len(orders)
    fresh = market.orders.order(orders[-1].amazon_order_id, orders[-1].purchase_at)
    assert fresh.status == "Pending"
    later = [market.orders.order(o.amazon_order_id, o.purchase_at + 30 * 86_400.0) for o in orders]
    statuses = {o.status for o in later}
    assert statuses == {"Unshipped", "Canceled"}  # merchant orders wait for the seller to confirm shipment
    canceled = np.mean([o.status == "Canceled" for o in later])
    assert 0.06 < canceled < 0.14
    requested = np.mean([o.items[0].is_buyer_requested_cancel for o in later])
    assert 0.14 < requested < 0.26
    unshipped = next(o for o in later if o.status == "Unshipped")
    t = market.now + 30 * 86_400.0
    assert market.orders.confirm_shipment(unshipped.amazon_order_id, t)
    assert market.orders.order(unshipped.amazon_order_id, t).status == "Shipped"
    assert not market.orders.accept_cancellation(unshipped.amazon_order_id, t + 1.0)
    other = next(o for o in later if o.status == "Unshipped" and o.amazon_order_id != unshipped.amazon_order_id)
    assert market.orders.accept_cancellation(other.amazon_order_id, t)
    assert market.orders.order(other.amazon_order_id, t + 1.0).status == "Canceled"


def test_merchant_orders_ship_within_the_handling_time_by_default() -> None:
    market = one_row_market(
        OurSpec(1000, 500, 2000, handling_days=2), views_per_s=0.01, copies=10, orders=OrderParams(conversion=1.0)
    )
    market.advance_to(3600.0)
    orders = market.orders.orders_changed_since(0, -1.0, market.now)
    assert orders and all(o.items[0].sku.startswith("SKU-") for o in orders)
    shipped = [market.orders.order(o.amazon_order_id, o.purchase_at + 10 * 86_400.0) for o in orders]
    assert all(o.status in ("Shipped", "Canceled") for o in shipped)
    assert all(o.last_update_at <= o.purchase_at + 10 * 86_400.0 for o in shipped)


def test_orders_changed_since_is_a_window() -> None:
    market = one_row_market(OurSpec(1000, 500, 2000), views_per_s=0.01, copies=20, orders=OrderParams(conversion=1.0))
    market.advance_to(7200.0)
    early = market.orders.orders_changed_since(0, -1.0, 3600.0)
    late = market.orders.orders_changed_since(0, 3600.0, 7200.0)
    assert early and late
    assert all(o.purchase_at <= 3600.0 for o in early)
    assert {o.amazon_order_id for o in late} - {o.amazon_order_id for o in early}
