"""The fake's SQS queue and Notifications API, met by the adapter's own clients: a request signed with the known key
is answered and any other is SQS's 403; a long poll waits on trio's clock for a message (and no longer than asked);
a message received and not deleted comes back after its visibility timeout; the markets' notifications reach a
subscribed seller's queue as Amazon's JSON, and nobody else's."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from jsonschema import Draft7Validator

from adapters.spapi import AccessTokens, SpApiClient
from adapters.spapi.auth import NOTIFICATIONS_SCOPE
from adapters.spapi.sqs import QueueRefused, SqsQueue
from adapters.spapi.subscribe import subscribe
from engine.config import QueueSettings, Secret, SellerAccount
from sim.api import MarketApi
from sim.fake import (
    SIM_AWS_ACCESS_KEY_ID,
    SIM_AWS_ACCOUNT,
    SIM_AWS_SECRET_ACCESS_KEY,
    SIM_QUEUE,
    SIM_REGION,
    SpApiFake,
)
from sim.market import Market
from sim.scenarios import RunParams, build_market
from tests.sim.fakes import MODELS, REFRESH, account

ORIGIN = "https://sqs.eu-west-1.amazonaws.com"
ARN = f"arn:aws:sqs:{SIM_REGION}:{SIM_AWS_ACCOUNT}:{SIM_QUEUE}"
DE = "A1PA6795UKMFR9"


def settings(*, key: str = SIM_AWS_ACCESS_KEY_ID, secret: str = SIM_AWS_SECRET_ACCESS_KEY) -> QueueSettings:
    return QueueSettings(
        url=f"{ORIGIN}/{SIM_AWS_ACCOUNT}/{SIM_QUEUE}",
        arn=ARN,
        region=SIM_REGION,
        endpoint=ORIGIN,
        access_key_id=key,
        secret_access_key=Secret(secret),
        sources=("literal", "literal"),
    )


def market(skus: int = 5) -> Market:
    return build_market("S1b", 1, skus, RunParams(), start_at=trio.current_time())


@asynccontextmanager
async def on_the_fake(fake: SpApiFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        yield http


def clients(seller: SellerAccount, http: httpx.AsyncClient) -> tuple[SpApiClient, SpApiClient]:
    grantless = SpApiClient(seller, http, AccessTokens(seller, http, scope=NOTIFICATIONS_SCOPE))
    return SpApiClient(seller, http, AccessTokens(seller, http)), grantless


async def test_a_request_signed_with_the_key_is_answered_and_a_wrong_secret_is_sqs_403(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = SpApiFake(MarketApi(market()), {REFRESH: 0})
    async with on_the_fake(fake) as http:
        assert await SqsQueue(settings(), http).receive(wait_s=0) == []
        with pytest.raises(QueueRefused) as refused:
            await SqsQueue(settings(secret="not-the-secret"), http).receive(wait_s=0)
        headers = SqsQueue(settings(), http).signed("ReceiveMessage", b"{}")
        tampered = await http.post(f"{ORIGIN}/", content=b'{"QueueUrl": "x"}', headers=headers)
    assert refused.value.name == "SignatureDoesNotMatch"
    assert "calculated does not match the signature you provided" in str(refused.value)
    assert SIM_AWS_SECRET_ACCESS_KEY not in str(refused.value) and "not-the-secret" not in str(refused.value)
    # A body that is not the one signed: SQS's JSON error shape, its query-protocol code in the header.
    assert tampered.status_code == 403
    assert tampered.json()["__type"] == "com.amazon.coral.service#SignatureDoesNotMatch"
    assert tampered.headers["x-amzn-query-error"] == "SignatureDoesNotMatch;Sender"
    assert fake.read_stats().queue_refused_signatures == 2


async def test_an_unknown_access_key_is_refused_as_an_invalid_client_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = SpApiFake(MarketApi(market()), {REFRESH: 0})
    async with on_the_fake(fake) as http:
        with pytest.raises(QueueRefused) as refused:
            await SqsQueue(settings(key="AKIAUNKNOWNKEY000000"), http).receive(wait_s=0)
    assert refused.value.name == "InvalidClientTokenId"


async def test_a_long_poll_waits_on_trio_clock_for_a_message_and_no_longer_than_asked(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = SpApiFake(MarketApi(market()), {REFRESH: 0})
    [queue] = fake.queues.values()
    async with on_the_fake(fake) as http:
        reader = SqsQueue(settings(), http)
        start = trio.current_time()
        assert await reader.receive(wait_s=20) == []
        assert trio.current_time() - start == pytest.approx(20.0)

        async def send_later() -> None:
            await trio.sleep(7)
            queue.send('{"hello": 1}', trio.current_time())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_later)
            start = trio.current_time()
            [message] = await reader.receive(wait_s=20)
        assert trio.current_time() - start == pytest.approx(7.0)
        assert message.body == '{"hello": 1}'


async def test_a_received_message_not_deleted_comes_again_after_its_visibility_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = SpApiFake(MarketApi(market()), {REFRESH: 0})
    [queue] = fake.queues.values()
    async with on_the_fake(fake) as http:
        reader = SqsQueue(settings(), http)
        first = queue.send("one", trio.current_time())
        [received] = await reader.receive(wait_s=0, visibility_s=30)
        assert await reader.receive(wait_s=0) == []  # hidden while it is being handled
        await trio.sleep(15)
        start = trio.current_time()
        [again] = await reader.receive(wait_s=20, visibility_s=30)  # the long poll ends as it shows again
        assert trio.current_time() - start == pytest.approx(15.0)
        assert (again.message_id, again.attributes["ApproximateReceiveCount"]) == (first, "2")
        assert again.receipt_handle != received.receipt_handle
        # The first receipt's handle is stale: deleting with it deletes nothing, and is no error (SQS's rule).
        assert await reader.delete([received]) == []
        assert len(queue) == 1
        assert await reader.delete([again]) == []
        assert len(queue) == 0
    assert fake.read_stats().queue_redelivered == 1


async def test_receive_limits_are_sqs_own(autojump_clock: trio.testing.MockClock) -> None:
    fake = SpApiFake(MarketApi(market()), {REFRESH: 0})
    async with on_the_fake(fake) as http:
        reader = SqsQueue(settings(), http)
        with pytest.raises(QueueRefused, match="MaxNumberOfMessages"):
            await reader.receive(limit=11, wait_s=0)
        with pytest.raises(QueueRefused, match="WaitTimeSeconds"):
            await reader.receive(wait_s=21)


async def test_the_markets_notifications_reach_the_queue_of_a_subscribed_seller_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    simulated = market(20)
    fake = SpApiFake(MarketApi(simulated), {REFRESH: 0})
    [queue] = fake.queues.values()
    seller = account(simulated)
    async with on_the_fake(fake) as http:
        await trio.sleep(1800)
        fake.read_stats()
        assert len(queue) == 0 and fake.stats.notifications_unsubscribed > 0  # nobody subscribed: nothing sent
        first = await subscribe(*clients(seller, http), arn=ARN, marketplace_ids=[DE], name="repricer")
        again = await subscribe(*clients(seller, http), arn=ARN, marketplace_ids=[DE], name="repricer")
        assert first == again  # set-up is idempotent: the same destination and subscriptions reused
        reader = SqsQueue(settings(), http)
        with trio.fail_after(3600):
            while not (messages := await reader.receive(wait_s=20)):
                pass
    bodies = [json.loads(message.body) for message in messages]
    kinds = {body.get("NotificationType") or body.get("notificationType") for body in bodies}
    assert kinds <= {"ANY_OFFER_CHANGED", "PRICING_HEALTH"}
    aoc = next(body for body in bodies if body.get("NotificationType") == "ANY_OFFER_CHANGED")
    payload = aoc["Payload"]["AnyOfferChangedNotification"]
    assert payload["SellerId"] == seller.merchant_id and payload["OfferChangeTrigger"]["MarketplaceId"] == DE
    assert aoc["NotificationMetadata"]["SubscriptionId"] == first["ANY_OFFER_CHANGED"]


async def test_a_seller_token_is_refused_on_a_grantless_operation(autojump_clock: trio.testing.MockClock) -> None:
    fake = SpApiFake(MarketApi(market()), {REFRESH: 0})
    async with on_the_fake(fake) as http:
        seller_client, _ = clients(account(fake.apis[0].market), http)
        from engine.ports import AccountError

        with pytest.raises(AccountError, match="getDestinations was refused access"):
            await seller_client.request("getDestinations", "GET", "/notifications/v1/destinations")


# --- the notifications' shapes ------------------------------------------------------------------------------------

# What the schemas call required and the simulator has no value for: left out, as Amazon leaves them out when it
# has none (`sim.fake._notices`).
_ABSENT = {
    "ListPrice",
    "MinimumAdvertisedPrice",
    "SuggestedLowerPricePlusShipping",
    "CompetitivePriceThreshold",
    "Points",
    "ShipsFrom",
    "AvailableDate",
    "SellerFeedbackRating",
}


def _relaxed(schema: Any) -> Any:
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("required"), list):
                node["required"] = [name for name in node["required"] if name not in _ABSENT]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def _schema(name: str) -> Draft7Validator:
    path = MODELS / "schemas" / name
    if not path.exists():
        pytest.skip(f"Amazon's notification schemas are not at {MODELS} (../shared/reference/spapi-models)")
    return Draft7Validator(_relaxed(json.loads(path.read_text(encoding="utf-8"))))


async def test_the_fake_notifications_fit_amazon_schemas(autojump_clock: trio.testing.MockClock) -> None:
    aoc_schema = _schema("AnyOfferChangedNotification.json")
    health_schema = _schema("PricingHealthNotification.json")
    simulated = market(20)
    fake = SpApiFake(MarketApi(simulated), {REFRESH: 0})
    [queue] = fake.queues.values()
    async with on_the_fake(fake) as http:
        await subscribe(*clients(account(simulated), http), arn=ARN, marketplace_ids=[DE], name="repricer")
        await trio.sleep(3600)
        reader = SqsQueue(settings(), http)
        bodies: list[Any] = []
        while messages := await reader.receive(wait_s=0):
            bodies.extend(json.loads(message.body) for message in messages)
            await reader.delete(messages)
    assert len(bodies) == fake.read_stats().notifications_sent > 0
    assert len(queue) == 0
    for body in bodies:
        schema = aoc_schema if body.get("NotificationType") == "ANY_OFFER_CHANGED" else health_schema
        errors = [error.message for error in schema.iter_errors(body)]
        assert not errors, errors
