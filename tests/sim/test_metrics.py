"""The convergence metrics, checked against values worked out by hand on small recorded runs.

A row is written as records ``(t, our_price, p_star, share)`` or ``(t, our_price, p_star, share, comp_move)``;
each holds until the next one. Bounds are [900, 1100], unit cost 600, 0.01 page views a second, p* is 1000
unless a test says otherwise, and runs last two hours unless a test says otherwise.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import fields, replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.metrics import (
    RowMetrics,
    bootstrap_ci,
    information_floor_s,
    median,
    prob_within,
    probes_needed,
    quantile,
    row_metrics,
    run_metrics,
    summarize,
)
from sim.trajectory import NOT_LIVE, UNWINNABLE, Recorder, Trajectory

MIN, MAX, COST, VIEWS = 900, 1100, 600, 0.01
END = 7200.0
Record = tuple[float, int, int, float] | tuple[float, int, int, float, bool]


def record_run(rows: Sequence[Sequence[Record]], *, start: float = 0.0, end: float = END) -> Trajectory:
    n = len(rows)
    recorder = Recorder(
        start=start,
        min_price=np.full(n, MIN, np.int64),
        max_price=np.full(n, MAX, np.int64),
        unit_cost=np.full(n, COST, np.int64),
        views_per_s=np.full(n, VIEWS),
    )
    for row, records in enumerate(rows):
        for t, price, best, share, *move in records:
            recorder.record(
                t,
                np.array([row]),
                np.array([price]),
                np.array([best]),
                np.array([share]),
                np.array([share >= 0.5]),
                bool(move and move[0]),
            )
    return recorder.finish(end)


def metrics(
    *records: Record, start: float = 0.0, end: float = END, reacting: bool = False, min_price: int = MIN
) -> RowMetrics:
    series = record_run([records], start=start, end=end).row_series(0)
    return row_metrics(
        series,
        start=start,
        min_price=min_price,
        max_price=MAX,
        unit_cost=COST,
        views_per_s=VIEWS,
        reacting=reacting,
    )


def assert_same(a: RowMetrics, b: RowMetrics) -> None:
    """Equal up to float round-off in sums of interval lengths."""
    for field in fields(RowMetrics):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, tuple):
            assert len(x) == len(y), field.name
            pairs = list(zip(x, y, strict=True))
        else:
            pairs = [(x, y)]
        for u, v in pairs:
            if u is None or v is None or isinstance(u, bool):
                assert u == v, field.name
            else:
                assert u == pytest.approx(v, abs=1e-6), field.name


# --------------------------------------------------------------------------------------------------------------
# T_BB


def test_time_to_buybox_is_zero_for_a_winning_start() -> None:
    assert metrics((0, 1000, 1000, 0.8)).t_buybox == 0.0


def test_time_to_buybox_is_the_moment_we_start_winning() -> None:
    assert metrics((0, 1100, 1000, 0.2), (300, 1000, 1000, 0.8)).t_buybox == 300.0


def test_time_to_buybox_ignores_a_flicker() -> None:
    # At 100 we win for a minute only: the next ten minutes average (0.9·60 + 0.2·540)/600 = 0.27.
    m = metrics((0, 1100, 1000, 0.2), (100, 1000, 1000, 0.9), (160, 1100, 1000, 0.2), (1000, 1000, 1000, 0.7))
    assert m.t_buybox == 1000.0


def test_time_to_buybox_can_fall_between_records() -> None:
    # For t in [100, 400) the next ten minutes hold 0.6(400−t) + 0.2·300 + 0.9(t−100) = 210 + 0.3t ≥ 300 from t = 300.
    m = metrics((0, 1100, 1000, 0.0), (100, 1000, 1000, 0.6), (400, 1050, 1000, 0.2), (700, 1000, 1000, 0.9))
    assert m.t_buybox == pytest.approx(300.0)


def test_time_to_buybox_is_none_when_we_never_win() -> None:
    assert metrics((0, 1100, 1000, 0.4)).t_buybox is None


def test_time_to_buybox_is_censored_when_the_window_does_not_fit() -> None:
    assert metrics((0, 1100, 1000, 0.2), (7000, 1000, 1000, 0.9)).t_buybox is None
    assert metrics((0, 1100, 1000, 0.2), (6600, 1000, 1000, 0.9)).t_buybox == 6600.0


def test_times_count_from_the_start_of_the_run() -> None:
    m = metrics((500, 1100, 1000, 0.2), (1300, 999, 1000, 0.8), start=1000.0, end=9000.0)
    assert (m.t_buybox, m.t_99, m.t_998) == (300.0, 300.0, 300.0)


# --------------------------------------------------------------------------------------------------------------
# T_α


def test_t99_and_t998_are_zero_for_a_start_inside_the_band() -> None:
    m = metrics((0, 999, 1000, 0.8))
    assert (m.t_99, m.t_998) == (0.0, 0.0)


def test_t998_requires_thirty_minutes_inside_the_band() -> None:
    # 990 is within 99% of p* = 1000 but not within 99.8%: the 99.8% hold restarts at 1100.
    m = metrics((0, 999, 1000, 0.8), (1000, 990, 1000, 0.8), (1100, 999, 1000, 0.8))
    assert (m.t_99, m.t_998) == (0.0, 1100.0)


def test_a_price_exactly_at_alpha_is_inside_the_band() -> None:
    assert metrics((0, 990, 1000, 0.8)).t_99 == 0.0
    assert metrics((0, 989, 1000, 0.8)).t_99 is None
    assert metrics((0, 998, 1000, 0.8)).t_998 == 0.0
    assert metrics((0, 997, 1000, 0.8)).t_998 is None


def test_a_price_above_p_star_is_not_converged() -> None:
    m = metrics((0, 1010, 1000, 0.6), (600, 1000, 1000, 0.6))
    assert (m.t_99, m.t_998) == (600.0, 600.0)


def test_a_p_star_change_mid_window_restarts_the_hold() -> None:
    # 1000/1005 ≈ 0.995 keeps the 99% band but leaves the 99.8% one until p* drops to 1001 at 2000.
    m = metrics((0, 1000, 1000, 0.8), (900, 1000, 1005, 0.8), (2000, 1000, 1001, 0.8))
    assert (m.t_99, m.t_998) == (0.0, 2000.0)


def test_an_offer_that_is_not_live_breaks_the_hold() -> None:
    m = metrics((0, 999, 1000, 0.8), (600, NOT_LIVE, 1000, 0.0), (700, 999, 1000, 0.8))
    assert (m.t_99, m.t_998) == (700.0, 700.0)
    assert m.minutes_without_buybox == pytest.approx(100 / 60)


def test_losing_the_buybox_breaks_the_hold_even_inside_the_band() -> None:
    m = metrics((0, 999, 1000, 0.8), (1000, 999, 1000, 0.4), (1200, 999, 1000, 0.8))
    assert (m.t_99, m.t_998) == (1200.0, 1200.0)


def test_the_band_is_censored_when_thirty_minutes_do_not_fit() -> None:
    assert metrics((0, 1100, 1000, 0.1), (5400, 999, 1000, 0.8)).t_99 == 5400.0
    assert metrics((0, 1100, 1000, 0.1), (5401, 999, 1000, 0.8)).t_99 is None


def test_an_unwinnable_row_is_counted_not_timed() -> None:
    m = metrics((0, 900, UNWINNABLE, 0.1))
    assert m.unwinnable
    assert (m.t_buybox, m.t_99, m.t_998) == (None, None, None)
    assert m.unwinnable_s == END


def test_a_partly_unwinnable_row_reports_its_unwinnable_seconds() -> None:
    m = metrics((0, 900, UNWINNABLE, 0.1), (1000, 999, 1000, 0.8))
    assert not m.unwinnable
    assert m.unwinnable_s == 1000.0
    assert m.t_99 == 1000.0


# --------------------------------------------------------------------------------------------------------------
# Re-convergence after competitor moves


def test_reconvergence_is_measured_from_each_move() -> None:
    m = metrics(
        (0, 999, 1000, 0.8),
        (3600, 999, 950, 0.2, True),  # the competitor undercuts: p* falls to 950
        (3900, 949, 950, 0.8),
        reacting=True,
    )
    assert m.reconvergence_99 == (300.0,)
    assert m.reconvergence_998 == (300.0,)
    assert m.t_99 == 0.0  # the first convergence is still reported


def test_reconvergence_needs_only_hold_until_the_next_move() -> None:
    m = metrics(
        (0, 999, 1000, 0.8),
        (3600, 999, 950, 0.2, True),
        (3900, 949, 950, 0.8),  # held for 100 s, then the market moves again
        (4000, 949, 1000, 0.8, True),  # 949 is now below 99% of p*
        (4500, 999, 1000, 0.8),
        reacting=True,
    )
    assert m.reconvergence_99 == (300.0, 500.0)


def test_reconvergence_needs_at_least_a_minute_before_the_next_move() -> None:
    m = metrics(
        (0, 999, 1000, 0.8),
        (3600, 999, 950, 0.2, True),
        (3950, 949, 950, 0.8),  # only 50 s before the next move
        (4000, 949, 1000, 0.8, True),
        (4100, 999, 1000, 0.8),
        reacting=True,
    )
    assert m.reconvergence_99 == (None, 100.0)


def test_a_competitor_move_that_leaves_p_star_unchanged_is_not_a_move() -> None:
    m = metrics((0, 999, 1000, 0.8), (3600, 999, 1000, 0.8, True), reacting=True)
    assert m.reconvergence_99 == ()


def test_reconvergence_is_censored_when_the_hold_does_not_fit_before_the_end() -> None:
    m = metrics((0, 999, 1000, 0.8), (6000, 949, 950, 0.8, True), reacting=True)
    assert m.reconvergence_99 == (None,)


def test_static_scenarios_report_no_reconvergence() -> None:
    m = metrics((0, 999, 1000, 0.8), (3600, 949, 950, 0.8, True), reacting=False)
    assert (m.reconvergence_99, m.reconvergence_998) == ((), ())


# --------------------------------------------------------------------------------------------------------------
# Integrals and counts


def test_profit_is_the_expected_margin_while_live() -> None:
    # 0.01 views/s × (0.5 × 400 × 3600 s + 1.0 × 300 × 3200 s); the hour-long gap is not live and earns nothing.
    m = metrics((0, 1000, 1000, 0.5), (3600, NOT_LIVE, 1000, 0.9), (4000, 900, 1000, 1.0))
    assert m.profit == pytest.approx(16_800.0)


def test_minutes_without_the_buybox_and_share_at_the_min_price() -> None:
    m = metrics((0, 1100, 1000, 0.3), (1800, 900, 1000, 0.9), (5400, 950, 1000, 0.7))
    assert m.minutes_without_buybox == pytest.approx(30.0)
    assert m.share_at_min == pytest.approx(0.5)


def test_prices_outside_bounds_count_each_live_price_once() -> None:
    m = metrics(
        (0, 1200, 1000, 0.0),
        (100, 1200, 1000, 0.1),  # the same price recorded again: still one price outside bounds
        (200, NOT_LIVE, 1000, 0.0),  # not live: not a price buyers see
        (300, 800, 1000, 0.9),
        (400, 1000, 1000, 0.8),
    )
    assert m.prices_outside_bounds == 2


def test_a_price_outside_bounds_live_at_the_start_counts() -> None:
    assert metrics((-50, 1200, 1000, 0.0), (100, 1000, 1000, 0.8)).prices_outside_bounds == 1


def test_records_before_the_start_are_clipped_and_the_last_of_an_instant_wins() -> None:
    m = metrics((-300, 1100, 1000, 0.1), (-100, 999, 1000, 0.8), (0, 999, 1000, 0.1), (0, 999, 1000, 0.8))
    assert (m.t_buybox, m.t_99) == (0.0, 0.0)
    assert m.minutes_without_buybox == 0.0


def test_a_row_recorded_late_is_not_live_until_its_first_record() -> None:
    m = metrics((300, 999, 1000, 0.8))
    assert (m.t_buybox, m.t_99) == (300.0, 300.0)
    assert m.minutes_without_buybox == pytest.approx(5.0)
    assert not m.unwinnable and m.unwinnable_s == 0.0


def test_rows_of_a_run_do_not_leak_into_each_other() -> None:
    # Each row's share integral starts from zero: a long loss in one row must not carry into the next.
    losing = [(0.0, 1100, 1000, 0.0)]
    flicker = [(0.0, 1000, 1000, 0.5), (1.0, 1100, 1000, 0.0)]
    winning = [(0.0, 1000, 1000, 0.8)]
    run = record_run([losing, flicker, winning])
    assert [m.t_buybox for m in run_metrics(run, reacting=False)] == [None, None, 0.0]


def test_a_row_with_no_records_never_converges() -> None:
    (m,) = run_metrics(record_run([[]]), reacting=True)
    assert (m.t_buybox, m.t_99, m.reconvergence_99) == (None, None, ())
    assert m.minutes_without_buybox == pytest.approx(END / 60)
    assert not m.unwinnable


# --------------------------------------------------------------------------------------------------------------
# Properties

PRICES = [NOT_LIVE, 800, 900, 990, 998, 999, 1000, 1001, 1200]
row_records = st.lists(
    st.tuples(
        st.integers(0, 2500),
        st.sampled_from(PRICES),
        st.sampled_from([UNWINNABLE, 1000, 1002]),
        st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
        st.booleans(),
    ),
    max_size=12,
).map(lambda gaps: [(-500.0 + sum(g[0] for g in gaps[: i + 1]), *g[1:]) for i, g in enumerate(gaps)])


@given(row_records, st.data())
def test_metrics_do_not_change_when_a_record_is_split_in_two(records: list[Record], data: st.DataObject) -> None:
    split = [k for k, r in enumerate(records) if r[0] < END and (k + 1 == len(records) or records[k + 1][0] > r[0])]
    if not split:
        return
    k = data.draw(st.sampled_from(split))
    t = records[k][0]
    later = min(records[k + 1][0] if k + 1 < len(records) else END, END)
    copy = (t + (later - t) / 2, *records[k][1:4], data.draw(st.booleans()))
    whole = metrics(*records, reacting=True)
    halves = metrics(*records[: k + 1], copy, *records[k + 1 :], reacting=True)
    assert_same(whole, halves)


@given(st.lists(row_records, min_size=1, max_size=6))
def test_run_metrics_agrees_with_row_metrics(rows: list[list[Record]]) -> None:
    run = record_run(rows)
    for i, whole in enumerate(run_metrics(run, reacting=True)):
        one = row_metrics(
            run.row_series(i),
            start=0.0,
            min_price=MIN,
            max_price=MAX,
            unit_cost=COST,
            views_per_s=VIEWS,
            reacting=True,
        )
        assert_same(whole, one)


@given(row_records)
def test_the_tighter_band_is_never_reached_first(records: list[Record]) -> None:
    m = metrics(*records, reacting=True)
    if m.t_998 is not None:
        assert m.t_99 is not None and m.t_99 <= m.t_998
    for loose, tight in zip(m.reconvergence_99, m.reconvergence_998, strict=True):
        if tight is not None:
            assert loose is not None and loose <= tight
    assert 0.0 <= m.minutes_without_buybox <= END / 60 + 1e-9
    assert 0.0 <= m.share_at_min <= 1.0 + 1e-12


def per_second(records: Sequence[Record]) -> dict[str, np.ndarray]:
    """A brute-force reading of a row on a one-second grid (record times here are whole seconds)."""
    grid = {"price": np.full(int(END), NOT_LIVE), "best": np.full(int(END), -2), "share": np.zeros(int(END))}
    for t, price, best, share, *_ in sorted(records, key=lambda r: r[0]):  # stable: later records win
        since = max(int(t), 0)
        grid["price"][since:], grid["best"][since:], grid["share"][since:] = price, best, share
    return grid


def in_band_per_second(grid: dict[str, np.ndarray], alpha: float) -> np.ndarray:
    price, best = grid["price"], grid["best"]
    return (grid["share"] >= 0.5) & (price >= 0) & (best >= 0) & (price <= best) & (price >= alpha * best - 1e-9)


def first_hold(holds: np.ndarray, t0: int, t1: int, window: float, wall: float) -> float | None:
    """First whole second t in [t0, t1) from which ``holds`` is true until min(t + window, wall), by brute force."""
    seconds = np.arange(len(holds))
    failing = np.where(holds, len(holds), seconds)
    first_failure_from = np.minimum.accumulate(failing[::-1])[::-1]
    t = seconds[t0:t1]
    until = np.minimum(t + window, wall)
    ok = (until - t >= 60) & (until <= END) & (first_failure_from[t] >= until)
    return float(t[ok][0]) if ok.any() else None


def moves(records: Sequence[Record]) -> list[float]:
    """Instants at which a competitor move changed p*: the last record of an instant holds, any move counts."""
    instants: dict[float, tuple[int, bool]] = {}
    for t, _, best, _, *move in sorted(records, key=lambda r: r[0]):
        instants[t] = (best, instants.get(t, (best, False))[1] or bool(move and move[0]))
    times = sorted(instants)
    return [b for a, b in itertools.pairwise(times) if instants[b][1] and instants[b][0] != instants[a][0]]


@given(row_records)
def test_first_passage_times_match_a_brute_force_scan(records: list[Record]) -> None:
    m = metrics(*records, reacting=True)
    grid = per_second(records)
    share_before = np.concatenate(([0.0], np.cumsum(grid["share"])))

    def share_integral(a: float, b: float) -> float:
        def upto(x: float) -> float:
            k = min(int(x), int(END) - 1)
            return float(share_before[k] + grid["share"][k] * (x - k))

        return upto(b) - upto(a)

    t = np.arange(int(END - 600) + 1)
    wins = t[(grid["share"][t] >= 0.5) & (share_before[t + 600] - share_before[t] >= 300)]
    if m.t_buybox is None:
        assert len(wins) == 0
    else:
        assert grid["share"][int(m.t_buybox)] >= 0.5
        assert share_integral(m.t_buybox, m.t_buybox + 600) >= 300 - 1e-6
        assert len(wins) == 0 or m.t_buybox <= wins[0] + 1e-6
    for alpha, t_alpha, again in ((0.99, m.t_99, m.reconvergence_99), (0.998, m.t_998, m.reconvergence_998)):
        holds = in_band_per_second(grid, alpha)
        assert t_alpha == first_hold(holds, 0, int(END), 1800, math.inf)
        at = [t for t in moves(records) if 0 <= t < END]
        expected = []
        for move, wall in zip(at, [*at[1:], math.inf][: len(at)], strict=True):
            reached = first_hold(holds, int(move), int(min(wall, END)), 1800, wall)
            expected.append(None if reached is None else reached - move)
        assert again == tuple(expected)


# --------------------------------------------------------------------------------------------------------------
# Aggregates with censoring


def test_median_is_unknown_when_half_or_more_are_censored() -> None:
    assert median([10.0, 20.0, None, None]) is None
    assert median([10.0, 20.0, 30.0, None]) == 25.0


def test_a_quantile_in_the_censored_tail_is_unknown() -> None:
    assert quantile([*map(float, range(1, 10)), None], 0.9) is None
    assert quantile(list(map(float, range(1, 11))), 0.9) == pytest.approx(9.1)


def test_times_beyond_the_horizon_are_censored() -> None:
    assert median([100.0, 90_000.0, 90_000.0]) is None
    assert median([100.0, 90_000.0, 90_000.0], horizon_s=100_000.0) == 90_000.0


def test_probability_within_a_limit_counts_censored_runs_as_failures() -> None:
    assert prob_within([100.0, 2000.0, None], 1800.0) == pytest.approx(1 / 3)
    assert prob_within([], 1800.0) is None


def test_bootstrap_ci_contains_the_median_and_is_deterministic_for_a_seed() -> None:
    times = np.random.default_rng(7).exponential(600.0, 300).tolist()
    low, high = bootstrap_ci(times, 0.5, seed=1)
    assert low is not None and high is not None
    assert low < np.median(times) < high
    assert bootstrap_ci(times, 0.5, seed=1) == (low, high)
    assert bootstrap_ci(times, 0.5, seed=2) != (low, high)


def test_bootstrap_ci_is_unbounded_above_when_censoring_dominates() -> None:
    times: list[float | None] = [100.0 * i for i in range(45)] + [None] * 55
    low, high = bootstrap_ci(times, 0.5, seed=0, n_boot=200)
    assert high is None
    assert low is not None


def winnable(t_buybox: float | None, profit: float = 0.0) -> RowMetrics:
    return RowMetrics(t_buybox, t_buybox, t_buybox, (), (), profit, 0.0, 0.0, 0, False, 0.0)


def test_the_summary_leaves_unwinnable_rows_out_of_time_statistics() -> None:
    rows = [winnable(100.0), winnable(300.0), replace(winnable(None), unwinnable=True, unwinnable_s=END)]
    s = summarize(rows, oracle_profit=None, updates_sent=12, n_boot=100)
    assert (s.n, s.unwinnable) == (3, 1)
    assert s.median_t_buybox_s == 200.0
    assert s.p_buybox_30min == 1.0
    assert s.unwinnable_s_mean == pytest.approx(END / 3)
    assert s.updates_sent == 12


def test_the_summary_reports_both_profit_ratios() -> None:
    rows = [winnable(0.0, profit=10.0), winnable(0.0, profit=30.0)]
    s = summarize(rows, oracle_profit=np.array([20.0, 40.0]), updates_sent=None, n_boot=100)
    assert s.profit_ratio == pytest.approx(40 / 60)
    assert s.profit_ratio_median == pytest.approx(0.625)


def test_the_summary_pools_reconvergence_over_moves_and_is_json_ready() -> None:
    rows = [replace(winnable(0.0), reconvergence_99=(60.0, None), reconvergence_998=(60.0, None))]
    rows.append(replace(winnable(0.0), reconvergence_99=(120.0,), reconvergence_998=(None,)))
    s = summarize(rows, oracle_profit=None, updates_sent=None, n_boot=100)
    assert s.n_moves == 3
    assert s.median_reconvergence_99_s == 120.0
    assert s.median_reconvergence_998_s is None
    assert json.loads(json.dumps(s.as_dict()))["median_t_99_s_ci"] == [0.0, 0.0]


# --------------------------------------------------------------------------------------------------------------
# Information floor


def test_probes_needed_match_the_lower_bound() -> None:
    assert probes_needed(2.0, 0.99) == 7
    assert probes_needed(2.0, 0.998) == 9
    assert probes_needed(1.005, 0.99) == 0


def test_the_information_floor_is_one_round_trip_with_a_direct_signal_and_n0_without() -> None:
    round_trip = 120.0 + 60.0 + 45.0
    floor = {
        signal: information_floor_s(r=2.0, alpha=0.99, submit_to_live_median_s=120.0, direct_signal=signal)
        for signal in (True, False)
    }
    assert floor[True] == round_trip
    assert floor[False] == 7 * round_trip
    assert math.isclose(
        information_floor_s(r=2.0, alpha=0.998, submit_to_live_median_s=300.0, direct_signal=False),
        9 * (300.0 + 60.0 + 45.0),
    )
