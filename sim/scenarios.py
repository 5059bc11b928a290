"""The benchmark scenarios S1a–S8 of reference/buybox.md, as named, parameterised market definitions.

A run is fully determined by (scenario, seed, n_rows, params): every per-row quantity below comes from the seed's
scenario stream keyed by the row, so row 17 of seed 3 is the same item whatever else the run contains.

Per row the draws are a base price B (log-uniform), our bounds around it with max/min ≈ 2, our cost below min,
our fulfilment and shipping, the page-view rate, a reference price for some rows, and each competitor's offer and
strategy parameters relative to B. The ranges are chosen so that p* usually lies inside our bounds but is
sometimes below min (a few per cent of rows start unwinnable), as in a real catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from sim.buybox import BuyBoxParams
from sim.competitors import CompetitorArrays, Strategy
from sim.latency import LatencyParams
from sim.market import Market
from sim.orders import OrderParams
from sim.rng import Purpose, normal_from, stream_base, uniform_from
from sim.spec import MarketSpec

__all__ = ["SCENARIOS", "Role", "RunParams", "Scenario", "build_market", "build_spec"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Span = tuple[float, float]

DAY_S: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class RunParams:
    """Everything about a run except the scenario, the seed and the number of rows.

    ``start`` puts our first price at max, at min or log-uniform between them. ``sellers`` is "one" (every
    row one seller account, sharing its quota, as a real seller) or "per-sku" (each row its own account).
    ``foep_share`` of rows get FOEP readings; ``ref_price_share`` of rows have a reference price that caps a
    Buy Box-eligible landed price; ``our_not_live_share`` of rows start with our offer not yet live, going live
    after a log-normal delay around ``our_not_live_median_s``.
    """

    latency: LatencyParams = field(default_factory=LatencyParams)
    buybox: BuyBoxParams = field(default_factory=BuyBoxParams)
    orders: OrderParams = field(default_factory=OrderParams)
    start: Literal["max", "min", "random"] = "max"
    sellers: Literal["one", "per-sku"] = "one"
    horizon_s: float = DAY_S
    foep_share: float = 0.8
    ref_price_share: float = 0.2
    our_not_live_share: float = 0.0
    our_not_live_median_s: float = 600.0
    fba_share: float = 0.3
    fba_stock: int = 1000
    merchant_stock: int = 1000
    marketplace: str = "DE"
    currency: str = "EUR"
    base_price: Span = (1000.0, 20000.0)  # minor units, log-uniform
    min_vs_base: Span = (0.6, 0.92)
    bound_ratio: Span = (1.8, 2.2)
    views_per_day: Span = (5.0, 200.0)  # log-uniform

    @classmethod
    def cell(
        cls, *, delay_s: float = 120.0, tau: float = 0.005, start: Literal["max", "min", "random"] = "max", **kw: object
    ) -> RunParams:
        """The parameters of one benchmark cell: D, τ and the start, the rest at defaults unless given."""
        base = cls(**kw)  # type: ignore[arg-type]
        return replace(
            base,
            latency=replace(base.latency, delay_s=delay_s),
            buybox=replace(base.buybox, tau=tau),
            start=start,
        )


@dataclass(frozen=True, slots=True)
class Role:
    """One competitor slot of a scenario. Prices are relative to the row's base price B: the landed price is
    B × U(``price``); floor and ceiling (listing prices) likewise. Times are seconds, drawn uniformly."""

    strategy: Strategy
    price: Span = (0.95, 1.1)
    fba: float = 0.0  # probability
    amazon: bool = False
    floor: Span = (0.7, 0.9)
    ceiling: Span = (1.2, 1.5)
    cadence_s: Span = (120.0, 600.0)
    latency_s: Span = (60.0, 300.0)
    delta: Span = (0.0, 0.0)  # relative to B, for MATCH_BUYBOX
    period_s: Span = (0.0, 0.0)
    hold_s: Span = (0.0, 0.0)
    ratio: Span = (1.0, 1.0)
    ref_slot: int = -1


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named market: its competitors, and whether they react (reacting scenarios are judged by profit)."""

    name: str
    description: str
    reacting: bool
    roles: tuple[Role, ...] = field(default=())


_STATIC = Role(Strategy.STATIC)
_HUMAN = Role(Strategy.HUMAN, cadence_s=(0.8 * DAY_S, 1.2 * DAY_S))
_UNDERCUT = Role(Strategy.UNDERCUT)
# The pair of Eisen's $23,698,655.93 book: each prices off the other (slots 2 and 3) and the pair climbs ×1.27 a
# round to its ceilings. Every 3–6 h its owners notice and put it back at the lowest price for a while (longer
# than one check can take, 1.25 × the slowest cadence), after which it climbs again.
_RATIO_PAIR = Role(
    Strategy.RATIO,
    ceiling=(3.0, 5.0),
    cadence_s=(1800.0, 3600.0),
    period_s=(3 * 3600.0, 6 * 3600.0),
    hold_s=(4800.0, 4800.0),
)
_RUNAWAY_PAIR = (
    replace(_RATIO_PAIR, ratio=(0.9983, 0.9983), ref_slot=3),
    replace(_RATIO_PAIR, ratio=(1.2706, 1.2706), ref_slot=2),
)

SCENARIOS: Final[dict[str, Scenario]] = {
    s.name: s
    for s in (
        Scenario("S1a", "one static seller", False, (_STATIC,)),
        Scenario(
            "S1b",
            "five static sellers, one of them FBA, one Amazon retail",
            False,
            (_STATIC, _STATIC, _STATIC, replace(_STATIC, fba=1.0), replace(_STATIC, amazon=True, price=(1.0, 1.12))),
        ),
        Scenario("S2", "one undercutter", True, (_UNDERCUT,)),
        Scenario("S3", "one Buy Box matcher", True, (Role(Strategy.MATCH_BUYBOX, delta=(0.0, 0.01)),)),
        Scenario(
            "S4",
            "Amazon retail and an FBA undercutter",
            True,
            (
                Role(Strategy.AMAZON, amazon=True, price=(1.0, 1.12), floor=(0.85, 0.97), cadence_s=(540.0, 660.0)),
                replace(_UNDERCUT, fba=1.0),
            ),
        ),
        Scenario(
            "S5",
            "two humans, two undercutters and a Buy Box matcher",
            True,
            (_HUMAN, _HUMAN, _UNDERCUT, _UNDERCUT, Role(Strategy.MATCH_BUYBOX, delta=(0.0, 0.01))),
        ),
        Scenario(
            "S6",
            "a resetter: undercuts to its floor, jumps to its ceiling every few hours and holds there",
            True,
            (Role(Strategy.RESETTER, period_s=(2 * 3600.0, 6 * 3600.0), hold_s=(1200.0, 3600.0)),),
        ),
        Scenario(
            "S7",
            "another repricer like ours (undercuts the winner by a tick, raises to just under the next offer once it "
            "holds) beside a static seller",
            True,
            (Role(Strategy.RAISE_NEXT, fba=0.5), replace(_STATIC, price=(1.0, 1.2))),
        ),
        Scenario(
            "S8",
            "ratio pricers: one prices off ours, a pair prices off each other and runs away until its owners reset it",
            True,
            (Role(Strategy.RATIO, ratio=(0.97, 1.0), ref_slot=0, cadence_s=(600.0, 1200.0)), *_RUNAWAY_PAIR),
        ),
    )
}


class _Draws:
    """The scenario stream of one seed: uniforms per (row, quantity number, slot)."""

    def __init__(self, seed: int, n_rows: int) -> None:
        self._seed = seed
        self._keys = np.arange(n_rows, dtype=np.int64)

    def u(self, quantity: int, slot: int = 0) -> F64:
        return uniform_from(stream_base(self._seed, self._keys, Purpose.SCENARIO_DRAWS, slot), quantity)

    def z(self, quantity: int, slot: int = 0) -> F64:
        return normal_from(stream_base(self._seed, self._keys, Purpose.SCENARIO_DRAWS, slot), quantity, 1)

    def span(self, quantity: int, span: Span, slot: int = 0) -> F64:
        lo, hi = span
        return lo + (hi - lo) * self.u(quantity, slot)

    def log_span(self, quantity: int, span: Span, slot: int = 0) -> F64:
        lo, hi = np.log(span[0]), np.log(span[1])
        values: F64 = np.exp(lo + (hi - lo) * self.u(quantity, slot))
        return values


def _money(values: F64) -> I64:
    return np.maximum(np.round(values), 1).astype(np.int64)


def build_spec(scenario: Scenario | str, seed: int, n_rows: int, params: RunParams | None = None) -> MarketSpec:
    """Draw the market of a scenario for ``n_rows`` rows."""
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    p = params or RunParams()
    d = _Draws(seed, n_rows)
    base = d.log_span(0, p.base_price)
    min_price = _money(base * d.span(1, p.min_vs_base))
    max_price = np.maximum(_money(min_price * d.span(2, p.bound_ratio)), min_price)
    fba = d.u(3) < p.fba_share
    our_ship = np.where(fba | (d.u(4) < 0.5), 0, _money(base * d.span(5, (0.03, 0.08))))
    live_later = d.u(9) < p.our_not_live_share
    return MarketSpec(
        marketplace=(p.marketplace,) * n_rows,
        currency=(p.currency,) * n_rows,
        seller=np.zeros(n_rows, np.int64) if p.sellers == "one" else np.arange(n_rows, dtype=np.int64),
        min_price=min_price,
        max_price=max_price,
        start_price=_start_prices(p, d, min_price, max_price),
        unit_cost=_money(min_price * d.span(6, (0.6, 0.9))),
        views_per_s=d.log_span(7, p.views_per_day) / DAY_S,
        stream_key=np.arange(n_rows, dtype=np.int64),
        our_ship=our_ship.astype(np.int64),
        our_fba=fba,
        our_feedback=d.span(8, (0.95, 1.0)),
        our_feedback_count=np.full(n_rows, 500, np.int64),
        our_handling_days=np.where(fba, 1, 2).astype(np.int64),
        our_stock=np.where(fba, p.fba_stock, p.merchant_stock).astype(np.int64),
        our_live_at=np.where(live_later, p.our_not_live_median_s * np.exp(0.5 * d.z(10)), 0.0),
        ref_price=np.where(d.u(11) < p.ref_price_share, _money(base * d.span(12, (1.05, 1.5))), -1),
        foep_available=d.u(13) < p.foep_share,
        competitors=_competitors(sc, d, base),
        seed=np.full(n_rows, seed, np.int64),
    )


def _start_prices(p: RunParams, d: _Draws, min_price: I64, max_price: I64) -> I64:
    if p.start == "max":
        return max_price.copy()
    if p.start == "min":
        return min_price.copy()
    return np.clip(_money(np.exp(np.log(min_price) + np.log(max_price / min_price) * d.u(14))), min_price, max_price)


def _competitors(sc: Scenario, d: _Draws, base: F64) -> CompetitorArrays:
    """Each role's slot, drawn from the scenario stream with the slot as the sub-stream."""
    n, k = len(base), len(sc.roles)
    cols: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in CompetitorArrays.__dataclass_fields__}
    for j, role in enumerate(sc.roles, start=1):
        fba = (d.u(0, j) < role.fba) | role.amazon
        ship = np.where(fba | (d.u(1, j) < 0.5), 0, _money(base * d.span(2, (0.03, 0.08), j)))
        landed = _money(base * d.span(3, role.price, j))
        floor = _money(base * d.span(4, role.floor, j))
        period = d.span(8, role.period_s, j)
        values: dict[str, npt.NDArray[Any]] = {
            "active": np.ones(n, np.bool_),
            "price": np.maximum(landed - ship, 1),
            "ship": ship,
            "fba": fba,
            "amz": np.full(n, role.amazon),
            "feedback": np.where(role.amazon, 1.0, d.span(5, (0.85, 1.0), j)),
            "feedback_count": np.round(d.log_span(6, (10.0, 50_000.0), j)).astype(np.int64),
            "handling_days": np.where(fba, 1, 1 + np.floor(3 * d.u(7, j))).astype(np.int64),
            "in_stock": np.ones(n, np.bool_),
            "kind": np.full(n, int(role.strategy), np.int8),
            "floor": floor,
            "ceiling": np.maximum(_money(base * d.span(9, role.ceiling, j)), floor),
            "delta": np.round(base * d.span(10, role.delta, j)).astype(np.int64),
            "period_s": period,
            "hold_s": d.span(11, role.hold_s, j),
            "phase_s": period * d.u(12, j),
            "ratio": d.span(13, role.ratio, j),
            "ref_slot": np.full(n, role.ref_slot, np.int64),
            "cadence_s": d.span(14, role.cadence_s, j),
            "latency_s": d.span(15, role.latency_s, j),
        }
        for name, value in values.items():
            cols[name].append(np.asarray(value))
    packed = {name: np.stack(parts, axis=1) if k else np.empty((n, 0)) for name, parts in cols.items()}
    return CompetitorArrays(**packed)  # type: ignore[arg-type]


def build_market(
    scenario: Scenario | str,
    seed: int,
    n_rows: int,
    params: RunParams | None = None,
    *,
    notifications: bool = True,
    start_at: float = 0.0,
) -> Market:
    """A ready market for a scenario: `build_spec` plus the run's latency, Buy Box and order parameters."""
    p = params or RunParams()
    return Market(
        build_spec(scenario, seed, n_rows, p),
        seed=seed,
        latency=p.latency,
        buybox=p.buybox,
        orders=p.orders,
        notifications=notifications,
        start_at=start_at,
    )
