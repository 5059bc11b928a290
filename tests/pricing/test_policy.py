"""The policy's domain rules, one table row per rule, each with the reason it records."""

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import (
    BuyBoxAction,
    BuyBoxPrice,
    ChannelSettings,
    CompetitorFilter,
    CompetitorOffer,
    Condition,
    Decision,
    FoepReading,
    Fulfilment,
    HealthEvent,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OurListing,
    Reason,
    ShareReading,
)
from engine.pricing.baselines import BASELINES, make_baseline
from engine.pricing.guard import guard
from engine.pricing.policy import PolicyInputs, decide, filter_competitors, segment_winner
from engine.pricing.search import EngineSearch
from engine.pricing.view import MarketView, Step, Strategy

KEY = OfferKey("SELLER", "DE", "SKU-1")
BOUNDS = OfferBounds(1000, 3000)
SETTINGS = OfferSettings(key=KEY, asin="B000000001", currency="EUR", bounds=BOUNDS, sale_price=2500)
RIVAL = CompetitorOffer("R1", 2000, shipping=100, feedback_pct=95, is_buybox_winner=True)
NOW = 1000.0
LIVE = OurListing(2800)
DEFAULT_CHANNEL = ChannelSettings()


def _snapshot(
    our: OurListing | None = LIVE,
    competitors: tuple[CompetitorOffer, ...] = (RIVAL,),
    *,
    as_of: float = NOW,
    suppressed: bool = False,
) -> OfferSnapshot:
    return OfferSnapshot(
        key=KEY,
        source="notification",
        as_of=as_of,
        received_at=as_of,
        our=our,
        competitors=competitors,
        buybox_state="suppressed" if suppressed else "available",
    )


def _decide(inputs: PolicyInputs) -> tuple[int | None, Reason]:
    search = EngineSearch()
    outcome = decide(inputs, search, search.initial_state(), NOW)
    return outcome.decision.target, outcome.decision.reason


def _inputs(snapshot: OfferSnapshot | None, channel: ChannelSettings = DEFAULT_CHANNEL, **kw: object) -> PolicyInputs:
    return PolicyInputs(settings=SETTINGS, channel=channel, tick=1, snapshot=snapshot, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("inputs", "target", "reason"),
    [
        pytest.param(_inputs(_snapshot(), paused=True), None, Reason.PAUSED, id="paused"),
        pytest.param(_inputs(None), None, Reason.NO_DATA, id="no observation at all"),
        pytest.param(_inputs(_snapshot(as_of=NOW - 3600)), None, Reason.NO_DATA, id="observation too old"),
        pytest.param(_inputs(_snapshot(our=None)), None, Reason.NOT_LIVE, id="our offer not listed"),
        pytest.param(_inputs(_snapshot(our=OurListing(2800, live=False))), None, Reason.NOT_LIVE, id="not buyable"),
        pytest.param(_inputs(_snapshot(competitors=())), 3000, Reason.NO_COMPETITION, id="alone: max"),
        pytest.param(
            _inputs(_snapshot(competitors=()), ChannelSettings(no_competition_use_sale_price=True)),
            2500,
            Reason.NO_COMPETITION_SALE_PRICE,
            id="alone: sale price as maximum",
        ),
    ],
)
def test_domain_rules(inputs: PolicyInputs, target: int | None, reason: Reason) -> None:
    assert _decide(inputs) == (target, reason)


@pytest.mark.parametrize(
    ("action", "target"),
    [
        (BuyBoxAction.HOLD, None),
        (BuyBoxAction.USE_MAX, 3000),
        (BuyBoxAction.COMPETE_LOWEST, 2100),  # the rival's landed 2100 minus our shipping 0
        (BuyBoxAction.USE_SALE_PRICE, 2500),
    ],
)
@pytest.mark.parametrize("case", ["suppressed", "disqualified"])
def test_buybox_not_available_applies_the_channels_action(action: BuyBoxAction, target: int | None, case: str) -> None:
    channel = ChannelSettings(buybox_unavailable_action=action)
    if case == "suppressed":
        inputs = _inputs(_snapshot(suppressed=True), channel)
        reason = Reason.SUPPRESSED
    else:
        inputs = _inputs(_snapshot(), channel, health=HealthEvent(KEY, NOW, disqualified=True))
        reason = Reason.DISQUALIFIED
    assert _decide(inputs) == (target, reason)


def test_amazons_competitive_price_threshold_caps_the_max() -> None:
    """A landed price above the threshold cannot be featured: alone, the offer goes to the threshold, not max."""
    capped = OfferSnapshot(
        key=KEY,
        source="notification",
        as_of=NOW,
        received_at=NOW,
        our=OurListing(2800, shipping=150),
        competitors=(),
        competitive_price_threshold=2650,
    )
    outcome = decide(_inputs(capped), EngineSearch(), EngineSearch().initial_state(), NOW)
    assert (outcome.decision.target, outcome.decision.reason) == (2500, Reason.NO_COMPETITION)
    assert outcome.decision.inputs.competitive_cap == 2500


@pytest.mark.parametrize("strategy", [EngineSearch(), *(make_baseline(name) for name in BASELINES)])
def test_a_disqualification_our_price_caused_is_cured_below_the_threshold(strategy: Strategy[object]) -> None:
    """PRICING_HEALTH after a probe above the threshold: the strategy goes on below it, whatever the channel's
    action (holding a price Amazon will never feature would keep the Buy Box lost all day)."""
    channel = ChannelSettings(buybox_unavailable_action=BuyBoxAction.HOLD)
    health = HealthEvent(KEY, NOW, disqualified=True, reference_price=2400)
    outcome = decide(_inputs(_snapshot(), channel, health=health), strategy, strategy.initial_state(), NOW)
    target = outcome.decision.target
    assert outcome.decision.reason is not Reason.DISQUALIFIED
    assert target is not None and BOUNDS.min_price <= target <= 2400


@pytest.mark.parametrize("strategy", [EngineSearch(), *(make_baseline(name) for name in BASELINES)])
def test_a_move_below_the_threshold_still_on_its_way_is_not_replaced_by_one_to_the_threshold(
    strategy: Strategy[object],
) -> None:
    """Above the threshold, every strategy soon asks for a price under it. Until that price is live, later looks at
    the offer send nothing in its place: a move to the threshold would replace the strategy's price in the
    batcher, and the strategy would wait (an hour, to its resend) for a price that was never sent."""
    health = HealthEvent(KEY, NOW, disqualified=True, reference_price=2400)
    state, asked, moves = strategy.initial_state(), None, []
    for look in range(40):  # every 30 s for 20 min, our price still 2800: the price asked for is slow to go live
        now = NOW + 30.0 * look
        outcome = decide(_inputs(_snapshot(as_of=now), health=health, asked=asked), strategy, state, now)
        state, target = outcome.state, outcome.decision.target
        if target is not None:
            moves.append((target, outcome.decision.reason))
            asked = target
    assert moves and moves[0][0] <= 2400, moves
    if moves[0][0] < 2400:
        assert all(reason is not Reason.ABOVE_THRESHOLD for _, reason in moves), moves


@pytest.mark.parametrize("strategy", [EngineSearch(), *(make_baseline(name) for name in BASELINES)])
def test_a_buybox_suppressed_while_our_price_is_above_the_threshold_is_cured_below_it(
    strategy: Strategy[object],
) -> None:
    """Every offer is above Amazon's competitive price threshold, so Amazon features none; ours, once under it, is
    the one featured. Every strategy goes on below it, whatever the channel's action (hold would keep max)."""
    channel = ChannelSettings(buybox_unavailable_action=BuyBoxAction.HOLD)
    rival = CompetitorOffer("R1", 2600, shipping=100, feedback_pct=95)
    snapshot = msgspec.structs.replace(
        _snapshot(competitors=(rival,), suppressed=True), competitive_price_threshold=2400
    )
    outcome = decide(_inputs(snapshot, channel), strategy, strategy.initial_state(), NOW)
    target = outcome.decision.target
    assert outcome.decision.reason is not Reason.SUPPRESSED
    assert target is not None and BOUNDS.min_price <= target <= 2400


@pytest.mark.parametrize(
    ("action", "target"),
    [(BuyBoxAction.HOLD, None), (BuyBoxAction.USE_MAX, 2400), (BuyBoxAction.COMPETE_LOWEST, 2400)],
)
def test_a_buybox_suppressed_with_our_price_under_the_threshold_takes_the_channels_action_under_it(
    action: BuyBoxAction, target: int | None
) -> None:
    """Our price already meets the threshold and the Buy Box is still suppressed: not ours to cure, so the channel's
    action applies, but never above the threshold (max would then be cured again at the next look, and so on)."""
    channel = ChannelSettings(buybox_unavailable_action=action)
    rival = CompetitorOffer("R1", 2600, shipping=100, feedback_pct=95)
    snapshot = msgspec.structs.replace(
        _snapshot(our=OurListing(2300), competitors=(rival,), suppressed=True), competitive_price_threshold=2400
    )
    assert _decide(_inputs(snapshot, channel)) == (target, Reason.SUPPRESSED)


def test_a_threshold_below_our_min_leaves_a_disqualification_to_the_channels_action() -> None:
    channel = ChannelSettings(buybox_unavailable_action=BuyBoxAction.USE_MAX)
    health = HealthEvent(KEY, NOW, disqualified=True, reference_price=900)
    assert _decide(_inputs(_snapshot(), channel, health=health)) == (3000, Reason.DISQUALIFIED)


@given(
    threshold=st.integers(1, 4000),
    shipping=st.integers(0, 300),
    rivals=st.lists(st.integers(1, 5000), min_size=0, max_size=4),
    disqualified=st.booleans(),
    foep=st.none() | st.integers(1, 5000),
    in_health=st.booleans(),
    suppressed=st.booleans(),
)
def test_no_price_above_a_known_threshold_is_sent_while_one_within_bounds_meets_it(
    threshold: int,
    shipping: int,
    rivals: list[int],
    disqualified: bool,
    foep: int | None,
    in_health: bool,
    suppressed: bool,
) -> None:
    snapshot = OfferSnapshot(
        key=KEY,
        source="notification",
        as_of=NOW,
        received_at=NOW,
        our=OurListing(2800, shipping=shipping),
        competitors=tuple(CompetitorOffer(f"R{i}", p, is_buybox_winner=i == 0) for i, p in enumerate(rivals)),
        competitive_price_threshold=None if in_health else threshold,
        buybox_state="suppressed" if suppressed else "available",
    )
    health = HealthEvent(KEY, NOW, disqualified, threshold if in_health else None)
    inputs = _inputs(snapshot, health=health, foep=None if foep is None else FoepReading(KEY, NOW, foep))
    search = EngineSearch()
    decision = decide(inputs, search, search.initial_state(), NOW).decision
    target = decision.target
    if target is not None and threshold - shipping >= BOUNDS.min_price:
        backed = decision.signal_backed
        sent = guard(target, BOUNDS, 1, current=2800, signal_backed=backed, step_cap=DEFAULT_CHANNEL.step_cap)
        assert sent.price + shipping <= threshold


def test_no_fresh_data_holds_whatever_the_channel_action() -> None:
    channel = ChannelSettings(buybox_unavailable_action=BuyBoxAction.USE_MAX)
    assert _decide(_inputs(_snapshot(as_of=NOW - 7200), channel)) == (None, Reason.NO_DATA)


def test_competes_when_rivals_exist() -> None:
    target, reason = _decide(_inputs(_snapshot()))
    assert reason is Reason.FIRST_PROBE_WINNER
    assert target is not None and BOUNDS.min_price <= target < 2100


def test_first_probe_uses_fresh_foep_only() -> None:
    fresh = _inputs(_snapshot(), foep=FoepReading(KEY, NOW - 60, 2050))
    assert _decide(fresh)[1] is Reason.FIRST_PROBE_FOEP
    stale = _inputs(_snapshot(), foep=FoepReading(KEY, NOW - 3600, 2050))
    assert _decide(stale)[1] is Reason.FIRST_PROBE_WINNER
    invalid = _inputs(_snapshot(), foep=FoepReading(KEY, NOW, None, status="NO_COMPETING_OFFER"))
    assert _decide(invalid)[1] is Reason.FIRST_PROBE_WINNER


@pytest.mark.parametrize(
    ("rival", "channel", "kept"),
    [
        (CompetitorOffer("U", 100, condition=Condition.USED_GOOD), ChannelSettings(), False),
        (CompetitorOffer("N", 100, condition=Condition.NEW_OPEN_BOX), ChannelSettings(), True),
        (
            CompetitorOffer("U", 100, condition=Condition.USED_GOOD),
            ChannelSettings(competitors=CompetitorFilter(conditions=(Condition.USED_GOOD, Condition.NEW))),
            True,
        ),
        (
            CompetitorOffer("F", 100, fulfilment=Fulfilment.AMAZON),
            ChannelSettings(competitors=CompetitorFilter(fulfilment=(Fulfilment.MERCHANT,))),
            False,
        ),
        (
            CompetitorOffer("A", 100, is_amazon=True),
            ChannelSettings(competitors=CompetitorFilter(include_amazon=False)),
            False,
        ),
        (
            CompetitorOffer("L", 100, feedback_pct=80),
            ChannelSettings(competitors=CompetitorFilter(min_feedback_pct=90)),
            False,
        ),
        (CompetitorOffer("Q", 100), ChannelSettings(competitors=CompetitorFilter(min_feedback_pct=90)), False),
        (
            CompetitorOffer("H", 100, feedback_pct=98),
            ChannelSettings(competitors=CompetitorFilter(min_feedback_pct=90)),
            True,
        ),
        (
            CompetitorOffer("S", 100, handling_max_hours=96),
            ChannelSettings(competitors=CompetitorFilter(max_handling_hours=48)),
            False,
        ),
        (CompetitorOffer("Z", 0), ChannelSettings(), False),
    ],
)
def test_competitor_filters(rival: CompetitorOffer, channel: ChannelSettings, kept: bool) -> None:
    assert (filter_competitors((rival,), SETTINGS, channel) == (rival,)) is kept


def test_the_winner_in_our_segment_is_chosen_when_amazon_reports_two() -> None:
    prime = BuyBoxPrice(2000, 2000, segment="prime", seller_id="P")
    non_prime = BuyBoxPrice(1900, 1800, 100, segment="non_prime", seller_id="N")
    assert segment_winner((non_prime, prime), OurListing(2100, prime=True)) == prime
    assert segment_winner((non_prime, prime), OurListing(2100, prime=False)) == non_prime
    single = BuyBoxPrice(2000, 2000)
    assert segment_winner((single,), OurListing(2100, prime=True)) == single
    assert segment_winner((), OurListing(2100)) is None


# Amazon marks a winner per segment where the Prime and the non-Prime shoppers see different featured offers: ours
# (listed at 2000) beside a rival's, as getListingOffers and ANY_OFFER_CHANGED give it.
_PRIME_RIVAL = CompetitorOffer("P", 1950, fulfilment=Fulfilment.AMAZON, prime=True, is_buybox_winner=True)
_NON_PRIME_RIVAL = CompetitorOffer("N", 1900, shipping=100, feedback_pct=95, is_buybox_winner=True)


def _split(*, our_prime: bool, rival: CompetitorOffer) -> OfferSnapshot:
    our = OurListing(2000, prime=our_prime, is_buybox_winner=True)
    fulfilment = Fulfilment.AMAZON if our_prime else Fulfilment.MERCHANT
    our = msgspec.structs.replace(our, fulfilment=fulfilment)
    winners = (
        BuyBoxPrice(2000, 2000, segment="prime" if our_prime else "non_prime", seller_id="SELLER"),
        BuyBoxPrice(rival.landed_price, rival.listing_price, rival.shipping, seller_id=rival.seller_id),
    )
    return msgspec.structs.replace(_snapshot(our=our, competitors=(rival,)), buybox=winners)


def _holds(snapshot: OfferSnapshot, share: ShareReading | None = None) -> bool:
    search = EngineSearch()
    outcome = decide(_inputs(snapshot, share=share), search, search.initial_state(), NOW)
    return outcome.decision.inputs.we_win


def test_winning_the_non_prime_segment_beside_a_prime_winner_is_not_holding_the_buybox() -> None:
    """Ours the non-Prime winner, a Prime offer the other: Prime members take most views, so the rival holds, and
    the search challenges it (a lower price) instead of climbing as the holder."""
    snapshot = _split(our_prime=False, rival=_PRIME_RIVAL)
    assert not _holds(snapshot)
    search = EngineSearch()
    outcome = decide(_inputs(snapshot), search, search.initial_state(), NOW)
    assert outcome.decision.target is not None and outcome.decision.target < 2000


def test_winning_the_prime_segment_beside_a_non_prime_winner_is_holding_the_buybox() -> None:
    assert _holds(_split(our_prime=True, rival=_NON_PRIME_RIVAL))


@pytest.mark.parametrize(("our_prime", "share", "holds"), [(True, 0.4, False), (False, 0.6, True)])
def test_two_winners_our_share_at_our_live_price_says_whether_we_hold(
    our_prime: bool, share: float, holds: bool
) -> None:
    """The competitive summary's share at our live price says which segment is the larger: at least half the
    views is a hold, whichever kind of offer we are."""
    rival = _NON_PRIME_RIVAL if our_prime else _PRIME_RIVAL
    reading = ShareReading(KEY, NOW - 60.0, share, price=2000)
    assert _holds(_split(our_prime=our_prime, rival=rival), reading) is holds


def test_two_winners_a_share_read_at_another_price_of_ours_does_not_decide() -> None:
    reading = ShareReading(KEY, NOW - 60.0, 0.9, price=2100)
    assert not _holds(_split(our_prime=False, rival=_PRIME_RIVAL), reading)


def test_two_winners_of_the_same_kind_leave_amazons_mark_standing() -> None:
    """Both winners Prime (or both not): nothing says which segment is ours, so Amazon's mark is taken."""
    rival = msgspec.structs.replace(_PRIME_RIVAL, seller_id="Q")
    assert _holds(_split(our_prime=True, rival=rival))


def test_a_lone_winner_mark_stands_whatever_our_share() -> None:
    """One winner marked (ours): Amazon names it the Buy Box winner; a small share then is a shared Buy Box the
    search reads as the holder, not a lost one."""
    snapshot = _snapshot(
        our=OurListing(2000, is_buybox_winner=True),
        competitors=(msgspec.structs.replace(RIVAL, is_buybox_winner=False),),
    )
    assert _holds(snapshot, ShareReading(KEY, NOW - 60.0, 0.3, price=2000))


@given(
    our_price=st.integers(1, 10_000),
    rivals=st.lists(st.integers(1, 10_000), min_size=0, max_size=5),
    hold=st.booleans(),
    action=st.sampled_from(list(BuyBoxAction)),
    suppressed=st.booleans(),
    disqualified=st.booleans(),
    foep=st.none() | st.integers(1, 10_000),
)
def test_the_policy_never_lowers_the_price_while_our_offer_is_not_live(
    our_price: int,
    rivals: list[int],
    hold: bool,
    action: BuyBoxAction,
    suppressed: bool,
    disqualified: bool,
    foep: int | None,
) -> None:
    snapshot = _snapshot(
        our=OurListing(our_price, live=False, is_buybox_winner=hold),
        competitors=tuple(CompetitorOffer(f"R{i}", p) for i, p in enumerate(rivals)),
        suppressed=suppressed,
    )
    inputs = _inputs(
        snapshot,
        ChannelSettings(buybox_unavailable_action=action, step_cap=Decimal(1)),
        health=HealthEvent(KEY, NOW, disqualified=disqualified),
        foep=None if foep is None else FoepReading(KEY, NOW, foep),
    )
    target, reason = _decide(inputs)
    assert target is None or target >= our_price
    assert reason is Reason.NOT_LIVE


def test_a_sale_price_below_min_is_raised_to_min_and_put_on_the_tick() -> None:
    """``min(sale, max)`` alone left a sale price below min as the target (the guard then sent min, and the offer
    believed a price it never asked for was on its way)."""
    channel = ChannelSettings(no_competition_use_sale_price=True, buybox_unavailable_action=BuyBoxAction.USE_SALE_PRICE)
    for sale, tick, target in ((499, 1, 1000), (3500, 1, 3000), (2503, 5, 2500), (2500, 5, 2500)):
        inputs = msgspec.structs.replace(_inputs(_snapshot(competitors=()), channel), settings=_sale(sale), tick=tick)
        assert _decide(inputs) == (target, Reason.NO_COMPETITION_SALE_PRICE)
        suppressed = msgspec.structs.replace(inputs, snapshot=_snapshot(suppressed=True))
        assert _decide(suppressed) == (target, Reason.SUPPRESSED)


def _sale(sale_price: int) -> OfferSettings:
    return msgspec.structs.replace(SETTINGS, sale_price=sale_price)


class _Resend:
    """A strategy that asks again, without a fresh signal, for the price it asked for before (as the search and the
    baselines do when their price is slow to go live)."""

    name = "resend"

    def __init__(self, target: int) -> None:
        self.target = target

    def initial_state(self) -> None:
        return None

    def decide(self, view: MarketView, state: None) -> Step[None]:
        return Step(self.target, Reason.AWAIT_LIVE, state)

    def rebase(self, state: None, delta: float) -> None:
        return state


NARROW = msgspec.structs.replace(SETTINGS, bounds=OfferBounds(600, 919))


def _capped(live: int, threshold: int, strategy: Strategy[object]) -> tuple[Decision, int]:
    """The decision with Amazon's ``threshold`` and our offer live at ``live``, and the price the guard sends."""
    snapshot = msgspec.structs.replace(_snapshot(our=OurListing(live)), competitive_price_threshold=threshold)
    inputs = msgspec.structs.replace(_inputs(snapshot), settings=NARROW)
    decision = decide(inputs, strategy, strategy.initial_state(), NOW).decision
    assert decision.target is not None
    sent = guard(
        decision.target,
        NARROW.bounds,
        1,
        current=live,
        signal_backed=decision.signal_backed,
        step_cap=DEFAULT_CHANNEL.step_cap,
    )
    return decision, sent.price


@pytest.mark.parametrize("resent", [919, 828, 700, 668, 650, 610])
def test_threshold_cap_survives_step_cap(resent: int) -> None:
    """Bounds [600, 919], live at 919, Amazon's threshold 668: a resend without a fresh signal went through the
    step cap from 919 and sent 828, a price that can never be featured. A move down to the threshold is backed by
    Amazon's own signal; below it the step cap still holds, counted from the threshold."""
    decision, sent = _capped(919, 668, _Resend(resent))
    assert sent <= 668
    assert decision.signal_backed
    # One step of 10% below the threshold (668 − 66 = 602) is as far as a move without a fresh signal goes.
    assert sent == max(min(resent, 668), 602)


@pytest.mark.parametrize(
    ("live", "resent", "sent"),
    [
        (700, 650, 650),  # one step from 700 reaches the target: nothing to change
        (740, 650, 666),  # the step cap stops at 666, already under the threshold
        (601, 900, 661),  # up to the threshold from below: still one step at a time
        (668, 610, 610),
    ],
)
def test_a_step_cap_that_stops_within_the_threshold_is_left_alone(live: int, resent: int, sent: int) -> None:
    decision, price = _capped(live, 668, _Resend(resent))
    assert (decision.target, decision.signal_backed, price) == (min(resent, 668), False, sent)


@pytest.mark.parametrize("strategy", [EngineSearch(), *(make_baseline(name) for name in BASELINES)])
def test_no_resend_goes_above_the_threshold_while_our_price_is_slow_to_go_live(strategy: Strategy[object]) -> None:
    """Every strategy, asked every minute for three hours while our price stays at 919 above the threshold of 668
    (the updates never apply): nothing it sends through the guard lands above the threshold."""
    snapshot = msgspec.structs.replace(_snapshot(our=OurListing(919)), competitive_price_threshold=668)
    state, asked, sent = strategy.initial_state(), None, []
    for look in range(180):
        now = NOW + 60.0 * look
        inputs = msgspec.structs.replace(
            _inputs(msgspec.structs.replace(snapshot, as_of=now, received_at=now)), settings=NARROW, asked=asked
        )
        outcome = decide(inputs, strategy, state, now)
        state, decision = outcome.state, outcome.decision
        if decision.target is not None:
            asked = decision.target
            step_cap = DEFAULT_CHANNEL.step_cap
            price = guard(
                decision.target, NARROW.bounds, 1, current=919, signal_backed=decision.signal_backed, step_cap=step_cap
            ).price
            sent.append((look, price, decision.reason, decision.signal_backed))
    assert sent
    assert all(price <= 668 for _, price, _, _ in sent), sent
