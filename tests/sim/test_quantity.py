"""A submitted quantity is what the seller offers when it submits: units sold until it goes live are not put back."""

from __future__ import annotations

from sim.latency import LatencyParams
from sim.market import Market
from sim.orders import OrderParams
from sim.spec import OurSpec
from tests.sim.markets import one_row_market

# Sales every ten seconds or so, and a submit that takes ten minutes to go live.
_LATENCY = LatencyParams(never_apply=0.0, delay_s=600.0, p90_ratio=1.01)


def _market(stock: int) -> Market:
    return one_row_market(
        OurSpec(1000, 500, 2000, stock=stock), views_per_s=0.1, orders=OrderParams(conversion=1.0), latency=_LATENCY
    )


def _units_sold(market: Market, after: float, until: float) -> int:
    orders = market.orders.orders_changed_since(0, -1.0, market.now)
    return sum(o.items[0].quantity for o in orders if after < o.purchase_at <= until)


def _live_at(market: Market, price: int, start: float) -> float:
    t = start
    while market.price[0, 0] != price:
        t += 1.0
        market.advance_to(t)
    return t


def test_units_sold_before_a_quantity_goes_live_are_not_put_back() -> None:
    market = _market(stock=1000)
    market.advance_to(100.0)
    assert market.submit([0], [1100], 100.0, [500]).all()
    live = _live_at(market, 1100, 100.0)
    sold_meanwhile = _units_sold(market, 100.0, live)
    assert sold_meanwhile > 10
    assert market.our_stock[0] == 500 - sold_meanwhile
    market.advance_to(live + 600.0)
    assert market.our_stock[0] == 500 - _units_sold(market, 100.0, market.now)


def test_a_quantity_sold_out_before_it_goes_live_goes_live_as_zero() -> None:
    market = _market(stock=1000)
    market.advance_to(100.0)
    market.submit([0], [1100], 100.0, [5])
    live = _live_at(market, 1100, 100.0)
    assert _units_sold(market, 100.0, live) > 5
    assert market.our_stock[0] == 0 and not market.in_stock[0, 0]


def test_an_update_without_quantity_leaves_the_stock_to_the_sales() -> None:
    market = _market(stock=1000)
    market.advance_to(100.0)
    market.submit([0], [1100], 100.0)
    live = _live_at(market, 1100, 100.0)
    assert market.our_stock[0] == 1000 - _units_sold(market, 0.0, live)
    market.submit([0], [1200], live, [-1])
    later = _live_at(market, 1200, live)
    assert market.our_stock[0] == 1000 - _units_sold(market, 0.0, later)
