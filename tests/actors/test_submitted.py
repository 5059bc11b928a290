"""The batcher with a marketplace that answers some submissions later (Amazon's feeds): a backlog goes as one bulk
submission, whose submit slot is free again as soon as Amazon has it; its SKUs stay in flight until each outcome
arrives, which is recorded as a submit's answer is; a stop does not wait for feeds, and the next start follows them
by their id instead of sending them again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import trio
import trio.lowlevel
import trio.testing

from engine.actors.batcher import BatcherConfig, OfferBatcher
from engine.actors.recorder import Recorder
from engine.daemon import MarketRuntime
from engine.model import (
    ChannelSettings,
    OfferKey,
    OfferSettings,
    OfferUpdate,
    OutboxMark,
    OutboxState,
    PriceIntent,
    Reason,
    SubmissionResult,
    SubmissionStatus,
)
from engine.ports import Clock, FollowsSubmissions
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from tests.actors.fakes import QUOTAS, ScriptedMarketplace, settings


class FeedingMarketplace(ScriptedMarketplace):
    """Sends a call of more than its submit quota's batch as a feed (each update answered ``submitted`` with the
    feed's id, after ``feed_delay``), and a smaller one as patches; the test says how each feed ends (`answer`).
    ``followed`` keeps what each `follow_submissions` was told it still awaits."""

    def __init__(self) -> None:
        super().__init__()
        self.bulk: int | None = 50  # the most a feed carries; None: no feed's quota to be had
        self.least = 8
        self.reservations = 0
        self.feeds: dict[str, list[OfferUpdate]] = {}
        self.followed: list[dict[str, list[OfferUpdate]]] = []
        self.feed_delay = 0.0
        self.feeding = 0  # feed submits in progress now
        self.most_feeding = 0
        self._send: trio.MemorySendChannel[Sequence[SubmissionResult]] | None = None

    def reserve_bulk(self, waiting: int) -> int | None:
        if self._send is None or self.bulk is None or waiting < self.least:
            return None
        self.reservations += 1
        return self.bulk

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        if len(updates) <= QUOTAS["submit"].batch:
            return await super().submit(updates)
        self.feeding += 1
        self.most_feeding = max(self.most_feeding, self.feeding)
        try:
            await trio.sleep(self.feed_delay)
        finally:
            self.feeding -= 1
        feed_id = f"F{len(self.feeds) + 1}"
        self.feeds[feed_id] = list(updates)
        self.submitted.extend(updates)
        now = trio.current_time()
        return [SubmissionResult(u.key, u.update_id, "submitted", now, u.price, (), feed_id) for u in updates]

    async def follow_submissions(
        self,
        send: trio.MemorySendChannel[Sequence[SubmissionResult]],
        submitted: Mapping[str, Sequence[OfferUpdate]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        async with send:
            self.followed.append({feed: list(updates) for feed, updates in submitted.items()})
            for feed, updates in submitted.items():
                self.feeds.setdefault(feed, list(updates))
            self._send = send
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._send = None

    async def answer(self, feed_id: str, status: SubmissionStatus = "accepted", issues: tuple[str, ...] = ()) -> None:
        assert self._send is not None, "nobody follows the feeds"
        now = trio.current_time()
        updates = self.feeds[feed_id]
        await self._send.send(
            [SubmissionResult(u.key, u.update_id, status, now, u.price, issues, feed_id) for u in updates]
        )


def offers(prefix: str, count: int) -> list[OfferSettings]:
    return [settings(f"{prefix}{n:03d}") for n in range(count)]


class Harness:
    """A batcher over a `FeedingMarketplace`, each result it hands to an actor kept."""

    def __init__(self, catalog: list[OfferSettings], *, concurrency: int = 1, store: MemoryStore | None = None) -> None:
        self.market = FeedingMarketplace()
        self.store = store or MemoryStore()
        self.delivered: list[SubmissionResult] = []
        self.batcher = OfferBatcher(
            self.market,
            {offer.key: offer for offer in catalog},
            ChannelSettings(),
            1,
            self.store,
            deliver=self._deliver,
            config=BatcherConfig(concurrency=concurrency),
        )

    def _deliver(self, result: SubmissionResult) -> bool:
        self.delivered.append(result)
        return True

    def want(self, keys: Sequence[OfferKey], price: int = 2000) -> None:
        for key in keys:
            assert self.batcher.offer(PriceIntent(key, price, Reason.CHALLENGE, trio.current_time(), True), None)

    async def states(self) -> dict[OfferKey, list[tuple[OutboxState, str | None]]]:
        entries = await self.store.outbox_entries("SELLER", "DE", set(OutboxState))
        states: dict[OfferKey, list[tuple[OutboxState, str | None]]] = {}
        for entry in entries:
            states.setdefault(entry.update.key, []).append((entry.state, entry.submission_id))
        return states


def test_only_a_marketplace_that_follows_its_submissions_is_taken_for_one() -> None:
    assert isinstance(FeedingMarketplace(), FollowsSubmissions)
    assert not isinstance(ScriptedMarketplace(), FollowsSubmissions)


async def test_a_feed_frees_its_submit_slot_while_amazon_processes_it(autojump_clock: trio.testing.MockClock) -> None:
    """One submit slot: the feed of twenty is answered ``submitted`` and the slot goes at once, so two other SKUs
    go as patches while the feed is processed; the feed's outcome then moves each of its updates along."""
    fed, patched = offers("A", 20), offers("B", 2)
    harness = Harness(fed + patched, concurrency=1)
    market, batcher = harness.market, harness.batcher
    async with trio.open_nursery() as nursery:
        await nursery.start(batcher.run)
        harness.want([o.key for o in fed])
        await trio.sleep(1)
        assert [len(updates) for updates in market.feeds.values()] == [20]
        assert (batcher.awaiting, batcher.in_flight, batcher.counters.submitted) == (20, 0, 20)
        harness.want([o.key for o in patched])
        await trio.sleep(1)
        assert [u.key for u in market.submitted[20:]] == [o.key for o in patched]
        states = await harness.states()
        assert all(states[o.key] == [(OutboxState.SUBMITTED, "F1")] for o in fed)
        assert all(states[o.key] == [(OutboxState.ACCEPTED, None)] for o in patched)
        assert [r.key for r in harness.delivered] == [o.key for o in patched]  # nothing for the feed's SKUs yet
        await market.answer("F1")
        await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    states = await harness.states()
    assert all(states[o.key] == [(OutboxState.ACCEPTED, "F1")] for o in fed)
    assert sorted(r.key for r in harness.delivered[2:]) == [o.key for o in fed]
    assert batcher.awaiting == 0 and batcher.counters.accepted == 22


async def test_a_new_backlog_goes_in_bulk_while_an_earlier_feed_is_processed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Twenty SKUs awaited in one feed do not count against twenty others waiting now: they make a feed of their own,
    while a newer price for one of the first feed's SKUs still waits for that feed's outcome."""
    first, second = offers("A", 20), offers("B", 20)
    harness = Harness(first + second)
    market = harness.market
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        harness.want([o.key for o in first])
        await trio.sleep(1)
        harness.want([o.key for o in [*second, first[0]]], price=2100)
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert [sorted(u.key for u in updates) for updates in market.feeds.values()] == [
        [o.key for o in first],
        [o.key for o in second],
    ]
    assert harness.batcher.pending == 1 and harness.batcher.awaiting == 40


async def test_a_newer_price_for_a_sku_in_a_feed_waits_for_the_feeds_outcome(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """At most one update per SKU is in flight: a feed processed later than a patch would put the older price live."""
    fed = offers("A", 10)
    harness = Harness(fed)
    market, batcher = harness.market, harness.batcher
    async with trio.open_nursery() as nursery:
        await nursery.start(batcher.run)
        harness.want([o.key for o in fed])
        await trio.sleep(1)
        harness.want([fed[0].key], price=2100)
        await trio.sleep(60)
        assert len(market.submitted) == 10 and batcher.pending == 1
        await market.answer("F1")
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert [(u.key, u.price) for u in market.submitted[10:]] == [(fed[0].key, 2100)]


async def test_a_failed_feed_sends_its_updates_again(autojump_clock: trio.testing.MockClock) -> None:
    fed = offers("A", 10)
    harness = Harness(fed)
    market = harness.market
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        harness.want([o.key for o in fed])
        await trio.sleep(1)
        await market.answer("F1", "failed", ("feed F1 ended FATAL without a processing report",))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert sorted(u.key for u in market.feeds["F2"]) == [o.key for o in fed]
    assert all(u.price == 2000 for u in market.feeds["F2"])
    states = await harness.states()
    # Failed, then superseded by the update that carries the price again.
    assert all(states[o.key] == [(OutboxState.SUPERSEDED, "F1"), (OutboxState.SUBMITTED, "F2")] for o in fed)
    first = await harness.store.outbox_entries("SELLER", "DE", {OutboxState.SUPERSEDED})
    assert {(e.failures, e.issues) for e in first} == {(1, ("feed F1 ended FATAL without a processing report",))}
    assert harness.delivered == []  # still on its way: nothing for the actors


async def test_an_invalid_update_in_a_feed_keeps_amazons_issues(autojump_clock: trio.testing.MockClock) -> None:
    fed = offers("A", 10)
    harness = Harness(fed)
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        harness.want([o.key for o in fed])
        await trio.sleep(1)
        await harness.market.answer("F1", "invalid", ("ERROR 90220: '[batteries_required]' is required",))
        await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    entries = await harness.store.outbox_entries("SELLER", "DE", {OutboxState.INVALID})
    assert len(entries) == 10
    assert {e.issues for e in entries} == {("ERROR 90220: '[batteries_required]' is required",)}
    assert {r.status for r in harness.delivered} == {"invalid"}


async def test_an_outcome_given_twice_is_kept_once(autojump_clock: trio.testing.MockClock) -> None:
    fed = offers("A", 10)
    harness = Harness(fed)
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        harness.want([o.key for o in fed])
        await trio.sleep(1)
        await harness.market.answer("F1")
        await harness.market.answer("F1", "failed")
        await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    assert [r.status for r in harness.delivered] == ["accepted"] * 10
    assert harness.batcher.counters.outcomes_ignored == 10
    assert {s for states in (await harness.states()).values() for s, _ in states} == {OutboxState.ACCEPTED}


async def test_a_small_backlog_goes_in_batches_of_the_submit_quota(autojump_clock: trio.testing.MockClock) -> None:
    """Fewer intents than a feed's least, or no feed to be had: the usual batches, answered at once."""
    harness = Harness(offers("A", 20), concurrency=4)
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        harness.want([o.key for o in offers("A", 7)])
        await trio.sleep(5)
        harness.market.bulk = None
        harness.want([o.key for o in offers("A", 20)[7:]])
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert harness.market.feeds == {} and len(harness.market.submitted) == 20
    assert harness.batcher.counters.submitted == 0 and harness.market.reservations == 0


async def test_one_bulk_submission_at_a_time(autojump_clock: trio.testing.MockClock) -> None:
    """The bulk limit is for one batch: the next bulk batch is taken once the last one's submit has returned."""
    harness = Harness(offers("A", 200), concurrency=4)
    harness.market.feed_delay = 5.0
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        harness.want([o.key for o in offers("A", 200)])
        await trio.sleep(120)
        nursery.cancel_scope.cancel()
    assert harness.market.most_feeding == 1 and len(harness.market.feeds) >= 2
    assert sorted(u.key for u in harness.market.submitted) == [o.key for o in offers("A", 200)]


async def test_a_stop_leaves_a_feed_to_be_followed_by_the_next_start(autojump_clock: trio.testing.MockClock) -> None:
    """The stop does not wait for the feed (its updates are ``submitted`` in the outbox, with the feed's id); the
    next start asks about that feed instead of sending its prices again, and records its outcome."""
    catalog = offers("A", 10)
    store = MemoryStore()
    first = Harness(catalog, store=store)
    async with trio.open_nursery() as nursery:
        await nursery.start(first.batcher.run)
        first.want([o.key for o in catalog])
        await trio.sleep(1)
        stopped_at = trio.current_time()
        await first.batcher.close(grace_s=30.0)
        assert trio.current_time() == stopped_at  # nothing in a submit call: no grace needed
        assert first.batcher.drain() == []
        nursery.cancel_scope.cancel()
    assert {s for states in (await first.states()).values() for s in states} == {(OutboxState.SUBMITTED, "F1")}

    market = FeedingMarketplace()
    runtime = MarketRuntime(market, catalog, ChannelSettings(), store, Recorder(store), EngineSearch(), tick=1)
    report = await runtime.restore(Clock())
    assert (report.updates_followed, report.updates_resent) == (10, 0)
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.batcher.run)
        assert [sorted(u.update_id for u in feed) for feed in market.followed[0].values()] == [
            sorted(u.update_id for u in first.market.feeds["F1"])
        ]
        assert list(market.followed[0]) == ["F1"]
        await market.answer("F1")
        await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    assert market.submitted == []
    states = await Harness(catalog, store=store).states()
    assert {s for st in states.values() for s in st} == {(OutboxState.ACCEPTED, "F1")}


async def test_a_restarted_batcher_tells_the_follower_what_it_still_awaits(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fed = offers("A", 10)
    harness = Harness(fed)
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        harness.want([o.key for o in fed])
        await trio.sleep(1)
        nursery.cancel_scope.cancel()  # a crash of the batcher's: its supervisor starts it again
    async with trio.open_nursery() as nursery:
        await nursery.start(harness.batcher.run)
        assert [list(told) for told in harness.market.followed] == [[], ["F1"]]
        assert len(harness.market.followed[1]["F1"]) == 10
        await harness.market.answer("F1")
        await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    assert harness.batcher.awaiting == 0 and len(harness.market.submitted) == 10


async def test_without_a_follower_submitted_updates_are_sent_again_after_a_restart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A marketplace that answers at once cannot ask about a feed: what waited for one goes again as an intent."""
    catalog = offers("A", 3)
    store = MemoryStore()
    await store.outbox_put([OfferUpdate(o.key, 40 + n, "EUR", 2000, 1000, 3000) for n, o in enumerate(catalog)], 0.0)
    await store.outbox_mark(
        [OutboxMark(o.key, 40 + n, OutboxState.SUBMITTED, 0.0, "F1") for n, o in enumerate(catalog)]
    )
    runtime = MarketRuntime(
        ScriptedMarketplace(), catalog, ChannelSettings(), store, Recorder(store), EngineSearch(), tick=1
    )
    report = await runtime.restore(Clock())
    assert (report.updates_followed, report.updates_resent) == (0, 3)
