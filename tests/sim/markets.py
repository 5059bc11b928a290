"""Small hand-built markets for the simulator's tests."""

from __future__ import annotations

from collections.abc import Sequence

from sim.buybox import BuyBoxParams
from sim.competitors import CompetitorSpec
from sim.latency import LatencyParams
from sim.market import Market
from sim.orders import OrderParams
from sim.spec import OurSpec, RowSpec, spec_from_rows


def one_row_market(
    our: OurSpec,
    competitors: Sequence[CompetitorSpec] = (),
    *,
    seed: int = 1,
    tau: float = 0.005,
    latency: LatencyParams | None = None,
    orders: OrderParams | None = None,
    ref_price: int | None = None,
    views_per_s: float = 0.0,
    copies: int = 1,
    notifications: bool = True,
    foep_available: bool = True,
) -> Market:
    """A market of ``copies`` rows that are the same item but have their own random streams.

    The scoring weights are exactly buybox.md's public defaults (no per-seed spread, no hidden terms, no Prime
    weight: `BuyBoxParams.plain`), so expectations can be worked out by hand; the items still have their traffic
    segments, which then differ only by the offer each one drew."""
    rows = [
        RowSpec(
            our=our,
            competitors=competitors,
            ref_price=ref_price,
            views_per_s=views_per_s,
            foep_available=foep_available,
        )
        for _ in range(copies)
    ]
    return Market(
        spec_from_rows(rows),
        seed=seed,
        latency=latency,
        buybox=BuyBoxParams.plain(tau),
        orders=orders,
        notifications=notifications,
    )
