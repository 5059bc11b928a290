"""Notifications through SQS, as the adapter reads them: Amazon's schema examples decoded exactly (money in minor
units, the change's time on the engine's clock, unknown fields ignored); a malformed message logged by its id and
deleted while the rest go on; each notice handed to the adapter of its seller and marketplace and no other, the
others deleted; a full route leaving its messages on the queue for later, so none is lost; a queue answering 5xx
read again after a backoff; the set-up reusing what it finds."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import AccessTokens, SpApiClient
from adapters.spapi import inbox as inbox_module
from adapters.spapi.auth import NOTIFICATIONS_SCOPE
from adapters.spapi.inbox import Inbox
from adapters.spapi.marketplace import SpApiMarketplace
from adapters.spapi.notices import Unreadable, observations, read_notice
from adapters.spapi.sqs import SqsQueue
from adapters.spapi.subscribe import subscribe
from engine.model import (
    BuyBoxPrice,
    CompetitorOffer,
    Condition,
    Fulfilment,
    HealthEvent,
    Observation,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
)
from engine.ports import Clock
from sim.api import MarketApi
from sim.fake import Faults, ServerErrors, SpApiFake
from tests.sim.fakes import MODELS, REFRESH, account
from tests.sim.test_fake_queue import ARN, DE, market, settings

US = "ATVPDKIKX0DER"
WALL = datetime(2020, 7, 13, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    path = MODELS / "schemas" / name
    if not path.exists():
        pytest.skip(f"Amazon's notification schemas are not at {MODELS} (../shared/reference/spapi-models)")
    examples: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["examples"]
    return examples[0]


def offer(marketplace: str, asin: str, *, fulfilment: Fulfilment = Fulfilment.MERCHANT) -> OfferSettings:
    return OfferSettings(
        OfferKey("acme", marketplace, "SKU-1"), asin, "USD", OfferBounds(500, 900000), fulfilment=fulfilment
    )


async def test_the_schema_example_of_any_offer_changed_is_read_exactly() -> None:
    body = example("AnyOfferChangedNotification.json")
    body["Payload"]["AnyOfferChangedNotification"]["Offers"][0]["FutureField"] = {"anything": [1, 2]}  # tolerated
    notice = read_notice("m-1", json.dumps(body), received_at=100.0)
    assert (notice.kind, notice.seller_id, notice.marketplace_id, notice.asin) == (
        "ANY_OFFER_CHANGED",
        "A3TH9S8BH6GOGM",
        US,
        "123",
    )
    clock = Clock(WALL)
    [snapshot] = observations(notice, [offer("US", "123")], clock=clock, currency="USD", seller_id="A3TH9S8BH6GOGM")
    assert snapshot == OfferSnapshot(
        key=OfferKey("acme", "US", "SKU-1"),
        source="notification",
        as_of=clock.from_utc(datetime(2020, 7, 13, 19, 42, 4, 284000, tzinfo=UTC)),
        received_at=100.0,
        our=None,  # not among the offers: ours is told by our seller id
        competitors=(
            CompetitorOffer(
                seller_id="111",
                listing_price=2300,
                shipping=11000,
                fulfilment=Fulfilment.AMAZON,
                condition=Condition.NEW,
                prime=True,
                feedback_pct=10,
                feedback_count=9,
                handling_max_hours=30,
            ),
        ),
        # The "new" Buy Box price only (the example's "used" one is another condition), no winner marked.
        buybox=(BuyBoxPrice(1000, 1000, 0),),
        competitive_price_threshold=2200,
    )


async def test_the_schema_example_of_pricing_health_is_read_exactly() -> None:
    body = example("PricingHealthNotification.json")
    notice = read_notice("m-2", json.dumps(body), received_at=5.0)
    clock = Clock(WALL)
    mine = offer("US", "B007IBIWZY")
    fba = offer("US", "B007IBIWZY", fulfilment=Fulfilment.AMAZON)
    events = observations(notice, [mine, fba], clock=clock, currency="USD", seller_id="A3EZFOFNDPFB8R")
    # The merchant-fulfilled offer (fulfillmentType MFN) is the one disqualified, at the reference price's cap.
    assert events == [
        HealthEvent(mine.key, clock.from_utc(datetime(2020, 9, 23, 21, 30, 13, 409000, tzinfo=UTC)), True, 800000)
    ]


async def test_an_amount_finer_than_the_currency_is_unreadable_not_rounded() -> None:
    body = example("AnyOfferChangedNotification.json")
    body["Payload"]["AnyOfferChangedNotification"]["Offers"][0]["ListingPrice"]["Amount"] = Decimal("23.001")
    text = json.dumps(body, default=str).replace('"23.001"', "23.001")
    notice = read_notice("m-3", text, received_at=0.0)
    with pytest.raises(Unreadable, match=r"message m-3: .*ListingPrice"):
        observations(notice, [offer("US", "123")], clock=Clock(WALL), currency="USD", seller_id="x")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("not json", "not a notification"),
        ('{"NotificationType": "ORDER_CHANGE"}', "notification type 'ORDER_CHANGE'"),
        ('{"NotificationType": "ANY_OFFER_CHANGED", "Payload": {}}', "does not fit Amazon's schema"),
    ],
)
def test_a_malformed_message_is_unreadable_naming_its_id(body: str, said: str) -> None:
    with pytest.raises(Unreadable, match=f"message m-9: .*{said}"):
        read_notice("m-9", body, received_at=0.0)


# --- the reader over the fake --------------------------------------------------------------------------------------


def _aoc(seller: str, marketplace: str, asin: str, notification_id: str) -> str:
    """A minimal ANY_OFFER_CHANGED for ``seller``: one competing offer."""
    money = {"Amount": 12.5, "CurrencyCode": "EUR"}
    return json.dumps(
        {
            "NotificationVersion": "1.0",
            "NotificationType": "ANY_OFFER_CHANGED",
            "PayloadVersion": "1.0",
            "EventTime": "2025-01-01T00:00:00.000Z",
            "NotificationMetadata": {"NotificationId": notification_id},
            "Payload": {
                "AnyOfferChangedNotification": {
                    "SellerId": seller,
                    "OfferChangeTrigger": {
                        "MarketplaceId": marketplace,
                        "ASIN": asin,
                        "ItemCondition": "New",
                        "TimeOfOfferChange": "2025-01-01T00:00:00.000Z",
                    },
                    "Summary": {},
                    "Offers": [
                        {
                            "SellerId": "A1COMPETITOR",
                            "SubCondition": "new",
                            "ListingPrice": money,
                            "Shipping": {"Amount": 0, "CurrencyCode": "EUR"},
                            "IsFulfilledByAmazon": False,
                        }
                    ],
                }
            },
        }
    )


async def _drain(adapter: SpApiMarketplace, seen: list[Observation]) -> None:
    send, receive = trio.open_memory_channel[Observation](100)
    async with trio.open_nursery() as nursery:
        await nursery.start(adapter.stream_observations, send)
        async for observation in receive:
            seen.append(observation)


async def test_notices_reach_their_adapter_and_a_malformed_or_foreign_message_is_logged_and_deleted(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    simulated = market()
    fake = SpApiFake(MarketApi(simulated), {REFRESH: 0})
    [queue] = fake.queues.values()
    seller = account(simulated)
    asin = simulated.catalog(0).asin
    seen: list[Observation] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        inbox = Inbox(SqsQueue(settings(), http))
        client = SpApiClient(seller, http, AccessTokens(seller, http))
        adapter = SpApiMarketplace(
            seller,
            "DE",
            client,
            catalog_settings(simulated, seller="acme"),
            notices=inbox.route(seller.merchant_id, DE),
        )
        broken = queue.send("{not json", trio.current_time())
        foreign = queue.send(_aoc(seller.merchant_id, "A13V1IB3VIYZZH", asin, "n-fr"), trio.current_time())  # FR
        mine = queue.send(_aoc(seller.merchant_id, DE, asin, "n-de"), trio.current_time())
        with caplog.at_level(logging.WARNING, logger="adapters.spapi.inbox"):
            async with trio.open_nursery() as nursery:
                await nursery.start(inbox.run)
                nursery.start_soon(_drain, adapter, seen)
                await trio.sleep(60)
                nursery.cancel_scope.cancel()
    assert (inbox.counters.unreadable, inbox.counters.unrouted, inbox.counters.routed) == (1, 1, 1)
    assert len(queue) == 0 and inbox.counters.deleted == 3
    said = caplog.text
    assert f"message {broken}: not a notification" in said and "deleted" in said
    assert f"message {foreign} is for seller {seller.merchant_id} on marketplace A13V1IB3VIYZZH" in said
    [snapshot] = seen
    assert isinstance(snapshot, OfferSnapshot) and snapshot.source == "notification"
    assert snapshot.key == adapter.offer(snapshot.key).key and snapshot.competitors[0].listing_price == 1250
    assert mine not in said


async def test_a_full_route_leaves_its_messages_on_the_queue_until_there_is_room(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "ROUTE_CAPACITY", 2)
    simulated = market()
    fake = SpApiFake(MarketApi(simulated), {REFRESH: 0})
    [queue] = fake.queues.values()
    seller = account(simulated)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        inbox = Inbox(SqsQueue(settings(), http))
        route = inbox.route(seller.merchant_id, DE)
        for n in range(5):
            queue.send(_aoc(seller.merchant_id, DE, simulated.catalog(0).asin, f"n-{n}"), trio.current_time())
        async with trio.open_nursery() as nursery:
            await nursery.start(inbox.run)
            await trio.sleep(10)
            assert (inbox.counters.routed, len(queue)) == (2, 3)  # nothing lost: the rest wait on the queue
            ids = [(await route.receive()).notification_id for _ in range(2)]
            await trio.sleep(60)  # past their visibility timeout they come again, and there is room now
            ids += [(await route.receive()).notification_id for _ in range(2)]
            await trio.sleep(60)
            ids.append((await route.receive()).notification_id)
            nursery.cancel_scope.cancel()
    assert sorted(ids) == [f"n-{n}" for n in range(5)] and len(queue) == 0
    assert inbox.counters.deferred >= 3 and inbox.counters.duplicates == 0


async def test_a_queue_answering_5xx_is_read_again_after_a_backoff(autojump_clock: trio.testing.MockClock) -> None:
    simulated = market()
    burst = ServerErrors(status=503, duration_s=120.0, operations=("ReceiveMessage",))
    fake = SpApiFake(MarketApi(simulated), {REFRESH: 0}, faults=Faults(server_error=burst))
    [queue] = fake.queues.values()
    seller = account(simulated)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        inbox = Inbox(SqsQueue(settings(), http))
        route = inbox.route(seller.merchant_id, DE)
        queue.send(_aoc(seller.merchant_id, DE, simulated.catalog(0).asin, "n-1"), trio.current_time())
        async with trio.open_nursery() as nursery:
            await nursery.start(inbox.run)
            with trio.fail_after(600):
                notice = await route.receive()
            nursery.cancel_scope.cancel()
    assert notice.notification_id == "n-1" and trio.current_time() >= 120.0
    # Backed off, not hammering: a handful of tries in two minutes, each one a 503.
    assert 3 <= inbox.counters.receive_failures <= 12
    assert fake.read_stats().faults["server_error"] == inbox.counters.receive_failures


async def test_the_set_up_reuses_the_destination_and_replaces_a_subscription_that_leaves_a_marketplace_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    simulated = market()
    fake = SpApiFake(MarketApi(simulated), {REFRESH: 0})
    seller = account(simulated)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake)) as http:
        client = SpApiClient(seller, http, AccessTokens(seller, http))
        grantless = SpApiClient(seller, http, AccessTokens(seller, http, scope=NOTIFICATIONS_SCOPE))
        first = await subscribe(client, grantless, arn=ARN, marketplace_ids=[DE], name="repricer")
        same = await subscribe(client, grantless, arn=ARN, marketplace_ids=[DE], name="repricer")
        wider = await subscribe(client, grantless, arn=ARN, marketplace_ids=[DE, "A13V1IB3VIYZZH"], name="repricer")
        destinations = (await grantless.request("getDestinations", "GET", "/notifications/v1/destinations")).json()
    assert first == same
    assert wider["PRICING_HEALTH"] == first["PRICING_HEALTH"]  # no marketplace filter: kept
    assert wider["ANY_OFFER_CHANGED"] != first["ANY_OFFER_CHANGED"]  # filtered to DE alone: replaced
    assert [d["resource"]["sqs"]["arn"] for d in destinations["payload"]] == [ARN]
