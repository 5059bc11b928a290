"""The fake's Listings Items routes: a read-back that shows the live price a lag after it went live, a patch that
goes through the simulator's submit path or is refused INVALID with Amazon's issues, and the refusals of a request
Amazon would not take."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import patch_request
from adapters.spapi.marketplace import LISTINGS_DATA, listings_item_path
from engine.model import Fulfilment, ListingState, OfferKey, OfferUpdate
from sim.fake import SpApiFake
from sim.latency import LatencyParams
from tests.sim.fakes import BASE, DE, MODELS, OURS_WIN, SPLIT, adapter, as_json, fake_of, shop, token, validator

LISTINGS = "models/listingsItems_2021-08-01.json"
SURE = LatencyParams(never_apply=0.0)  # every accepted submit applies, so a test can wait for it
needs_models = pytest.mark.skipif(
    not MODELS.is_dir(), reason=f"Amazon's models are not beside the repository ({MODELS})"
)


def _update(row: int, price: int, **more: Any) -> OfferUpdate:
    market = shop()
    offer = catalog_settings(market, [row], seller="acme")[0]
    return OfferUpdate(
        offer.key,
        1,
        "EUR",
        price,
        offer.bounds.min_price,
        offer.bounds.max_price,
        quantity=1000,
        lead_time_days=2,
        **more,
    )


class _Client:
    """Raw calls to one fake of the shop, with a token."""

    def __init__(self, fake: SpApiFake, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.fake, self.http, self.headers = fake, http, headers
        self.market = fake.apis[0].market
        self.seller_id = self.market.seller_id(0, 0)

    def path(self, row: int | str, seller_id: str | None = None) -> str:
        sku = row if isinstance(row, str) else self.market.spec.sku[row]
        return listings_item_path(seller_id or self.seller_id, sku)

    async def get(self, row: int | str, **params: str) -> httpx.Response:
        query = {"marketplaceIds": DE, "includedData": LISTINGS_DATA, **params}
        return await self.http.get(self.path(row), params=query, headers=self.headers)

    async def patch(self, row: int | str, body: bytes | dict[str, Any], **params: str) -> httpx.Response:
        query = {"marketplaceIds": DE, **params}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.patch(self.path(row), params=query, content=content, headers=self.headers)


@asynccontextmanager
async def _client(latency: LatencyParams | None = None) -> AsyncIterator[_Client]:
    fake = fake_of(shop(latency=latency), token_lifetime_s=86_400.0)  # a day: a test may wait hours on one token
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as http:
        yield _Client(fake, http, await token(http))


@needs_models
async def test_the_listing_and_the_submission_answer_in_the_shape_of_the_model(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with _client() as client:
        item = await client.get(OURS_WIN, includedData=LISTINGS_DATA + ",productTypes,relationships,procurement")
        accepted = await client.patch(OURS_WIN, patch_request(_update(OURS_WIN, 1000)))
        await trio.sleep(1.0)
        invalid = await client.patch(OURS_WIN, patch_request(_update(OURS_WIN, 100)))
    validator(LISTINGS, "Item").validate(as_json(item.content))
    for reply in (accepted, invalid):
        validator(LISTINGS, "ListingsItemSubmissionResponse").validate(as_json(reply.content))
    assert (accepted.json()["status"], invalid.json()["status"]) == ("ACCEPTED", "INVALID")


async def test_read_back_shows_the_new_price_a_lag_after_it_went_live(autojump_clock: trio.testing.MockClock) -> None:
    market = shop(latency=SURE)
    fake = fake_of(market)
    update = _update(OURS_WIN, 1100)
    async with adapter(fake) as (amazon, _):
        (result,) = await amazon.submit([update])
        assert (result.status, result.submission_id) == ("accepted", "sim-submission-00000001")
        (before,) = await amazon.read_back([update.key])
        assert isinstance(before, ListingState) and before.price == 900  # not live yet
        while int(market.price[OURS_WIN, 0]) != 1100:  # the market's submit→live latency
            await trio.sleep(1.0)
            market.advance_to(trio.current_time())
        live_at = trio.current_time()
        (right_after,) = await amazon.read_back([update.key])
        await trio.sleep(4 * 3600.0)
        (later,) = await amazon.read_back([update.key])
    assert isinstance(right_after, ListingState) and right_after.price == 900, live_at  # the listings view lags
    assert isinstance(later, ListingState) and (later.price, later.live) == (1100, True)
    assert fake.stats.updates_accepted == fake.stats.updates_applied == 1


async def test_a_patch_sets_the_attributes_and_the_quantity(autojump_clock: trio.testing.MockClock) -> None:
    async with _client(SURE) as client:
        reply = await client.patch(OURS_WIN, patch_request(_update(OURS_WIN, 1000, sale_price=950)))
        assert reply.json()["status"] == "ACCEPTED"
        await trio.sleep(4 * 3600.0)
        item = (await client.get(OURS_WIN)).json()
    (offer,) = item["attributes"]["purchasable_offer"]
    assert offer["our_price"] == [{"schedule": [{"value_with_tax": 10.0}]}]
    assert offer["discounted_price"] == [{"schedule": [{"value_with_tax": 9.5}]}]
    assert item["offers"][0]["price"] == {"currencyCode": "EUR", "amount": "10.00"}
    # The 1000 units sent, less what sold since (as the market counts it).
    stock = int(client.market.our_stock[OURS_WIN])
    assert 0 < stock < 1000  # not the catalog's 1,000,000
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": stock}]
    assert item["summaries"][0]["lastUpdatedDate"] == "2025-01-01T00:00:00.000Z"  # patched at trio time 0


@pytest.mark.parametrize(
    ("price", "code", "words"),
    [
        (400, "18155", "The 'minimum price' (5.00 EUR) is greater than the selling price (4.00 EUR)"),
        (3100, "4000001", "above the maximum_seller_allowed_price 30.00 EUR"),
    ],
)
async def test_a_price_outside_the_offer_s_limits_is_invalid_and_changes_nothing(
    autojump_clock: trio.testing.MockClock, price: int, code: str, words: str
) -> None:
    async with _client(SURE) as client:
        update = _update(OURS_WIN, price)
        body = json.loads(patch_request(update))
        # Within the limits sent, outside the ones Amazon holds: the patch sends the catalog's, 5.00 to 30.00.
        reply = (await client.patch(OURS_WIN, body)).json()
        await trio.sleep(4 * 3600.0)
    assert reply["status"] == "INVALID"
    (issue,) = reply["issues"]
    assert (issue["code"], issue["severity"], issue["attributeNames"]) == (code, "ERROR", ["purchasable_offer"])
    assert words in issue["message"]
    assert int(client.market.price[OURS_WIN, 0]) == 900
    assert (client.fake.stats.updates_invalid, client.fake.stats.prices_outside_bounds) == (1, 1)


async def test_a_price_outside_the_catalog_bounds_is_counted_even_when_amazon_takes_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with _client(SURE) as client:
        update = OfferUpdate(OfferKey("acme", "DE", client.market.spec.sku[OURS_WIN]), 1, "EUR", 4000, 100, 5000)
        reply = (await client.patch(OURS_WIN, patch_request(update))).json()
    assert reply["status"] == "ACCEPTED"
    assert client.fake.stats.prices_outside_bounds == 1


@pytest.mark.parametrize(
    ("patches", "code", "words"),
    [
        (
            [{"op": "replace", "path": "/attributes/purchasable_offer/0/our_price", "value": [{}]}],
            "90000900",
            "top-level",
        ),
        (
            [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer",
                    "value": [{"marketplace_id": DE, "currency": "EUR"}],
                }
            ],
            "90220",
            "our_price",
        ),
        (
            [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer",
                    "value": [
                        {
                            "marketplace_id": DE,
                            "currency": "EUR",
                            "our_price": [{"schedule": [{"value_with_tax": "12.00"}]}],
                        }
                    ],
                }
            ],
            "4000001",
            "must be a number",
        ),
        (
            [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer",
                    "value": [
                        {
                            "marketplace_id": DE,
                            "currency": "EUR",
                            "our_price": [{"schedule": [{"value_with_tax": 12.001}]}],
                        }
                    ],
                }
            ],
            "4000001",
            "12.001",
        ),
        (
            [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer",
                    "value": [
                        {"marketplace_id": DE, "currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 12}]}]}
                    ],
                }
            ],
            "4000001",
            "currency 'USD'",
        ),
        (
            [
                {
                    "op": "merge",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "AMAZON_EU"}],
                }
            ],
            "4000001",
            "does not move an offer",
        ),
        (
            [
                {
                    "op": "merge",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -1}],
                }
            ],
            "4000001",
            "quantity",
        ),
        (
            [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer",
                    "value": [{"marketplace_id": "A13V1IB3VIYZZH"}],
                }
            ],
            "4000001",
            "is not A1PA6795UKMFR9",
        ),
        ([{"op": "merge", "path": "/attributes/purchasable_offer"}], "4000001", "needs a value"),
    ],
)
async def test_a_patch_amazon_cannot_apply_is_invalid_with_its_issue(
    autojump_clock: trio.testing.MockClock, patches: list[dict[str, Any]], code: str, words: str
) -> None:
    async with _client() as client:
        reply = await client.patch(OURS_WIN, {"productType": "PRODUCT", "patches": patches})
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "INVALID"
    assert body["submissionId"]
    assert [issue["code"] for issue in body["issues"]] == [code]
    assert words in body["issues"][0]["message"]


async def test_a_patch_of_an_unknown_sku_is_invalid(autojump_clock: trio.testing.MockClock) -> None:
    async with _client() as client:
        reply = (await client.patch("NOT-OURS", patch_request(_update(OURS_WIN, 1000)))).json()
    assert reply["status"] == "INVALID"
    assert reply["issues"][0]["code"] == "NOT_FOUND"


async def test_a_merge_keeps_what_it_does_not_name(autojump_clock: trio.testing.MockClock) -> None:
    async with _client(SURE) as client:
        merge = {
            "op": "merge",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "lead_time_to_ship_max_days": 4}],
        }
        reply = (await client.patch(SPLIT, {"productType": "PRODUCT", "patches": [merge]})).json()
        item = (await client.get(SPLIT)).json()
    assert reply["status"] == "ACCEPTED"
    (availability,) = item["attributes"]["fulfillment_availability"]
    assert availability == {
        "fulfillment_channel_code": "DEFAULT",
        "quantity": 1_000_000,
        "lead_time_to_ship_max_days": 4,
    }
    assert item["attributes"]["purchasable_offer"][0]["our_price"] == [{"schedule": [{"value_with_tax": 20.0}]}]


async def test_a_validation_preview_answers_valid_and_changes_nothing(autojump_clock: trio.testing.MockClock) -> None:
    async with _client(SURE) as client:
        reply = await client.patch(
            OURS_WIN,
            patch_request(_update(OURS_WIN, 1000)),
            mode="VALIDATION_PREVIEW",
            includedData="identifiers,issues",
        )
        await trio.sleep(4 * 3600.0)
    assert reply.json()["status"] == "VALID"
    assert reply.json()["identifiers"] == [{"marketplaceId": DE, "asin": client.market.spec.asin[OURS_WIN]}]
    assert int(client.market.price[OURS_WIN, 0]) == 900
    assert client.fake.stats.updates_accepted == 0


async def test_each_patch_is_one_call_of_its_own_quota(autojump_clock: trio.testing.MockClock) -> None:
    """patchListingsItem is 5 a second, burst 5: the sixth at once is a 429, and the read-back's bucket is apart."""
    async with _client() as client:
        statuses = [
            (await client.patch(OURS_WIN, patch_request(_update(OURS_WIN, 1000)))).status_code for _ in range(6)
        ]
        read = await client.get(OURS_WIN)
    assert statuses == [200] * 5 + [429]
    assert read.status_code == 200
    assert client.fake.stats.over_quota_by_operation == {"patchListingsItem": 1}


@pytest.mark.parametrize(
    ("call", "status", "code", "words"),
    [
        ("get_unknown", 404, "NOT_FOUND", "SKU 'NOT-OURS' not found"),
        ("get_other_seller", 403, "Unauthorized", "not for seller"),
        ("get_no_marketplace", 400, "BAD_REQUEST", "marketplaceIds is required"),
        ("get_bad_marketplace", 400, "BAD_REQUEST", "XX is not a marketplace"),
        ("get_bad_data", 400, "BAD_REQUEST", "includedData: everything"),
        ("patch_no_patches", 400, "BAD_REQUEST", "at least one"),
        ("patch_bad_op", 400, "BAD_REQUEST", "op"),
        ("patch_not_json", 400, "BAD_REQUEST", "JSON"),
        ("patch_identifiers", 400, "BAD_REQUEST", "VALIDATION_PREVIEW"),
    ],
)
async def test_a_request_amazon_refuses_gets_its_error_and_is_not_charged(
    autojump_clock: trio.testing.MockClock, call: str, status: int, code: str, words: str
) -> None:
    good = patch_request(_update(OURS_WIN, 1000))
    async with _client() as client:
        if call == "get_unknown":
            reply = await client.get("NOT-OURS")
        elif call == "get_other_seller":
            reply = await client.http.get(
                client.path(OURS_WIN, "A2OTHERSELLER"), params={"marketplaceIds": DE}, headers=client.headers
            )
        elif call == "get_no_marketplace":
            reply = await client.http.get(client.path(OURS_WIN), headers=client.headers)
        elif call == "get_bad_marketplace":
            reply = await client.get(OURS_WIN, marketplaceIds="XX")
        elif call == "get_bad_data":
            reply = await client.get(OURS_WIN, includedData="summaries,everything")
        elif call == "patch_no_patches":
            reply = await client.patch(OURS_WIN, {"productType": "PRODUCT", "patches": []})
        elif call == "patch_bad_op":
            reply = await client.patch(
                OURS_WIN, {"productType": "PRODUCT", "patches": [{"op": "move", "path": "/attributes/x"}]}
            )
        elif call == "patch_not_json":
            reply = await client.patch(OURS_WIN, b"{not json")
        else:
            reply = await client.patch(OURS_WIN, good, includedData="identifiers")
        (error,) = reply.json()["errors"]
        # Nothing was charged: five patches still go through at once (a 404 is charged: it was looked up).
        after = [(await client.patch(OURS_WIN, good)).status_code for _ in range(5)]
    assert (reply.status_code, error["code"]) == (status, code)
    assert words in error["message"] + " " + error["details"]
    assert after == [200] * 5


async def test_the_adapter_submits_and_reads_back_through_the_fake(autojump_clock: trio.testing.MockClock) -> None:
    market = shop(latency=SURE)
    fake = fake_of(market)
    updates = [_update(OURS_WIN, 1000), _update(SPLIT, 100), _update(SPLIT, 1500, fulfilment=Fulfilment.MERCHANT)]
    async with adapter(fake) as (amazon, _):
        results = await amazon.submit(updates)
        await trio.sleep(4 * 3600.0)
        states = await amazon.read_back([OfferKey("acme", "DE", market.spec.sku[row]) for row in (OURS_WIN, SPLIT)])
    assert [result.status for result in results] == ["accepted", "invalid", "accepted"]
    assert "18155" in results[1].issues[0]
    assert [state.price for state in states if isinstance(state, ListingState)] == [1000, 1500]
