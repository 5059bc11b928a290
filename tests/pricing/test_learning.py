"""Learning Amazon's Buy Box weights from converged offers (engine.pricing.learning)."""

import random

from hypothesis import given
from hypothesis import strategies as st

from engine.model import CompetitorOffer, Fulfilment, OurListing
from engine.pricing.learning import WeightLearner, WeightSample
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
