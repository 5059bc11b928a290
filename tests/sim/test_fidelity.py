"""The simulated Amazon is as slow, as disorderly and as imprecise as reference/buybox.md says, and no kinder.

Each test here failed on the simulator before issue 22: submits went live in 24 s at p10 and never took longer
than 10·D, the listings view showed a new price the moment the offers did, 12% of notifications arrived after a
newer one of the same offer, the FOEP's error was drawn afresh at every refresh (so it averaged away), and
PRICING_HEALTH announced the return to eligibility too.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from sim.competitors import CompetitorSpec
from sim.latency import LatencyParams
from sim.market import Market
from sim.scenarios import RunParams, build_market
from sim.snapshot import FoepStatus
from sim.spec import OurSpec
from sim.trajectory import Trajectory
from tests.sim.markets import one_row_market

DAY_S = 86_400.0


def _first_live_at(traj: Trajectory, row: int) -> float | None:
    """When the row's price first changed (None: it never did)."""
    series = traj.row_series(row)
    changes = np.flatnonzero(np.diff(series.our_price) != 0) + 1
    return float(series.t[changes[0]]) if len(changes) else None


def test_latency_has_floor_and_tail() -> None:
    """Submit→live at D = 2 min: never under a minute, median D, p90 5·D, and a tail with no cap (hours at the
    far end); 2% of accepted submits never apply. The read-back lags the offers view by its own delay."""
    n = 4000
    market = one_row_market(OurSpec(1000, 500, 2000), copies=n, notifications=False)
    assert market.submit(np.arange(n), 1100, 0.0).all()
    traj = market.finish(3 * DAY_S)
    live_at = [_first_live_at(traj, row) for row in range(n)]
    delays = np.array([t for t in live_at if t is not None])
    assert 1 - len(delays) / n == pytest.approx(0.02, abs=0.007)  # never applied
    assert delays.min() >= 60.0  # the floor: Amazon takes a minute or more, however lucky the draw
    assert np.quantile(delays, 0.1) > 70.0
    assert np.mean(delays <= 90.0) < 0.35  # "1.5–2 min at best"
    assert np.median(delays) == pytest.approx(120.0, rel=0.08)
    assert np.quantile(delays, 0.9) == pytest.approx(600.0, rel=0.12)
    assert np.mean(delays > 10 * 120.0) > 0.02  # no cap at 10·D ...
    assert delays.max() > 3 * 3600.0  # ... the slowest take hours

    # The listings view (getListingsItem) shows a new live price only a while after the offers view does.
    rows = 200
    lagging = one_row_market(
        OurSpec(1000, 500, 2000), copies=rows, latency=LatencyParams(never_apply=0.0), notifications=False
    )
    lagging.submit(np.arange(rows), 1100, 0.0)
    seen_live: set[int] = set()
    read_back_old = 0
    for t in np.arange(5.0, 2 * 3600.0, 5.0):
        lagging.advance_to(float(t))
        for row in np.flatnonzero(lagging.price[:, 0] == 1100).tolist():
            if row not in seen_live:  # live in the offers view within the last 5 s: what does read-back say?
                seen_live.add(row)
                read_back_old += lagging.our_listing(row).listing_price == 1000
    assert len(seen_live) > 0.9 * rows
    assert read_back_old > 0.95 * len(seen_live)
    lagging.advance_to(3 * DAY_S)
    assert all(lagging.our_listing(row).listing_price == 1100 for row in range(rows))


def _arrived_after_a_newer(market: Market, until: float, step_s: float = 300.0) -> tuple[int, int]:
    """Notifications delivered after a newer one of the same offer had been, and all delivered, up to ``until``."""
    newest: dict[int, float] = defaultdict(lambda: -np.inf)
    late = total = 0
    for t in np.arange(step_s, until + step_s, step_s):
        spec = market.spec
        # Our price moves now and then too, so every kind of change is in the stream.
        rows = np.arange(int(t / step_s) % 7, market.n_rows, 7)
        market.submit(rows, (spec.min_price[rows] + spec.max_price[rows]) // 2 + int(t / step_s) % 5, float(t))
        for note in market.pop_notifications(float(t)):
            total += 1
            late += note.event_at < newest[note.row]
            newest[note.row] = max(newest[note.row], note.event_at)
    return late, total


def test_notifications_keep_offer_order() -> None:
    """Each offer's notifications arrive in the order of their changes, except the 1% reordered; a notification
    never overtakes an older one of its offer otherwise (the old simulator's independent delays: 12%)."""
    late, total = _arrived_after_a_newer(build_market("S5", 3, 30), 6 * 3600.0)
    assert total > 2000
    assert 0 < late / total <= 0.015
    in_order = build_market("S5", 3, 30, RunParams(latency=LatencyParams(notif_reorder=0.0)))
    late, total = _arrived_after_a_newer(in_order, 4 * 3600.0)
    assert total > 1000 and late == 0


def test_foep_error_persists_per_item() -> None:
    """FOEP = threshold × (1 + b + ε): a per-item bias b ~ N(0, 0.25%) that every refresh shares, and noise
    ε ~ N(0, 0.15%) drawn per refresh. Readings hours apart are correlated; averaging them leaves the bias."""
    n = 3000
    # Twice the rival's price: the rival is featured all the time, so our threshold never moves.
    market = one_row_market(
        OurSpec(200_000, 50_000, 200_000), [CompetitorSpec(price=100_000)], copies=n, notifications=False
    )
    errors = []
    for t in (0.0, 3 * 3600.0, 6 * 3600.0, 9 * 3600.0):
        readings = market.foep(np.arange(n), t)
        assert all(r.status is FoepStatus.VALID for r in readings)
        assert all(r.as_of >= t - 600.0 for r in readings)  # each one a refresh of its own
        errors.append(np.array([r.price for r in readings]) / market.threshold - 1.0)
    error = np.array(errors)
    assert np.std(error) == pytest.approx(np.hypot(0.0025, 0.0015), rel=0.1)
    expected = 0.0025**2 / (0.0025**2 + 0.0015**2)  # the bias's share of the variance: 0.74
    for later in range(1, 4):
        assert np.corrcoef(error[0], error[later])[0, 1] == pytest.approx(expected, abs=0.06)
    per_item = error.mean(axis=0)
    assert np.std(per_item) == pytest.approx(np.hypot(0.0025, 0.0015 / 2), rel=0.1)  # the noise halves, not the bias


def test_no_foep_without_a_featured_offer() -> None:
    """Every offer above Amazon's competitive price: nothing is featured, and Amazon gives no FOEP."""
    market = one_row_market(OurSpec(1500, 500, 2000), [CompetitorSpec(price=1200)], ref_price=1000, copies=20)
    assert (market.holder == -1).all()
    readings = market.foep(np.arange(20), 3600.0)
    assert all(r.status is not FoepStatus.VALID and r.price is None for r in readings)


def test_health_only_on_disqualification() -> None:
    """PRICING_HEALTH each time our offer goes above the reference price, and never when it comes back under."""
    rows = 40
    latency = LatencyParams(never_apply=0.0, notif_drop=0.0, notif_dup=0.0)
    market = one_row_market(
        OurSpec(900, 500, 2000), [CompetitorSpec(price=950)], ref_price=1000, latency=latency, copies=rows
    )
    for k, price in enumerate((1100, 990, 1200, 950)):  # above the cap, under, above, under
        market.submit(np.arange(rows), price, k * 6 * 3600.0)
    # A day: the last submit is at 18 h and the last price went live at 18.6 h; the run to four days this test had
    # gave these same 80 notifications, row for row.
    end = DAY_S
    health = [n for n in market.pop_notifications(end) if n.kind == "PRICING_HEALTH"]
    assert health and all(n.disqualified for n in health)
    traj = market.finish(end)
    for row in range(rows):
        series = traj.row_series(row).our_price
        went_above = int(np.sum((series[1:] > 1000) & (series[:-1] <= 1000)))
        assert sum(n.row == row for n in health) == went_above >= 1
