"""Competitor strategies from reference/buybox.md, vectorised over (row, slot) pairs.

Every competitor is one slot of one row with a strategy kind and its parameters; a check evaluates the kind's
rule for every due slot at once, with masks, and yields a target listing price. Competitors see LIVE prices only
(what a shopper or a repricer polling Amazon sees), never anyone's pending submit; their own new price then takes
their own submit→live latency (the market schedules that). All prices are int64 minor units; every rule ends
clipped to the competitor's [floor, ceiling] and floored to the tick.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from sim.buybox import NO_HOLDER

__all__ = [
    "CompetitorArrays",
    "CompetitorSpec",
    "Pairs",
    "Strategy",
    "StrategyTable",
    "check_interval",
    "decide",
    "reads_only_offers",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

_BIG: Final = np.iinfo(np.int64).max // 4
HUMAN_MAX_UNDERCUT: Final = 0.02  # a person typing a price shaves up to 2% off the lowest offer
CADENCE_JITTER: Final = 0.25  # checks come every cadence × U(1 - j, 1 + j), so competitors drift apart


class Strategy(enum.IntEnum):
    """What a competitor does at each check.

    STATIC never moves. UNDERCUT prices one tick under the lowest other landed price (down to its floor, back up
    when the others rise, up to its ceiling). MATCH_BUYBOX prices the Buy Box winner's landed price minus δ.
    RAISE_NEXT is a repricer like ours: when it holds the Buy Box it raises to one tick under the next offer
    above its own landed price (its ceiling when there is none), even when a cheaper offer exists (it may hold
    by its FBA or rating bonus); otherwise it undercuts the winner by a tick. RAISE_ALONE goes to its ceiling
    when no other offer is priced at or below its ceiling, and undercuts otherwise. RESETTER undercuts to its
    floor and every ``period_s`` jumps to its ceiling for ``hold_s`` (Edgeworth cycles). AMAZON (retail) matches
    the lowest landed price, never below its floor; its incumbency bonus is larger (see `sim.buybox`). HUMAN
    checks about daily and shaves a random 0–2% off the lowest price. RATIO prices ``ratio`` × a reference
    offer's listing price (slot ``ref_slot``, 0 = us; -1 = the lowest other landed price): two of them
    referencing each other run away. With ``period_s`` > 0 its owner notices every ``period_s`` and, for
    ``hold_s``, prices it at the lowest other landed price instead, which puts a runaway pair back in the market.
    """

    STATIC = 0
    UNDERCUT = 1
    MATCH_BUYBOX = 2
    RAISE_NEXT = 3
    RAISE_ALONE = 4
    RESETTER = 5
    AMAZON = 6
    HUMAN = 7
    RATIO = 8


@dataclass(frozen=True, slots=True)
class CompetitorSpec:
    """One competing offer and its strategy, for hand-built markets (scenarios build the arrays directly)."""

    price: int
    shipping: int = 0
    fba: bool = False
    amazon: bool = False
    feedback: float = 0.95
    feedback_count: int = 1000
    handling_days: int = 2
    in_stock: bool = True
    strategy: Strategy = Strategy.STATIC
    floor: int = 1
    ceiling: int = 10**9
    delta: int = 0
    period_s: float = 0.0
    hold_s: float = 0.0
    phase_s: float = 0.0
    ratio: float = 1.0
    ref_slot: int = -1
    cadence_s: float = 300.0
    latency_s: float = 120.0


@dataclass(frozen=True, slots=True)
class CompetitorArrays:
    """All competitor slots of a market, shape ``(rows, K)``; inactive slots are padding (``active`` false)."""

    active: B
    price: I64
    ship: I64
    fba: B
    amz: B
    feedback: F64
    feedback_count: I64
    handling_days: I64
    in_stock: B
    kind: npt.NDArray[np.int8]
    floor: I64
    ceiling: I64
    delta: I64
    period_s: F64
    hold_s: F64
    phase_s: F64
    ratio: F64
    ref_slot: I64
    cadence_s: F64
    latency_s: F64

    @property
    def k(self) -> int:
        return int(self.price.shape[1])

    @classmethod
    def from_specs(cls, rows: list[list[CompetitorSpec]], k: int | None = None) -> CompetitorArrays:
        """Pack per-row lists of `CompetitorSpec` into padded arrays (``k`` slots, default the longest row)."""
        width = max([len(r) for r in rows] + [0]) if k is None else k
        n = len(rows)
        pad = CompetitorSpec(price=1, ceiling=1)

        def col(name: str, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
            out = np.array(
                [[getattr(r[j] if j < len(r) else pad, name) for j in range(width)] for r in rows], dtype=dtype
            )
            return out.reshape(n, width)

        active = np.array([[j < len(r) for j in range(width)] for r in rows], np.bool_).reshape(n, width)
        return cls(
            active=active,
            price=col("price", np.int64),
            ship=col("shipping", np.int64),
            fba=col("fba", np.bool_),
            amz=col("amazon", np.bool_),
            feedback=col("feedback", np.float64),
            feedback_count=col("feedback_count", np.int64),
            handling_days=col("handling_days", np.int64),
            in_stock=col("in_stock", np.bool_) & active,
            kind=col("strategy", np.int8),
            floor=col("floor", np.int64),
            ceiling=col("ceiling", np.int64),
            delta=col("delta", np.int64),
            period_s=col("period_s", np.float64),
            hold_s=col("hold_s", np.float64),
            phase_s=col("phase_s", np.float64),
            ratio=col("ratio", np.float64),
            ref_slot=col("ref_slot", np.int64),
            cadence_s=col("cadence_s", np.float64),
            latency_s=col("latency_s", np.float64),
        )


def reads_only_offers(kind: npt.NDArray[np.int8], period_s: F64) -> B:
    """Which competitors' rules read nothing but the live offers and the holder (no clock, no random draw): the
    same offers give such a competitor the same target, so the market may skip its checks until they change."""
    by_kind = np.isin(
        kind,
        [
            Strategy.UNDERCUT,
            Strategy.MATCH_BUYBOX,
            Strategy.RAISE_NEXT,
            Strategy.RAISE_ALONE,
            Strategy.AMAZON,
            Strategy.RATIO,
        ],
    )
    # A ratio pricer that is reset on a schedule reads the clock.
    resets = (kind == Strategy.RATIO) & (period_s > 0)
    only: B = by_kind & ~resets
    return only


def check_interval(kind: npt.NDArray[np.int8], cadence_s: F64, u: F64) -> F64:
    """Time to a competitor's next check: its cadence with ±25% jitter; static competitors never check."""
    interval = cadence_s * (1.0 - CADENCE_JITTER + 2.0 * CADENCE_JITTER * u)
    return np.where(kind == Strategy.STATIC, np.inf, interval)


@dataclass(frozen=True, slots=True)
class Pairs:
    """The due (row, slot) pairs of one check batch with their strategy parameters; ``slot`` is 1..K."""

    slot: npt.NDArray[np.intp]
    kind: npt.NDArray[np.int8]
    floor: I64
    ceiling: I64
    delta: I64
    ref_slot: I64
    period_s: F64
    hold_s: F64
    phase_s: F64
    ratio: F64
    cadence_s: F64
    latency_s: F64


_INT_PARAMS: Final = ("kind", "floor", "ceiling", "delta", "ref_slot")
_FLOAT_PARAMS: Final = ("period_s", "hold_s", "phase_s", "ratio", "cadence_s", "latency_s")


class StrategyTable:
    """Every slot's strategy parameters packed in two arrays, so a batch gathers them in two indexing steps
    instead of eleven (a check batch is small and frequent: per-call overhead is what costs)."""

    def __init__(self, comp: CompetitorArrays) -> None:
        self._ints = np.stack([np.asarray(getattr(comp, n), np.int64) for n in _INT_PARAMS], axis=-1)
        self._floats = np.stack([np.asarray(getattr(comp, n), np.float64) for n in _FLOAT_PARAMS], axis=-1)

    def pairs(self, rows: npt.NDArray[np.intp], slot: npt.NDArray[np.intp]) -> Pairs:
        ints = self._ints[rows, slot - 1]
        floats = self._floats[rows, slot - 1]
        return Pairs(slot, ints[:, 0].astype(np.int8), *ints[:, 1:].T, *floats.T)


def decide(pairs: Pairs, price: I64, ship: I64, available: B, holder: I64, at: F64, u: F64, tick: int) -> I64:
    """Target listing prices for each due pair, from the LIVE offers of its row (``price`` etc. are per pair)."""
    n, slots = price.shape
    idx = np.arange(n)
    landed = price + ship
    own_price = price[idx, pairs.slot]
    own_ship = ship[idx, pairs.slot]
    others = available & (np.arange(slots)[None, :] != pairs.slot[:, None])
    low = np.where(others, landed, _BIG).min(axis=1)
    has_other = low < _BIG
    undercut = np.where(has_other, low - tick - own_ship, pairs.ceiling)
    holds = holder == pairs.slot
    holder_col = np.maximum(holder, 0)
    has_winner = (holder != NO_HOLDER) & ~holds & available[idx, holder_col]
    winner_landed = landed[idx, holder_col]

    target = own_price.copy()
    for kind in np.flatnonzero(np.bincount(pairs.kind, minlength=len(Strategy))).tolist():
        mask = pairs.kind == kind
        match Strategy(kind):
            case Strategy.STATIC:
                rule = own_price
            case Strategy.UNDERCUT:
                rule = undercut
            case Strategy.MATCH_BUYBOX:
                rule = np.where(has_winner, winner_landed - pairs.delta - own_ship, own_price)
            case Strategy.RAISE_NEXT:
                raised = _next_above(pairs, landed, others, own_price + own_ship, own_ship, tick)
                rule = np.where(holds, raised, np.where(has_winner, winner_landed - tick - own_ship, own_price))
            case Strategy.RAISE_ALONE:
                rule = _raise_alone(pairs, landed, others, own_ship, tick)
            case Strategy.RESETTER:
                in_hold = np.mod(at - pairs.phase_s, np.maximum(pairs.period_s, 1.0)) < pairs.hold_s
                rule = np.where(in_hold, pairs.ceiling, undercut)
            case Strategy.AMAZON:
                rule = np.where(has_other, low - own_ship, pairs.ceiling)
            case Strategy.HUMAN:
                shaved = np.floor(low * (1.0 - HUMAN_MAX_UNDERCUT * u)).astype(np.int64)
                rule = np.where(has_other, shaved - own_ship, pairs.ceiling)
            case Strategy.RATIO:
                rule = _ratio(pairs, price, available, low, own_ship, own_price)
                in_reset = (pairs.period_s > 0) & (
                    np.mod(at - pairs.phase_s, np.maximum(pairs.period_s, 1.0)) < pairs.hold_s
                )
                rule = np.where(in_reset & has_other, low - own_ship, rule)
        target = np.where(mask, rule, target)
    clipped = np.clip(target, pairs.floor, np.maximum(pairs.floor, pairs.ceiling))
    return np.maximum(clipped // tick * tick, tick)


def _next_above(pairs: Pairs, landed: I64, others: B, own_landed: I64, own_ship: I64, tick: int) -> I64:
    """One tick under the cheapest other offer priced above our own landed price; the ceiling when none is."""
    above = others & (landed > own_landed[:, None])
    nxt = np.where(above, landed, _BIG).min(axis=1)
    return np.where(nxt < _BIG, nxt - tick - own_ship, pairs.ceiling)


def _raise_alone(pairs: Pairs, landed: I64, others: B, own_ship: I64, tick: int) -> I64:
    """Offers above my ceiling are no competition; with none at or below it, go to the ceiling."""
    competing = others & (landed <= (pairs.ceiling + own_ship)[:, None])
    low = np.where(competing, landed, _BIG).min(axis=1)
    return np.where(low < _BIG, low - tick - own_ship, pairs.ceiling)


def _ratio(pairs: Pairs, price: I64, available: B, low: I64, own_ship: I64, own_price: I64) -> I64:
    """``ratio`` × the reference offer's listing price; hold when the reference is not buyable."""
    idx = np.arange(len(pairs.slot))
    ref_col = np.maximum(pairs.ref_slot, 0)
    by_slot = pairs.ref_slot >= 0
    ref_price = np.where(by_slot, price[idx, ref_col], low - own_ship)
    ref_ok = np.where(by_slot, available[idx, ref_col], low < _BIG)
    return np.where(ref_ok, np.round(pairs.ratio * ref_price).astype(np.int64), own_price)
