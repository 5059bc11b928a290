"""One offer actor, stepped by hand: what it tells the policy about the price it asked for."""

from __future__ import annotations

from engine.actors.offer import OfferActor
from engine.model import (
    ChannelSettings,
    CompetitorOffer,
    Decision,
    HealthEvent,
    OfferKey,
    OfferSnapshot,
    OurListing,
    PriceIntent,
    Reason,
    SubmissionResult,
)
from engine.pricing.learning import Lesson
from engine.pricing.scoring import ScorePrior
from engine.pricing.search import EngineSearch
from tests.actors.fakes import settings

SETTINGS = settings("SKU-1")  # bounds [1000, 3000]
KEY = SETTINGS.key
RIVAL = CompetitorOffer("R1", 2000, shipping=100, feedback_pct=95, is_buybox_winner=True)


class _Sinks:
    def __init__(self) -> None:
        self.intents: list[PriceIntent] = []

    def intent(self, intent: PriceIntent, current_price: int | None) -> None:
        self.intents.append(intent)

    def decision(self, decision: Decision) -> None: ...

    def recheck(self, key: OfferKey, at: float) -> None: ...

    def want_foep(self, key: OfferKey) -> None: ...

    def want_share(self, key: OfferKey) -> None: ...

    def prior(self) -> ScorePrior | None:
        return None

    def learn(self, sample: Lesson) -> None: ...

    def overflow(self, key: OfferKey) -> None: ...

    def paused(self) -> bool:
        return False


def _above_threshold(at: float) -> OfferSnapshot:
    return OfferSnapshot(
        key=KEY, source="notification", as_of=at, received_at=at, our=OurListing(2800), competitors=(RIVAL,)
    )


def test_a_refused_price_under_the_threshold_no_longer_holds_back_the_move_down_to_it() -> None:
    """Above Amazon's competitive price threshold the search asks for a price under it, and while that price is on
    its way nothing replaces it. Once Amazon refuses it, it is not on its way: the offer comes down to the
    threshold rather than wait, above it, for the search's own resend an hour later."""
    sinks = _Sinks()
    actor = OfferActor(SETTINGS, ChannelSettings(), 1, EngineSearch(), sinks)
    actor.observe(HealthEvent(KEY, 0.0, disqualified=True, reference_price=2400))
    actor.observe(_above_threshold(0.0))
    actor.step(0.0)
    asked = sinks.intents[-1].price
    assert asked < 2400
    actor.observe(_above_threshold(30.0))
    waiting = actor.step(30.0)
    assert waiting is not None and waiting.target is None
    actor.command(SubmissionResult(KEY, 1, "invalid", 40.0, asked))
    actor.observe(_above_threshold(60.0))
    moved = actor.step(60.0)
    assert moved is not None and (moved.target, moved.reason) == (2400, Reason.ABOVE_THRESHOLD)
