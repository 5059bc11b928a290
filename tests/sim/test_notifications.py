"""Notifications: late, sometimes lost, doubled or out of order, and each carries the state at its change."""

from __future__ import annotations

import numpy as np
import pytest

from sim.competitors import CompetitorSpec, Strategy
from sim.latency import LatencyParams
from sim.notifications import AOC, NotificationQueue
from sim.scenarios import build_market
from sim.spec import OurSpec
from tests.sim.markets import one_row_market


def pushed_queue(
    n_rows: int = 2000, per_row: int = 10, latency: LatencyParams | None = None, every_s: float = 100.0
) -> NotificationQueue:
    queue = NotificationQueue(7, np.arange(n_rows, dtype=np.int64), latency or LatencyParams())
    rows = np.arange(n_rows)
    for i in range(per_row):
        queue.push(AOC, rows, np.full(n_rows, every_s * i), {"step": np.full(n_rows, i)})
    return queue


def test_delivery_delay_is_lognormal_with_median_45s_and_p95_5min() -> None:
    """Changes a day apart, so no notification waits for its row's previous one (which it would, to keep the
    row's order: `tests/sim/test_fidelity.py`)."""
    cols = pushed_queue(latency=LatencyParams(notif_reorder=0.0, notif_dup=0.0), every_s=86_400.0).pop(1e9)
    assert cols is not None
    delay = cols["deliver_at"] - cols["event_at"]
    assert np.median(delay) == pytest.approx(45.0, rel=0.05)
    assert np.quantile(delay, 0.95) == pytest.approx(300.0, rel=0.12)


def test_drops_duplicates_and_reorders_happen_at_their_rates() -> None:
    queue = pushed_queue()
    cols = queue.pop(1e9)
    assert cols is not None
    faults = queue.faults
    assert faults.generated == 20_000
    assert faults.dropped / faults.generated == pytest.approx(0.02, abs=0.004)
    assert faults.duplicated / faults.generated == pytest.approx(0.01, abs=0.003)
    assert faults.reordered / faults.generated == pytest.approx(0.01, abs=0.003)
    keys = cols["row"] * 100 + cols["index"]
    _, counts = np.unique(keys, return_counts=True)
    assert len(cols["row"]) == faults.generated - faults.dropped + faults.duplicated
    assert (counts == 2).sum() == faults.duplicated


def test_a_reordered_notification_arrives_after_a_later_change() -> None:
    queue = pushed_queue(n_rows=3000, per_row=2)  # changes at t=0 and t=100 on every row
    cols = queue.pop(1e9)
    assert cols is not None
    first = {
        (int(r)): float(d) for r, i, d in zip(cols["row"], cols["index"], cols["deliver_at"], strict=True) if i == 0
    }
    second = {
        (int(r)): float(d) for r, i, d in zip(cols["row"], cols["index"], cols["deliver_at"], strict=True) if i == 1
    }
    both = first.keys() & second.keys()
    overtaken = sum(first[r] > second[r] for r in both)
    # Only the reordered share (1%) may arrive after the later change, and most of it does.
    assert 0.005 * len(both) <= overtaken <= 0.015 * len(both)
    assert np.all(np.diff(cols["deliver_at"]) >= 0)  # popped in delivery order


def test_nothing_is_delivered_before_its_time() -> None:
    queue = pushed_queue(n_rows=100, per_row=1)
    early = queue.pop(1.0)
    later = queue.pop(1e9)
    assert later is not None
    assert early is None or np.all(early["deliver_at"] <= 1.0)
    assert np.all(later["deliver_at"] > 1.0)


def test_a_notification_snapshot_is_the_state_at_the_change() -> None:
    """Replay the same run to each notification's change time: its snapshot is what the market showed then."""
    noted = build_market("S5", 3, 30)
    notes = noted.pop_notifications(2 * 3600.0)
    assert len(notes) > 50
    replay = build_market("S5", 3, 30)
    for note in sorted(notes, key=lambda n: n.event_at)[:200]:
        replay.advance_to(note.event_at)
        assert note.snapshot == replay.snapshot(note.row)
        assert note.delivered_at >= note.event_at and note.snapshot.as_of == note.event_at


def test_offer_changes_notify_only_while_our_offer_is_live() -> None:
    undercutter = CompetitorSpec(price=1000, strategy=Strategy.UNDERCUT, floor=900, ceiling=1200, cadence_s=60.0)
    market = one_row_market(OurSpec(1100, 500, 2000, live_at=3600.0), [undercutter])
    assert market.pop_notifications(3599.0) == []
    notes = market.pop_notifications(4 * 3600.0)
    assert notes and all(n.event_at >= 3600.0 for n in notes)
    kinds = {n.change_type for n in notes}
    assert "Internal" in kinds  # our listing went live


def test_pricing_health_when_our_offer_goes_above_the_reference_price() -> None:
    """Sent when the offer loses eligibility, not when it regains it (`tests/sim/test_fidelity.py`)."""
    latency = LatencyParams(never_apply=0.0, notif_drop=0.0)
    market = one_row_market(OurSpec(900, 500, 2000), [CompetitorSpec(price=950)], ref_price=1000, latency=latency)
    market.submit([0], 1100, 1.0)
    market.advance_to(3 * 3600.0)
    health = [n for n in market.pop_notifications(3 * 3600.0) if n.kind == "PRICING_HEALTH"]
    assert [n.disqualified for n in health] == [True]
    assert health[0].snapshot.our_disqualified and health[0].snapshot.reference_price == 1000


def test_an_offer_above_the_reference_price_at_the_start_is_disqualified_from_the_start() -> None:
    market = one_row_market(OurSpec(1500, 500, 2000), [CompetitorSpec(price=950)], ref_price=1000)
    snap = market.snapshot(0)
    assert snap.our_disqualified and not snap.suppressed and snap.featured_seller_id is not None
    assert market.holder[0] == 1
