"""The Buy Box formula an engine does not know: each seed draws it from a family wider than the engine's prior,
with terms the prior does not model at all."""

from __future__ import annotations

import numpy as np

from bench.convergence import STRATEGIES, _strategy
from engine.pricing.scoring import FEATURES, ScorePrior
from engine.pricing.search import EngineSearch
from sim.buybox import DRAWN, BuyBoxParams, draw_coefficients
from sim.scenarios import build_market
from sim.segments import hidden_normals

SEEDS = range(1, 401)


def test_each_seeds_coefficients_reach_a_hundred_percent_either_side_of_their_defaults() -> None:
    """Every coefficient ranges over all but 0 (the factor absent) to twice its default (reference/buybox.md's
    ±100%); the engine's prior allows ±50% of the same defaults, so almost every seed lies outside it somewhere."""
    params = BuyBoxParams()
    drawn = np.array([[getattr(draw_coefficients(seed, params), name) for name in DRAWN] for seed in SEEDS])
    defaults = np.array([getattr(params, name) for name in DRAWN])
    factor = drawn / defaults
    assert (factor >= 0).all() and (factor <= 2.0).all()
    assert (factor.min(axis=0) < 0.05).all() and (factor.max(axis=0) > 1.95).all()
    assert ((factor < 0.5) | (factor > 1.5)).mean(axis=0).min() > 0.4  # half of each factor's draws: outside
    assert ((factor > 0) & (factor < 0.5)).any(axis=0).all()
    prior = ScorePrior()
    centres = np.array(
        [prior.fba, prior.amazon, prior.feedback, prior.handling_day, prior.incumbent, prior.amazon_incumbent]
    )
    public = drawn[:, :6]
    inside = (public >= centres * (1 - prior.uncertainty)) & (public <= centres * (1 + prior.uncertainty))
    assert inside.all(axis=1).mean() < 0.05  # almost no seed's formula lies wholly inside the prior's bracket


def test_the_hidden_terms_are_present_and_outside_the_priors_factors() -> None:
    """Per seller a hidden quality, per (segment, seller) a regional term, and a Prime weight in Prime members'
    segments: none of them is a factor of the engine's prior, and the market's scores carry them."""
    assert not {"quality", "prime", "regional", "segment"} & set(FEATURES)
    hidden = [draw_coefficients(seed, BuyBoxParams()).quality_sd for seed in SEEDS]
    assert np.mean(np.array(hidden) > 0) > 0.8
    market = build_market("S1b", 7, 300)
    beyond = market.segment_bonus - market.static_bonus[:, None, :]
    assert np.std(beyond) > 0.001
    # The quality term is the seller's in every segment: what differs between two segments of one membership is the
    # regional term alone.
    prime = np.flatnonzero(market.segments.prime)
    between = beyond[:, prime[0]] - beyond[:, prime[1]]
    assert 0 < np.std(between) < np.std(beyond)


def test_the_score_is_the_formula_written_out() -> None:
    """Each offer's score terms per segment, from the seed's coefficients, the offers' attributes and the hidden
    draws: γ_fba·FBA + γ_amz·AMZ + γ_fb·(fb − 0.95)/0.05 − γ_days·(days − 2) + γ_prime·Prime·PrimeSegment
    + σ_q·z_q + σ_r·z_r."""
    for seed in (3, 9):
        market = build_market("S1b", seed, 50)
        coef = market.coef
        z_quality, z_regional = hidden_normals(market.spec.seed, market.spec.stream_key, market.amz, 4)
        prime_offer = market.fba | market.amz
        public = (
            coef.gamma_fba * market.fba
            + coef.gamma_amz * market.amz
            + coef.gamma_feedback * (market.feedback - 0.95) / 0.05
            - coef.gamma_days * (market.handling_days - 2)
        )
        expected = (
            public[:, None, :]
            + coef.gamma_prime * (prime_offer[:, None, :] & market.segments.prime[None, :, None])
            + coef.quality_sd * z_quality[:, None, :]
            + coef.regional_sd * z_regional
        )
        np.testing.assert_allclose(market.segment_bonus, expected, rtol=0, atol=1e-15)
        # Amazon retail is one seller in a seed, and so are we: one quality each across the items.
        amazon = market.amz
        assert len(np.unique(z_quality[amazon])) == 1 and len(np.unique(z_quality[:, 0])) == 1


def test_the_benchmark_reports_the_engine_with_a_flat_prior() -> None:
    """``engine-flat``: the engine's search knowing no factor (every weight 0 with no uncertainty, so the search
    bisects over what it observes instead of a bracket from the prior)."""
    assert "engine-flat" in STRATEGIES
    flat = _strategy("engine-flat")
    assert isinstance(flat, EngineSearch) and flat.score_prior == ScorePrior.flat()
    assert _strategy("engine").score_prior == ScorePrior()
