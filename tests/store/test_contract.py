"""The `Store` contract, run against every implementation (see conftest.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.catalog import CatalogRow
from engine.model import (
    OUTBOX_UNANSWERED,
    Decision,
    Fees,
    MarginLevel,
    OfferKey,
    OfferUpdate,
    OutboxMark,
    OutboxState,
    PricePoint,
    Reason,
)
from engine.ports import CatalogChange
from tests.store.conftest import OpenStore

A = OfferKey("s1", "DE", "A")
B = OfferKey("s1", "DE", "B")
OTHER_SELLER = OfferKey("s2", "DE", "A")
FR = OfferKey("s1", "FR", "A")


def row(key: OfferKey, **fields: object) -> CatalogRow:
    return CatalogRow(key=key, asin="B000TEST01", min_price=1000, max_price=2000, **fields)  # type: ignore[arg-type]


def update(key: OfferKey, update_id: int, price: int = 1500) -> OfferUpdate:
    return OfferUpdate(key, update_id, "EUR", price, 1000, 2000)


async def test_catalog_counts_what_changed_and_keeps_sellers_apart(open_store: OpenStore) -> None:
    async with open_store() as store:
        full = row(A, cost=700, fees=Fees(Decimal("0.15"), 30), margins=MarginLevel(Decimal("0.1"), Decimal("0.3")))
        change = await store.save_catalog([full, row(B), row(OTHER_SELLER), row(FR)])
        assert change == CatalogChange(created=4)
        change = await store.save_catalog([full, row(B, stock=3)])
        assert change == CatalogChange(updated=1, unchanged=1)
        assert await store.load_catalog("s1", "DE") == [full, row(B, stock=3)]
        assert await store.load_catalog("s2", "DE") == [row(OTHER_SELLER)]
        assert await store.markets() == [("s1", "DE"), ("s1", "FR"), ("s2", "DE")]


async def test_a_key_given_twice_in_one_save_counts_once_and_the_later_row_wins(open_store: OpenStore) -> None:
    async with open_store() as store:
        assert await store.save_catalog([row(A), row(A, stock=5)]) == CatalogChange(created=1)
        assert await store.load_catalog("s1", "DE") == [row(A, stock=5)]


async def test_catalog_survives_reopening(open_store: OpenStore) -> None:
    async with open_store() as store:
        await store.save_catalog([row(A)])
        persistent = store.persistent
    async with open_store() as store:
        assert await store.load_catalog("s1", "DE") == ([row(A)] if persistent else [])


async def test_removing_an_offer_forgets_its_search_state(open_store: OpenStore) -> None:
    async with open_store() as store:
        await store.save_catalog([row(A), row(B)])
        await store.save_search_states({A: b"a", B: b"b", FR: b"f"})
        await store.remove_offers([A])
        assert await store.load_catalog("s1", "DE") == [row(B)]
        assert await store.load_search_states("s1", "DE") == {B: b"b"}
        assert await store.load_search_states("s1", "FR") == {FR: b"f"}


async def test_market_state_is_per_seller_and_marketplace(open_store: OpenStore) -> None:
    async with open_store() as store:
        assert await store.load_market_state("s1", "DE") is None
        await store.save_market_state("s1", "DE", b"one")
        await store.save_market_state("s1", "DE", b"two")
        await store.save_market_state("s2", "DE", b"other")
        assert await store.load_market_state("s1", "DE") == b"two"
        assert await store.load_market_state("s1", "FR") is None


async def test_traces_come_back_newest_first(open_store: OpenStore) -> None:
    async with open_store() as store:
        decisions = [Decision(A, float(t), 1000 + t, Reason.SEARCH_UP) for t in range(5)]
        await store.record_decisions(decisions[:3])
        await store.record_decisions([*decisions[3:], Decision(B, 9.0, None, Reason.NO_DATA)])
        await store.record_prices([PricePoint(A, 1.5, 1001), PricePoint(A, 2.5, 1002)])
        await store.aclose()  # the traces are handed over; closing waits for them
    async with open_store() as store:
        if store.persistent:
            assert await store.recent_decisions(A, 2) == decisions[:2:-1][:2]
            assert await store.recent_decisions(A, 10) == decisions[::-1]
            assert await store.price_history(A, 10) == [PricePoint(A, 2.5, 1002), PricePoint(A, 1.5, 1001)]
            assert await store.recent_decisions(FR, 10) == []


async def test_recent_decisions_within_one_store(open_store: OpenStore) -> None:
    async with open_store() as store:
        decisions = [Decision(A, float(t), 1000 + t, Reason.SEARCH_UP) for t in range(5)]
        await store.record_decisions(decisions)
        await store.record_prices([PricePoint(A, 1.5, 1001)])
        assert await store.recent_decisions(A, 3) == decisions[:1:-1]
        assert await store.recent_decisions(A, 0) == []
        assert await store.price_history(A, 1) == [PricePoint(A, 1.5, 1001)]


async def test_outbox_walks_its_states(open_store: OpenStore) -> None:
    async with open_store() as store:
        assert await store.last_update_id() == 0
        await store.outbox_put([update(A, 1), update(B, 2)], at=10.0)
        assert await store.last_update_id() == 2
        marks = [
            OutboxMark(A, 1, OutboxState.SUBMITTED, 11.0, submission_id="feed-1"),
            OutboxMark(A, 1, OutboxState.ACCEPTED, 12.0),
            OutboxMark(B, 2, OutboxState.INVALID, 12.0, issues=("8541: price above max",)),
        ]
        assert await store.outbox_mark(marks) == 3
        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert [(e.update.update_id, e.state, e.at, e.submission_id, e.issues) for e in entries] == [
            (1, OutboxState.ACCEPTED, 12.0, "feed-1", ()),
            (2, OutboxState.INVALID, 12.0, None, ("8541: price above max",)),
        ]
        assert entries[0].update == update(A, 1)
        # States only move forward, and a repeat changes nothing.
        assert await store.outbox_mark([OutboxMark(A, 1, OutboxState.STORED, 13.0)]) == 0
        assert await store.outbox_mark([OutboxMark(B, 2, OutboxState.INVALID, 13.0)]) == 0
        assert await store.outbox_mark([OutboxMark(B, 1, OutboxState.VERIFIED, 13.0)]) == 0  # wrong offer
        assert await store.outbox_mark([OutboxMark(A, 99, OutboxState.VERIFIED, 13.0)]) == 0  # unknown
        assert await store.outbox_mark([OutboxMark(A, 1, OutboxState.VERIFIED, 14.0)]) == 1
        (verified,) = await store.outbox_entries("s1", "DE", {OutboxState.VERIFIED})
        assert (verified.update.update_id, verified.at) == (1, 14.0)


async def test_a_newer_update_supersedes_the_unanswered_one(open_store: OpenStore) -> None:
    async with open_store() as store:
        await store.outbox_put([update(A, 1), update(FR, 2)], at=1.0)
        await store.outbox_mark([OutboxMark(A, 1, OutboxState.FAILED, 2.0, issues=("500",))])
        await store.outbox_put([update(A, 3, 1600)], at=3.0)
        unanswered = await store.outbox_entries("s1", "DE", OUTBOX_UNANSWERED)
        assert [(e.update.update_id, e.state) for e in unanswered] == [(3, OutboxState.STORED)]
        (old,) = await store.outbox_entries("s1", "DE", {OutboxState.SUPERSEDED})
        assert (old.update.update_id, old.failures, old.issues, old.at) == (1, 1, ("500",), 3.0)
        assert [e.update.update_id for e in await store.outbox_entries("s1", "FR", OUTBOX_UNANSWERED)] == [2]


async def test_an_acceptance_supersedes_the_older_accepted_one(open_store: OpenStore) -> None:
    async with open_store() as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        await store.outbox_mark([OutboxMark(A, 1, OutboxState.ACCEPTED, 2.0)])
        await store.outbox_put([update(A, 2, 1600)], at=3.0)
        assert [e.state for e in await store.outbox_entries("s1", "DE", set(OutboxState))] == [
            OutboxState.ACCEPTED,
            OutboxState.STORED,
        ]
        await store.outbox_mark([OutboxMark(A, 2, OutboxState.ACCEPTED, 4.0)])
        assert [e.state for e in await store.outbox_entries("s1", "DE", set(OutboxState))] == [
            OutboxState.SUPERSEDED,
            OutboxState.ACCEPTED,
        ]


async def test_marks_in_one_call_apply_one_after_another(open_store: OpenStore) -> None:
    """An acceptance supersedes the older accepted update at once: a later mark of the same call finds it
    superseded. Update 3, accepted before, is named by no mark; update 1 is, and its mark comes too late."""
    async with open_store() as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        await store.outbox_mark([OutboxMark(A, 1, OutboxState.ACCEPTED, 2.0)])
        await store.outbox_put([update(B, 3)], at=2.5)
        await store.outbox_mark([OutboxMark(B, 3, OutboxState.ACCEPTED, 2.6)])
        await store.outbox_put([update(A, 2, 1600), update(B, 4, 1700)], at=3.0)
        marks = [
            OutboxMark(A, 2, OutboxState.SUBMITTED, 3.5, submission_id="sub-2"),
            OutboxMark(A, 2, OutboxState.ACCEPTED, 4.0),
            OutboxMark(B, 4, OutboxState.ACCEPTED, 4.5),
            OutboxMark(A, 2, OutboxState.VERIFIED, 5.0),
            OutboxMark(A, 1, OutboxState.VERIFIED, 6.0),
        ]
        assert await store.outbox_mark(marks) == 4
        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert [(e.update.update_id, e.state, e.at, e.submission_id) for e in entries] == [
            (1, OutboxState.SUPERSEDED, 4.0, None),
            (2, OutboxState.VERIFIED, 5.0, "sub-2"),
            (3, OutboxState.SUPERSEDED, 4.5, None),
            (4, OutboxState.ACCEPTED, 4.5, None),
        ]


async def test_a_put_with_a_used_id_changes_nothing(open_store: OpenStore) -> None:
    async with open_store() as store:
        await store.outbox_put([update(A, 1)], at=1.0)
        with pytest.raises(ValueError, match="in the outbox already"):
            await store.outbox_put([update(B, 2), update(A, 1, 1700)], at=2.0)
        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert [(e.update, e.state) for e in entries] == [(update(A, 1), OutboxState.STORED)]
        assert await store.last_update_id() == 1


async def test_update_ids_continue_after_reopening(open_store: OpenStore) -> None:
    async with open_store() as store:
        await store.outbox_put([update(A, 41)], at=1.0)
        persistent = store.persistent
    async with open_store() as store:
        assert await store.last_update_id() == (41 if persistent else 0)


async def test_a_closed_store_refuses_work(open_store: OpenStore) -> None:
    async with open_store() as store:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await store.save_search_states({A: b"x"})
