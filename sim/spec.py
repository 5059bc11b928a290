"""What a market starts from: our catalog, our offers and every competitor, as arrays over rows.

A scenario draws a `MarketSpec` for thousands of rows in a few vectorised steps; a test builds one by hand from
`RowSpec`s. The `Market` never looks at how the spec was made, and the oracle builds replicas of a spec (the same
rows with other prices of ours, the same ``stream_key``) to re-run a market with identical random numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from engine.model import Fulfilment
from sim import ids
from sim.competitors import CompetitorArrays, CompetitorSpec

__all__ = ["CatalogRow", "MarketSpec", "OurSpec", "RowSpec", "spec_from_rows"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


class CatalogRow(msgspec.Struct, frozen=True, gc=False):
    """One of our offers as the engine's catalog sees it (prices in minor units of ``currency``)."""

    row: int
    sku: str
    asin: str
    marketplace: str
    currency: str
    min_price: int
    max_price: int
    start_price: int
    unit_cost: int
    shipping: int
    fulfilment: Fulfilment
    seller: int
    seller_id: str


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """The initial state of a market of ``n_rows`` rows (one row = one of our offers on one ASIN).

    Per row: catalog facts, our offer (``our_live_at`` is when it becomes buyable; 0 = at the start), our stock,
    the reference price that caps a Buy Box-eligible landed price (-1 = none), whether Amazon gives a FOEP for
    it, the page-view rate, our seller account, and (``seed``, ``stream_key``), which name the row's random
    streams and, by the seed, its Buy Box coefficients. A scenario's market has one seed; a market of several
    seeds (`MarketSpec.concat`) holds independent markets side by side, so the simulator handles their events in
    the same vectorised rounds. ``competitors`` holds the other offers, shape ``(rows, K)``.
    """

    marketplace: tuple[str, ...]
    currency: tuple[str, ...]
    seller: I64
    min_price: I64
    max_price: I64
    start_price: I64
    unit_cost: I64
    views_per_s: F64
    stream_key: I64
    our_ship: I64
    our_fba: B
    our_feedback: F64
    our_feedback_count: I64
    our_handling_days: I64
    our_stock: I64
    our_live_at: F64
    ref_price: I64
    foep_available: B
    competitors: CompetitorArrays
    tick: int = 1
    sku: tuple[str, ...] = field(default=())
    asin: tuple[str, ...] = field(default=())
    seed: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # empty: 0 for every row (hand-built specs)

    def __post_init__(self) -> None:
        n = len(self.min_price)
        if len(self.seed) != n:
            object.__setattr__(self, "seed", np.zeros(n, np.int64))
        if not self.sku:
            object.__setattr__(self, "sku", tuple(ids.sku(i) for i in range(n)))
        if not self.asin:
            object.__setattr__(self, "asin", tuple(ids.asin(int(k)) for k in self.stream_key))
        if np.any(self.min_price > self.max_price):
            raise ValueError("a row has min_price > max_price")

    @property
    def n_rows(self) -> int:
        return len(self.min_price)

    @property
    def n_sellers(self) -> int:
        return int(self.seller.max()) + 1 if self.n_rows else 0

    def catalog_row(self, row: int) -> CatalogRow:
        seller = int(self.seller[row])
        return CatalogRow(
            row=row,
            sku=self.sku[row],
            asin=self.asin[row],
            marketplace=self.marketplace[row],
            currency=self.currency[row],
            min_price=int(self.min_price[row]),
            max_price=int(self.max_price[row]),
            start_price=int(self.start_price[row]),
            unit_cost=int(self.unit_cost[row]),
            shipping=int(self.our_ship[row]),
            fulfilment=Fulfilment.AMAZON if self.our_fba[row] else Fulfilment.MERCHANT,
            seller=seller,
            seller_id=ids.our_seller_id(seller),
        )

    @property
    def seeds(self) -> tuple[int, ...]:
        """The distinct seeds of the rows, in row order."""
        distinct = dict.fromkeys(self.seed.tolist())
        return tuple(int(s) for s in distinct)

    def with_seed(self, seed: int) -> MarketSpec:
        return replace(self, seed=np.full(self.n_rows, seed, np.int64))

    @classmethod
    def concat(cls, parts: Sequence[MarketSpec]) -> MarketSpec:
        """Several markets as one: each part keeps its rows' seeds and stream keys (so its random numbers and
        coefficients), gets seller accounts of its own, and its SKUs are prefixed with its seed so they stay
        unique. Parts must share the tick and the number of competitor slots."""
        if not parts:
            raise ValueError("no markets to put together")
        if len({p.tick for p in parts}) > 1 or len({p.competitors.k for p in parts}) > 1:
            raise ValueError("markets put together must share the tick and the number of competitor slots")
        sellers, offset = [], 0
        for part in parts:
            sellers.append(part.seller + offset)
            offset += part.n_sellers
        comp = CompetitorArrays(
            **{name: np.concatenate([getattr(p.competitors, name) for p in parts]) for name in _COMP_FIELDS}
        )
        arrays: dict[str, Any] = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _ROW_ARRAYS}
        return replace(
            parts[0],
            competitors=comp,
            marketplace=tuple(m for p in parts for m in p.marketplace),
            currency=tuple(c for p in parts for c in p.currency),
            sku=tuple(f"S{s}-{sku}" for p in parts for s, sku in zip(p.seed.tolist(), p.sku, strict=True)),
            asin=tuple(a for p in parts for a in p.asin),
            seller=np.concatenate(sellers),
            **arrays,
        )

    def subset(self, rows: npt.ArrayLike) -> MarketSpec:
        """The given rows only, in that order (same stream keys, so the same random numbers)."""
        index = np.asarray(rows, np.int64)
        return self._take(index, tuple(self.sku[i] for i in index), self.seller[index])

    def replicate(self, copies: int, start_prices: npt.ArrayLike) -> MarketSpec:
        """``copies`` replicas of every row (row-major: row 0's copies first) with the given start prices.

        Replicas keep their row's ``stream_key``, so each one sees exactly the random numbers of the original;
        every replica gets its own seller so quotas never couple them.
        """
        n = self.n_rows
        index = np.repeat(np.arange(n), copies)
        skus = tuple(f"{self.sku[i]}#{j}" for i in range(n) for j in range(copies))
        spec = self._take(index, skus, np.arange(n * copies, dtype=np.int64))
        return replace(spec, start_price=np.asarray(start_prices, np.int64).reshape(n * copies))

    def _take(self, index: I64, skus: tuple[str, ...], seller: I64) -> MarketSpec:
        comp = CompetitorArrays(**{name: getattr(self.competitors, name)[index] for name in _COMP_FIELDS})
        arrays = {name: getattr(self, name)[index] for name in _ROW_ARRAYS}
        return replace(
            self,
            competitors=comp,
            marketplace=tuple(self.marketplace[i] for i in index),
            currency=tuple(self.currency[i] for i in index),
            sku=skus,
            asin=tuple(self.asin[i] for i in index),
            seller=seller,
            **arrays,
        )


_COMP_FIELDS = tuple(CompetitorArrays.__dataclass_fields__)
_ROW_ARRAYS = (
    "seed",
    "min_price",
    "max_price",
    "start_price",
    "unit_cost",
    "views_per_s",
    "stream_key",
    "our_ship",
    "our_fba",
    "our_feedback",
    "our_feedback_count",
    "our_handling_days",
    "our_stock",
    "our_live_at",
    "ref_price",
    "foep_available",
)


@dataclass(frozen=True, slots=True)
class OurSpec:
    """Our offer in a hand-built row."""

    price: int
    min_price: int
    max_price: int
    unit_cost: int = 0
    shipping: int = 0
    fba: bool = False
    feedback: float = 0.98
    feedback_count: int = 500
    handling_days: int = 2
    stock: int = 1_000_000
    live_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RowSpec:
    """One hand-built row: our offer, the competitors, and the row's market facts."""

    our: OurSpec
    competitors: Sequence[CompetitorSpec] = ()
    ref_price: int | None = None
    foep_available: bool = True
    views_per_s: float = 0.0
    seller: int = 0
    stream_key: int | None = None
    marketplace: str = "DE"
    currency: str = "EUR"


def spec_from_rows(rows: Sequence[RowSpec], *, k: int | None = None, tick: int = 1) -> MarketSpec:
    """A `MarketSpec` from hand-built rows (tests, examples); ``stream_key`` defaults to the row index."""
    ours = [r.our for r in rows]

    def col(values: list[object], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
        return np.array(values, dtype=dtype).reshape(len(rows))

    return MarketSpec(
        marketplace=tuple(r.marketplace for r in rows),
        currency=tuple(r.currency for r in rows),
        seller=col([r.seller for r in rows], np.int64),
        min_price=col([o.min_price for o in ours], np.int64),
        max_price=col([o.max_price for o in ours], np.int64),
        start_price=col([o.price for o in ours], np.int64),
        unit_cost=col([o.unit_cost for o in ours], np.int64),
        views_per_s=col([r.views_per_s for r in rows], np.float64),
        stream_key=col([i if r.stream_key is None else r.stream_key for i, r in enumerate(rows)], np.int64),
        our_ship=col([o.shipping for o in ours], np.int64),
        our_fba=col([o.fba for o in ours], np.bool_),
        our_feedback=col([o.feedback for o in ours], np.float64),
        our_feedback_count=col([o.feedback_count for o in ours], np.int64),
        our_handling_days=col([o.handling_days for o in ours], np.int64),
        our_stock=col([o.stock for o in ours], np.int64),
        our_live_at=col([o.live_at for o in ours], np.float64),
        ref_price=col([-1 if r.ref_price is None else r.ref_price for r in rows], np.int64),
        foep_available=col([r.foep_available for r in rows], np.bool_),
        competitors=CompetitorArrays.from_specs([list(r.competitors) for r in rows], k),
        tick=tick,
    )
