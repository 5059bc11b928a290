"""The market: reproducible runs, common random numbers, our submits, listing, eligibility and records."""

from __future__ import annotations

import numpy as np
import pytest

from sim.competitors import CompetitorSpec, Strategy
from sim.latency import LatencyParams
from sim.market import Market
from sim.scenarios import RunParams, build_market, build_spec
from sim.spec import MarketSpec, OurSpec
from sim.trajectory import NOT_LIVE, Trajectory
from tests.sim.markets import one_row_market


def assert_same_trajectory(a: Trajectory, b: Trajectory) -> None:
    """Same records per row in the same order (rows may be appended in another interleaving)."""
    order_a = np.lexsort((np.arange(len(a.t)), a.t, a.row))
    order_b = np.lexsort((np.arange(len(b.t)), b.t, b.row))
    for name in ("t", "row", "our_price", "p_star", "share", "hold", "comp_move"):
        np.testing.assert_array_equal(getattr(a, name)[order_a], getattr(b, name)[order_b], err_msg=name)


def test_the_same_seed_gives_the_same_run() -> None:
    runs = []
    for _ in range(2):
        market = build_market("S5", 11, 200)
        for t in range(60, 3601, 60):
            market.submit(np.arange(0, 200, 7), market.spec.min_price[::7] + t, float(t))
        snapshots = [market.snapshot(r) for r in range(0, 200, 13)]
        notes = market.pop_notifications(3600.0)
        runs.append((market.finish(3600.0), snapshots, notes))
    assert_same_trajectory(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert runs[0][2] == runs[1][2]
    assert len(runs[0][2]) > 0


def test_a_run_does_not_depend_on_how_time_was_stepped() -> None:
    """Each row's events are handled in time order whatever the caller's steps, so records are identical."""
    fine = build_market("S5", 5, 60)
    for t in np.arange(0.5, 3600.0, 0.5):
        fine.advance_to(float(t))
    coarse = build_market("S5", 5, 60)
    coarse.advance_to(1000.0)
    assert_same_trajectory(fine.finish(3600.0), coarse.finish(3600.0))
    assert fine.events == coarse.events


@pytest.mark.parametrize(
    ("scenario", "tau"),
    [("S1b", 0.0), ("S2", 0.005), ("S3", 0.0), ("S4", 0.005), ("S5", 0.005), ("S6", 0.0), ("S7", 0.005), ("S8", 0.0)],
)
def test_skipping_idle_events_changes_nothing_a_seller_or_the_metrics_see(scenario: str, tau: float) -> None:
    """Recomputes and competitor checks that could not change anything are skipped, and the run stays the same
    record for record: the same Buy Box, shares, p*, notifications, FOEP readings, orders and competitor checks,
    and the same draws afterwards. (At τ > 0 a recompute is idle only where one offer is far ahead of the rest in
    every segment, which S1b's five close sellers never are; S1b runs at τ = 0 here.)"""
    params = RunParams.cell(delay_s=120.0, tau=tau)
    runs = []
    for skip in (True, False):
        spec = build_spec(scenario, 7, 40, params)
        market = Market(
            spec, seed=7, latency=params.latency, buybox=params.buybox, orders=params.orders, skip_idle_events=skip
        )
        seen = []
        for step, t in enumerate(np.arange(30.0, 6 * 3600.0, 30.0)):
            if step % 37 == 0:
                rows = np.arange(step % 5, 40, 5)
                wiggle = (step * 7919) % 23 - 11
                prices = np.clip(market.p_star[rows] + wiggle * spec.tick, spec.min_price[rows], spec.max_price[rows])
                market.submit(rows, np.where(market.p_star[rows] > 0, prices, spec.max_price[rows]), float(t))
            if step % 11 == 0:
                seen.append([(r.price, r.as_of, r.ours_featured) for r in market.foep(np.arange(0, 40, 3), float(t))])
            seen.append(market.pop_notifications(float(t)))
        checks = market.competitor_checks.copy()
        runs.append((market.finish(6 * 3600.0), seen, len(market.orders), checks, market.events))
    (skipped, seen_a, orders_a, checks_a, events_a), (every, seen_b, orders_b, checks_b, events_b) = runs
    assert_same_trajectory(skipped, every)
    assert seen_a == seen_b
    assert orders_a == orders_b
    np.testing.assert_array_equal(checks_a, checks_b)
    assert events_a < events_b  # it did skip some


def test_markets_of_several_seeds_run_side_by_side_as_each_would_alone() -> None:
    """A market of several seeds is those markets in the same arrays: each keeps its coefficients, random numbers
    and sellers, so its records, notifications and FOEP readings are the ones it has when run alone."""
    # Four rows a seed, not twelve, in half the time: each seed still sees hundreds of notifications and 148 FOEP
    # readings, and a merged market that drew its rows' random numbers from the first seed's streams fails here.
    seeds, n = (3, 4, 5), 4
    params = RunParams.cell(delay_s=120.0, tau=0.005)

    def drive(market: Market, parts: int) -> list[list[object]]:
        """Scripted submits, FOEP reads and notification pops; what each part saw, rows numbered within it."""
        seen: list[list[object]] = [[] for _ in range(parts)]
        for step, t in enumerate(np.arange(30.0, 4 * 3600.0, 30.0)):
            if step % 29 == 0:
                rows = np.concatenate([np.arange(step % 3, n, 3) + i * n for i in range(parts)])
                spec = market.spec
                prices = np.clip(market.p_star[rows] - 3 * spec.tick, spec.min_price[rows], spec.max_price[rows])
                market.submit(rows, np.where(market.p_star[rows] > 0, prices, spec.max_price[rows]), float(t))
            if step % 13 == 0:
                for r in market.foep(np.arange(parts * n), float(t)):
                    seen[r.row // n].append(("foep", r.row % n, r.price, r.as_of, r.ours_featured))
            for note in market.pop_notifications(float(t)):
                seen[note.row // n].append(("note", note.row % n, note.event_at, note.delivered_at, note.change_type))
        return seen

    parts = MarketSpec.concat([build_spec("S5", s, n, params) for s in seeds])
    merged = Market(parts, latency=params.latency, buybox=params.buybox, orders=params.orders)
    assert merged.spec.n_sellers == len(seeds) and len(set(merged.spec.sku)) == len(seeds) * n
    seen = drive(merged, len(seeds))
    together = merged.finish(4 * 3600.0)
    for i, seed in enumerate(seeds):
        alone = build_market("S5", seed, n, params)
        (seen_alone,) = drive(alone, 1)
        assert_same_trajectory(together.rows(i * n, n), alone.finish(4 * 3600.0))
        assert seen[i] == seen_alone
        assert any(item[0] == "note" for item in seen_alone)


def test_two_strategies_see_the_same_competitor_timing_and_submit_latencies() -> None:
    """Common random numbers: our k-th submit takes the k-th latency draw, and a competitor whose rule does not
    look at us (a resetter priced against its own floor) moves at the same times to the same prices."""
    resetter = CompetitorSpec(
        price=900,
        strategy=Strategy.RESETTER,
        floor=800,
        ceiling=1500,
        period_s=1800.0,
        hold_s=600.0,
        cadence_s=120.0,
        latency_s=60.0,
    )
    runs = []
    for prices in ([500, 520, 540, 560], [700, 450, 610, 480]):
        market = one_row_market(OurSpec(600, 400, 790), [resetter], copies=20, seed=3)
        comp_prices = []
        for step, t in enumerate(np.arange(2.0, 3 * 3600.0, 2.0)):
            if step % 450 == 0 and step // 450 < 4:
                market.submit(np.arange(20), prices[step // 450], float(t))
            market.advance_to(float(t))
            comp_prices.append(market.price[:, 1].copy())
        runs.append((np.array(comp_prices), market.finish(3 * 3600.0)))
    (comp_a, traj_a), (comp_b, traj_b) = runs
    np.testing.assert_array_equal(comp_a, comp_b)
    assert len(np.unique(comp_a)) >= 2  # it did move: floor and ceiling
    for row in range(20):
        live_a = _live_changes(traj_a, row)
        live_b = _live_changes(traj_b, row)
        # Same submit times (every 900 s), same k-th latency: the k-th change lands at the same time in both runs
        # (a submit that never applied leaves a gap in both runs alike).
        assert [t for t, _ in live_a] == [t for t, _ in live_b]


def _live_changes(traj: Trajectory, row: int) -> list[tuple[float, int]]:
    series = traj.row_series(row)
    changes = np.flatnonzero(np.diff(series.our_price) != 0) + 1
    return [(float(series.t[i]), int(series.our_price[i])) for i in changes]


def test_a_submit_goes_live_after_the_latency_and_only_if_newer() -> None:
    latency = LatencyParams(never_apply=0.0, delay_s=120.0)
    market = one_row_market(OurSpec(1000, 500, 2000), copies=400, latency=latency, notifications=False)
    rows = np.arange(400)
    market.submit(rows, 1100, 10.0)
    market.submit(rows, 1200, 20.0)
    market.advance_to(3 * 86_400.0)  # the tail has no cap, but nothing of 800 submits takes days
    # The newer submit wins everywhere, even where the older one went live after it.
    assert np.all(market.price[:, 0] == 1200)
    traj = market.finish(3 * 86_400.0)
    went_back = sum(any(price == 1100 for _, price in _live_changes(traj, r)[1:]) for r in range(400))
    assert went_back == 0


def test_submit_latency_has_median_d_and_p90_five_d() -> None:
    """The shape of the delay; its floor and uncapped tail: `tests/sim/test_fidelity.py`."""
    latency = LatencyParams(never_apply=0.0, delay_s=120.0)
    market = one_row_market(OurSpec(1000, 500, 2000), copies=4000, latency=latency, notifications=False)
    market.submit(np.arange(4000), 1100, 0.0)
    traj = market.finish(3 * 86_400.0)
    delays = np.array([_live_changes(traj, r)[0][0] for r in range(4000)])
    assert np.median(delays) == pytest.approx(120.0, rel=0.08)
    assert np.quantile(delays, 0.9) == pytest.approx(600.0, rel=0.12)


def test_a_share_of_accepted_submits_never_apply() -> None:
    market = one_row_market(OurSpec(1000, 500, 2000), copies=5000, notifications=False)
    accepted = market.submit(np.arange(5000), 1100, 0.0)
    assert accepted.all()
    market.advance_to(3 * 86_400.0)  # long past the slowest submit that applies
    never = np.mean(market.price[:, 0] == 1000)
    assert 0.013 < never < 0.027


def test_bad_prices_are_rejected() -> None:
    market = one_row_market(OurSpec(1000, 500, 2000), copies=2, notifications=False)
    assert list(market.submit([0, 1], [0, -5], 1.0)) == [False, False]


def test_many_submits_in_flight_on_one_row_keep_their_order() -> None:
    latency = LatencyParams(never_apply=0.0)
    market = one_row_market(OurSpec(1000, 500, 2000), latency=latency, notifications=False)
    for i in range(12):
        market.submit([0, 0], [1000 + i, 1100 + i], float(i))
    market.advance_to(3 * 86_400.0)
    assert market.price[0, 0] == 1111


def test_our_offer_can_start_not_live_and_go_live_later() -> None:
    market = build_market("S1a", 2, 50, RunParams(our_not_live_share=1.0, our_not_live_median_s=600.0))
    assert not market.available[:, 0].any()
    assert all(market.snapshot(r).our is None for r in range(50))
    assert np.all(market.our_share == 0.0) and not np.any(market.holder == 0)
    market.advance_to(6 * 3600.0)
    assert market.available[:, 0].all()
    traj = market.finish(6 * 3600.0)
    first = traj.row_series(0)
    assert first.our_price[0] == NOT_LIVE and first.our_price[-1] != NOT_LIVE


def test_set_listed_and_out_of_stock_take_our_offer_out_of_the_buybox_at_once() -> None:
    market = one_row_market(OurSpec(900, 500, 2000), [CompetitorSpec(price=1000)], notifications=False)
    assert market.holder[0] == 0
    market.set_listed([0], False, 5.0)
    assert market.holder[0] == -1 and market.our_share[0] == 0.0
    market.set_listed([0], True, 6.0)
    market.advance_to(600.0)
    assert market.holder[0] == 0
    market.set_stock([0], 0, 601.0)
    assert market.holder[0] == -1 and market.snapshot(0).our is None


def test_records_start_with_the_initial_state_and_follow_changes() -> None:
    market = one_row_market(OurSpec(1200, 500, 2000, unit_cost=400), [CompetitorSpec(price=1000)])
    market.submit([0], 950, 100.0)
    traj = market.finish(3600.0)
    series = traj.row_series(0)
    assert series.t[0] == 0.0 and series.our_price[0] == 1200 and not series.hold[0]
    assert 950 in series.our_price and series.hold[-1]
    assert series.p_star[0] > 0


def test_buybox_is_suppressed_when_no_offer_is_eligible() -> None:
    market = one_row_market(OurSpec(1500, 500, 2000), [CompetitorSpec(price=1400)], ref_price=1000)
    snap = market.snapshot(0)
    assert snap.suppressed and snap.featured_seller_id is None and snap.our_disqualified is True
    assert market.holder[0] == -1


def test_competitors_react_to_live_prices_only() -> None:
    undercutter = CompetitorSpec(
        price=1000, strategy=Strategy.UNDERCUT, floor=500, ceiling=1500, cadence_s=60.0, latency_s=30.0
    )
    latency = LatencyParams(delay_s=600.0, never_apply=0.0)
    market = one_row_market(OurSpec(1100, 500, 2000), [undercutter], latency=latency)
    market.submit([0], 700, 1.0)
    ours, theirs = [], []
    for t in range(2, 8000):
        market.advance_to(float(t))
        ours.append(int(market.price[0, 0]))
        theirs.append(int(market.price[0, 1]))
    went_live = ours.index(700)
    assert went_live > 60  # long enough for the undercutter to have checked while our submit was pending
    assert set(theirs[:went_live]) <= {1000, 1099}
    assert 1099 in theirs[:went_live]
    assert theirs[-1] == 699


def test_events_are_counted_and_the_next_event_time_is_known() -> None:
    market = build_market("S2", 1, 20)
    nxt = market.next_event_time()
    assert 0.0 < nxt < 120.0
    market.advance_to(nxt)
    assert market.events >= 1
    with pytest.raises(ValueError, match="forward"):
        market.advance_to(nxt - 1.0)


def test_catalog_describes_our_offers() -> None:
    spec = build_spec("S1b", 1, 30, RunParams(sellers="per-sku"))
    market = Market(spec, seed=1)
    row = market.catalog(7)
    assert row.sku == "SKU-000007" and row.asin.startswith("B0") and len(row.asin) == 10
    assert row.min_price <= row.start_price == row.max_price and row.unit_cost < row.min_price
    assert row.seller == 7 and market.row_of("SKU-000007") == 7
    assert len({r.asin for r in market.catalog_rows()}) == 30


def test_reads_see_every_event_due_however_time_was_stepped() -> None:
    """`advance_to` may leave a few due events for later, but every read settles them first."""
    stepped = build_market("S5", 4, 300)
    jumped = build_market("S5", 4, 300)
    for checkpoint in (600.0, 1800.0, 3600.0):
        while stepped.now < checkpoint:
            stepped.advance_to(stepped.now + 1.0)
        jumped.advance_to(checkpoint)
        for name in ("price", "holder", "our_share", "p_star", "available", "our_stock"):
            np.testing.assert_array_equal(getattr(stepped, name), getattr(jumped, name), err_msg=name)
        assert stepped.next_event_time() == jumped.next_event_time() > checkpoint
        assert stepped.snapshot(7) == jumped.snapshot(7)
        assert stepped.events == jumped.events
