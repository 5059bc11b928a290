"""Learning Amazon's Buy Box weights from the offers that have converged on one marketplace.

Amazon weighs fulfilment, Amazon as the seller, feedback, handling time and incumbency the same way for every
offer on a marketplace. So once an offer's search has pinned down its hold threshold, that threshold is a
measurement of the weights, for everyone: the observed offset y = ln(T / L_rival) is the weights dotted with the
offer's features against its rival, plus noise as wide as the search's final bracket. A Bayesian linear regression
over these measurements, starting from the prior's weights and their ±50% uncertainty, gives better weights and
their covariance; the prior built from it narrows every other offer's bracket, so the offers still searching need
fewer probes, and a new competitor or a re-convergence starts from what the marketplace has taught.

Pure: no I/O, no clock. The marketplace runtime owns one learner and hands its current prior to the offers, and
stores what it has learned (`WeightLearner.snapshot`, plain data with no times in it) to restore it after a restart.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence

import msgspec

from engine.pricing.scoring import FEATURES, SPREAD, Offset, ScorePrior

__all__ = ["LearnerState", "Lesson", "SwingSample", "TemperatureSample", "WeightLearner", "WeightSample"]

N = len(FEATURES)


class WeightSample(msgspec.Struct, frozen=True, gc=False):
    """One converged offer: its features against the binding rival, the offset it held at, and how sure."""

    features: tuple[float, ...]
    offset: float
    sd: float


class SwingSample(msgspec.Struct, frozen=True, gc=False):
    """One offer that took the Buy Box from an incumbent: how far (ln) its threshold rose once it held, from FOEP
    read while it challenged to FOEP Amazon made with it featured. The rise is the incumbency it gained plus the
    incumbent's it took away, which a converged offer's offset cannot show (Amazon's own is not a weight)."""

    amazon: bool  # the incumbent was Amazon retail
    swing: float


class TemperatureSample(msgspec.Struct, frozen=True, gc=False):
    """Two readings of one offer's Buy Box share at two prices, the market unchanged between them: the share is
    logistic in ln price around the threshold T, logit(share) = ln(T / X) / temperature, so the pair gives the
    temperature, the same for every offer of a marketplace."""

    temperature: float


Lesson = WeightSample | SwingSample | TemperatureSample


class LearnerState(msgspec.Struct, frozen=True, gc=False):
    """All a `WeightLearner` has learned, to store and restore exactly.

    The normal equations (``precision`` row-major over FEATURES, and ``rhs``) sum every weight sample ever taken,
    which the bounded ``recent`` no longer holds, and they start from the base prior's weights as they were when
    learning began.
    """

    precision: tuple[float, ...]
    rhs: tuple[float, ...]
    recent: tuple[WeightSample, ...]
    seller_swings: tuple[float, ...]
    amazon_swings: tuple[float, ...]
    temperatures: tuple[float, ...]
    samples: int


class WeightLearner:
    """Accumulates the regression's normal equations; `prior` solves them (5 × 5, cheap)."""

    def __init__(self, base: ScorePrior, *, model_noise: float = 0.001, keep: int = 1000, min_swings: int = 3) -> None:
        self.base = base
        self.model_noise = model_noise
        self.min_swings = min_swings
        self._recent: deque[WeightSample] = deque(maxlen=keep)
        self._swings: dict[bool, deque[float]] = {False: deque(maxlen=keep), True: deque(maxlen=keep)}
        self._temperatures: deque[float] = deque(maxlen=keep)
        mean = base.weights()
        # Uniform within ±uncertainty of each weight: standard deviation uncertainty · |w| / √3.
        self._precision = [[0.0] * N for _ in range(N)]
        self._rhs = [0.0] * N
        for k in range(N):
            sd = max(base.uncertainty * abs(mean[k]) / math.sqrt(3.0), 1e-6)
            self._precision[k][k] = 1.0 / sd**2
            self._rhs[k] = mean[k] / sd**2
        self.samples = 0

    @classmethod
    def restore(
        cls, base: ScorePrior, state: LearnerState, *, model_noise: float = 0.001, keep: int = 1000, min_swings: int = 3
    ) -> WeightLearner:
        """A learner that goes on from ``state`` as the one that took it would: the same prior, and the same one
        after the same further lessons (given the same ``base`` and settings).

        A ``keep`` smaller than the snapshot's keeps its newest samples. Raises ValueError for a snapshot of
        another set of features (another version's FEATURES): its normal equations do not fit these.
        """
        if len(state.rhs) != N or len(state.precision) != N * N:
            raise ValueError(f"a learner's snapshot over {len(state.rhs)} features, not {N}: not restored")
        learner = cls(base, model_noise=model_noise, keep=keep, min_swings=min_swings)
        learner._precision = [list(state.precision[i * N : (i + 1) * N]) for i in range(N)]
        learner._rhs = list(state.rhs)
        learner._recent.extend(state.recent)
        learner._swings[False].extend(state.seller_swings)
        learner._swings[True].extend(state.amazon_swings)
        learner._temperatures.extend(state.temperatures)
        learner.samples = state.samples
        return learner

    def snapshot(self) -> LearnerState:
        """What `restore` needs to go on from here."""
        return LearnerState(
            precision=tuple(v for row in self._precision for v in row),
            rhs=tuple(self._rhs),
            recent=tuple(self._recent),
            seller_swings=tuple(self._swings[False]),
            amazon_swings=tuple(self._swings[True]),
            temperatures=tuple(self._temperatures),
            samples=self.samples,
        )

    def add(self, sample: Lesson) -> None:
        if isinstance(sample, TemperatureSample):
            if math.isfinite(sample.temperature) and sample.temperature > 0.0:
                self._temperatures.append(sample.temperature)
                self.samples += 1
            return
        if isinstance(sample, SwingSample):
            if math.isfinite(sample.swing):
                self._swings[sample.amazon].append(sample.swing)
                self.samples += 1
            return
        x = sample.features
        if len(x) != N or not all(math.isfinite(v) for v in (*x, sample.offset, sample.sd)):
            return
        weight = 1.0 / (sample.sd**2 + self.model_noise**2)
        for i in range(N):
            self._rhs[i] += weight * x[i] * sample.offset
            for j in range(N):
                self._precision[i][j] += weight * x[i] * x[j]
        self._recent.append(sample)
        self.samples += 1

    def prior(self) -> ScorePrior:
        """The base prior with the posterior's weights and covariance, and the incumbency swings learned."""
        prior = self.base
        if self._recent:
            covariance = _inverse(self._precision)
            mean = [sum(covariance[i][j] * self._rhs[j] for j in range(N)) for i in range(N)]
            prior = prior.learned(mean, [v for row in covariance for v in row], self._stray(mean))
        if self._temperatures:
            temperature = statistics.median(self._temperatures)
            n = len(self._temperatures)
            prior = msgspec.structs.replace(prior, temperature=temperature, temperature_samples=n)
        swings = {amazon: self._swing(values) for amazon, values in self._swings.items()}
        if swings[False] is None and swings[True] is None:
            return prior
        return msgspec.structs.replace(prior, seller_swing=swings[False], amazon_swing=swings[True])

    def _swing(self, values: Sequence[float]) -> Offset | None:
        """The swings' median, give or take two robust standard deviations (FOEP's error is in each)."""
        if len(values) < self.min_swings:
            return None
        centre, spread = _robust(values)
        return Offset(centre, SPREAD * max(spread, self.model_noise))

    def _stray(self, mean: Sequence[float]) -> float:
        """A robust spread of recent offsets around the fitted weights (1.4826 × median absolute deviation).

        Offers whose threshold the linear model misses (several competitors close together, Amazon's own rules)
        must keep a bracket wide enough to find it; at least ``model_noise``.
        """
        residuals = [s.offset - math.fsum(w * v for w, v in zip(mean, s.features, strict=True)) for s in self._recent]
        if len(residuals) < 2:
            return self.base.uncertainty * abs(self.base.incumbent)
        return max(_robust(residuals)[1], self.model_noise)


def _robust(values: Sequence[float]) -> tuple[float, float]:
    """The median, and a spread that a few wild values do not move: 1.4826 × the median absolute deviation (the
    standard deviation, were the values normal)."""
    centre = statistics.median(values)
    return centre, 1.4826 * statistics.median(abs(v - centre) for v in values)


def _inverse(matrix: Sequence[Sequence[float]]) -> list[list[float]]:
    """Gauss-Jordan inverse of a small symmetric positive definite matrix."""
    n = len(matrix)
    work = [[*row, *(1.0 if i == j else 0.0 for j in range(n))] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(work[r][col]))
        work[col], work[pivot] = work[pivot], work[col]
        head = work[col][col]
        work[col] = [v / head for v in work[col]]
        for r in range(n):
            if r != col and work[r][col] != 0.0:
                factor = work[r][col]
                work[r] = [a - factor * b for a, b in zip(work[r], work[col], strict=True)]
    return [row[n:] for row in work]
