"""The hold offsets' table (engine.pricing.scoring.HoldOffsets): a lookup gives what computing gives, bit for bit."""

import math

from hypothesis import given
from hypothesis import strategies as st

from engine.model import CompetitorOffer, Fulfilment, OfferBounds, OfferKey, OurListing
from engine.pricing.scoring import HoldOffsets, ScorePrior, rival_factors
from engine.pricing.search import EngineSearch, _Anchor
from engine.pricing.view import MarketView

_weight = st.floats(-0.1, 0.1, allow_nan=False)
_feedback = st.none() | st.integers(0, 100)
_hours = st.integers(0, 24 * 30)


@st.composite
def _priors(draw: st.DrawFn) -> ScorePrior:
    prior = ScorePrior(*(draw(_weight) for _ in range(6)), uncertainty=draw(st.floats(0.0, 1.0)))
    if draw(st.booleans()):
        # A learned prior: the offsets' spread comes from the covariance (any symmetric matrix will do here).
        values = [draw(st.floats(-1e-3, 1e-3)) for _ in range(25)]
        covariance = [values[min(i, j) * 5 + max(i, j)] for i in range(5) for j in range(5)]
        prior = prior.learned(prior.weights(), covariance, draw(st.floats(0.0, 0.01)))
    return prior


_ours = st.builds(
    OurListing,
    st.integers(1, 10**6),
    shipping=st.integers(0, 999),
    fulfilment=st.sampled_from(Fulfilment),
    feedback_pct=_feedback,
    handling_max_hours=_hours,
)
_rivals = st.builds(
    CompetitorOffer,
    st.sampled_from(["A", "B", "C", "D"]),
    st.integers(1, 10**6),
    shipping=st.integers(0, 999),
    fulfilment=st.sampled_from(Fulfilment),
    is_amazon=st.booleans(),
    feedback_pct=_feedback,
    feedback_count=st.integers(0, 10**4),
    handling_max_hours=_hours,
    is_buybox_winner=st.booleans(),
)


@given(prior=_priors(), ours=st.lists(_ours, min_size=1, max_size=3), rivals=st.lists(_rivals, max_size=12))
def test_a_looked_up_offset_is_the_computed_one(
    prior: ScorePrior, ours: list[OurListing], rivals: list[CompetitorOffer]
) -> None:
    offsets = HoldOffsets()
    for _ in range(2):  # filled, then read
        for our in ours:
            table = offsets.table(prior, our)
            for rival in rivals:
                assert table[rival_factors(rival)] == prior.hold_offset(our, rival)


def test_a_new_prior_gets_a_new_table() -> None:
    offsets, ours, rival = HoldOffsets(), OurListing(1000), CompetitorOffer("A", 1000, fulfilment=Fulfilment.AMAZON)
    before = offsets.table(ScorePrior(), ours)[rival_factors(rival)]
    learned = ScorePrior(fba=0.05)
    after = offsets.table(learned, ours)[rival_factors(rival)]
    assert (before, after) == (ScorePrior().hold_offset(ours, rival), learned.hold_offset(ours, rival))
    assert after != before


def _anchor_computed(view: MarketView, prior: ScorePrior) -> _Anchor | None:
    """The search's anchor as it was before the table: every offset computed."""
    best: tuple[float, str, float] | None = None
    runner_up = soft_lo = soft_hi = math.inf
    for rival in view.competitors:
        if rival.landed_price <= 0:
            continue
        offset = prior.hold_offset(view.our, rival)
        log_landed = math.log(rival.landed_price)
        log_mj = log_landed + offset.center
        if best is None or log_mj < best[0]:
            runner_up = best[0] if best is not None else math.inf
            best = (log_mj, rival.seller_id, log_landed)
        else:
            runner_up = min(runner_up, log_mj)
        soft_lo = min(soft_lo, log_mj - offset.half_width)
        soft_hi = min(soft_hi, log_mj + offset.half_width)
    if best is None:
        return None
    log_m, binding, log_ref = best
    return _Anchor(log_ref, binding, soft_lo - log_ref, soft_hi - log_ref, runner_up - log_m > 0.01)


@given(prior=_priors(), ours=_ours, rivals=st.lists(_rivals, max_size=8), rounds=st.integers(1, 3))
def test_the_search_anchors_on_looked_up_offsets_as_on_computed_ones(
    prior: ScorePrior, ours: OurListing, rivals: list[CompetitorOffer], rounds: int
) -> None:
    search = EngineSearch()
    view = MarketView(OfferKey("S", "DE", "SKU"), 0.0, 0.0, OfferBounds(1, 10**6), 1, ours, tuple(rivals), prior=prior)
    for _ in range(rounds):
        assert search._anchor(view) == _anchor_computed(view, prior)
