"""The Buy Box model of reference/buybox.md: offer scores, shares, and who wins.

Score of an eligible offer i in traffic segment s::

    u_is = -ln(L_i / L_min) + γ_fba·FBA_i + γ_amz·AMZ_i + γ_fb·(fb_i - 0.95)/0.05 - γ_days·(days_i - 2)
           + γ_prime·Prime_i·PrimeSegment_s + q_i + r_is + γ_inc·inc_is

The first five terms are the public factors of buybox.md (`static_bonus`). The rest is what no public source
names, so an engine cannot have it in its prior: Prime members' segments weigh Prime offers (``γ_prime``), each
seller has a hidden quality ``q_i ~ N(0, σ_q)``, and each (segment, seller) a hidden regional term
``r_is ~ N(0, σ_r)`` (delivery promises differ by region), so segments disagree near the threshold and our share
of the glance views is lumpy in our price (`sim.segments`). ``inc_is`` is 1 for the offer featured in segment s.

Shares within a segment are ``softmax(u / τ)`` and the winner at τ = 0 is the argmax; both are unchanged by adding
one constant to every offer of a row, so the code scores ``bonus_i - ln(L_i)`` and drops ``ln(L_min)``. That is
not only shorter: with ``L_min`` in the formula our score would move when our own price moves the minimum, and
the float round-off could make "do we win at price p" non-monotone in p. Without it our score is monotone in our
price and every rival's score is independent of it, which is what lets the oracle's closed form agree with brute
force on every tick.

Each seed draws its formula (`draw_coefficients`) from a family wider than any prior an engine could hold: every
coefficient, the hidden terms' spreads included, uniformly within ``±spread`` (100%, reference/buybox.md) of its
default, so a factor can be all but absent or twice its default, against the engine prior's ±50%.

At each recompute every segment features one offer, drawn by the shares (τ > 0; `choose_featured`), so offers
close in score take turns in the Buy Box. "We win" is buybox.md's expected share ≥ 0.5: the glance-view weighted
sum of the long-run share the rotation features us with in each segment (`sim.threshold.long_run_share`); at
τ = 0 a segment's argmax is featured for certain (`we_win`). The oracle and the FOEP both call those predicates,
so they cannot disagree about a price.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from sim.rng import Purpose, uniform

__all__ = [
    "DRAWN",
    "MAX_PRIME_REGIONS",
    "NEGLIGIBLE_SHARE",
    "NO_HOLDER",
    "BuyBoxParams",
    "Choices",
    "Coefficients",
    "Rivals",
    "choose_featured",
    "draw_coefficients",
    "draw_featured",
    "featured_choices",
    "incumbency_bonus",
    "offer_scores",
    "rivals",
    "segment_bonus",
    "shares",
    "static_bonus",
    "we_win",
    "with_incumbency",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Idx = npt.NDArray[np.intp]

NO_HOLDER: Final = -1
# A share below this is never drawn: an offer with a billionth of a segment's views is not featured, and a row with
# one offer far ahead of the rest (~10% in price at τ = 0.005) needs no draw, so its idle recomputes can be skipped.
NEGLIGIBLE_SHARE: Final = 1e-9


@dataclass(frozen=True, slots=True)
class BuyBoxParams:
    """Defaults of the scoring model and of the traffic segments; each seed draws its coefficients within
    ``±spread`` of these (never below 0).

    ``prime_share`` bounds the Prime members' share of an item's glance views (drawn per item), split over
    ``prime_regions`` regional Prime segments beside one non-Prime segment; with no regions an item has one
    segment of unknown membership (DEFAULT), as Amazon names it. The hidden terms: ``gamma_prime``, a Prime
    offer's extra weight in a Prime segment; ``quality_sd``, the spread of each seller's hidden quality;
    ``regional_sd``, the spread of each (segment, seller) term.
    """

    tau: float = 0.005
    kappa: float = 1.0
    gamma_fba: float = 0.03
    gamma_amz: float = 0.02
    gamma_feedback: float = 0.005
    gamma_days: float = 0.005
    gamma_inc_seller: float = 0.005
    gamma_inc_amazon: float = 0.02
    gamma_prime: float = 0.02
    quality_sd: float = 0.005
    regional_sd: float = 0.002
    spread: float = 1.0
    prime_share: tuple[float, float] = (0.60, 0.85)
    prime_regions: int = 3

    def __post_init__(self) -> None:
        low, high = self.prime_share
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"prime_share must be 0 <= low <= high <= 1, got {self.prime_share}")
        if not 0 <= self.prime_regions <= MAX_PRIME_REGIONS:
            raise ValueError(f"prime_regions must be within 0..{MAX_PRIME_REGIONS}, got {self.prime_regions}")

    @classmethod
    def plain(cls, tau: float = 0.005) -> BuyBoxParams:
        """buybox.md's public formula alone, the same for every seed: no spread, no hidden terms, no Prime weight
        (segments then only differ by the featured offer each one drew). For tests worked out by hand."""
        return cls(tau=tau, spread=0.0, gamma_prime=0.0, quality_sd=0.0, regional_sd=0.0)


MAX_PRIME_REGIONS: Final = 7  # one draw lane each, beside the Prime share's (`sim.rng.LANES` is 8)


@dataclass(frozen=True, slots=True)
class Coefficients:
    """One seed's scoring formula: market-wide, so an engine cannot be tuned to one set of weights."""

    tau: float
    kappa: float
    gamma_fba: float
    gamma_amz: float
    gamma_feedback: float
    gamma_days: float
    gamma_inc_seller: float
    gamma_inc_amazon: float
    gamma_prime: float = 0.0
    quality_sd: float = 0.0
    regional_sd: float = 0.0


# The drawn coefficients, in the order of their draws (counter k of the seed's coefficient stream).
DRAWN: Final = (
    "gamma_fba",
    "gamma_amz",
    "gamma_feedback",
    "gamma_days",
    "gamma_inc_seller",
    "gamma_inc_amazon",
    "gamma_prime",
    "quality_sd",
    "regional_sd",
)


def draw_coefficients(seed: int, params: BuyBoxParams) -> Coefficients:
    """Each coefficient uniformly within ``±spread`` of its default and never below 0, from the seed's
    coefficient stream (τ, κ as given). The default spread, 100%, draws each within [0, 2×] its default."""
    defaults = [float(getattr(params, name)) for name in DRAWN]
    u = uniform(seed, np.zeros(len(defaults), np.int64), Purpose.COEFFICIENTS, np.arange(len(defaults)))
    drawn = [max(0.0, float(d * (1.0 + params.spread * (2.0 * x - 1.0)))) for d, x in zip(defaults, u, strict=True)]
    return Coefficients(params.tau, params.kappa, *drawn)


def static_bonus(coef: Coefficients, fba: B, amz: B, feedback: F64, handling_days: npt.ArrayLike) -> F64:
    """The part of each offer's score that does not depend on price or incumbency (fixed for a run)."""
    return (
        coef.gamma_fba * fba
        + coef.gamma_amz * amz
        + coef.gamma_feedback * (feedback - 0.95) / 0.05
        - coef.gamma_days * (np.asarray(handling_days, np.float64) - 2.0)
    )


def segment_bonus(coef: Coefficients, static: F64, prime: B, quality: F64, regional: F64, prime_segment: B) -> F64:
    """Each offer's score terms in each segment, shape ``(rows, segments, slots)``: the public ``static`` bonus,
    ``γ_prime`` for a Prime offer in a Prime segment, and the hidden terms from standard normals ``quality``
    ``(rows, slots)`` and ``regional`` ``(rows, segments, slots)`` (`sim.segments.hidden_normals`)."""
    in_prime = prime[:, None, :] & prime_segment[None, :, None]
    return (
        static[:, None, :]
        + coef.gamma_prime * in_prime
        + coef.quality_sd * quality[:, None, :]
        + coef.regional_sd * regional
    )


def incumbency_bonus(coef: Coefficients, amz: B) -> F64:
    """Each offer's ``γ_inc`` should it hold the Buy Box (Amazon retail's is larger: it keeps what it holds)."""
    return np.where(amz, coef.gamma_inc_amazon, coef.gamma_inc_seller)


def with_incumbency(static: F64, incumbency: F64, holder: I64) -> F64:
    """Static bonuses plus the incumbency bonus on each row's current holder. Returns a new array; the holder's
    entry is the same float sum wherever this is called."""
    bonus = np.array(static, np.float64, copy=True)
    rows = np.flatnonzero(holder >= 0)
    cols = holder[rows]
    bonus[rows, cols] += incumbency[rows, cols]
    return bonus


def offer_scores(bonus: F64, landed: npt.ArrayLike, eligible: B) -> F64:
    """``bonus - ln(landed)``, and -inf for ineligible offers. Elementwise, so identical wherever it is called."""
    raw = bonus - np.log(np.maximum(np.asarray(landed, np.float64), 1.0))
    return np.where(eligible, raw, -np.inf)


@dataclass(frozen=True, slots=True)
class Rivals:
    """What our offer must beat in each row, independent of our own price.

    For τ > 0 ``level`` is ``logsumexp(s_j / τ)`` over eligible rivals (we hold a majority iff
    ``s_us / τ >= level``); for τ = 0 it is ``max s_j``, with the tie facts the argmax rule needs: whether the
    incumbent is among the best rivals, and their lowest landed price. ``level`` is -inf when nobody competes.
    """

    level: F64
    tie_has_holder: B
    tie_landed: I64


def rivals(comp_scores: F64, comp_landed: I64, holder: I64, tau: float) -> Rivals:
    """Summarise the competitor columns (slots 1..K) of each row for `we_win`.

    The log-sum-exp runs column by column in a fixed order rather than through a numpy reduction, so the value
    for a row does not depend on how many rows were in the batch.
    """
    n, k = comp_scores.shape
    best = comp_scores.max(axis=1) if k else np.full(n, -np.inf)
    if tau > 0:
        finite = np.isfinite(best)
        scaled_best = np.where(finite, best / tau, 0.0)
        total = np.zeros(n)
        for j in range(k):
            total += np.exp(comp_scores[:, j] / tau - scaled_best)
        level = np.where(finite, scaled_best + np.log(np.maximum(total, 1.0)), -np.inf)
        return Rivals(level, np.zeros(n, np.bool_), np.zeros(n, np.int64))
    at_best = (comp_scores == best[:, None]) & np.isfinite(best)[:, None]
    slot = np.arange(1, k + 1)
    tie_has_holder = (at_best & (slot[None, :] == holder[:, None])).any(axis=1)
    big = np.iinfo(np.int64).max
    tie_landed = np.where(at_best, comp_landed, big).min(axis=1) if k else np.full(n, big)
    return Rivals(best, tie_has_holder, tie_landed)


def we_win(our_score: F64, our_landed: I64, we_hold: B, riv: Rivals, tau: float) -> B:
    """Whether our offer wins one segment: a share of at least half (τ > 0; at a recompute it is then featured
    with that probability) or the argmax (τ = 0, featured for certain).

    τ = 0 ties go to the incumbent, then the lowest landed price, then the lowest slot (ours is slot 0).
    """
    finite = np.isfinite(our_score)
    if tau > 0:
        majority: B = finite & (our_score / tau >= riv.level)
        return majority
    wins_tie = we_hold | (~riv.tie_has_holder & (our_landed <= riv.tie_landed))
    argmax: B = finite & ((our_score > riv.level) | ((our_score == riv.level) & wins_tie))
    return argmax


def shares(scores: F64, tau: float) -> F64:
    """Expected shares ``softmax(score / τ)`` per row (rows with no eligible offer get all zeros).

    τ = 0 has no softmax; callers use the argmax there and a share of 1 for the winner.
    """
    best = scores.max(axis=1, keepdims=True)
    ok = np.isfinite(best)
    weights = np.exp((scores - np.where(ok, best, 0.0)) / tau)
    total = weights.sum(axis=1, keepdims=True)
    share: F64 = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    return share


@dataclass(frozen=True, slots=True)
class Choices:
    """What a recompute's choice in each (row, segment) depends on besides the rotation's uniform
    (`featured_choices`): the offer featured where no draw is needed (and the fallback of a draw), whether a draw
    is needed, the draw's cumulative weights, their total and which offers can be drawn, and our expected share."""

    featured: I64
    needs_draw: B
    cumulative: F64
    total: F64
    drawable: B
    share: F64


def featured_choices(scores: F64, landed: I64, holder: I64, our_major: B, tau: float) -> Choices:
    """Everything `choose_featured` decides before it draws: a pure function of each row's scores, landed prices
    and holder, row by row (a row's floats do not depend on the batch), so it can be worked out ahead of a draw
    and kept while the offers stay the same (`sim.rotation`)."""
    n, m = scores.shape
    if tau <= 0:
        any_eligible = np.isfinite(scores).any(axis=1)
        featured = np.where(our_major, 0, _argmax_featured(scores, landed, holder))
        featured = np.where(any_eligible, featured, NO_HOLDER).astype(np.int64)
        no_draw = np.zeros(n, np.bool_)
        share = (featured == 0).astype(np.float64)
        return Choices(featured, no_draw, np.zeros((n, m)), np.zeros(n), np.zeros((n, m), np.bool_), share)
    share = shares(scores, tau)
    drawable = np.where(share >= NEGLIGIBLE_SHARE, share, 0.0)
    total = drawable.sum(axis=1)
    featured = np.where(total > 0, drawable.argmax(axis=1), NO_HOLDER).astype(np.int64)
    positive = drawable > 0
    needs_draw = positive.sum(axis=1) > 1
    return Choices(featured, needs_draw, np.cumsum(drawable, axis=1), total, positive, share[:, 0].copy())


def draw_featured(choices: Choices, rotation_u: Callable[[Idx], F64]) -> I64:
    """The featured offer of each row: its choice, or for the rows that need one a draw by the shares with
    ``rotation_u(positions)``. The first offer whose cumulative weight exceeds u·total has a weight > 0 (it is
    past every earlier one)."""
    featured = choices.featured.copy()
    undecided = np.flatnonzero(choices.needs_draw)
    if undecided.size:
        u = rotation_u(undecided) * choices.total[undecided]
        last = choices.cumulative.shape[1] - 1
        drawn = np.minimum((choices.cumulative[undecided] <= u[:, None]).sum(axis=1), last)
        featured[undecided] = np.where(choices.drawable[undecided, drawn], drawn, featured[undecided])
    return featured


def choose_featured(
    scores: F64, landed: I64, holder: I64, our_major: B, tau: float, rotation_u: Callable[[Idx], F64]
) -> tuple[I64, F64, B]:
    """The featured offer of each row at a recompute, our expected share, and which rows needed a draw
    (`featured_choices`, then `draw_featured`).

    τ > 0: every row draws its featured offer by the shares, with ``rotation_u(positions)`` (called only for
    the rows with more than one offer to draw from), as reference/buybox.md says: two offers close in score take
    turns, each featured about as often as its share. An offer whose share is below `NEGLIGIBLE_SHARE` is never
    drawn, so a row with one offer far ahead is decided without a draw. τ = 0: the argmax, ties to the
    incumbent, then the lowest landed price, then the lowest slot; ``our_major`` is `we_win` for slot 0 (τ = 0
    only), passed in so that the market's choice for us is exactly the oracle's. Rows with no eligible offer get
    `NO_HOLDER` (the Buy Box is suppressed) and a share of 0. A row whose choice took no draw would get the same
    choice again from the same offers and holder (the market relies on this to skip recomputes that cannot change
    anything).
    """
    choices = featured_choices(scores, landed, holder, our_major, tau)
    return draw_featured(choices, rotation_u), choices.share, choices.needs_draw


def _argmax_featured(scores: F64, landed: I64, holder: I64) -> I64:
    """τ = 0: the best score; ties to the incumbent, then the lowest landed price, then the lowest slot."""
    n, _ = scores.shape
    at_best = scores == scores.max(axis=1, keepdims=True)
    holder_col = np.maximum(holder, 0)
    holder_at_best = (holder >= 0) & at_best[np.arange(n), holder_col]
    cheapest = np.where(at_best, landed, np.iinfo(np.int64).max).argmin(axis=1)
    return np.where(holder_at_best, holder_col, cheapest)
