"""Learning Amazon's Buy Box weights from converged offers (engine.pricing.learning)."""

import random

from hypothesis import given
from hypothesis import strategies as st

from engine.model import CompetitorOffer, Fulfilment, OurListing
from engine.pricing.learning import SwingSample, TemperatureSample, WeightLearner, WeightSample
from engine.pricing.scoring import ScorePrior

TRUE = (0.041, 0.013, 0.0031, 0.0066, 0.0029)


def _samples(n: int, seed: int, noise: float = 0.0005) -> list[WeightSample]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ours = OurListing(1000, fulfilment=rng.choice(list(Fulfilment)), feedback_pct=rng.randint(85, 100))
        rival = CompetitorOffer(
            "R",
            1000,
            fulfilment=rng.choice(list(Fulfilment)),
            is_amazon=rng.random() < 0.2,
            feedback_pct=rng.randint(80, 100),
            handling_max_hours=24 * rng.randint(1, 4),
        )
        x = ScorePrior.features(ours, rival)
        offset = sum(w * v for w, v in zip(TRUE, x, strict=True)) + rng.gauss(0.0, noise)
        out.append(WeightSample(x, offset, noise))
    return out


@given(seed=st.integers(0, 1000))
def test_learned_weights_approach_amazons_and_narrow_the_bracket(seed: int) -> None:
    learner = WeightLearner(ScorePrior())
    for sample in _samples(300, seed):
        learner.add(sample)
    learned = learner.prior()
    for got, want in zip(learned.weights(), TRUE, strict=True):
        assert abs(got - want) < 0.001
    ours, rival = OurListing(1000, feedback_pct=95), CompetitorOffer("R", 1000, fulfilment=Fulfilment.AMAZON)
    assert learned.hold_offset(ours, rival).half_width < ScorePrior().hold_offset(ours, rival).half_width / 3


def test_without_samples_the_prior_is_unchanged() -> None:
    assert WeightLearner(ScorePrior()).prior() == ScorePrior()


def test_a_sample_that_is_not_a_number_teaches_nothing() -> None:
    learner = WeightLearner(ScorePrior())
    learner.add(WeightSample((1.0, 0.0, 0.0, 0.0, 1.0), float("nan"), 0.001))
    learner.add(WeightSample((1.0, 0.0), 0.01, 0.001))
    assert learner.samples == 0


@given(seed=st.integers(0, 1000), swing=st.floats(0.015, 0.045))
def test_swings_teach_how_far_the_threshold_rises_once_we_hold(seed: int, swing: float) -> None:
    # Each sample is two FOEP readings apart, each off by 0.3%.
    rng = random.Random(seed)
    learner = WeightLearner(ScorePrior())
    base = ScorePrior().challenge_gap(True, True)
    for _ in range(learner.min_swings - 1):
        learner.add(SwingSample(True, swing + rng.gauss(0.0, 0.0042)))
    assert learner.prior().challenge_gap(True, True) == base
    for _ in range(40):
        learner.add(SwingSample(True, swing + rng.gauss(0.0, 0.0042)))
    learned = learner.prior()
    gap = learned.challenge_gap(True, True)
    assert abs(gap.center - swing) < 0.003
    assert gap.center - gap.half_width < swing < gap.center + gap.half_width
    assert gap.half_width < 2 * 2 * 0.0042  # two robust standard deviations of the readings' error, near enough
    # Against a seller nothing was learned: the prior's incumbency weights still decide.
    assert learned.challenge_gap(True, False) == ScorePrior().challenge_gap(True, False)
    assert learned.weights() == ScorePrior().weights()


@given(seed=st.integers(0, 1000))
def test_a_few_stale_readings_do_not_move_the_learned_swing(seed: int) -> None:
    rng = random.Random(seed)
    learner = WeightLearner(ScorePrior())
    for k in range(50):
        stale = k % 10 == 0  # FOEP read before Amazon recomputed it for the challenger: no rise at all
        learner.add(SwingSample(False, (0.0 if stale else 0.006) + rng.gauss(0.0, 0.0042)))
    assert abs(learner.prior().challenge_gap(True, False).center - 0.006) < 0.003


def test_a_swing_that_is_not_a_number_teaches_nothing() -> None:
    learner = WeightLearner(ScorePrior())
    learner.add(SwingSample(False, float("inf")))
    assert learner.samples == 0


def test_pairs_of_share_readings_teach_the_temperature_robustly() -> None:
    learner = WeightLearner(ScorePrior())
    assert learner.prior().temperature is None
    for value in (0.0049, 0.0051, 0.0050, 0.02, 0.0052):  # one pair blurred by a stale reading
        learner.add(TemperatureSample(value))
    prior = learner.prior()
    assert prior.temperature is not None and abs(prior.temperature - 0.0051) < 0.0002
    assert prior.temperature_samples == 5


def test_a_temperature_that_is_not_a_positive_number_teaches_nothing() -> None:
    learner = WeightLearner(ScorePrior())
    for value in (float("nan"), float("inf"), -0.004, 0.0):
        learner.add(TemperatureSample(value))
    assert learner.samples == 0 and learner.prior().temperature is None
