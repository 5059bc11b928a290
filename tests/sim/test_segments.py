"""Traffic segments: the Buy Box is decided per segment, our share is the weight of the segments featuring us, and
Amazon reports only featured offers, in the shape of its own model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import trio
import trio.testing
from jsonschema import Draft4Validator

from adapters.simulated.marketplace import SimulatedMarketplace
from adapters.spapi import share_reading
from engine.model import OfferKey, OfferSnapshot, ShareReading
from sim.api import MarketApi
from sim.buybox import NO_HOLDER, BuyBoxParams
from sim.competitors import CompetitorSpec
from sim.market import Market
from sim.scenarios import RunParams, build_market, build_spec
from sim.segments import ALL_VIEWS
from sim.spec import OurSpec, RowSpec, spec_from_rows
from sim.threshold import (
    NONE,
    PRICE_CEILING,
    SegmentedView,
    long_run_share,
    p_star_from_threshold,
    segment_thresholds,
    segmented_threshold,
)

INT_MAX = np.iinfo(np.int64).max
F64 = npt.NDArray[np.float64]
MODEL = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "spapi-models" / "models"


def summaries(market: Market, rows: list[int], t: float) -> list[dict[str, Any]]:
    """getCompetitiveSummary's responses as JSON, through the seller's API (one call per 20 rows, quota waited)."""
    api = MarketApi(market)
    out: list[dict[str, Any]] = []
    for first in range(0, len(rows), 20):
        t += 40.0  # one call per 30 s
        out += [json.loads(r) for r in api.competitive_summary(0, rows[first : first + 20], t).answer()]
    return out


def featured(response: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """Seller id -> its (membership, glance-view %) segments, from one response."""
    body = response["body"]
    offers = [o for option in body.get("featuredBuyingOptions", []) for o in option["segmentedFeaturedOffers"]]
    return {
        o["sellerId"]: [
            (s["customerMembership"], s["segmentDetails"]["glanceViewWeightPercentage"])
            for s in o["featuredOfferSegments"]
        ]
        for o in offers
    }


def test_competitive_summary_lists_only_featured_offers() -> None:
    """Our offer at twice a rival's price is featured nowhere and not listed; an expensive third offer neither.
    Near the rival's price each offer is listed with exactly the segments that feature it, and the weights of all
    listed segments make up every glance view."""
    far, near = 2000, 1010
    rivals = [CompetitorSpec(price=1000, fba=True), CompetitorSpec(price=1900)]
    rows = [RowSpec(OurSpec(price, 500, 2000), rivals) for price in (far, *range(near, near + 60))]
    market = Market(spec_from_rows(rows), seed=4, buybox=BuyBoxParams(tau=0.0))
    ours, expensive = market.seller_id(0, 0), market.seller_id(0, 2)
    answers = summaries(market, list(range(market.n_rows)), 0.0)
    assert ours not in featured(answers[0])
    listed_us = 0
    for row, response in enumerate(answers):
        offers = featured(response)
        assert expensive not in offers
        assert sum(p for segments in offers.values() for _, p in segments) == pytest.approx(100.0)
        expected = {
            market.seller_id(row, slot): sorted(
                (market.segments.membership[s], market.segment_weight[row, s] / 100)
                for s in np.flatnonzero(market.segment_holder[row] == slot)
            )
            for slot in set(market.segment_holder[row].tolist())
        }
        assert {seller: sorted(segments) for seller, segments in offers.items()} == expected
        listed_us += ours in offers
    assert 0 < listed_us < market.n_rows  # some rows feature us in some segments, the far one in none


def test_share_is_sum_of_segment_weights() -> None:
    """The adapter's reading of Amazon's reply is the weights of the segments featuring us (lumpy: a few values per
    item, not a smooth function of price), with the price we were featured at; the market's own share, which page
    views buy by and the metrics read, is the expectation of that: each segment's weight times the long-run share
    the rotation features us with."""
    market = build_market("S1b", 6, 60, RunParams.cell(tau=0.005))
    rows = np.arange(market.n_rows)
    rng = np.random.default_rng(6)
    offers = market.price[:, 1:]
    lowest = np.where(market.available[:, 1:], offers, INT_MAX).min(axis=1)
    market.submit(rows, np.maximum(np.round(lowest * rng.uniform(0.9, 1.08, len(rows))), 1).astype(np.int64), 0.0)
    market.advance_to(7200.0)
    featured = np.where(market.segment_holder == 0, market.segment_weight, 0).sum(axis=1) / ALL_VIEWS
    view = market.segmented_view(rows)
    expected = long_run_share(view, rows, market.price[:, 0] + market.ship[:, 0], 0.005) / ALL_VIEWS
    np.testing.assert_allclose(market.our_share, expected, atol=1e-9)
    assert 0 < np.mean(featured > 0) < 1
    assert ((featured > 0) & (featured < 1)).any()  # featured in some segments only
    api = MarketApi(market)
    t = 7200.0
    for first in range(0, len(rows), 20):
        t += 40.0
        part = rows[first : first + 20]
        replies = api.competitive_summary(0, part.tolist(), t).answer()
        featured = np.where(market.segment_holder == 0, market.segment_weight, 0).sum(axis=1) / ALL_VIEWS
        for row, reply in zip(part.tolist(), replies, strict=True):
            key = OfferKey("SIM", "DE", market.spec.sku[row])
            reading = share_reading(
                key, t, reply, seller_id=market.seller_id(row, 0), currency=market.catalog(row).currency
            )
            assert isinstance(reading, ShareReading)
            if featured[row] == 0:
                assert reading.share is None and reading.price is None
            else:
                assert reading.share == pytest.approx(featured[row], abs=1e-12)
                assert reading.price == market.price[row, 0]  # no competitor moves in S1b: as of the recompute


def test_the_summary_validates_against_amazons_model() -> None:
    """Every response, featured or not, suppressed or not, with or without a reference price, is a valid
    CompetitiveSummaryBatchResponse of productPricing 2022-05-01 (its ``$ref``s resolved in its definitions)."""
    path = MODEL / "productPricing_2022-05-01.json"
    if not path.exists():
        pytest.skip(f"Amazon's models are not beside the repository ({path})")
    model = json.loads(path.read_text())
    schema = {"$ref": "#/definitions/CompetitiveSummaryBatchResponse", "definitions": model["definitions"]}
    Draft4Validator.check_schema(schema)
    market = build_market("S5", 2, 40)
    market.submit(np.arange(40), market.spec.min_price, 0.0)
    answers = summaries(market, list(range(40)), 3600.0)
    suppressed = Market(
        spec_from_rows([RowSpec(OurSpec(1500, 500, 2000), [CompetitorSpec(price=1400)], ref_price=1000)]), seed=1
    )
    answers += summaries(suppressed, [0], 0.0)
    assert featured(answers[-1]) == {}
    assert any(r["body"].get("referencePrices") for r in answers)
    assert any(market.seller_id(0, 0) in featured(r) for r in answers)
    for batch in (answers[:20], answers[20:40], answers[40:]):
        Draft4Validator(schema).validate({"responses": batch})


async def test_item_offers_report_a_buybox_winner_per_segment_where_they_differ(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A Prime (FBA) offer of ours and a cheaper merchant-fulfilled rival: near the threshold Prime members' segments
    feature us and the non-Prime segment the rival, and getItemOffers gives one Buy Box price for each; where one
    offer wins both, a single one."""
    params = BuyBoxParams(tau=0.0, spread=0.0, quality_sd=0.0, regional_sd=0.0)
    rival = CompetitorSpec(price=1000)
    rows = [RowSpec(OurSpec(price, 500, 2000, fba=True), [rival]) for price in range(1000, 1080, 2)]
    market = Market(spec_from_rows(rows), seed=2, buybox=params)
    split = both = 0
    for row in range(market.n_rows):
        snap = market.snapshot(row)
        prime = set(market.segment_holder[row][market.segments.prime].tolist())
        non_prime = set(market.segment_holder[row][~market.segments.prime].tolist())
        if prime == {0} and non_prime == {1}:
            split += 1
            assert [(w.segment, w.seller_id) for w in snap.segment_winners] == [
                ("prime", market.seller_id(row, 0)),
                ("non_prime", market.seller_id(row, 1)),
            ]
            assert snap.segment_winners[0].listing_price == market.price[row, 0]
        else:
            both += 1
            assert snap.segment_winners == ()
    assert split > 0 and both > 0
    adapter = SimulatedMarketplace(market, code="DE")
    row = next(r for r in range(market.n_rows) if market.snapshot(r).segment_winners)
    (observation,) = await adapter.poll_offers([OfferKey("SIM", "DE", market.spec.sku[row])])
    assert isinstance(observation, OfferSnapshot)
    assert [(w.segment, w.seller_id) for w in observation.buybox] == [
        ("prime", market.seller_id(row, 0)),
        ("non_prime", market.seller_id(row, 1)),
    ]


def test_segment_weights_are_drawn_per_item_with_prime_members_the_majority() -> None:
    spec = build_spec("S1b", 3, 400)
    market = Market(spec, notifications=False)
    weight = market.segment_weight
    assert market.segments.membership == ("PRIME", "PRIME", "PRIME", "NON_PRIME")
    np.testing.assert_array_equal(weight.sum(axis=1), ALL_VIEWS)
    prime = weight[:, market.segments.prime].sum(axis=1)
    assert prime.min() >= 6000 and prime.max() <= 8500
    assert prime.max() - prime.min() > 2000  # drawn per item
    assert (weight > 0).all()
    # The same item (seed, stream key) has the same segments alone, replicated for the oracle, or in a batch.
    replicas = Market(spec.subset([5, 6]).replicate(3, np.repeat(spec.start_price[[5, 6]], 3)))
    np.testing.assert_array_equal(replicas.segment_weight, np.repeat(weight[[5, 6]], 3, axis=0))
    single = Market(spec.subset([0, 1]), buybox=BuyBoxParams(prime_regions=0))
    assert single.segments.membership == ("DEFAULT",)
    np.testing.assert_array_equal(single.segment_weight, ALL_VIEWS)


# --- p* under segments: the oracle against a brute-force scan of the per-segment rule ----------------------------


def brute_force(view: SegmentedView, row: int, tau: float, tick: int, lo: int, hi: int) -> tuple[int, float]:
    """buybox.md's rule written out (with L_min) at every grid price of one row, and we win where our expected share
    reaches half the views: τ > 0, each segment's weight times the long-run share the rotation features us with
    (the stationary distribution of the featured offer, from the eigenvector of the draw's transition matrix, not
    the simulator's linear solve); τ = 0, the weights of the segments whose argmax we are (ties to the incumbent,
    then the lowest landed price, then the lowest slot). Also the smallest distance of the deciding quantity from
    its threshold at the answer, to skip what float round-off could flip."""
    with np.errstate(all="ignore"):
        grid = np.arange(-(-lo // tick) * tick, hi + 1, tick)
        if not grid.size:
            return NONE, np.inf
        price = np.repeat(view.price[row][None, :], len(grid), axis=0)
        price[:, 0] = grid
        landed = price + view.ship[row]
        eligible = view.available[row] & (landed <= view.cap_landed[row])
        eligible[:, 0] &= view.our_can_win[row]
        l_min = np.where(eligible, landed, INT_MAX).min(axis=1, keepdims=True)
        won = np.zeros(len(grid))
        margin = np.full(len(grid), np.inf)
        total = view.weight[row].sum()
        for s, holder in enumerate(view.holder[row].tolist()):
            u = -np.log(landed / l_min) + view.bonus[row, s]
            if tau > 0:
                free = np.where(eligible, u, -np.inf)
                won += view.weight[row, s] * _long_run_ours(free, view.incumbency[row], tau)
                continue
            if holder >= 0:
                u[:, holder] += view.incumbency[row, holder]
            u = np.where(eligible, u, -np.inf)
            best = u.max(axis=1, keepdims=True)
            at_best = u == best
            holder_at_best = at_best[:, holder] if holder >= 0 else np.zeros(len(grid), np.bool_)
            cheapest = np.where(at_best, landed, INT_MAX).argmin(axis=1)
            winner = np.where(holder_at_best, holder, cheapest)
            wins = eligible[:, 0] & np.isfinite(best[:, 0]) & (winner == 0)
            gap = np.abs(u[:, 0] - u[:, 1:].max(axis=1))
            margin = np.minimum(margin, np.where(gap == 0, np.inf, gap))
            won += np.where(wins, view.weight[row, s], 0)
        if tau > 0 and total > 0:
            margin = np.abs(won / total - 0.5)
        hits = np.flatnonzero((2 * won >= total) & (total > 0))
        if not hits.size:
            return NONE, float(margin[0])
        top = hits[-1]
        return int(grid[top]), float(margin[top : top + 2].min())


def _long_run_ours(scores: F64, incumbency: F64, tau: float) -> F64:
    """The stationary probability that the rotation features slot 0, for each row of ``scores`` (one grid price's
    scores, -inf where the offer is not eligible): each draw is softmax((score + γ_inc of the current holder) / τ)
    over the eligible offers; the eigenvector of the transition matrix's transpose for the eigenvalue 1. All the
    grid prices whose offers are eligible alike in one stack of matrices (numpy's eig takes each one as LAPACK
    does alone, so the answer is the one a price at a time gives, bit for bit, in a fraction of the time)."""
    ours = np.zeros(len(scores))
    alive = np.isfinite(scores)
    patterns, which = np.unique(alive, axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        if not pattern[0]:
            continue
        rows, live = np.flatnonzero(which.ravel() == p), np.flatnonzero(pattern)
        n = len(live)
        x = np.repeat((scores[np.ix_(rows, live)] / tau)[:, None, :], n, axis=1)  # [price, holder, offer]
        x[:, np.arange(n), np.arange(n)] += incumbency[live] / tau
        w = np.exp(x - x.max(axis=2, keepdims=True))
        step = w / w.sum(axis=2, keepdims=True)
        values, vectors = np.linalg.eig(np.swapaxes(step, 1, 2))
        one = np.argmin(np.abs(values - 1.0), axis=1)
        pi = np.real(vectors[np.arange(len(rows)), :, one])
        ours[rows] = pi[:, 0] / pi.sum(axis=1)
    return ours


def random_view(rng: np.random.Generator, k: int, segments: int) -> SegmentedView:
    slots = 1 + k
    weight = rng.multinomial(ALL_VIEWS, rng.dirichlet(np.ones(segments)))
    weight[rng.random(segments) < 0.1] = 0  # a segment without views now and then
    return SegmentedView(
        price=rng.integers(50, 3000, (1, slots)),
        ship=rng.choice([0, 0, 0, 99, 299, 450], (1, slots)),
        available=np.append(True, rng.random(k) < 0.85)[None, :],
        bonus=rng.normal(0.0, 0.03, (1, segments, slots)),
        incumbency=rng.choice([0.005, 0.02], (1, slots)),
        holder=rng.integers(-1, slots, (1, segments)),
        weight=weight[None, :].astype(np.int64),
        cap_landed=np.array([rng.choice([INT_MAX, int(rng.integers(100, 4000))])]),
        our_can_win=np.array([rng.random() < 0.95]),
    )


@pytest.mark.parametrize("tau", [0.0, 0.005, 0.03])
def test_p_star_agrees_with_a_brute_force_scan_of_the_per_segment_rule(tau: float) -> None:
    rng = np.random.default_rng(int(tau * 1000) + 22)
    checked = winnable = 0
    for _ in range(200):
        view = random_view(rng, int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        tick = int(rng.choice([1, 1, 5]))
        lo = int(rng.integers(1, 3000))
        hi = lo + int(rng.integers(0, 2500))
        expected, margin = brute_force(view, 0, tau, tick, lo, hi)
        if margin <= 1e-9:
            continue
        checked += 1
        winnable += expected != NONE
        assert segmented_threshold(view, tau, tick, np.array([lo]), np.array([hi]))[0] == expected
        unclamped = segmented_threshold(view, tau, tick, np.array([tick]), np.array([PRICE_CEILING]))
        assert p_star_from_threshold(unclamped, np.array([lo]), np.array([hi]), tick)[0] == expected
    assert checked > 150 and winnable > 30


def test_the_markets_p_star_agrees_with_brute_force_mid_run() -> None:
    """A reacting market some hours in (competitors moved, incumbents in every segment, our prices all over the
    range): the market's p* is the brute-force answer over [min, max] for every row."""
    for scenario, tau in (("S5", 0.005), ("S4", 0.0)):
        market = build_market(scenario, 11, 25, RunParams.cell(tau=tau))
        rng = np.random.default_rng(11)
        span = market.spec.max_price - market.spec.min_price
        prices = market.spec.min_price + np.round(span * rng.uniform(-0.2, 1.0, market.n_rows)).astype(np.int64)
        market.submit(np.arange(market.n_rows), np.maximum(prices, 1), 0.0)
        market.advance_to(3 * 3600.0)
        view = market.segmented_view(np.arange(market.n_rows))
        assert (market.segment_holder >= 0).any() and (market.segment_holder == 0).any()
        for row in range(market.n_rows):
            lo, hi = int(market.spec.min_price[row]), int(market.spec.max_price[row])
            expected, margin = brute_force(view, row, tau, market.tick, lo, hi)
            if margin > 1e-9:
                assert market.p_star[row] == expected, row


def test_a_segment_featuring_us_is_one_whose_threshold_our_price_is_under_at_tau_0() -> None:
    """τ = 0, first recompute (no incumbent): exactly the segments whose threshold is at least our price feature
    us, and their views reach half exactly when our price is at most the item's p*."""
    for seed in range(6):
        competitors = [CompetitorSpec(price=1000), CompetitorSpec(price=1010, fba=True)]
        spec = spec_from_rows([RowSpec(OurSpec(price, 100, 2000), competitors) for price in range(930, 1080, 5)])
        market = Market(spec, seed=seed, buybox=BuyBoxParams(tau=0.0))
        rows = np.arange(market.n_rows)
        fresh = replace(market.segmented_view(rows), holder=np.full_like(market.segment_holder, NO_HOLDER))
        lo, hi = np.full(market.n_rows, 1), np.full(market.n_rows, 5000)
        per_segment = segment_thresholds(fresh, 0.0, 1, lo, hi)
        ours = market.price[:, 0]
        certain = per_segment >= ours[:, None]
        np.testing.assert_array_equal(market.segment_holder == 0, certain)
        p_star = segmented_threshold(fresh, 0.0, 1, lo, hi)
        np.testing.assert_array_equal(
            (ours <= p_star), (np.where(certain, market.segment_weight, 0).sum(axis=1) * 2 >= ALL_VIEWS)
        )


def test_segments_draw_their_featured_offer_by_the_shares() -> None:
    """τ > 0: at every recompute each segment draws the offer it features, ours with our share of it, so offers
    close in score take turns and two sellers share the Buy Box. Over many recomputes of rows alike but for their
    random streams, the views featuring us average our expected share, and no row is featured all the time."""
    competitors = [CompetitorSpec(price=1000)]
    spec = spec_from_rows([RowSpec(OurSpec(1000, 100, 2000), competitors) for _ in range(200)])
    market = Market(spec, seed=3, buybox=BuyBoxParams.plain(tau=0.005))
    featured, expected = [], []
    for t in np.arange(600.0, 6 * 3600.0, 600.0):
        market.advance_to(float(t))
        featured.append(np.where(market.segment_holder == 0, market.segment_weight, 0).sum(axis=1) / ALL_VIEWS)
        expected.append(market.our_share.copy())
    seen, mean = np.array(featured), np.array(expected)
    assert 0.2 < mean.mean() < 0.8  # a close contest, not one offer far ahead
    standard_error = seen.std() / np.sqrt(seen.size)
    assert abs(seen.mean() - mean.mean()) < 4 * standard_error
    assert ((seen > 0).any(axis=0) & (seen < 1).any(axis=0)).mean() > 0.9  # each row won and lost in turn
