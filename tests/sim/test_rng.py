"""Counter-based random numbers: pure functions of (seed, key, purpose, counter)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.rng import Purpose, lognormal_quantile, normal, uniform


def test_uniforms_are_in_the_open_unit_interval_and_reproducible() -> None:
    keys = np.arange(100_000)
    u = uniform(5, keys, Purpose.SALE, np.zeros(100_000, np.int64))
    assert u.min() > 0.0 and u.max() < 1.0
    assert u.mean() == pytest.approx(0.5, abs=0.005)
    np.testing.assert_array_equal(u, uniform(5, keys, Purpose.SALE, np.zeros(100_000, np.int64)))


def test_a_draw_does_not_depend_on_which_other_draws_are_made() -> None:
    counters = np.array([3, 0, 7])
    batch = uniform(1, np.array([10, 11, 12]), Purpose.ROTATION, counters)
    alone = [uniform(1, key, Purpose.ROTATION, c)[0] for key, c in zip([10, 11, 12], counters, strict=True)]
    np.testing.assert_array_equal(batch, alone)


def test_streams_are_independent_across_purposes_keys_counters_and_seeds() -> None:
    n = 50_000
    keys = np.arange(n)
    base = uniform(1, keys, Purpose.SALE, np.zeros(n, np.int64))
    others = [
        uniform(1, keys, Purpose.PAGE_VIEWS, np.zeros(n, np.int64)),
        uniform(1, keys + 1, Purpose.SALE, np.zeros(n, np.int64)),
        uniform(1, keys, Purpose.SALE, np.ones(n, np.int64)),
        uniform(2, keys, Purpose.SALE, np.zeros(n, np.int64)),
        uniform(1, keys, Purpose.SALE, np.zeros(n, np.int64), lane=1),
    ]
    for other in others:
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.02


def test_normals_are_standard() -> None:
    z = normal(3, np.arange(200_000), Purpose.FOEP_NOISE, np.zeros(200_000, np.int64))
    assert z.mean() == pytest.approx(0.0, abs=0.01)
    assert z.std() == pytest.approx(1.0, abs=0.01)
    assert np.mean(z > 1.6448536269514722) == pytest.approx(0.05, abs=0.003)


def test_lognormal_from_a_median_and_an_upper_quantile() -> None:
    z = normal(4, np.arange(200_000), Purpose.SUBMIT_LATENCY, np.zeros(200_000, np.int64))
    values = lognormal_quantile(120.0, z, p90=5.0, cap=1200.0)
    assert np.median(values) == pytest.approx(120.0, rel=0.02)
    assert np.quantile(values, 0.9) == pytest.approx(600.0, rel=0.03)
    assert values.max() == 1200.0
    with pytest.raises(ValueError, match="exactly one"):
        lognormal_quantile(1.0, z)


def test_no_stream_key_collides_with_the_seed_and_purpose_head() -> None:
    # A key equal to the purpose once hashed like the (seed, purpose) head: its base was 0 and every draw was 0.
    import numpy as np

    from sim.rng import Purpose, stream_base, uniform_from

    for seed in (0, 1, 2, 7):
        for purpose in Purpose:
            draws = uniform_from(stream_base(seed, np.arange(64), purpose), np.arange(16)[:, None])
            assert draws.min() > 1e-12
