"""Scenarios S1a–S8 build and run, and a run is determined by (scenario, seed, n_rows, params)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.scenarios import SCENARIOS, RunParams, build_market, build_spec
from sim.speed import measure


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_builds_and_runs(name: str) -> None:
    market = build_market(name, 2, 40)
    market.advance_to(1800.0)
    traj = market.finish(3600.0)
    assert traj.n_rows == 40 and len(traj.t) >= 40
    assert market.events > 0
    assert set(np.unique(traj.row)) == set(range(40))
    scenario = SCENARIOS[name]
    assert scenario.reacting == (name not in ("S1a", "S1b"))
    assert market.k == len(scenario.roles)


def test_static_scenarios_keep_competitor_prices() -> None:
    market = build_market("S1b", 3, 50)
    before = market.price[:, 1:].copy()
    market.advance_to(6 * 3600.0)
    np.testing.assert_array_equal(market.price[:, 1:], before)


def test_a_row_does_not_depend_on_how_many_rows_the_run_has() -> None:
    small = build_spec("S5", 9, 10)
    large = build_spec("S5", 9, 50)
    for name in ("min_price", "max_price", "unit_cost", "our_ship", "ref_price", "views_per_s"):
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name)[:10])
    np.testing.assert_array_equal(small.competitors.price, large.competitors.price[:10])


def test_bounds_usually_contain_p_star_but_not_always() -> None:
    market = build_market("S1b", 5, 3000)
    unwinnable = np.mean(market.p_star < 0)
    # S1b's Amazon retail and FBA seller are Prime offers, which Prime members' segments (60-85% of the views)
    # weigh more: a merchant-fulfilled offer of ours must go further below them, and sometimes its min is not enough.
    assert 0.003 < unwinnable < 0.12
    assert np.all(market.spec.unit_cost < market.spec.min_price)
    ratio = market.spec.max_price / market.spec.min_price
    assert ratio.min() > 1.75 and ratio.max() < 2.25


def test_run_params_choose_the_cell() -> None:
    params = RunParams.cell(delay_s=300.0, tau=0.0, start="min")
    assert params.latency.delay_s == 300.0 and params.buybox.tau == 0.0
    market = build_market("S2", 1, 20, params)
    np.testing.assert_array_equal(market.price[:, 0], market.spec.min_price)
    randomly = build_spec("S2", 1, 200, RunParams(start="random"))
    assert np.all((randomly.start_price >= randomly.min_price) & (randomly.start_price <= randomly.max_price))
    assert len(np.unique(randomly.start_price - randomly.min_price)) > 100


def test_seeds_draw_their_own_coefficients_within_the_family() -> None:
    """Each γ within ±150% of its default, never below 0 (tests/sim/test_formula.py checks the family's reach)."""
    gammas = np.array([[*vars_of(build_market("S1a", seed, 1).coef)] for seed in range(40)])
    defaults = np.array([0.03, 0.02, 0.005, 0.005, 0.005, 0.02])
    assert np.all(gammas >= 0.0) and np.all(gammas <= 2.5 * defaults + 1e-12)
    assert np.all(gammas.std(axis=0) > 0.3 * defaults)


def vars_of(coef: object) -> list[float]:
    names = ("gamma_fba", "gamma_amz", "gamma_feedback", "gamma_days", "gamma_inc_seller", "gamma_inc_amazon")
    return [getattr(coef, n) for n in names]


def test_speed_measurement_reports_events() -> None:
    report = measure(200, 0.25, scenario="S2", step_s=5.0, policy="nudge")
    assert report.events > 0 and report.submits > 0 and report.events_per_s > 0
    assert "events/s" in str(report)
