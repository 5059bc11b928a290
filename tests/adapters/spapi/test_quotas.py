"""The adapter paces every SP-API operation it calls at 95% of Amazon's documented rate and burst, for one seller;
the documented numbers are reference/spapi.md's and the official models'."""

from __future__ import annotations

import json
import re

import pytest

from adapters.spapi.quotas import CALLED, ENGINE_OPERATIONS, LISTINGS_FEED, engine_quota, quota
from engine.ports import Quota
from sim.quotas import OPERATIONS
from tests.adapters.spapi.replies import MODELS

# reference/spapi.md's rate limits table, written out again: (rate per second, burst, items per call).
DOCUMENTED = {
    "getItemOffersBatch": (0.1, 1, 20),
    "getListingOffersBatch": (0.5, 1, 20),
    "getFeaturedOfferExpectedPriceBatch": (0.033, 1, 40),
    "getCompetitiveSummary": (0.033, 1, 20),
    "getListingsItem": (5.0, 10, 1),
    "patchListingsItem": (5.0, 5, 1),
    "createFeedDocument": (0.5, 15, 1),
    "createFeed": (0.0083, 15, 25_000),
    "getFeed": (2.0, 15, 1),
    "getFeedDocument": (0.0222, 10, 1),
}
# 95% of each burst, rounded down, at least one call.
BURSTS = {
    "getItemOffersBatch": 1,
    "getListingOffersBatch": 1,
    "getFeaturedOfferExpectedPriceBatch": 1,
    "getCompetitiveSummary": 1,
    "getListingsItem": 9,
    "patchListingsItem": 4,
    "createFeedDocument": 14,
    "createFeed": 14,
    "getFeed": 14,
    "getFeedDocument": 9,
}


def test_every_operation_the_adapter_calls_has_a_quota() -> None:
    assert set(CALLED) == set(DOCUMENTED)


@pytest.mark.parametrize("operation", sorted(DOCUMENTED))
def test_paces_at_95_percent_of_the_documented_rate_and_burst(operation: str) -> None:
    rate, _, batch = DOCUMENTED[operation]
    limit = quota(operation)
    assert limit.rate == pytest.approx(rate * 0.95)
    assert limit.rate < rate
    assert limit.burst == BURSTS[operation]
    assert limit.batch == batch


def test_the_pricing_batches_pace_one_call_every_so_often() -> None:
    assert 1 / quota("getItemOffersBatch").rate == pytest.approx(10.53, abs=0.01)  # not 10 s
    assert 1 / quota("getFeaturedOfferExpectedPriceBatch").rate == pytest.approx(31.9, abs=0.05)  # not 30.3 s
    assert 1 / quota("createFeed").rate == pytest.approx(126.8, abs=0.1)  # not 120.5 s


def test_json_listings_feeds_are_paced_at_95_percent_of_five_per_five_minutes() -> None:
    """The feed type's own limit, on top of createFeed's bucket (reference/spapi.md): four at once, then one every
    63 s rather than every 60 s."""
    limit = quota(LISTINGS_FEED)
    assert (limit.burst, limit.batch) == (4, 25_000)
    assert 1 / limit.rate == pytest.approx(63.16, abs=0.01)


def test_an_operation_the_adapter_does_not_call_is_an_error() -> None:
    with pytest.raises(KeyError, match="getOrders"):
        quota("getOrders")
    with pytest.raises(KeyError, match="poll_offers"):
        quota("poll_offers")  # the engine's name: `engine_quota`


def test_the_engine_operations_map_onto_amazon_operations_as_the_simulator_does() -> None:
    from adapters.simulated.marketplace import OPERATIONS as SIMULATED

    assert ENGINE_OPERATIONS == SIMULATED
    assert set(ENGINE_OPERATIONS.values()) <= set(CALLED)


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("poll_offers", Quota(0.475, 1, 20)),
        ("featured_offer_prices", Quota(0.03135, 1, 40)),
        ("featured_shares", Quota(0.03135, 1, 20)),
        ("submit", Quota(4.75, 4, 4)),  # one patch per SKU: an engine batch is what one burst allows
        ("read_back", Quota(4.75, 9, 9)),
    ],
)
def test_engine_operations_get_their_amazon_operations_quota(operation: str, expected: Quota) -> None:
    limit = engine_quota(operation)
    assert limit.rate == pytest.approx(expected.rate)
    assert (limit.burst, limit.batch) == (expected.burst, expected.batch)


def test_an_unknown_engine_operation_is_an_error() -> None:
    with pytest.raises(KeyError, match="getListingsItem"):
        engine_quota("getListingsItem")


@pytest.mark.skipif(not MODELS.is_dir(), reason=f"Amazon's models are not beside the repository ({MODELS})")
def test_the_table_agrees_with_the_official_models() -> None:
    """Each operation's description in the model carries a "| Rate (requests per second) | Burst |" table."""
    found: dict[str, tuple[float, int]] = {}
    for model in (MODELS / "models").glob("*.json"):
        for methods in json.loads(model.read_text(encoding="utf-8"))["paths"].values():
            for operation in methods.values():
                if isinstance(operation, dict) and operation.get("operationId") in DOCUMENTED:
                    rows = re.findall(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", operation.get("description", ""))
                    assert len(rows) == 1, operation["operationId"]
                    found[operation["operationId"]] = (float(rows[0][0]), int(rows[0][1]))
    assert found == {name: (rate, burst) for name, (rate, burst, _) in DOCUMENTED.items()}
    assert {name: (OPERATIONS[name].rate, OPERATIONS[name].burst) for name in DOCUMENTED} == found
