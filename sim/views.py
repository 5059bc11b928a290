"""Turning a row's arrays into what a seller is shown: snapshots, delivered notifications, competitive summaries.

The market keeps numbers in arrays; a seller sees offers with seller ids, fulfilment, Prime and feedback, the
cheapest twenty first, and the featured offers with their segments. Building those objects is the only per-row
Python work in the simulator, so it happens only when someone looks (a poll, a delivered notification, a summary),
never while events are processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.marketplaces import MARKETPLACES
from engine.model import BuyBoxPrice, CompetitorOffer, Condition, Fulfilment, OurListing, Segment
from sim import ids
from sim.notifications import HEALTH
from sim.segments import CustomerMembership
from sim.snapshot import TOP_OFFERS, Notification, OfferChangeType, Snapshot
from sim.summary import CompetitiveSummaryResponseBody, FeaturedOffer, summary_body

__all__ = ["OfferViews"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

_CHANGE_TYPES: tuple[OfferChangeType, ...] = ("External", "Internal", "FeaturedOffer")
_SEGMENTS: tuple[Segment, ...] = ("prime", "non_prime")  # the columns of a row's membership winners


@dataclass(frozen=True, slots=True)
class _SlotFacts:
    seller_id: str
    fulfilment: Fulfilment
    is_amazon: bool
    prime: bool
    feedback_pct: int
    feedback_count: int
    handling_max_hours: int


class OfferViews:
    """Builds `Snapshot`s and `Notification`s from a market's static offer attributes (shape ``(rows, slots)``)."""

    def __init__(
        self,
        *,
        seed: I64,
        seller: I64,
        stream_key: I64,
        ref_price: I64,
        cap_landed: I64,
        fba: B,
        amz: B,
        feedback: F64,
        feedback_count: I64,
        handling_days: I64,
        asin: tuple[str, ...],
        marketplace: tuple[str, ...],
        currency: tuple[str, ...],
        membership: tuple[CustomerMembership, ...],
    ) -> None:
        self._seed = seed
        self._seller = seller
        self._stream_key = stream_key
        self._ref_price = ref_price
        self._cap_landed = cap_landed
        self._fba = fba
        self._amz = amz
        self._feedback = feedback
        self._feedback_count = feedback_count
        self._handling_days = handling_days
        self._asin = asin
        self._marketplace = marketplace
        self._currency = currency
        self._membership = membership
        self._facts: dict[int, tuple[_SlotFacts, ...]] = {}
        self._our_ids: dict[int, str] = {}

    def seller_id(self, row: int, slot: int) -> str:
        """The merchant id of an offer: ours is our account's, Amazon retail's is `ids.AMAZON_SELLER_ID`."""
        return self._static(row)[slot].seller_id

    def _static(self, row: int) -> tuple[_SlotFacts, ...]:
        """What never changes about a row's offers, worked out once per row on first use."""
        facts = self._facts.get(row)
        if facts is None:
            slots = range(self._fba.shape[1])
            theirs = ids.competitor_seller_ids(int(self._stream_key[row]), list(slots))
            seller = int(self._seller[row])
            if seller not in self._our_ids:
                self._our_ids[seller] = ids.our_seller_id(seller)
            names = [self._our_ids[seller], *theirs[1:]]
            facts = tuple(self._slot_facts(row, slot, names[slot]) for slot in slots)
            self._facts[row] = facts
        return facts

    def _slot_facts(self, row: int, slot: int, seller_id: str) -> _SlotFacts:
        amazon = bool(self._amz[row, slot])
        fba = bool(self._fba[row, slot])
        if amazon:
            seller_id = ids.AMAZON_SELLER_ID
        return _SlotFacts(
            seller_id=seller_id,
            fulfilment=Fulfilment.AMAZON if fba or amazon else Fulfilment.MERCHANT,
            is_amazon=amazon,
            prime=fba or amazon,
            feedback_pct=round(float(self._feedback[row, slot]) * 100),
            feedback_count=int(self._feedback_count[row, slot]),
            handling_max_hours=int(self._handling_days[row, slot]) * 24,
        )

    def snapshot(
        self,
        row: int,
        as_of: float,
        price: I64,
        ship: I64,
        available: B,
        holder: int,
        disqualified: bool,
        winners: I64 | None = None,
    ) -> Snapshot:
        """One row's offers given its live prices, availability, Buy Box holder and the Prime and non-Prime
        winners (``winners``, slots) at ``as_of``."""
        facts = self._static(row)
        prices, ships, buyable = price.tolist(), ship.tolist(), available.tolist()
        landed = [p + s for p, s in zip(prices, ships, strict=True)]
        cap = int(self._cap_landed[row])
        ours = None
        if buyable[0]:
            ours = OurListing(
                listing_price=prices[0],
                shipping=ships[0],
                live=True,
                prime=facts[0].prime,
                is_buybox_winner=holder == 0,
            )
        slots = sorted((j for j in range(1, len(prices)) if buyable[j]), key=lambda j: (landed[j], j))
        competitors = tuple(
            CompetitorOffer(
                seller_id=facts[j].seller_id,
                listing_price=prices[j],
                shipping=ships[j],
                fulfilment=facts[j].fulfilment,
                condition=Condition.NEW,
                is_amazon=facts[j].is_amazon,
                prime=facts[j].prime,
                feedback_pct=facts[j].feedback_pct,
                feedback_count=facts[j].feedback_count,
                handling_max_hours=facts[j].handling_max_hours,
                is_buybox_winner=holder == j,
            )
            for j in slots[:TOP_OFFERS]
        )
        ref = int(self._ref_price[row])
        by_segment: list[BuyBoxPrice] = []
        slots = [] if winners is None else [int(w) for w in winners]
        if len(set(slots)) > 1:  # the winners differ: one Buy Box price per segment that has a winner
            for segment, slot in zip(_SEGMENTS, slots, strict=True):
                if slot >= 0:
                    price_at = prices[slot]
                    by_segment.append(BuyBoxPrice(landed[slot], price_at, ships[slot], segment, facts[slot].seller_id))
        return Snapshot(
            row=row,
            as_of=as_of,
            our=ours,
            competitors=competitors,
            featured_seller_id=facts[holder].seller_id if holder >= 0 else None,
            suppressed=not any(ok and cost <= cap for ok, cost in zip(buyable, landed, strict=True)),
            our_disqualified=disqualified,
            reference_price=ref if ref > 0 else None,
            segment_winners=tuple(by_segment),
        )

    def competitive_summary(
        self, row: int, segment_holder: I64, weight: I64, price: I64, ship: I64
    ) -> CompetitiveSummaryResponseBody:
        """One row's getCompetitiveSummary body: each offer featured in a segment with views (``segment_holder``
        per segment), at ``price`` (the prices it was featured at), with its segments and their weights."""
        facts = self._static(row)
        segments: dict[int, list[tuple[CustomerMembership, int]]] = {}
        for membership, slot, views in zip(self._membership, segment_holder.tolist(), weight.tolist(), strict=True):
            if slot >= 0 and views > 0:
                segments.setdefault(slot, []).append((membership, views))
        featured = [
            FeaturedOffer(
                seller_id=facts[slot].seller_id,
                fba=facts[slot].fulfilment is Fulfilment.AMAZON,
                prime=facts[slot].prime,
                listing_price=int(price[slot]),
                shipping=int(ship[slot]),
                segments=tuple(views),
            )
            for slot, views in sorted(segments.items())
        ]
        code = self._marketplace[row]
        ref = int(self._ref_price[row])
        return summary_body(
            asin=self._asin[row],
            marketplace_id=MARKETPLACES[code].marketplace_id if code in MARKETPLACES else code,
            currency=self._currency[row],
            featured=featured,
            reference_price=ref if ref > 0 else None,
        )

    def notifications(self, cols: dict[str, npt.NDArray[Any]]) -> list[Notification]:
        """Delivered notification columns (from `sim.notifications.NotificationQueue.pop`) as objects."""
        out = []
        for i in range(len(cols["row"])):
            row = int(cols["row"][i])
            event_at = float(cols["event_at"][i])
            disqualified = bool(cols["disqualified"][i])
            health = int(cols["kind"][i]) == HEALTH
            snapshot = self.snapshot(
                row,
                event_at,
                cols["price"][i],
                cols["ship"][i],
                cols["available"][i],
                int(cols["holder"][i]),
                disqualified,
                cols["winners"][i],
            )
            out.append(
                Notification(
                    kind="PRICING_HEALTH" if health else "ANY_OFFER_CHANGED",
                    notification_id=f"{int(self._seed[row])}-{row}-{int(cols['index'][i])}",
                    row=row,
                    event_at=event_at,
                    delivered_at=float(cols["deliver_at"][i]),
                    change_type=_CHANGE_TYPES[int(cols["change"][i])],
                    snapshot=snapshot,
                    disqualified=disqualified if health else None,
                )
            )
        return out
