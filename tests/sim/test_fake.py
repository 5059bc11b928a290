"""The SP-API fake answers the real adapter as Amazon would: tokens, refusals, quotas and a competitive summary the
adapter's own decoder reads, all in trio's clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import trio
import trio.testing

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import AccessTokens, SpApiClient, competitive_summary_request, featured_shares
from engine.config import Credentials, CredentialSources, Endpoints, Secret, SellerAccount
from engine.model import ShareReading
from engine.ports import Throttled
from sim.api import MarketApi
from sim.fake import LWA_TOKEN_PATH, SIM_REFRESH_TOKEN, STATS_PATH, SpApiFake, scenario_fake
from sim.spec import OurSpec
from tests.sim.markets import one_row_market

REFRESH = "Atzr|sim-refresh-0"
SUMMARY = "/batches/products/pricing/2022-05-01/items/competitiveSummary"
BASE = "https://sellingpartnerapi-eu.amazon.com"
LWA = f"https://api.amazon.com{LWA_TOKEN_PATH}"
QUOTA_EXCEEDED = {
    "errors": [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}
    ]
}


def _fake(*, lifetime_s: float = 3600.0) -> SpApiFake:
    market = one_row_market(OurSpec(1000, 500, 2000), views_per_s=1.0, copies=3, notifications=False)
    return SpApiFake(MarketApi(market), {REFRESH: 0}, token_lifetime_s=lifetime_s)


@pytest.fixture
async def http() -> AsyncIterator[tuple[SpApiFake, httpx.AsyncClient]]:
    fake = _fake()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        yield fake, client


async def _token(client: httpx.AsyncClient, refresh_token: str = REFRESH) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "id", "client_secret": "s"}
    return await client.post(LWA, data=form)


def _summary_body(fake: SpApiFake) -> bytes:
    return competitive_summary_request(catalog_settings(fake.apis[0].market))


async def test_a_refresh_token_buys_an_access_token(
    autojump_clock: trio.testing.MockClock, http: tuple[SpApiFake, httpx.AsyncClient]
) -> None:
    _, client = http
    response = await _token(client)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == REFRESH
    assert body["access_token"].startswith("Atza|")


async def test_an_unknown_refresh_token_is_invalid_grant(
    autojump_clock: trio.testing.MockClock, http: tuple[SpApiFake, httpx.AsyncClient]
) -> None:
    _, client = http
    response = await _token(client, "Atzr|nobody")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_call_without_a_token_is_unauthorized(
    autojump_clock: trio.testing.MockClock, http: tuple[SpApiFake, httpx.AsyncClient]
) -> None:
    fake, client = http
    response = await client.post(SUMMARY, content=_summary_body(fake))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "Unauthorized"
    assert response.headers["x-amzn-RequestId"]


async def test_an_expired_token_is_unauthorized_and_says_so(autojump_clock: trio.testing.MockClock) -> None:
    fake = _fake(lifetime_s=60.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        token = (await _token(client)).json()["access_token"]
        await trio.sleep(61.0)
        response = await client.post(SUMMARY, content=_summary_body(fake), headers={"x-amz-access-token": token})
    assert response.status_code == 403
    (error,) = response.json()["errors"]
    assert (error["code"], error["details"]) == ("Unauthorized", "The access token you provided has expired.")
    assert fake.stats.unauthorized == 1


async def test_the_adapter_reads_the_summary_and_then_is_throttled(autojump_clock: trio.testing.MockClock) -> None:
    """The real adapter end to end: its token exchange, its request, its decoder; the second call within the
    quota's refill (0.033/s, burst 1) is Amazon's 429, which the adapter sorts as `Throttled`."""
    fake = _fake()
    market = fake.apis[0].market
    account = SellerAccount(
        id="acme",
        merchant_id=market.seller_id(0, 0),
        region="EU",
        credentials=Credentials(
            "id", Secret("secret"), Secret(REFRESH), CredentialSources("literal", "literal", "literal")
        ),
        endpoints=Endpoints(sp_api=BASE, lwa_token=LWA),
        markets=(),
    )
    offers = catalog_settings(market)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http_client:
        client = SpApiClient(account, http_client, AccessTokens(account, http_client))
        await trio.sleep(600.0)  # views come in: the offers are featured
        response = await client.request(
            "getCompetitiveSummary", "POST", SUMMARY, json_body=competitive_summary_request(offers)
        )
        readings = featured_shares(
            response.content, offers, at=trio.current_time(), currency="EUR", seller_id=market.seller_id(0, 0)
        )
        with pytest.raises(Throttled):
            await client.request(
                "getCompetitiveSummary", "POST", SUMMARY, json_body=competitive_summary_request(offers)
            )
        raw = await http_client.get(f"{BASE}{STATS_PATH}")
    assert len(readings) == len(offers)
    for reading in readings:
        assert isinstance(reading, ShareReading)
        assert reading.share == pytest.approx(1.0)  # our offer is the only one: featured for every view
        assert reading.price == 1000
    stats = json.loads(raw.content)
    assert stats["requests"] == 2
    assert stats["answered"] == {"getCompetitiveSummary": 1}
    assert stats["throttled"] == 1
    assert stats["over_quota"] == 1
    assert stats["over_quota_by_operation"] == {"getCompetitiveSummary": 1}
    assert stats["token_exchanges"] == 1


async def test_a_throttled_call_gets_amazon_s_body_and_its_quota_back_in_time(
    autojump_clock: trio.testing.MockClock, http: tuple[SpApiFake, httpx.AsyncClient]
) -> None:
    fake, client = http
    headers = {"x-amz-access-token": (await _token(client)).json()["access_token"]}
    body = _summary_body(fake)
    assert (await client.post(SUMMARY, content=body, headers=headers)).status_code == 200
    throttled = await client.post(SUMMARY, content=body, headers=headers)
    assert throttled.status_code == 429
    assert throttled.json() == QUOTA_EXCEEDED
    assert "Retry-After" not in throttled.headers
    await trio.sleep(1 / 0.033)  # one token's refill
    assert (await client.post(SUMMARY, content=body, headers=headers)).status_code == 200
    assert fake.stats.throttled == 1


async def test_an_asin_the_seller_has_not_is_that_item_s_404(
    autojump_clock: trio.testing.MockClock, http: tuple[SpApiFake, httpx.AsyncClient]
) -> None:
    fake, client = http
    headers = {"x-amz-access-token": (await _token(client)).json()["access_token"]}
    asked = json.loads(_summary_body(fake))
    asked["requests"][1]["asin"] = "B0NOTOURS0"
    response = await client.post(SUMMARY, json=asked, headers=headers)
    assert response.status_code == 200
    statuses = [item["status"]["statusCode"] for item in response.json()["responses"]]
    assert statuses == [200, 404, 200]
    assert response.json()["responses"][1]["body"]["asin"] == "B0NOTOURS0"


async def test_a_body_outside_the_model_is_a_400_and_charges_nothing(
    autojump_clock: trio.testing.MockClock, http: tuple[SpApiFake, httpx.AsyncClient]
) -> None:
    fake, client = http
    headers = {"x-amz-access-token": (await _token(client)).json()["access_token"]}
    missing_uri = {
        "requests": [{"asin": "B0X", "marketplaceId": "A1PA6795UKMFR9", "includedData": [], "method": "GET"}]
    }
    assert (await client.post(SUMMARY, json=missing_uri, headers=headers)).status_code == 400
    too_many = json.loads(_summary_body(fake))
    too_many["requests"] *= 7  # 21 items: the batch takes 20
    assert (await client.post(SUMMARY, json=too_many, headers=headers)).status_code == 400
    assert (await client.post(SUMMARY, content=_summary_body(fake), headers=headers)).status_code == 200
    assert fake.stats.bad_requests == 2


async def test_stats_count_what_was_asked(
    autojump_clock: trio.testing.MockClock, http: tuple[SpApiFake, httpx.AsyncClient]
) -> None:
    fake, client = http
    await _token(client, "Atzr|nobody")
    await client.get("/products/pricing/v0/items/B0X/offers")
    await client.post(SUMMARY, content=_summary_body(fake))
    stats = (await client.get(STATS_PATH)).json()
    assert stats == {
        "requests": 2,
        "answered": {},
        "throttled": 0,
        "over_quota": 0,
        "over_quota_by_operation": {},
        "unauthorized": 1,
        "bad_requests": 0,
        "server_errors": 0,
        "not_found": 1,
        "token_exchanges": 0,
        "token_refusals": 1,
        "updates_accepted": 0,
        "updates_applied": 0,
        "updates_invalid": 0,
        "prices_outside_bounds": 0,
        "faults": {},
        "buybox_share": 1.0,  # our offer alone on its items: featured for every view
        "buybox_held": 3,  # ... all three of them
        "notifications_sent": 0,  # nobody subscribed (and the shop's market makes none)
        "notifications_unsubscribed": 0,
        "queue_answered": {},
        "queue_refused_signatures": 0,
        "queue_redelivered": 0,
        "queue_deleted": 0,
    }


async def test_one_account_on_two_marketplaces_has_one_quota(autojump_clock: trio.testing.MockClock) -> None:
    """`scenario_fake`'s markets (DE and GB, seeds 4 and 5) share the seller's buckets, as Amazon's are per seller:
    a GB batch right after a DE one is throttled; a listing read names both marketplaces' offers at once."""
    fake = scenario_fake(scenario="S1a", seed=4, skus=3, marketplaces=["DE", "GB"])
    de, gb = (api.market for api in fake.apis)
    assert (de.spec.seeds, gb.spec.seeds, de.spec.currency[0], gb.spec.currency[0]) == ((4,), (5,), "EUR", "GBP")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as client:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": SIM_REFRESH_TOKEN,
            "client_id": "a",
            "client_secret": "b",
        }
        headers = {"x-amz-access-token": (await client.post(LWA, data=form)).json()["access_token"]}
        statuses = []
        for market in (de, gb):
            body = competitive_summary_request(catalog_settings(market))
            statuses.append((await client.post(SUMMARY, content=body, headers=headers)).status_code)
        sku = de.spec.sku[0]
        item = await client.get(
            f"/listings/2021-08-01/items/{de.seller_id(0, 0)}/{sku}",
            params={"marketplaceIds": "A1PA6795UKMFR9,A1F83G8C2ARO7P", "includedData": "offers"},
            headers=headers,
        )
    assert statuses == [200, 429]
    offers = {offer["marketplaceId"]: offer["price"]["currencyCode"] for offer in item.json()["offers"]}
    assert offers == {"A1PA6795UKMFR9": "EUR", "A1F83G8C2ARO7P": "GBP"}


def test_markets_with_their_own_quota_books_are_refused() -> None:
    one, two = (one_row_market(OurSpec(1000, 500, 2000), notifications=False) for _ in range(2))
    with pytest.raises(ValueError, match="share one quota book"):
        SpApiFake([MarketApi(one), MarketApi(two)], {REFRESH: 0})
