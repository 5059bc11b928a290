"""A prior on how far above or below a competitor our offer can be priced and still hold the Buy Box.

Amazon does not publish its Buy Box formula, but it names what counts after eligibility: landed price, fulfilment
by Amazon, Amazon as the seller, feedback, handling time, and the incumbent's advantage. Scoring those in log-price
terms gives, for each competitor j, an offset e_j such that we hold the Buy Box against j while our landed price
is at most ``L_j · exp(e_j)``. The weights below are a prior, not a belief that Amazon uses them: each is assumed
uncertain by ``uncertainty`` (±50%), and the search (`engine.pricing.search`) learns the real offset of each
offer from what it observes. With no prior at all (`ScorePrior.flat`) the search falls back to bisection over
[min, max], which the tests hold to the information bound.
"""

from __future__ import annotations

import math

import msgspec

from engine.model import CompetitorOffer, Fulfilment, OurListing

__all__ = ["Offset", "ScorePrior"]

_NEUTRAL_FEEDBACK = 0.95


class Offset(msgspec.Struct, frozen=True, gc=False):
    """A log-price offset with its uncertainty: the truth lies within ``center ± half_width`` under the prior."""

    center: float
    half_width: float


class ScorePrior(msgspec.Struct, frozen=True, gc=False):
    """Prior weights of the Buy Box factors, in log-price units (0.03 ≈ worth 3% of price)."""

    fba: float = 0.03
    amazon: float = 0.02
    feedback: float = 0.005  # per 5 points of positive feedback
    handling_day: float = 0.005
    incumbent: float = 0.005
    amazon_incumbent: float = 0.02
    uncertainty: float = 0.5

    @classmethod
    def flat(cls) -> ScorePrior:
        """No knowledge of the factors: every competitor's offset is zero and the search must bisect."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def hold_offset(self, ours: OurListing, rival: CompetitorOffer) -> Offset:
        """How far our landed price may exceed ``rival``'s (in log terms) while we hold the Buy Box against it."""
        terms = (
            self.fba * (_fba(ours.fulfilment) - _fba(rival.fulfilment)),
            -self.amazon * rival.is_amazon,
            self.feedback * (_feedback(ours.feedback_pct) - _feedback(rival.feedback_pct)) / 0.05,
            -self.handling_day * (ours.handling_max_hours - rival.handling_max_hours) / 24.0,
            self.incumbent,
        )
        return Offset(math.fsum(terms), self.uncertainty * math.fsum(abs(t) for t in terms))

    def challenge_gap(self, rival_is_incumbent: bool, rival_is_amazon: bool) -> Offset:
        """How much lower than the hold threshold a challenger must price to take the Buy Box.

        A challenger lacks its own incumbency bonus, and faces the rival's if the rival holds the Buy Box.
        """
        gap = self.incumbent
        if rival_is_incumbent:
            gap += self.amazon_incumbent if rival_is_amazon else self.incumbent
        return Offset(gap, self.uncertainty * gap)


def _fba(fulfilment: Fulfilment) -> float:
    return 1.0 if fulfilment is Fulfilment.AMAZON else 0.0


def _feedback(pct: int | None) -> float:
    return _NEUTRAL_FEEDBACK if pct is None else pct / 100.0
