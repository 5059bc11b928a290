"""Each competitor strategy does what buybox.md says, on small hand-built markets."""

from __future__ import annotations

import numpy as np

from sim.competitors import CompetitorArrays, CompetitorSpec, Strategy, StrategyTable, decide
from sim.spec import OurSpec
from tests.sim.markets import one_row_market


def target(
    specs: list[CompetitorSpec],
    *,
    slot: int = 1,
    our_price: int = 1000,
    our_ship: int = 0,
    our_live: bool = True,
    holder: int = -1,
    at: float = 0.0,
    u: float = 0.5,
) -> int:
    """The price competitor ``slot`` would set, given the live offers."""
    comp = CompetitorArrays.from_specs([specs])
    price = np.concatenate([[our_price], comp.price[0]])[None, :]
    ship = np.concatenate([[our_ship], comp.ship[0]])[None, :]
    available = np.concatenate([[our_live], comp.in_stock[0]])[None, :]
    pairs = StrategyTable(comp).pairs(np.array([0]), np.array([slot]))
    out = decide(pairs, price, ship, available, np.array([holder]), np.array([at]), np.array([u]), 1)
    return int(out[0])


def test_static_never_moves() -> None:
    assert target([CompetitorSpec(price=1234)], our_price=500) == 1234


def test_undercutter_goes_one_tick_under_the_lowest_landed_price_down_to_its_floor() -> None:
    undercut = CompetitorSpec(price=1200, shipping=100, strategy=Strategy.UNDERCUT, floor=700, ceiling=1500)
    assert target([undercut], our_price=1000, our_ship=50) == 1050 - 1 - 100
    assert target([undercut], our_price=600) == 700  # floor
    # When the others rise it comes back up to one tick under the lowest, never above its ceiling.
    assert target([undercut, CompetitorSpec(price=1300)], our_price=1400) == 1199
    assert target([undercut], our_price=5000) == 1500
    assert target([undercut], our_live=False) == 1500  # alone: ceiling


def test_buybox_matcher_prices_the_winner_minus_delta() -> None:
    matcher = CompetitorSpec(price=1200, strategy=Strategy.MATCH_BUYBOX, delta=5, floor=500, ceiling=2000)
    other = CompetitorSpec(price=990, fba=True)
    assert target([matcher, other], our_price=1000, holder=0) == 995
    assert target([matcher, other], our_price=1000, holder=2) == 985
    assert target([matcher, other], our_price=1000, holder=1) == 1200  # holds the Buy Box itself: stays
    assert target([matcher, other], our_price=1000, holder=-1) == 1200  # nobody holds it: stays


def test_raise_next_raises_to_the_next_offer_when_holding_and_undercuts_the_winner_otherwise() -> None:
    raiser = CompetitorSpec(price=900, strategy=Strategy.RAISE_NEXT, floor=500, ceiling=2000)
    other = CompetitorSpec(price=1100)
    assert target([raiser, other], our_price=1000, holder=1) == 999
    assert target([raiser, other], our_price=1000, holder=2) == 1099
    assert target([raiser], our_price=1000, our_live=False, holder=1) == 2000


def test_raise_alone_goes_to_its_ceiling_when_nobody_is_below_it() -> None:
    alone = CompetitorSpec(price=900, strategy=Strategy.RAISE_ALONE, floor=500, ceiling=1200)
    assert target([alone], our_price=1500) == 1200
    assert target([alone], our_price=1100) == 1099
    assert target([alone], our_price=400) == 500


def test_resetter_undercuts_and_jumps_to_its_ceiling_every_period() -> None:
    resetter = CompetitorSpec(
        price=900, strategy=Strategy.RESETTER, floor=700, ceiling=1500, period_s=3600.0, hold_s=600.0, phase_s=100.0
    )
    assert target([resetter], our_price=1000, at=100.0) == 1500
    assert target([resetter], our_price=1000, at=699.0) == 1500
    assert target([resetter], our_price=1000, at=701.0) == 999
    assert target([resetter], our_price=600, at=2000.0) == 700
    assert target([resetter], our_price=1000, at=3700.0 + 10.0) == 1500


def test_amazon_matches_the_lowest_landed_price_within_its_floor() -> None:
    amazon = CompetitorSpec(price=1200, amazon=True, fba=True, strategy=Strategy.AMAZON, floor=900, ceiling=1500)
    assert target([amazon], our_price=1000, our_ship=50) == 1050
    assert target([amazon], our_price=800) == 900
    assert target([amazon], our_live=False) == 1500


def test_human_shaves_up_to_two_percent_off_the_lowest_price() -> None:
    human = CompetitorSpec(price=1200, strategy=Strategy.HUMAN, floor=500, ceiling=2000)
    assert target([human], our_price=1000, u=0.0) == 1000
    assert target([human], our_price=1000, u=1.0) == 980
    assert 980 <= target([human], our_price=1000, u=0.37) <= 1000


def test_ratio_pricer_prices_off_a_reference_offer_within_bounds() -> None:
    off_us = CompetitorSpec(price=1000, strategy=Strategy.RATIO, ratio=0.98, ref_slot=0, floor=500, ceiling=2000)
    assert target([off_us], our_price=1000) == 980
    pair = [
        CompetitorSpec(price=1000, strategy=Strategy.RATIO, ratio=0.9983, ref_slot=2, floor=500, ceiling=9000),
        CompetitorSpec(price=1200, strategy=Strategy.RATIO, ratio=1.2706, ref_slot=1, floor=500, ceiling=9000),
    ]
    assert target(pair, slot=1) == round(0.9983 * 1200)
    assert target(pair, slot=2) == round(1.2706 * 1000)
    assert target([off_us], our_live=False) == 1000  # reference gone: holds


def test_ratio_pair_runs_away_to_their_ceilings_in_a_market() -> None:
    pair = [
        CompetitorSpec(
            price=1000, strategy=Strategy.RATIO, ratio=0.9983, ref_slot=2, ceiling=5000, cadence_s=600, latency_s=60
        ),
        CompetitorSpec(
            price=1200, strategy=Strategy.RATIO, ratio=1.2706, ref_slot=1, ceiling=6000, cadence_s=600, latency_s=60
        ),
    ]
    market = one_row_market(OurSpec(1500, 500, 2000), pair)
    market.advance_to(12 * 3600.0)
    assert market.price[0, 1] == 5000 and market.price[0, 2] == 6000


def test_slow_human_checks_about_once_a_day() -> None:
    human = CompetitorSpec(price=1200, strategy=Strategy.HUMAN, floor=500, ceiling=2000, cadence_s=86_400.0)
    market = one_row_market(OurSpec(1000, 500, 2000), [human], copies=40, notifications=False)
    market.advance_to(2.5 * 86_400.0)
    checks = market.competitor_checks[:, 0]
    assert checks.min() >= 2 and checks.max() <= 4
    assert np.all((market.price[:, 1] >= 980) & (market.price[:, 1] <= 1000))


def test_amazon_reprices_about_every_ten_minutes_and_keeps_the_buybox() -> None:
    amazon = CompetitorSpec(
        price=1100, amazon=True, fba=True, strategy=Strategy.AMAZON, floor=950, ceiling=1500, cadence_s=600.0
    )
    market = one_row_market(OurSpec(1000, 500, 2000), [amazon], copies=100, notifications=False)
    market.advance_to(6 * 3600.0)
    assert 30 <= market.competitor_checks[:, 0].mean() <= 42
    assert np.all(market.price[:, 1] == 1000)  # matched our landed price
    assert np.mean(market.holder == 1) > 0.9  # FBA + Amazon + incumbency beat us at the same price


def test_raise_next_holding_above_a_cheaper_offer_raises_to_the_next_one_above() -> None:
    """A repricer like ours that holds the Buy Box by its bonus (FBA), not its price, raises; it never undercuts
    the cheaper offer it already beats."""
    raiser = CompetitorSpec(price=1050, fba=True, strategy=Strategy.RAISE_NEXT, floor=500, ceiling=2000)
    other = CompetitorSpec(price=1100)
    assert target([raiser, other], our_price=1000, holder=1) == 1099
    assert target([raiser, other], our_price=1000, holder=0) == 999  # we hold: it undercuts us, the winner


def test_a_ratio_pricer_with_a_reset_goes_back_to_the_lowest_price_for_a_while() -> None:
    pricer = CompetitorSpec(
        price=5000,
        strategy=Strategy.RATIO,
        ratio=1.2706,
        ref_slot=2,
        floor=500,
        ceiling=9000,
        period_s=3600.0,
        hold_s=600.0,
    )
    reset = [pricer, CompetitorSpec(price=4000)]
    assert target(reset, our_price=1000, at=100.0) == 1000  # reset: the lowest other landed price
    assert target(reset, our_price=1000, at=700.0) == round(1.2706 * 4000)  # back to its ratio


def test_a_runaway_pair_that_is_reset_comes_back_into_the_market() -> None:
    """S8's pair: without a reset it climbs to its ceilings and stays there (out of the market for good); reset
    every few hours it comes back down to the lowest price, and climbs again."""
    pair = [
        CompetitorSpec(
            price=1000,
            strategy=Strategy.RATIO,
            ratio=ratio,
            ref_slot=ref,
            ceiling=5000,
            cadence_s=600,
            latency_s=60,
            period_s=4 * 3600.0,
            hold_s=1200.0,
            phase_s=6 * 3600.0,
        )
        for ratio, ref in ((0.9983, 2), (1.2706, 1))
    ]
    market = one_row_market(OurSpec(1500, 500, 2000), pair, notifications=False)
    cheaper = []
    for t in np.arange(600.0, 24 * 3600.0, 600.0):
        market.advance_to(float(t))
        cheaper.append(int(market.price[0, 1:].min()))
    climbed = cheaper.index(max(cheaper))
    assert max(cheaper) > 4000  # ran away ...
    assert min(cheaper[climbed:]) <= 1500  # ... and was put back at the lowest price (ours) later
