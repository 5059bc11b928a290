"""The SP-API adapter sends a large batch as one JSON_LISTINGS_FEED and a few updates as patches, chooses patches
when the feed quota has no room or nobody follows the outcomes, and hears each update's outcome minutes later:
accepted, invalid with Amazon's issues for that SKU, or failed (a FATAL or cancelled feed, one Amazon does not
know, one that never finishes), including for feeds made before a restart, followed by their id."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
import trio
import trio.testing

from adapters.spapi.auth import AccessTokens
from adapters.spapi.client import SpApiClient
from adapters.spapi.marketplace import SpApiMarketplace
from adapters.spapi.quotas import LISTINGS_FEED, quota
from engine.actors.batcher import BatcherConfig, OfferBatcher
from engine.actors.pacing import Pacers
from engine.actors.recorder import Recorder
from engine.config import FeedSettings
from engine.daemon import MarketRuntime
from engine.model import (
    ChannelSettings,
    Fulfilment,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OfferUpdate,
    OutboxMark,
    OutboxState,
    PriceIntent,
    Reason,
    SubmissionResult,
)
from engine.ports import Clock, FollowsSubmissions
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from tests.adapters.spapi.amazon_feeds import DOCUMENT_TYPE, Ending, FeedsAmazon
from tests.adapters.spapi.test_client import ACCOUNT, THROTTLED, Lwa

OFFERS = [
    OfferSettings(OfferKey("acme", "DE", f"SKU-{n}"), f"B0000{n:05d}", "EUR", OfferBounds(900, 2900)) for n in range(60)
]
KEYS = [offer.key for offer in OFFERS]
CONFIG = FeedSettings(least=10, most=40, poll_every_s=30.0, give_up_after_s=600.0)
Outcomes = trio.MemoryReceiveChannel[Sequence[SubmissionResult]]


def market_through(amazon: FeedsAmazon, *, pacers: Pacers | None = None) -> SpApiMarketplace:
    tokens = AccessTokens(ACCOUNT, httpx.AsyncClient(transport=httpx.MockTransport(Lwa())))
    client = SpApiClient(ACCOUNT, httpx.AsyncClient(transport=httpx.MockTransport(amazon)), tokens)
    return SpApiMarketplace(ACCOUNT, "DE", client, OFFERS, feeds=CONFIG, feed_pacers=pacers)


def update(n: int, price: int = 1899, **changes: Any) -> OfferUpdate:
    return msgspec.structs.replace(OfferUpdate(KEYS[n], 100 + n, "EUR", price, 900, 2900), **changes)


def updates(first: int, count: int) -> list[OfferUpdate]:
    return [update(n) for n in range(first, first + count)]


async def feed(market: SpApiMarketplace, sent: Sequence[OfferUpdate]) -> list[SubmissionResult]:
    """Submit as the batcher does: a feed's quota set aside for ``sent`` first."""
    assert market.reserve_bulk(len(sent)) == CONFIG.most
    return await market.submit(sent)


async def start_following(
    nursery: trio.Nursery, market: SpApiMarketplace, submitted: dict[str, Sequence[OfferUpdate]] | None = None
) -> Outcomes:
    send, receive = trio.open_memory_channel[Sequence[SubmissionResult]](10)
    await nursery.start(market.follow_submissions, send, submitted or {})
    return receive


def test_the_adapter_follows_its_submissions_as_the_port_describes() -> None:
    assert isinstance(market_through(FeedsAmazon()), FollowsSubmissions)


async def test_a_large_batch_goes_as_one_feed_and_each_update_hears_its_outcome_later(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FeedsAmazon()
    amazon.invalid = {"SKU-3"}
    market = market_through(amazon)
    sent = updates(0, 30)
    async with trio.open_nursery() as nursery:
        outcomes = await start_following(nursery, market)
        results = await feed(market, sent)
        submitted_at = trio.current_time()
        assert [(r.key, r.update_id, r.status, r.price) for r in results] == [
            (u.key, u.update_id, "submitted", 1899) for u in sent
        ]
        assert {r.submission_id for r in results} == {"F1"}
        assert amazon.calls() == [
            "POST /feeds/2021-06-30/documents",
            "PUT uploads.example.com",
            "POST /feeds/2021-06-30/feeds",
        ]
        assert submitted_at < 1.0  # three calls: the submit slot is not held while Amazon processes
        (outcome,) = [await outcomes.receive()]
        nursery.cancel_scope.cancel()
    # Processing took 80 s; the feed is asked about every 30 s, then its report is fetched once.
    assert 90.0 <= trio.current_time() - submitted_at < 95.0
    assert amazon.count("GET /feeds/2021-06-30/feeds/F1") == 3
    assert amazon.count("GET /feeds/2021-06-30/documents/report-F1") == 1
    assert [(r.key, r.update_id, r.submission_id) for r in outcome] == [(u.key, u.update_id, "F1") for u in sent]
    assert [r.status for r in outcome] == ["accepted"] * 3 + ["invalid"] + ["accepted"] * 26
    assert outcome[3].issues == (
        "ERROR 90220: '[batteries_required]' is required but not supplied. [batteries_required]",
    )
    assert all(r.issues == () for r in outcome if r.key != KEYS[3])
    assert amazon.count("PATCH") == 0
    assert market.feeder.feeds == 1 and market.feeder.followed == 0


async def test_the_document_is_uploaded_as_json_with_the_content_type_given_at_creation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FeedsAmazon()
    market = market_through(amazon)
    sent = updates(0, 12)
    async with trio.open_nursery() as nursery:
        await start_following(nursery, market)
        await feed(market, sent)
        nursery.cancel_scope.cancel()
    (headers,) = amazon.upload_headers
    assert headers["content-type"] == DOCUMENT_TYPE
    document = json.loads(amazon.documents["doc-1"] or b"", parse_float=Decimal)
    assert document["header"] == {"sellerId": "A1OURS", "version": "2.0", "issueLocale": "en_US"}
    assert [(m["messageId"], m["sku"], m["operationType"]) for m in document["messages"]] == [
        (u.update_id, u.key.sku, "PATCH") for u in sent
    ]


async def test_each_message_carries_the_whole_offer_and_only_a_merchant_offers_stock_and_shipping_group(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FeedsAmazon()
    market = market_through(amazon)
    merchant = update(0, sale_price=1799, quantity=7, lead_time_days=2, shipping_group="legacy-template-id")
    fba = update(1, sale_price=1799, fulfilment=Fulfilment.AMAZON)
    plain = update(2)  # merchant-fulfilled, nothing but the price to change
    async with trio.open_nursery() as nursery:
        await start_following(nursery, market)
        await feed(market, [merchant, fba, plain, *updates(3, 9)])
        nursery.cancel_scope.cancel()
    messages = json.loads(amazon.documents["doc-1"] or b"", parse_float=Decimal)["messages"]
    paths = [[(p["op"], p["path"]) for p in m["patches"]] for m in messages[:3]]
    assert paths == [
        [
            ("replace", "/attributes/purchasable_offer"),
            ("merge", "/attributes/fulfillment_availability"),
            ("replace", "/attributes/merchant_shipping_group"),
        ],
        [("replace", "/attributes/purchasable_offer")],
        [("replace", "/attributes/purchasable_offer")],
    ]
    (offer,) = messages[0]["patches"][0]["value"]
    assert offer["our_price"] == [{"schedule": [{"value_with_tax": Decimal("18.99")}]}]
    assert offer["minimum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": Decimal("9.00")}]}]
    assert offer["maximum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": Decimal("29.00")}]}]
    assert offer["discounted_price"] == [{"schedule": [{"value_with_tax": Decimal("17.99")}]}]
    assert messages[1]["patches"][0]["value"][0]["discounted_price"] == offer["discounted_price"]
    assert messages[0]["patches"][1]["value"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 7, "lead_time_to_ship_max_days": 2}
    ]
    assert messages[0]["patches"][2]["value"] == [{"value": "legacy-template-id", "marketplace_id": "A1PA6795UKMFR9"}]


async def test_a_few_updates_go_as_patches_answered_at_once(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FeedsAmazon()
    market = market_through(amazon)
    async with trio.open_nursery() as nursery:
        await start_following(nursery, market)
        assert market.reserve_bulk(9) is None  # fewer than a feed's least
        results = await market.submit(updates(0, 9))
        nursery.cancel_scope.cancel()
    assert amazon.calls() == ["PATCH /listings/2021-08-01/items/A1OURS/" + f"SKU-{n}" for n in range(9)]
    assert [r.status for r in results] == ["accepted"] * 9


async def test_no_feed_is_made_unless_its_outcome_is_followed(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FeedsAmazon()
    market = market_through(amazon)
    assert market.reserve_bulk(12) is None
    results = await market.submit(updates(0, 12))
    assert amazon.count("PATCH") == 12 and amazon.count("POST /feeds") == 0
    assert {r.status for r in results} == {"accepted"}


async def test_once_the_feed_quota_is_spent_large_batches_go_as_patches_until_it_refills(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Five JSON_LISTINGS_FEEDs per five minutes, paced at 95%: four at once, then one every 63 s. The quota is
    the account's, so another marketplace's feeds spend it too."""
    amazon = FeedsAmazon()
    pacers = Pacers(quota)
    market = market_through(amazon, pacers=pacers)
    async with trio.open_nursery() as nursery:
        await start_following(nursery, market)
        for batch in range(4):
            results = await feed(market, updates(batch * 10, 10))
            assert {r.status for r in results} == {"submitted"}
        assert market.reserve_bulk(10) is None
        results = await market.submit(updates(40, 10))
        assert {r.status for r in results} == {"accepted"}
        assert amazon.count("PATCH") == 10 and amazon.count("POST /feeds/2021-06-30/feeds") == 4
        await trio.sleep(1 / quota(LISTINGS_FEED).rate - trio.current_time() + 1.0)
        assert market.reserve_bulk(10) == CONFIG.most
        nursery.cancel_scope.cancel()


async def test_a_feeds_quota_set_aside_is_not_spent_by_another_marketplace_of_the_account(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The account's feed quota is shared by its marketplaces: what one set aside for its next batch, the other
    cannot take meanwhile, and one reservation is given again until it is used, not made twice."""
    amazon = FeedsAmazon()
    pacers = Pacers(quota)
    first, second = market_through(amazon, pacers=pacers), market_through(amazon, pacers=pacers)
    async with trio.open_nursery() as nursery:
        await start_following(nursery, first)
        await start_following(nursery, second)
        for batch in range(3):
            await feed(first, updates(batch * 10, 10))
        assert second.reserve_bulk(10) == CONFIG.most
        assert second.reserve_bulk(10) == CONFIG.most  # the same reservation
        assert first.reserve_bulk(10) is None  # five per five minutes, at 95%: four, all spent or set aside
        results = await second.submit(updates(30, 10))
        nursery.cancel_scope.cancel()
    assert {r.status for r in results} == {"submitted"}
    assert amazon.count("POST /feeds/2021-06-30/feeds") == 4 and amazon.count("PATCH") == 0


async def test_a_feed_amazon_refuses_for_quota_goes_as_patches(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FeedsAmazon()
    market = market_through(amazon)
    async with trio.open_nursery() as nursery:
        await start_following(nursery, market)
        amazon.scripted["POST /feeds/2021-06-30/feeds"] = deque([(429, THROTTLED)])
        results = await feed(market, updates(0, 12))
        assert {r.status for r in results} == {"accepted"}
        assert amazon.count("PATCH") == 12
        assert market.feeder.throttled["createFeed"] == 1 and market.feeder.fallbacks == 1
        assert market.reserve_bulk(12) is None  # Amazon's bucket is empty: ours is too, for a while
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("ending", "why"),
    [
        ("FATAL", "feed F1 ended FATAL without a processing report"),
        ("CANCELLED", "feed F1 ended CANCELLED without a processing report"),
    ],
)
async def test_a_feed_that_ends_without_a_report_fails_every_update(
    autojump_clock: trio.testing.MockClock, ending: Ending, why: str
) -> None:
    amazon = FeedsAmazon()
    amazon.endings["F1"] = ending
    market = market_through(amazon)
    async with trio.open_nursery() as nursery:
        outcomes = await start_following(nursery, market)
        await feed(market, updates(0, 10))
        outcome = await outcomes.receive()
        nursery.cancel_scope.cancel()
    assert [(r.status, r.issues, r.submission_id) for r in outcome] == [("failed", (why,), "F1")] * 10


async def test_a_fatal_feed_with_a_report_fails_all_but_the_updates_amazon_found_invalid(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FeedsAmazon()
    amazon.endings["F1"] = "FATAL_WITH_REPORT"
    amazon.invalid = {"SKU-1"}
    market = market_through(amazon)
    async with trio.open_nursery() as nursery:
        outcomes = await start_following(nursery, market)
        await feed(market, updates(0, 10))
        outcome = await outcomes.receive()
        nursery.cancel_scope.cancel()
    assert [r.status for r in outcome] == ["failed", "invalid"] + ["failed"] * 8
    assert all("Amazon could not process the feed." in r.issues[-1] for r in outcome)


async def test_a_feed_that_never_finishes_is_given_up_after_a_bounded_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FeedsAmazon()
    amazon.endings["F1"] = "STUCK"
    market = market_through(amazon)
    async with trio.open_nursery() as nursery:
        outcomes = await start_following(nursery, market)
        await feed(market, updates(0, 10))
        made_at = trio.current_time()
        outcome = await outcomes.receive()
        nursery.cancel_scope.cancel()
    assert trio.current_time() - made_at == pytest.approx(600.0, abs=31.0)
    assert {(r.status, r.issues) for r in outcome} == {("failed", ("feed F1 not processed after 600 s",))}
    assert 19 <= amazon.feeds["F1"].polls <= 20  # every 30 s, not more
    assert market.feeder.given_up == 1


async def test_after_a_restart_a_feed_is_followed_by_its_id(autojump_clock: trio.testing.MockClock) -> None:
    """A new process follows the feeds its outbox holds updates of: the report is read for the updates still
    waiting (here two of the feed's three: the third went again meanwhile), each by its own message."""
    amazon = FeedsAmazon()
    amazon.invalid = {"SKU-2"}
    made = updates(0, 3)
    amazon.seed("F900", made, created_at=-3600.0)
    market = market_through(amazon)
    async with trio.open_nursery() as nursery:
        outcomes = await start_following(nursery, market, {"F900": made[1:], "F404": [update(5)]})
        first, second = await outcomes.receive(), await outcomes.receive()
        nursery.cancel_scope.cancel()
    assert trio.current_time() < 5.0  # asked about at once
    by_feed = {r[0].submission_id: r for r in (first, second)}
    assert [(r.key, r.status) for r in by_feed["F900"]] == [(KEYS[1], "accepted"), (KEYS[2], "invalid")]
    (unknown,) = by_feed["F404"]
    assert (unknown.key, unknown.status, unknown.issues) == (
        KEYS[5],
        "failed",
        ("feed F404 unknown to Amazon (HTTP 404)",),
    )
    assert amazon.count("POST") == 0 and amazon.count("PATCH") == 0


async def test_a_transient_failure_or_a_throttle_while_following_is_asked_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = FeedsAmazon()
    market = market_through(amazon)
    async with trio.open_nursery() as nursery:
        outcomes = await start_following(nursery, market)
        await feed(market, updates(0, 10))
        amazon.script.extend(
            [
                (503, {"errors": [{"code": "ServiceUnavailable", "message": "Service temporarily unavailable."}]}),
                (429, THROTTLED),
            ]
        )
        outcome = await outcomes.receive()
        nursery.cancel_scope.cancel()
    assert {r.status for r in outcome} == {"accepted"}
    assert amazon.count("GET /feeds/2021-06-30/feeds/F1") == 3  # at 30 s a 503, at 60 s a 429, at 90 s done
    assert market.feeder.throttled["getFeed"] == 1


async def test_an_outcome_cut_off_by_a_cancellation_is_given_again(autojump_clock: trio.testing.MockClock) -> None:
    amazon = FeedsAmazon()
    market = market_through(amazon)
    sent = updates(0, 10)
    async with trio.open_nursery() as nursery:
        send, _unread = trio.open_memory_channel[Sequence[SubmissionResult]](0)
        await nursery.start(market.follow_submissions, send, {})
        await feed(market, sent)
        await trio.sleep(300)  # the outcome is there, and nobody takes it
        nursery.cancel_scope.cancel()
    assert market.feeder.followed == 1
    async with trio.open_nursery() as nursery:
        outcomes = await start_following(nursery, market, {"F1": sent})
        outcome = await outcomes.receive()
        nursery.cancel_scope.cancel()
    assert [(r.key, r.status) for r in outcome] == [(u.key, "accepted") for u in sent]
    assert market.feeder.followed == 0


# --- the batcher over the adapter ------------------------------------------------------------------------------------


def batcher_over(market: SpApiMarketplace, store: MemoryStore, delivered: list[SubmissionResult]) -> OfferBatcher:
    def deliver(result: SubmissionResult) -> bool:
        delivered.append(result)
        return True

    catalog = {offer.key: offer for offer in OFFERS}
    return OfferBatcher(market, catalog, ChannelSettings(), 1, store, deliver=deliver, config=BatcherConfig())


async def test_the_batcher_sends_a_backlog_as_one_feed_and_records_each_outcome_as_it_comes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Thirty intents at once: one feed, answered ``submitted``; meanwhile a few others go as patches; the feed's
    outcome, ninety seconds on, is each update's: accepted, or invalid with Amazon's issue for that SKU."""
    amazon = FeedsAmazon()
    amazon.invalid = {"SKU-7"}
    market = market_through(amazon)
    store = MemoryStore()
    delivered: list[SubmissionResult] = []
    batcher = batcher_over(market, store, delivered)
    async with trio.open_nursery() as nursery:
        await nursery.start(batcher.run)
        for key in KEYS[:30]:
            batcher.offer(PriceIntent(key, 1899, Reason.CHALLENGE, trio.current_time(), True), None)
        await trio.sleep(5)
        assert amazon.count("POST /feeds/2021-06-30/feeds") == 1 and batcher.awaiting == 30
        for key in KEYS[30:33]:
            batcher.offer(PriceIntent(key, 1899, Reason.CHALLENGE, trio.current_time(), True), None)
        await trio.sleep(5)
        assert amazon.count("PATCH") == 3  # the submit slots are free while Amazon processes the feed
        submitted = await store.outbox_entries("acme", "DE", {OutboxState.SUBMITTED})
        assert sorted(e.update.key for e in submitted) == sorted(KEYS[:30])
        assert {e.submission_id for e in submitted} == {"F1"}
        await trio.sleep(100)
        nursery.cancel_scope.cancel()
    accepted = await store.outbox_entries("acme", "DE", {OutboxState.ACCEPTED})
    assert sorted(e.update.key for e in accepted) == sorted([*KEYS[:7], *KEYS[8:33]])
    (invalid,) = await store.outbox_entries("acme", "DE", {OutboxState.INVALID})
    assert invalid.update.key == KEYS[7] and invalid.submission_id == "F1"
    assert invalid.issues == ("ERROR 90220: '[batteries_required]' is required but not supplied. [batteries_required]",)
    assert sorted(r.key for r in delivered) == sorted(KEYS[:33])
    assert batcher.awaiting == 0


async def test_after_a_restart_the_outbox_feeds_are_followed_by_id_not_sent_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The last process submitted two feeds and stopped: the one Amazon knows is asked about and its outcome
    recorded; the one it does not know (another account's, long gone) is sent again."""
    amazon = FeedsAmazon()
    store = MemoryStore()
    known, unknown = updates(0, 10), updates(10, 10)
    amazon.seed("F900", known, created_at=-3600.0)  # done long ago
    await store.outbox_put([*known, *unknown], 0.0)
    marks = [OutboxMark(u.key, u.update_id, OutboxState.SUBMITTED, 0.0, "F900") for u in known]
    marks += [OutboxMark(u.key, u.update_id, OutboxState.SUBMITTED, 0.0, "F404") for u in unknown]
    await store.outbox_mark(marks)
    market = market_through(amazon)
    runtime = MarketRuntime(market, OFFERS, ChannelSettings(), store, Recorder(store), EngineSearch(), tick=1)
    report = await runtime.restore(Clock())
    assert (report.updates_followed, report.updates_resent) == (20, 0)
    assert (runtime.status().awaiting, runtime.status().queued) == (20, 0)  # `ctl status`: IN FEEDS
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.batcher.run)
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert runtime.status().awaiting == 10  # the unknown feed's updates, sent again in a feed still processing
    assert amazon.count("GET /feeds/2021-06-30/feeds/F900") == 1
    states = {e.update.update_id: e for e in await store.outbox_entries("acme", "DE", set(OutboxState))}
    assert {states[u.update_id].state for u in known} == {OutboxState.ACCEPTED}
    assert {states[u.update_id].state for u in unknown} == {OutboxState.SUPERSEDED}  # failed, then sent again
    assert {states[u.update_id].issues for u in unknown} == {("feed F404 unknown to Amazon (HTTP 404)",)}
    resent = json.loads(amazon.documents["doc-1"] or b"")["messages"]
    assert sorted(m["sku"] for m in resent) == sorted(u.key.sku for u in unknown)
    assert amazon.count("PATCH") == 0
