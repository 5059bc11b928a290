"""The fake's Feeds API for JSON_LISTINGS_FEED: the adapter's feed, uploaded, queued, processed and reported per
message; the model's shapes; documents that expire; the feed type's own quota; a document Amazon cannot read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from jsonschema import Draft7Validator

from adapters.simulated.marketplace import catalog_settings
from adapters.spapi import (
    FINISHED,
    create_feed_document_request,
    create_feed_request,
    created_feed,
    feed_document,
    feed_results,
    feed_status,
    feed_upload,
    report_document,
    unpack,
)
from engine.model import OfferUpdate
from sim.fake import DEFAULT_WALL_ORIGIN, FeedTiming, SpApiFake
from sim.latency import LatencyParams
from tests.sim.fakes import BASE, DE, MODELS, OURS_WIN, SPLIT, SUPPRESSED, as_json, fake_of, load_model, shop, token
from tests.sim.fakes import validator as model_validator

FEEDS = "/feeds/2021-06-30"
FEEDS_MODEL = "models/feeds_2021-06-30.json"
needs_models = pytest.mark.skipif(
    not MODELS.is_dir(), reason=f"Amazon's models are not beside the repository ({MODELS})"
)


class _Feeds:
    """Raw calls to one fake of the shop's Feeds API, with a token; every reply kept."""

    def __init__(self, fake: SpApiFake, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.fake, self.http, self.headers = fake, http, headers
        self.market = fake.apis[0].market
        self.replies: dict[str, httpx.Response] = {}

    async def call(self, name: str, method: str, path: str, body: bytes | None = None) -> httpx.Response:
        reply = await self.http.request(method, f"{FEEDS}{path}", content=body, headers=self.headers)
        self.replies[name] = reply
        return reply

    async def submit(self, document: bytes, marketplaces: list[str] | None = None) -> str:
        """createFeedDocument, the upload, createFeed: the feed's id."""
        created = await self.call("createFeedDocument", "POST", "/documents", create_feed_document_request())
        upload = feed_upload(created.content)
        assert (await self.http.put(upload.url, content=document)).status_code == 200
        body = create_feed_request(upload.feed_document_id, marketplaces or [DE])
        return created_feed((await self.call("createFeed", "POST", "/feeds", body)).content)

    async def outcome(self, feed_id: str) -> tuple[str, bytes | None]:
        """getFeed until it is finished (a minute apart), then the report fetched: the status and the report."""
        while True:
            feed = feed_status((await self.call("getFeed", "GET", f"/feeds/{feed_id}")).content)
            if feed.processing_status in FINISHED:
                break
            await trio.sleep(60.0)
        if feed.result_feed_document_id is None:
            return feed.processing_status, None
        reply = await self.call("getFeedDocument", "GET", f"/documents/{feed.result_feed_document_id}")
        document = report_document(reply.content)
        fetched = await self.http.get(document.url)
        return feed.processing_status, unpack(fetched.content, document.compression_algorithm)


@asynccontextmanager
async def _feeds(latency: LatencyParams | None = None) -> AsyncIterator[_Feeds]:
    fake = fake_of(shop(latency=latency), token_lifetime_s=86_400.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as http:
        yield _Feeds(fake, http, await token(http))


def _updates(prices: dict[int, int]) -> list[OfferUpdate]:
    settings = {offer.key.sku: offer for offer in catalog_settings(shop(), seller="acme")}
    market = shop()
    updates = []
    for n, (row, price) in enumerate(prices.items(), 1):
        offer = settings[market.spec.sku[row]]
        updates.append(OfferUpdate(offer.key, n, "EUR", price, offer.bounds.min_price, offer.bounds.max_price))
    return updates


async def test_a_feed_is_processed_and_reported_per_message(autojump_clock: trio.testing.MockClock) -> None:
    updates = _updates({OURS_WIN: 1000, SPLIT: 100, SUPPRESSED: 1200})  # the second below its minimum
    async with _feeds(LatencyParams(never_apply=0.0)) as feeds:
        document = feed_document(updates, seller_id=feeds.market.seller_id(0, 0))
        feed_id = await feeds.submit(document)
        first = feed_status((await feeds.call("getFeed", "GET", f"/feeds/{feed_id}")).content)
        status, report = await feeds.outcome(feed_id)
        await trio.sleep(4 * 3600.0)
        feeds.market.advance_to(trio.current_time())
    assert first.processing_status == "IN_QUEUE"
    assert status == "DONE" and report is not None
    results = feed_results(report, updates, at=0.0, feed_id=feed_id)
    assert [result.status for result in results] == ["accepted", "invalid", "accepted"]
    assert "18155" in results[1].issues[0]
    assert [int(feeds.market.price[row, 0]) for row in (OURS_WIN, SPLIT, SUPPRESSED)] == [1000, 2000, 1200]
    summary = json.loads(report)["summary"]
    assert summary == {
        "errors": 1,
        "warnings": 0,
        "messagesProcessed": 3,
        "messagesAccepted": 2,
        "messagesInvalid": 1,
    }
    stats = feeds.fake.read_stats()
    assert (stats.updates_accepted, stats.updates_applied, stats.updates_invalid) == (2, 2, 1)
    assert stats.answered["createFeed"] == 1
    listed = [(u.sku, u.submission_id, u.price, u.applied) for u in feeds.fake.accepted_updates]
    assert listed == [
        (feeds.market.spec.sku[row], feed_id, price, True) for row, price in ((OURS_WIN, 1000), (SUPPRESSED, 1200))
    ]


@needs_models
async def test_the_feed_calls_and_the_report_have_the_model_s_shapes(autojump_clock: trio.testing.MockClock) -> None:
    async with _feeds() as feeds:
        feed_id = await feeds.submit(feed_document(_updates({OURS_WIN: 1000}), seller_id=feeds.market.seller_id(0, 0)))
        _, report = await feeds.outcome(feed_id)
    assert feeds.replies["createFeedDocument"].status_code == 201
    assert feeds.replies["createFeed"].status_code == 202
    for name, definition in (
        ("createFeedDocument", "CreateFeedDocumentResponse"),
        ("createFeed", "CreateFeedResponse"),
        ("getFeed", "Feed"),
        ("getFeedDocument", "FeedDocument"),
    ):
        model_validator(FEEDS_MODEL, definition).validate(as_json(feeds.replies[name].content))
    schema = json.loads((MODELS / "schemas/listings-feed-processing-report-schema-v2.json").read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    Draft7Validator(schema).validate(json.loads(report or b""))
    assert load_model(FEEDS_MODEL)["definitions"]["Feed"]["required"]  # the shape checked is the model's own


async def test_an_upload_after_five_minutes_is_refused_as_s3_refuses_it(autojump_clock: trio.testing.MockClock) -> None:
    async with _feeds() as feeds:
        created = feed_upload((await feeds.call("doc", "POST", "/documents", create_feed_document_request())).content)
        wrong_method = await feeds.http.get(created.url)  # the URL signs an upload, not a download
        await trio.sleep(301.0)
        late = await feeds.http.put(created.url, content=b"{}")
        unknown = await feeds.http.put(created.url.replace(created.feed_document_id, "nothing"), content=b"{}")
        feed = await feeds.call("createFeed", "POST", "/feeds", create_feed_request(created.feed_document_id, [DE]))
    assert (late.status_code, b"Request has expired" in late.content) == (403, True)
    assert (wrong_method.status_code, b"SignatureDoesNotMatch" in wrong_method.content) == (403, True)
    assert unknown.status_code == 404
    assert feed.status_code == 400
    assert "has not been uploaded" in feed.json()["errors"][0]["details"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"feedType": "POST_PRODUCT_DATA"}, "JSON_LISTINGS_FEED feeds only"),
        ({"marketplaceIds": []}, "1 to 25"),
        ({"marketplaceIds": ["ATVPDKIKX0DER"]}, "not a marketplace of this account"),
        ({"inputFeedDocumentId": "nothing"}, "is not a feed document of yours"),
        ({"feedType": None}, "feedType"),
    ],
)
async def test_a_feed_amazon_would_refuse_is_a_400(
    autojump_clock: trio.testing.MockClock, change: dict[str, Any], words: str
) -> None:
    async with _feeds() as feeds:
        created = feed_upload((await feeds.call("doc", "POST", "/documents", create_feed_document_request())).content)
        await feeds.http.put(created.url, content=b"{}")
        body = {**json.loads(create_feed_request(created.feed_document_id, [DE])), **change}
        reply = await feeds.call("createFeed", "POST", "/feeds", json.dumps(body).encode())
    assert reply.status_code == 400
    assert words in reply.json()["errors"][0]["details"]


async def test_an_unknown_feed_or_document_is_a_404(autojump_clock: trio.testing.MockClock) -> None:
    async with _feeds() as feeds:
        feed = await feeds.call("getFeed", "GET", "/feeds/12345")
        document = await feeds.call("getFeedDocument", "GET", "/documents/amzn1.tortuga.nothing")
    assert (feed.status_code, document.status_code) == (404, 404)
    assert feed.json()["errors"][0]["code"] == "NotFound"


async def test_the_feed_type_takes_five_feeds_per_five_minutes(autojump_clock: trio.testing.MockClock) -> None:
    """createFeed's own bucket holds 15; a JSON_LISTINGS_FEED's limit is 5 per 5 minutes on top of it."""
    async with _feeds() as feeds:
        document = feed_document(_updates({OURS_WIN: 1000}), seller_id=feeds.market.seller_id(0, 0))
        for _ in range(5):
            await feeds.submit(document)
        created = feed_upload((await feeds.call("doc", "POST", "/documents", create_feed_document_request())).content)
        await feeds.http.put(created.url, content=document)
        body = create_feed_request(created.feed_document_id, [DE])
        refused = await feeds.call("createFeed", "POST", "/feeds", body)
        await trio.sleep(60.0)  # one submission's worth of the 5-per-300-s bucket
        taken = await feeds.call("createFeed", "POST", "/feeds", body)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "QuotaExceeded"
    assert taken.status_code == 202
    assert feeds.fake.stats.over_quota_by_operation == {"createFeed": 1}


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"not json", "is not a JSON_LISTINGS_FEED document"),
        (b'{"header": {"sellerId": "A2SOMEONEELSE", "version": "2.0"}, "messages": []}', "is not the submitter's"),
        (b'{"header": {"sellerId": "%s", "version": "1.0"}, "messages": []}', "version '1.0'"),
    ],
)
async def test_a_document_amazon_cannot_read_ends_the_feed_fatal(
    autojump_clock: trio.testing.MockClock, document: bytes, words: str
) -> None:
    async with _feeds() as feeds:
        if b"%s" in document:
            document = document.replace(b"%s", feeds.market.seller_id(0, 0).encode())
        status, report = await feeds.outcome(await feeds.submit(document))
    assert status == "FATAL" and report is not None
    (issue,) = json.loads(report)["issues"]
    assert issue["severity"] == "ERROR" and words in issue["message"]
    assert json.loads(report)["summary"]["messagesProcessed"] == 0


async def test_messages_the_simulator_cannot_carry_out_are_reported(autojump_clock: trio.testing.MockClock) -> None:
    async with _feeds(LatencyParams(never_apply=0.0)) as feeds:
        sku = feeds.market.spec.sku[OURS_WIN]
        offer = {
            "marketplace_id": DE,
            "currency": "EUR",
            "our_price": [{"schedule": [{"value_with_tax": 11}]}],
        }
        document = {
            "header": {"sellerId": feeds.market.seller_id(0, 0), "version": "2.0"},
            "messages": [
                {"messageId": 1, "sku": sku, "operationType": "DELETE"},
                {"messageId": 2, "sku": sku, "operationType": "UPDATE", "productType": "PRODUCT", "attributes": {}},
                {
                    "messageId": 3,
                    "sku": "NOT-OURS",
                    "operationType": "PATCH",
                    "productType": "PRODUCT",
                    "patches": [{"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]}],
                },
                {
                    "messageId": 4,
                    "sku": sku,
                    "operationType": "PARTIAL_UPDATE",
                    "productType": "PRODUCT",
                    "attributes": {"purchasable_offer": [offer]},
                },
                {
                    "messageId": 4,
                    "sku": sku,
                    "operationType": "PARTIAL_UPDATE",
                    "productType": "PRODUCT",
                    "attributes": {"purchasable_offer": [offer]},
                },
            ],
        }
        status, report = await feeds.outcome(await feeds.submit(json.dumps(document).encode()))
        await trio.sleep(4 * 3600.0)
        feeds.market.advance_to(trio.current_time())
    assert status == "DONE" and report is not None
    parsed = json.loads(report)
    assert [(issue["messageId"], issue["code"]) for issue in parsed["issues"]] == [
        (1, "90000900"),
        (2, "90000900"),
        (3, "NOT_FOUND"),
        (4, "90000900"),
    ]
    assert parsed["summary"]["messagesAccepted"] == 1  # the PARTIAL_UPDATE, once
    assert int(feeds.market.price[OURS_WIN, 0]) == 1100


async def test_feed_timing_is_drawn_within_its_ranges(autojump_clock: trio.testing.MockClock) -> None:
    fake = fake_of(shop(), feed_timing=FeedTiming(queue_s=(100.0, 100.0), processing_s=(50.0, 50.0)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as http:
        feeds = _Feeds(fake, http, await token(http))
        feed_id = await feeds.submit(feed_document(_updates({OURS_WIN: 1000}), seller_id=feeds.market.seller_id(0, 0)))
        seen = []
        for wait in (99.0, 2.0, 48.0, 2.0):
            await trio.sleep(wait)
            seen.append(
                feed_status((await feeds.call("getFeed", "GET", f"/feeds/{feed_id}")).content).processing_status
            )
    assert seen == ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "DONE"]


async def test_the_fake_s_service_processes_a_feed_on_time(autojump_clock: trio.testing.MockClock) -> None:
    """Under `SpApiFake.run` a feed is processed when its time is up, not when someone next asks: its end time is
    within one step of the draw, though getFeed comes five minutes later."""
    fake = fake_of(shop(), feed_timing=FeedTiming(queue_s=(100.0, 100.0), processing_s=(50.0, 50.0)))
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.run)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=BASE) as http:
            feeds = _Feeds(fake, http, await token(http))
            created_at = trio.current_time()
            document = feed_document(_updates({OURS_WIN: 1000}), seller_id=feeds.market.seller_id(0, 0))
            feed_id = await feeds.submit(document)
            await trio.sleep(450.0)
            feed = (await feeds.call("getFeed", "GET", f"/feeds/{feed_id}")).json()
        nursery.cancel_scope.cancel()
    assert feed["processingStatus"] == "DONE"
    ended = datetime.fromisoformat(feed["processingEndTime"].replace("Z", "+00:00"))
    due = DEFAULT_WALL_ORIGIN + timedelta(seconds=created_at + 150.0)
    assert timedelta(0) <= ended - due <= timedelta(seconds=1.0)
