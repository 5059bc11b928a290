"""FOEP: Amazon's estimate of our threshold, stale by up to its refresh interval, biased per item and noisy per
refresh."""

from __future__ import annotations

import numpy as np
import pytest

from sim.competitors import CompetitorSpec, Strategy
from sim.latency import LatencyParams
from sim.scenarios import RunParams, build_market
from sim.snapshot import FoepStatus
from sim.spec import OurSpec
from tests.sim.markets import one_row_market

_EXACT = LatencyParams(foep_sigma=0.0, foep_bias_sigma=0.0)  # Amazon's estimate without its bias and noise


def test_a_reading_is_the_value_as_of_the_last_refresh() -> None:
    """Without noise the FOEP equals the threshold at its ``as_of``, which may be minutes old."""
    params = RunParams(latency=_EXACT, foep_share=1.0)
    market = build_market("S2", 8, 40, params)
    replay = build_market("S2", 8, 40, params)
    stale_differs = checked = 0
    for t in (900.0, 1800.0, 2700.0, 3600.0):
        readings = market.foep(np.arange(40), t)
        for reading in sorted(readings, key=lambda r: r.as_of):
            assert t - 600.0 <= reading.as_of <= t
            replay_at = max(reading.as_of, replay.now)
            if reading.as_of >= replay.now:
                replay.advance_to(replay_at)
                if reading.status is FoepStatus.VALID:
                    assert reading.price == replay.threshold[reading.row]
                    checked += 1
        stale_differs += sum(r.price != market.threshold[r.row] for r in readings if r.status is FoepStatus.VALID)
    assert checked > 40
    assert stale_differs > 0  # sometimes the estimate lags the market


def test_noise_is_drawn_per_refresh_not_per_reading() -> None:
    market = one_row_market(
        OurSpec(100_000, 50_000, 200_000), [CompetitorSpec(price=100_000)], copies=3000, notifications=False
    )
    first = market.foep(np.arange(3000), 0.0)
    again = market.foep(np.arange(3000), 0.0)
    assert first == again
    ratio = np.array([r.price for r in first]) / market.threshold - 1.0
    assert np.std(ratio) == pytest.approx(np.hypot(0.0025, 0.0015), rel=0.1)  # the item's bias and the refresh's noise
    assert abs(np.mean(ratio)) < 0.0003


def test_statuses() -> None:
    alone = one_row_market(OurSpec(1000, 500, 2000))
    assert alone.foep([0], 0.0)[0].status is FoepStatus.NO_COMPETING_OFFER
    assert alone.foep([0], 0.0)[0].price is None
    unavailable = one_row_market(OurSpec(1000, 500, 2000), [CompetitorSpec(price=900)], foep_available=False)
    assert unavailable.foep([0], 700.0)[0].status is FoepStatus.ASIN_NOT_ELIGIBLE
    sold_out = one_row_market(OurSpec(1000, 500, 2000, stock=0), [CompetitorSpec(price=900)])
    assert sold_out.foep([0], 0.0)[0].status is FoepStatus.OFFER_NOT_ELIGIBLE


def test_foep_is_the_unclamped_threshold_and_follows_the_market_after_a_refresh() -> None:
    undercutter = CompetitorSpec(price=1000, strategy=Strategy.UNDERCUT, floor=700, ceiling=1200, cadence_s=60.0)
    market = one_row_market(OurSpec(600, 500, 650), [undercutter], latency=_EXACT, notifications=False)
    before = market.foep([0], 0.0)[0].price
    assert before is not None and before > 650  # above our max: FOEP is not clamped to our bounds
    market.advance_to(2 * 3600.0)
    after = market.foep([0], 2 * 3600.0)[0].price
    assert after is not None and after < before  # the undercutter went to its floor of 700


def test_the_share_of_items_with_a_foep_is_a_parameter() -> None:
    market = build_market("S1a", 1, 4000, RunParams(foep_share=0.8))
    assert market.spec.foep_available.mean() == pytest.approx(0.8, abs=0.02)
    statuses = {r.status for r in market.foep(np.flatnonzero(~market.spec.foep_available), 0.0)}
    assert statuses == {FoepStatus.ASIN_NOT_ELIGIBLE}


def test_a_reading_says_whether_our_offer_was_featured_when_amazon_made_it() -> None:
    """currentFeaturedOffer: a refresh made while we hold the Buy Box is our threshold as the incumbent."""
    market = one_row_market(OurSpec(2000, 500, 3000), [CompetitorSpec(price=1000)], latency=_EXACT, copies=50)
    rows = np.arange(50)
    assert not any(r.ours_featured for r in market.foep(rows, 0.0))
    market.submit(rows, np.full(50, 900), 0.0)
    market.advance_to(3600.0)
    held = market.holder == 0
    assert held.sum() >= 40  # the rest: updates that never applied
    readings = market.foep(rows, 3600.0)
    assert [r.ours_featured for r in readings] == held.tolist()
    # As the incumbent our threshold lies above the rival's landed price: its edge is gone and ours counts.
    assert all(r.price is not None and r.price > 1000 for r, h in zip(readings, held, strict=True) if h)
