"""What the fuzz draws: a `World` is a strategy, a tick, settings, markets and a script of events to play.

Observations are drawn as a broken feed could send them (times not finite or a day ahead or ages past, prices of
0, below 0 or beyond int64, negative shipping, shares outside [0, 1], FOEP of 0, competitors twice, our listing
missing, thresholds below min or absurd, health events), interleaved with the marketplace's own sane snapshots,
rival moves, new settings and channels, pauses and waits, so the search always has something real to work on.

Settings are drawn only as the project's checks let them through: each offer is a `CatalogRow` passed through
`engine.catalog.settings`, so bounds are positive with min below max (a step apart at the least); bounds are on
the drawn tick, as a marketplace with that tick would check them. Sale prices, step caps and channel actions are
whatever the checks allow: a sale price outside the bounds or off the tick, a step cap of 0, below 0 or of 100x.
What the checks refuse is asserted refused in `test_rejected_settings`, not fed in here; a step cap that is not a
number is let through by every check and crashes the engine (`test_fuzz_findings`), so it is not drawn either.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import NamedTuple

from hypothesis import strategies as st

from engine.actors.validate import CLOCK_SKEW_S, FUTURE_LIMIT_S
from engine.catalog import CatalogRow
from engine.catalog import settings as catalog_settings
from engine.model import (
    BuyBoxAction,
    BuyBoxPrice,
    ChannelSettings,
    CompetitorFilter,
    CompetitorOffer,
    Condition,
    FoepReading,
    Fulfilment,
    HealthEvent,
    Observation,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OurListing,
    ShareReading,
)
from tests.fuzz.market import CODE, SELLER, Market

__all__ = [
    "Event",
    "NewChannel",
    "NewSettings",
    "PauseOffer",
    "Push",
    "RivalsMove",
    "Sane",
    "Wait",
    "World",
    "worlds",
]

SKUS = ("A", "B", "C")
# Every marketplace prices to the cent today; the grid is a runtime parameter, so coarser ones are fuzzed too.
TICKS = (1, 5, 10)
# Keys no offer actor has: another SKU, and our SKU under another seller.
STRANGERS = (OfferKey(SELLER, CODE, "UNKNOWN"), OfferKey("OTHER", CODE, "A"))


class Wait(NamedTuple):
    seconds: float


class Push(NamedTuple):
    """An observation as a feed may send it. Its times are offsets from the moment it is pushed: NaN and ±inf
    stay what they are, a huge offset is a broken epoch."""

    observation: Observation


class Sane(NamedTuple):
    """The marketplace's own snapshot of an offer, as a notification."""

    sku: str


class RivalsMove(NamedTuple):
    sku: str
    rivals: tuple[CompetitorOffer, ...]


class NewSettings(NamedTuple):
    settings: OfferSettings


class NewChannel(NamedTuple):
    channel: ChannelSettings


class PauseOffer(NamedTuple):
    """The offer paused for a while, then resumed."""

    sku: str
    seconds: float


Event = Wait | Push | Sane | RivalsMove | NewSettings | NewChannel | PauseOffer


class World(NamedTuple):
    strategy: str
    tick: int
    channel: ChannelSettings
    offers: tuple[OfferSettings, ...]
    markets: tuple[Market, ...]  # one per offer, in the same order
    events: tuple[Event, ...]


# --- adversarial values ----------------------------------------------------------------------------------------

_INT64 = 2**63 - 1
prices = st.one_of(
    st.sampled_from((0, -1, 1, _INT64, -_INT64 - 1, 10**15)),
    st.integers(-(10**6), 10**6),
    st.integers(1, 200_000),
)
offsets = st.one_of(
    st.just(0.0),
    st.sampled_from(
        (
            math.nan,
            math.inf,
            -math.inf,
            1e300,
            -1e300,
            CLOCK_SKEW_S,
            CLOCK_SKEW_S + 0.001,
            600.0,
            FUTURE_LIMIT_S,
            FUTURE_LIMIT_S + 1,
            -1e9,
        )
    ),
    st.floats(-1e7, 1e7),
)
shares = st.one_of(
    st.none(),
    st.sampled_from((0.0, 1.0, 0.5, -0.1, 1.1)),
    st.floats(allow_nan=True, allow_infinity=True),
)
_SELLER_IDS = ("R1", "R2", "AMZN")  # few, so a snapshot lists one seller twice now and then


def _competitors() -> st.SearchStrategy[CompetitorOffer]:
    return st.builds(
        CompetitorOffer,
        seller_id=st.sampled_from(_SELLER_IDS),
        listing_price=prices,
        shipping=prices,
        fulfilment=st.sampled_from(Fulfilment),
        condition=st.sampled_from(Condition),
        is_amazon=st.booleans(),
        prime=st.booleans(),
        feedback_pct=st.none() | st.integers(-5, 105),
        feedback_count=st.integers(-1, 10**6),
        handling_max_hours=st.integers(-1, 1000),
        is_buybox_winner=st.booleans(),
    )


def _snapshots(keys: st.SearchStrategy[OfferKey]) -> st.SearchStrategy[OfferSnapshot]:
    our = st.builds(
        OurListing,
        listing_price=prices,
        shipping=prices,
        live=st.booleans(),
        prime=st.booleans(),
        is_buybox_winner=st.booleans(),
    )
    winners = st.builds(
        BuyBoxPrice,
        landed_price=prices,
        listing_price=prices,
        shipping=prices,
        segment=st.sampled_from((None, "prime", "non_prime")),
        seller_id=st.none() | st.sampled_from(_SELLER_IDS),
    )
    return st.builds(
        OfferSnapshot,
        key=keys,
        source=st.sampled_from(("notification", "poll")),
        as_of=offsets,
        received_at=offsets,
        our=st.none() | our,
        competitors=st.lists(_competitors(), max_size=4).map(tuple),
        buybox=st.lists(winners, max_size=2).map(tuple),
        buybox_state=st.sampled_from(("available", "suppressed")),
        competitive_price_threshold=st.none() | prices,
    )


def observations(keys: st.SearchStrategy[OfferKey]) -> st.SearchStrategy[Observation]:
    return st.one_of(
        _snapshots(keys),
        st.builds(
            FoepReading,
            keys,
            offsets,
            st.none() | prices,
            st.sampled_from(("VALID_FOEP", "ASIN_NOT_ELIGIBLE")),
            st.none() | st.booleans(),
        ),
        st.builds(ShareReading, keys, offsets, shares, st.none() | prices),
        st.builds(HealthEvent, keys, offsets, st.booleans(), st.none() | prices),
    )


# --- settings the checks let through -------------------------------------------------------------------------


@st.composite
def offer_settings(draw: st.DrawFn, sku: str, tick: int, condition: Condition | None = None) -> OfferSettings:
    """One offer's settings through the catalog's checks; bounds on ``tick``, from one tick apart to far apart.
    ``condition``: the item's, which new settings keep (the market's rivals are in it)."""
    low = draw(st.integers(1, 20_000)) * tick
    high = low + draw(st.one_of(st.just(1), st.integers(1, 10), st.integers(1, 20_000))) * tick
    # Outside the bounds or off the tick is allowed in: the guard must leave such a sale price out.
    sale = draw(
        st.one_of(st.none(), st.integers(0, 2 * high), st.sampled_from((low, high, low - 1, high + 1, low + 1)))
    )
    row = CatalogRow(
        key=OfferKey(SELLER, CODE, sku),
        asin=f"B0FUZZ000{sku}",
        condition=draw(st.sampled_from(Condition)) if condition is None else condition,
        fulfilment=draw(st.sampled_from(Fulfilment)),
        min_price=low,
        max_price=high,
        sale_price=sale,
        stock=draw(st.none() | st.integers(0, 50)),
        lead_time_days=draw(st.none() | st.integers(0, 30)),
        shipping_group=draw(st.none() | st.just("standard")),
        repricing=draw(st.sampled_from((True, True, True, True, False))),
    )
    return catalog_settings(row)


_filters = st.one_of(
    st.just(CompetitorFilter()),
    st.just(CompetitorFilter()),  # thrice: a filter that lets no rival through leaves the strategy nothing to do
    st.just(CompetitorFilter()),
    st.builds(
        CompetitorFilter,
        conditions=st.lists(st.sampled_from(Condition), max_size=3, unique=True).map(tuple),
        fulfilment=st.lists(st.sampled_from(Fulfilment), max_size=2, unique=True).map(tuple),
        min_feedback_pct=st.integers(0, 100),
        min_feedback_count=st.integers(0, 2000),
        include_amazon=st.booleans(),
        max_handling_hours=st.none() | st.integers(0, 96),
    ),
)
channels = st.builds(
    ChannelSettings,
    buybox_unavailable_action=st.sampled_from(BuyBoxAction),
    no_competition_use_sale_price=st.booleans(),
    send_prices_only=st.booleans(),
    competitors=_filters,
    # Every step cap ChannelSettings accepts, (0, 1]; the others are refused where they enter (test_fuzz_findings).
    step_cap=st.one_of(
        st.sampled_from((Decimal("0.10"), Decimal("0.0001"), Decimal("0.001"), Decimal(1))),
        st.decimals(Decimal("0.0001"), 1, places=4),
    ),
    max_observation_age_s=st.sampled_from((60.0, 1800.0, 86_400.0)),
    dry_run=st.just(False) | st.booleans(),
)


# --- the marketplace and the script ----------------------------------------------------------------------------


def _rivals(offer: OfferSettings, *, some: bool = False) -> st.SearchStrategy[tuple[CompetitorOffer, ...]]:
    """Sane rivals around the offer's bounds in its condition, each seller once; unless ``some``, none at all now
    and then."""
    low, high = offer.bounds.min_price, offer.bounds.max_price
    rival = st.builds(
        CompetitorOffer,
        seller_id=st.sampled_from(("R1", "R2", "R3")),
        listing_price=st.integers(max(1, low // 2), 2 * high),
        shipping=st.integers(0, 500),
        condition=st.just(offer.condition),
        feedback_pct=st.just(98),
        feedback_count=st.just(5000),
        handling_max_hours=st.just(24),
    )
    rivals = st.lists(rival, min_size=1, max_size=3, unique_by=lambda r: r.seller_id).map(tuple)
    return rivals if some else st.one_of(rivals, rivals, st.just(()))


def _market(offer: OfferSettings) -> st.SearchStrategy[Market]:
    """Where an offer starts: our price anywhere (inside its bounds or not), and rivals to compete with."""
    low, high = offer.bounds.min_price, offer.bounds.max_price
    price = st.integers(max(1, low // 2), 2 * high) | st.integers(1, 10**6)
    return st.builds(Market, price, st.integers(0, 500), _rivals(offer, some=True))


waits = st.one_of(
    st.floats(0, 5),
    st.floats(0, 900),
    st.sampled_from((1800.0, 3600.0, 7200.0)),
).map(Wait)


def _events(offers: tuple[OfferSettings, ...], tick: int) -> st.SearchStrategy[Event]:
    skus = st.sampled_from([offer.key.sku for offer in offers])
    keys = st.sampled_from([*(offer.key for offer in offers), *STRANGERS])
    pushes = observations(keys).map(Push)
    return st.one_of(
        waits,
        pushes,
        pushes,  # twice: adversarial observations are the point
        skus.map(Sane),
        skus.map(Sane),  # twice too: the search needs the real market to get anywhere
        st.sampled_from(offers).flatmap(lambda o: _rivals(o).map(lambda r: RivalsMove(o.key.sku, r))),
        st.sampled_from(offers).flatmap(lambda o: offer_settings(o.key.sku, tick, o.condition)).map(NewSettings),
        channels.map(NewChannel),
        st.builds(PauseOffer, skus, waits.map(lambda wait: wait.seconds)),
    )


@st.composite
def worlds(draw: st.DrawFn, strategy: str, min_events: int = 10, max_events: int = 60) -> World:
    tick = draw(st.sampled_from(TICKS))
    count = draw(st.integers(1, len(SKUS)))
    offers = tuple(draw(offer_settings(sku, tick)) for sku in SKUS[:count])
    markets = tuple(draw(_market(offer)) for offer in offers)
    channel = draw(channels)
    events = draw(st.lists(_events(offers, tick), min_size=min_events, max_size=max_events))
    return World(strategy, tick, channel, offers, markets, tuple(events))
