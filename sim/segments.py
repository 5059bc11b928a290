"""Traffic segments: which glance views see which featured offer, and the hidden parts of an offer's score.

Amazon's competitive summary (productPricing 2022-05-01, getCompetitiveSummary) lists each featured offer with
the segments it is featured in: "a group of regional contexts that all have the same featured offer", named by
customer membership (PRIME, NON_PRIME, DEFAULT) and weighted by ``glanceViewWeightPercentage``, its share of the
item's glance views. So the simulator gives every item a few segments: ``prime_regions`` regional Prime segments
and one non-Prime segment, Prime members taking 60–85% of the views (reference/buybox.md), drawn per item. Each
segment features one offer at each recompute, drawn by the softmax of the segment's own scores with its own
incumbent (`sim.buybox.choose_featured`); the share Amazon reports is the weight of the segments that feature us,
lumpy in our price and changing from one recompute to the next, and its expectation (each segment's weight times
our share of it) is what page views buy by.

Weights are kept in basis points (1/100 of a per cent, summing to exactly 10,000 per item): what Amazon reports
as a percentage with two decimals, and what the oracle's "at least half the views" compares exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from sim.buybox import NO_HOLDER, BuyBoxParams
from sim.rng import Purpose, normal_from, stream_base, uniform_from

__all__ = [
    "ALL_VIEWS",
    "CustomerMembership",
    "SegmentLayout",
    "featured_weight",
    "hidden_normals",
    "layout",
    "segment_weights",
    "winners",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

CustomerMembership = Literal["PRIME", "NON_PRIME", "DEFAULT"]
ALL_VIEWS: Final = 10_000  # an item's glance views in basis points


@dataclass(frozen=True, slots=True)
class SegmentLayout:
    """The segments every item of a market has, in column order: ``membership`` per segment."""

    membership: tuple[CustomerMembership, ...]

    @property
    def n_segments(self) -> int:
        return len(self.membership)

    @property
    def prime(self) -> B:
        """Which segments are Prime members' (where a Prime offer weighs ``γ_prime`` more)."""
        return np.array([m == "PRIME" for m in self.membership], np.bool_)


def layout(params: BuyBoxParams) -> SegmentLayout:
    """``prime_regions`` Prime segments then one non-Prime; a single DEFAULT segment when there are no regions."""
    if params.prime_regions == 0:
        return SegmentLayout(("DEFAULT",))
    regions: list[CustomerMembership] = ["PRIME"] * params.prime_regions
    return SegmentLayout((*regions, "NON_PRIME"))


def segment_weights(seed: I64, stream_key: I64, params: BuyBoxParams) -> I64:
    """Each item's glance-view weight per segment, ``(rows, segments)`` basis points summing to `ALL_VIEWS`.

    The Prime share is uniform within ``prime_share``; its regions split it in proportions uniform within
    [0.5, 1.5] of each other, so no region is negligible. Rounded by cumulative sums, so every row sums exactly.
    """
    n = len(stream_key)
    if params.prime_regions == 0:
        return np.full((n, 1), ALL_VIEWS, np.int64)
    base = stream_base(seed, stream_key, Purpose.SEGMENTS)
    low, high = params.prime_share
    prime_bp = np.round(ALL_VIEWS * (low + (high - low) * uniform_from(base, 0, 0))).astype(np.int64)
    split = np.stack([0.5 + uniform_from(base, 0, 1 + r) for r in range(params.prime_regions)], axis=1)
    cumulative = np.round(prime_bp[:, None] * np.cumsum(split, axis=1) / split.sum(axis=1, keepdims=True))
    prime = np.diff(cumulative.astype(np.int64), axis=1, prepend=0)
    return np.concatenate([prime, (ALL_VIEWS - prime_bp)[:, None]], axis=1)


def hidden_normals(seed: I64, stream_key: I64, amz: B, n_segments: int) -> tuple[F64, F64]:
    """Standard normals of the hidden score terms: per offer ``(rows, slots)`` and per (segment, offer)
    ``(rows, segments, slots)``; `sim.buybox.segment_bonus` scales them by the seed's spreads.

    The quality term belongs to a seller: each competitor slot of an item is its own seller (`sim.ids`), Amazon
    retail is one seller in a whole seed, and so is our account (a seed is one seller account in the benchmark; a
    replica of a row for the oracle has its own quota account but is the same seller to Amazon). The regional
    term is per item, segment and slot.
    """
    n, slots = amz.shape
    sub = np.arange(slots)[None, :]
    per_slot = stream_base(seed[:, None], stream_key[:, None], Purpose.QUALITY, sub)
    per_seed = stream_base(seed, np.zeros(n, np.int64), Purpose.QUALITY)
    quality = normal_from(per_slot, 0)
    quality = np.where(amz, normal_from(per_seed, 0, 1)[:, None], quality)
    quality[:, 0] = normal_from(per_seed, 0, 2)
    regional = np.stack([normal_from(per_slot, 1 + s) for s in range(n_segments)], axis=1)
    return quality, regional


def featured_weight(holder: I64, weight: I64, slots: int) -> I64:
    """The glance views (basis points) each offer is featured in, ``(rows, slots)``, from each segment's
    featured offer ``holder`` ``(rows, segments)`` (`NO_HOLDER` features nobody)."""
    total: I64 = _per_segment(holder, weight, slots).sum(axis=1)
    return total


def winners(holder: I64, weight: I64, prime_segment: B, slots: int) -> tuple[I64, I64, I64]:
    """Each row's Buy Box winner, and its Prime and non-Prime winners, from each segment's featured offer
    ``holder`` ``(rows, segments)``; `NO_HOLDER` where there is none.

    The item's winner is the offer featured for the most glance views (ties to the lower slot): its one "Buy Box
    winner" where a single answer is needed (`IsBuyBoxWinner`, the featured seller of a notification, the holder
    competitors react to). The Prime and the non-Prime winner (getItemOffers' Buy Box prices per segment) are
    the offers featured for most of that membership's views; an item of one DEFAULT segment has neither, its
    winner is the item's alone.
    """
    per_segment = _per_segment(holder, weight, slots)
    item = _most_featured(per_segment.sum(axis=1))
    if prime_segment.all() or not prime_segment.any():
        none = np.full(len(holder), NO_HOLDER, np.int64)
        return item, none, none.copy()
    prime = _most_featured(per_segment[:, prime_segment].sum(axis=1))
    return item, prime, _most_featured(per_segment[:, ~prime_segment].sum(axis=1))


def _per_segment(holder: I64, weight: I64, slots: int) -> I64:
    """Each segment's glance views on the offer it features, ``(rows, segments, slots)``."""
    featured: I64 = (holder[:, :, None] == np.arange(slots)[None, None, :]) * weight[:, :, None]
    return featured


def _most_featured(total: I64) -> I64:
    """The slot with the most featured views of each row (ties to the lower slot), `NO_HOLDER` where none has
    any."""
    best = total.argmax(axis=1)
    return np.where(total.max(axis=1) > 0, best, NO_HOLDER).astype(np.int64)
