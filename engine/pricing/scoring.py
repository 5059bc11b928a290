"""A prior on how far above or below a competitor our offer can be priced and still hold the Buy Box.

Amazon does not publish its Buy Box formula, but it names what counts after eligibility: landed price, fulfilment
by Amazon, Amazon as the seller, feedback, handling time, and the incumbent's advantage. Scoring those in log-price
terms gives, for each competitor j, an offset e_j such that we hold the Buy Box against j while our landed price
is at most ``L_j · exp(e_j)``. The weights below are a prior, not a belief that Amazon uses them: each is assumed
uncertain by ``uncertainty`` (±50%), and the search (`engine.pricing.search`) learns the real offset of each
offer from what it observes.

Where each number comes from. Which factors count is public (Amazon's Seller Central help on the featured offer;
the FTC's 2023 complaint against Amazon; The Markup's 2021 study of Amazon's own offers); how much each weighs is
not published anywhere, so every magnitude here is the engine's own order-of-magnitude assumption, written in
"per cent of price" because that is how sellers compare offers:

- ``fba`` 0.03: Amazon's help says an FBA offer can be featured while priced above a merchant-fulfilled one;
  "a few per cent" is the premium sellers commonly report, and 3% is that guess.
- ``amazon`` 0.02: Amazon retail is among the factors the FTC complaint and The Markup describe as favoured;
  no size is given, so it is put below fulfilment's.
- ``feedback`` 0.005 per 5 points of positive feedback and ``handling_day`` 0.005 per day: named by Amazon as
  factors, with no size; half a per cent per step keeps them smaller than price and fulfilment, as the help's
  ordering of the factors suggests.
- ``incumbent`` 0.005 and ``amazon_incumbent`` 0.02: a Buy Box, once held, tends to stay (The Markup: 98% of
  Amazon retail's Buy Boxes still held 12 weeks later), so the holder gets an edge, Amazon's larger.
- ``uncertainty`` 0.5: the engine's statement that each magnitude may be off by half. It is a width for the
  search's first bracket, not a bound on the truth: Amazon's real formula (and the simulator's, which draws each
  seed's coefficients far wider, lets a factor vanish, and adds terms no source names: a hidden quality per seller,
  regional differences, Prime members' segments) may lie outside it, and the search's verdicts, FOEP and the
  marketplace's learned weights (`engine.pricing.learning`) correct it.

These happen to be the defaults of the simulator's public factors (reference/buybox.md took them from the same
reading), which is why the simulator does not draw around them within this prior: its family is wider.

With no prior at all (`ScorePrior.flat`: every weight 0 and no uncertainty, i.e. every competitor scored as our
equal and no bracket to start from) the search falls back to bisection over [min, max], which the tests hold to
the information bound; the benchmark runs it as ``engine-flat``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from engine.model import CompetitorOffer, Fulfilment, OurListing

__all__ = ["FEATURES", "SPREAD", "HoldOffsets", "Offset", "OffsetTable", "ScorePrior", "rival_factors"]

_NEUTRAL_FEEDBACK = 0.95
# The factors of a hold offset, in the order of `ScorePrior.features` and `ScorePrior.weights`.
FEATURES = ("fba", "amazon", "feedback", "handling_day", "incumbent")
# A learned prior's bracket is this many standard deviations either side of its centre.
SPREAD = 2.0


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
    # Set once the weights have been learned (`engine.pricing.learning`): their covariance, row-major over
    # FEATURES. Offsets then carry the posterior's spread instead of ±``uncertainty`` of every term.
    covariance: tuple[float, ...] | None = None
    # ... and how far single offers stray from the learned weights (what the linear model does not capture).
    model_sd: float = 0.0
    # Learned from offers that took the Buy Box (`engine.pricing.learning.SwingSample`): how far the threshold
    # rises once a challenger holds, against a seller and against Amazon as the incumbent.
    seller_swing: Offset | None = None
    amazon_swing: Offset | None = None
    # Learned from pairs of Buy Box share readings (`engine.pricing.learning.TemperatureSample`): how sharply the
    # share falls with price, in ln-price per logit of share, and from how many pairs. None: not shared (or unknown).
    temperature: float | None = None
    temperature_samples: int = 0

    @classmethod
    def flat(cls) -> ScorePrior:
        """No knowledge of the factors: every weight 0 with no uncertainty. Every competitor's offset is then zero
        and the search must bisect; the marketplace's weight learning stays pinned at 0 too (its prior has no width),
        while the incumbency swings and the share temperature are still learned."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def weights(self) -> tuple[float, ...]:
        return (self.fba, self.amazon, self.feedback, self.handling_day, self.incumbent)

    def learned(self, weights: Sequence[float], covariance: Sequence[float], model_sd: float) -> ScorePrior:
        """This prior with learned weights and their covariance (see `engine.pricing.learning`)."""
        fba, amazon, feedback, handling_day, incumbent = weights
        return msgspec.structs.replace(
            self,
            fba=fba,
            amazon=amazon,
            feedback=feedback,
            handling_day=handling_day,
            incumbent=incumbent,
            covariance=tuple(covariance),
            model_sd=model_sd,
        )

    @staticmethod
    def features(ours: OurListing, rival: CompetitorOffer) -> tuple[float, ...]:
        """Our offer against ``rival`` on each factor (in FEATURES order): positive favours us."""
        return (
            _fba(ours.fulfilment) - _fba(rival.fulfilment),
            -float(rival.is_amazon),
            (_feedback(ours.feedback_pct) - _feedback(rival.feedback_pct)) / 0.05,
            -(ours.handling_max_hours - rival.handling_max_hours) / 24.0,
            1.0,
        )

    def hold_offset(self, ours: OurListing, rival: CompetitorOffer) -> Offset:
        """How far our landed price may exceed ``rival``'s (in log terms) while we hold the Buy Box against it.

        It reads only the offers' factors that `HoldOffsets` keys its tables by (`rival_factors`): a factor added
        here goes there too.
        """
        # Written out rather than zipped over `features`: this runs for every competitor of every decision.
        fba = self.fba * (_fba(ours.fulfilment) - _fba(rival.fulfilment))
        amazon = -self.amazon if rival.is_amazon else 0.0
        feedback = self.feedback * (_feedback(ours.feedback_pct) - _feedback(rival.feedback_pct)) / 0.05
        handling = -self.handling_day * (ours.handling_max_hours - rival.handling_max_hours) / 24.0
        centre = fba + amazon + feedback + handling + self.incumbent
        if self.covariance is None:
            spread = abs(fba) + abs(amazon) + abs(feedback) + abs(handling) + abs(self.incumbent)
            return Offset(centre, self.uncertainty * spread)
        variance = max(0.0, _quadratic(self.covariance, self.features(ours, rival))) + self.model_sd**2
        return Offset(centre, SPREAD * math.sqrt(variance))

    def challenge_gap(self, rival_is_incumbent: bool, rival_is_amazon: bool) -> Offset:
        """How much lower than the hold threshold a challenger must price to take the Buy Box.

        A challenger lacks its own incumbency bonus, and faces the rival's if the rival holds the Buy Box.
        """
        if rival_is_incumbent:
            learned = self.amazon_swing if rival_is_amazon else self.seller_swing
            if learned is not None:
                return learned
        gap = self.incumbent
        spread = self.uncertainty * self.incumbent
        if self.covariance is not None:
            spread = SPREAD * math.sqrt(max(0.0, self.covariance[-1]))
        if rival_is_incumbent:
            if rival_is_amazon:
                gap += self.amazon_incumbent
                spread += self.uncertainty * self.amazon_incumbent
            else:
                # Sellers' incumbency is one weight: ours and theirs move together.
                gap += self.incumbent
                spread *= 2.0
        return Offset(gap, spread)


# What `ScorePrior.hold_offset` reads of a rival, and of our offer: fulfilment, whether Amazon sells it (a rival),
# feedback and handling time; never a price.
RivalFactors = tuple[Fulfilment, bool, int | None, int]
_OurFactors = tuple[Fulfilment, int | None, int]
# Bounds on what `HoldOffsets` keeps; past them it starts afresh. A marketplace's offers share a handful of factor
# combinations, so neither is reached in practice: they only keep a pathological catalog from growing it for good.
_TABLES = 256
_ENTRIES = 4096


def rival_factors(rival: CompetitorOffer) -> RivalFactors:
    """The key of ``rival``'s offset in an `OffsetTable`. The search writes it out inline (it runs for every
    competitor of every decision); this is its reference, which the tests hold the inline one to."""
    return (rival.fulfilment, rival.is_amazon, rival.feedback_pct, rival.handling_max_hours)


class OffsetTable(dict[RivalFactors, Offset]):
    """The hold offsets against one of our offers under one prior, by the rival's factors (`rival_factors`).

    A missing one is computed by `ScorePrior.hold_offset` on offers that have nothing but those factors, so a
    factor the offset came to depend on without a place in the key would make every offset it changes wrong, and
    the tests' comparison with ``hold_offset`` on whole offers fail, rather than a stale entry go unnoticed.
    """

    __slots__ = ("ours", "prior")

    def __init__(self, prior: ScorePrior, ours: _OurFactors) -> None:
        super().__init__()
        self.prior = prior
        fulfilment, feedback_pct, handling = ours
        self.ours = OurListing(0, fulfilment=fulfilment, feedback_pct=feedback_pct, handling_max_hours=handling)

    def __missing__(self, factors: RivalFactors) -> Offset:
        fulfilment, is_amazon, feedback_pct, handling = factors
        rival = CompetitorOffer(
            "", 0, fulfilment=fulfilment, is_amazon=is_amazon, feedback_pct=feedback_pct, handling_max_hours=handling
        )
        if len(self) >= _ENTRIES:
            self.clear()
        offset = self[factors] = self.prior.hold_offset(self.ours, rival)
        return offset


class HoldOffsets:
    """`ScorePrior.hold_offset` remembered by what it depends on, across a search's decisions.

    An offset depends on the prior and on the offers' factors other than price, which rarely change between one
    offer's decisions and repeat across a marketplace's offers, while prices move with every notification.
    Computing it for every competitor of every decision was half of the search's time; looked up, it is the very
    `Offset` the same code computed once, so decisions are bit for bit what they were without the table.

    One table per prior object (a marketplace's learned weights are a new `ScorePrior` each time they are
    relearned) and our offer's factors. The prior is kept with its table, so its ``id`` in the key cannot be
    another prior's while the table lives. Nothing of this is stored with a search state: after a start it fills
    again from the first decisions.
    """

    __slots__ = ("_tables",)

    def __init__(self) -> None:
        self._tables: dict[tuple[int, Fulfilment, int | None, int], OffsetTable] = {}

    def table(self, prior: ScorePrior, ours: OurListing) -> OffsetTable:
        """The offsets against ``ours`` under ``prior``: ``table[rival_factors(rival)]``."""
        key = (id(prior), ours.fulfilment, ours.feedback_pct, ours.handling_max_hours)
        table = self._tables.get(key)
        if table is None or table.prior is not prior:
            if len(self._tables) >= _TABLES:
                self._tables.clear()
            table = self._tables[key] = OffsetTable(prior, key[1:])
        return table


def _fba(fulfilment: Fulfilment) -> float:
    return 1.0 if fulfilment is Fulfilment.AMAZON else 0.0


def _feedback(pct: int | None) -> float:
    return _NEUTRAL_FEEDBACK if pct is None else pct / 100.0


def _quadratic(matrix: Sequence[float], x: Sequence[float]) -> float:
    n = len(x)
    return math.fsum(matrix[i * n + j] * x[i] * x[j] for i in range(n) for j in range(n))
