"""The daemon as a seller's operator relies on it: faults that stop nothing, a stop that loses nothing, offers and
switches that change while it runs, and one seller's quota however many marketplaces it sells on."""

from __future__ import annotations

from typing import Any

import msgspec
import trio
import trio.testing

from engine.actors.batcher import BatcherConfig
from engine.actors.intake import IntakeConfig
from engine.actors.recorder import Recorder
from engine.actors.supervisor import SupervisorConfig
from engine.daemon import Daemon, DaemonPlan, MarketplacePlan, MarketRuntime, RuntimeConfig, SellerPlan, compose
from engine.model import (
    ChannelSettings,
    Fulfilment,
    HealthEvent,
    OfferBounds,
    OfferKey,
    PriceIntent,
    Reason,
)
from engine.ports import AccountError, TransientError
from engine.pricing.search import EngineSearch
from engine.pricing.view import MarketView, Step
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace, settings, unanswered
from tests.actors.test_runtime import ExplodingFor

# Polls every minute, no readings: the scripted market answers polls only.
FAST = RuntimeConfig(
    intake=IntakeConfig(sweep_interval_s=60.0, foep=False, shares=False),
    service_backoff_s=1.0,
    service_max_backoff_s=8.0,
)


def _daemon(
    markets: dict[tuple[str, str], ScriptedMarketplace],
    skus: list[str],
    *,
    store: MemoryStore | None = None,
    config: RuntimeConfig = FAST,
    strategy: Any = None,
    offers: Any = None,
) -> Daemon:
    sellers: dict[str, list[MarketplacePlan]] = {}
    for seller, code in markets:
        catalog = offers(seller, code) if offers is not None else [settings(s, code, seller) for s in skus]
        sellers.setdefault(seller, []).append(MarketplacePlan(code, tuple(catalog)))
    plan = DaemonPlan(tuple(SellerPlan(seller, tuple(plans)) for seller, plans in sellers.items()))
    return compose(
        plan,
        lambda seller, code: markets[(seller, code)],
        store or MemoryStore(),
        strategy or EngineSearch(),
        config=config,
    )


def _market(daemon: Daemon, seller: str, code: str) -> MarketRuntime:
    return daemon.seller(seller).market(code)


async def test_transient_error_keeps_other_marketplaces_running(autojump_clock: trio.testing.MockClock) -> None:
    de, fr = ScriptedMarketplace("DE"), ScriptedMarketplace("FR")
    daemon = _daemon({("SELLER", "DE"): de, ("SELLER", "FR"): fr}, ["A", "B"])
    failing, healthy = _market(daemon, "SELLER", "DE"), _market(daemon, "SELLER", "FR")
    # A burst of 5xx on submit and on poll, then a connection dropped (an error outside the port's contract: the
    # adapter's bug, so the service that met it is restarted).
    de.submit_faults = [TransientError("submit", "HTTP 503")] * 3 + [ConnectionError("connection reset")]
    de.poll_faults = [TransientError("poll_offers", "HTTP 500")] * 3 + [ConnectionError("connection reset")]
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(30)
        before = healthy.status().decisions
        await trio.sleep(600)
        # The other marketplace went on deciding and sending the whole time ...
        assert healthy.status().decisions > before
        assert {u.key.sku for u in fr.submitted} == {"A", "B"}
        # ... and the failing one got through every fault: polled, decided, sent.
        assert not de.submit_faults and not de.poll_faults
        assert {u.key.sku for u in de.submitted} == {"A", "B"}
        status = failing.status()
        assert status.transient_errors >= 6
        assert status.service_restarts >= 2  # the intake and the batcher, once each, for the ConnectionErrors
        assert status.decisions > 0
        daemon.stop.set()
    assert daemon.stopped_cleanly


async def test_a_revoked_seller_stops_alone(autojump_clock: trio.testing.MockClock) -> None:
    one, two = ScriptedMarketplace("DE", "ONE"), ScriptedMarketplace("DE", "TWO")
    daemon = _daemon({("ONE", "DE"): one, ("TWO", "DE"): two}, ["A"])
    one.poll_faults = [AccountError("ONE", "the seller revoked the application's authorization")]
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(300)
        (status_one,) = daemon.seller("ONE").status()
        assert status_one.stopped is not None and "revoked" in status_one.stopped
        assert daemon.seller("TWO").stopped is None
        decided = _market(daemon, "TWO", "DE").status().decisions
        await trio.sleep(300)
        assert _market(daemon, "TWO", "DE").status().decisions > decided
        daemon.stop.set()
    assert daemon.stop_report is not None and daemon.stop_report.stopped_sellers == ("ONE",)


async def test_shutdown_loses_no_intent(autojump_clock: trio.testing.MockClock) -> None:
    """One submit in flight that outlives the grace period, and more intents than a call takes waiting for a
    slot: at the stop every one of them is in the outbox, at its latest price."""
    market = ScriptedMarketplace()
    market.submit_delay = 3600.0  # Amazon never answers in time
    skus = [f"SKU-{i:02d}" for i in range(12)]
    store = MemoryStore()
    config = msgspec.structs.replace(FAST, batcher=BatcherConfig(concurrency=1), shutdown_grace_s=5.0)
    daemon = _daemon({("SELLER", "DE"): market}, skus, store=store, config=config)
    runtime = _market(daemon, "SELLER", "DE")
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(1)
        now = trio.current_time()
        for i, sku in enumerate(skus):
            key = OfferKey("SELLER", "DE", sku)
            runtime.intent(PriceIntent(key, 1500 + i, Reason.CHALLENGE, now, signal_backed=True), 2000)
        await trio.sleep(10)
        # One call in flight (five SKUs), the rest waiting for the one slot; then a newer price for one waiting SKU.
        assert runtime.batcher.in_flight == 5 and runtime.batcher.pending >= 7
        runtime.intent(PriceIntent(OfferKey("SELLER", "DE", "SKU-11"), 1600, Reason.CHALLENGE, now, True), 2000)
        daemon.stop.set()
    pending = {u.key.sku: u.price for u in await unanswered(store)}
    expected = {sku: 1500 + i for i, sku in enumerate(skus)} | {"SKU-11": 1600}
    assert pending == expected
    report = daemon.stop_report
    assert report is not None and not report.persistent and report.states_saved == len(skus)
    assert "nothing persisted" in report.describe()


async def test_set_bounds_reaches_guard(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    daemon = _daemon({("SELLER", "DE"): market}, ["A"])
    runtime = _market(daemon, "SELLER", "DE")
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(120)
        runtime.set_bounds("A", OfferBounds(1000, 1700))
        assert runtime.offer("A").settings.bounds == OfferBounds(1000, 1700)
        key = OfferKey("SELLER", "DE", "A")
        runtime.intent(PriceIntent(key, 1850, Reason.SEARCH_UP, trio.current_time(), signal_backed=True), 1800)
        await trio.sleep(5)
        daemon.stop.set()
    last = market.submitted[-1]
    assert (last.price, last.min_price, last.max_price) == (1700, 1000, 1700)


async def test_add_and_remove_offer_while_running(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    daemon = _daemon({("SELLER", "DE"): market}, ["A", "B"])
    runtime = _market(daemon, "SELLER", "DE")
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(120)
        runtime.add_offer(settings("C"))
        await trio.sleep(120)
        added = runtime.offer("C")
        assert added.decisions > 0  # polled at once and decided on
        assert OfferKey("SELLER", "DE", "C") in {u.key for u in market.submitted}
        removed = runtime.offer("A")
        runtime.remove_offer("A")
        polls_of_a = market.polled.count(removed.key)
        decisions_of_a = removed.decisions
        await trio.sleep(600)
        assert market.polled.count(removed.key) == polls_of_a
        assert removed.decisions == decisions_of_a
        # Every per-SKU map of the runtime forgot it.
        assert removed.key not in runtime.actors and removed.key not in runtime.catalog
        assert removed.key not in runtime.batcher._sent and removed.key not in runtime.batcher._pending
        assert runtime.status().offers == 2
        daemon.stop.set()
    states = await daemon.markets[0].store.load_search_states("SELLER", "DE")
    assert set(states) == {OfferKey("SELLER", "DE", "B"), OfferKey("SELLER", "DE", "C")}


async def test_pause_all_stops_submissions(autojump_clock: trio.testing.MockClock) -> None:
    de, fr = ScriptedMarketplace("DE"), ScriptedMarketplace("FR")
    daemon = _daemon({("SELLER", "DE"): de, ("SELLER", "FR"): fr}, [f"S{i}" for i in range(4)])
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        # Intents waiting when the kill switch is thrown are dropped with it.
        now = trio.current_time()
        for runtime in daemon.markets:
            for key in runtime.actors:
                runtime.intent(PriceIntent(key, 1500, Reason.CHALLENGE, now, True), 2000)
        daemon.pause_all()
        await trio.sleep(1800)
        assert de.submitted == [] and fr.submitted == []
        assert all(a.last is None or a.last.reason is Reason.PAUSED for m in daemon.markets for a in m.actors.values())
        daemon.resume_all()
        await trio.sleep(120)
        assert de.submitted and fr.submitted
        # One marketplace paused: the other one goes on.
        daemon.seller("SELLER").market("DE").pause()
        sent_de = len(de.submitted)
        for runtime in daemon.markets:
            for key in runtime.actors:
                runtime.intent(PriceIntent(key, 1400, Reason.CHALLENGE, trio.current_time(), True), 2000)
        await trio.sleep(120)
        assert len(de.submitted) == sent_de
        assert any(u.price == 1400 for u in fr.submitted)
        daemon.stop.set()


async def test_quarantined_offer_respawns(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    supervisor = SupervisorConfig(max_crashes=2, window_s=3600, first_backoff_s=1, max_backoff_s=2)
    config = msgspec.structs.replace(FAST, supervisor=supervisor)
    strategy = ExplodingFor("BAD")
    daemon = _daemon({("SELLER", "DE"): market}, ["BAD", "GOOD"], config=config, strategy=strategy)
    runtime = _market(daemon, "SELLER", "DE")
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(300)
        assert runtime.offer("BAD").quarantined and runtime.status().quarantined == 1
        strategy.sku = "nobody"  # the bug is fixed
        runtime.respawn("BAD")
        await trio.sleep(5)
        revived = runtime.offer("BAD")
        assert not revived.quarantined and revived.decisions > 0
        assert runtime.status().quarantined == 0
        daemon.stop.set()


async def test_older_health_reading_dropped(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    daemon = _daemon({("SELLER", "DE"): market}, ["A"])
    actor = _market(daemon, "SELLER", "DE").offer("A")
    key = actor.key
    actor.observe(HealthEvent(key, as_of=100.0, disqualified=False))
    actor.observe(HealthEvent(key, as_of=50.0, disqualified=True))  # reordered: older, arrives later
    actor.step(200.0)
    assert actor.health is not None and not actor.health.disqualified
    # Once decided on, an older reading is still dropped; the same goes for every kind.
    actor.observe(HealthEvent(key, as_of=60.0, disqualified=True))
    assert actor.step(201.0) is None
    newer = market.snapshot(key)
    older = msgspec.structs.replace(newer, as_of=newer.as_of - 10)
    actor.observe(newer)
    actor.step(202.0)
    actor.observe(older)
    assert actor.step(203.0) is None and actor.snapshot is newer


class Holds:
    """A strategy that never moves: the test alone says what is sent."""

    name = "holds"

    def initial_state(self) -> None:
        return None

    def decide(self, view: MarketView, state: None) -> Step[None]:
        return Step(None, Reason.AWAIT_LIVE, state)


async def test_fba_update_carries_no_quantity(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()

    def offers(seller: str, code: str) -> list[Any]:
        fba = msgspec.structs.replace(settings("FBA"), fulfilment=Fulfilment.AMAZON, quantity=7)
        fbm = msgspec.structs.replace(settings("FBM"), quantity=7)
        return [fba, fbm]

    daemon = _daemon({("SELLER", "DE"): market}, [], offers=offers, strategy=Holds())
    runtime = _market(daemon, "SELLER", "DE")
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        for price in (1500, 1490):
            for sku in ("FBA", "FBM"):
                key = OfferKey("SELLER", "DE", sku)
                runtime.intent(PriceIntent(key, price, Reason.CHALLENGE, trio.current_time(), True), 2000)
            await trio.sleep(5)
        daemon.stop.set()
    sent = [(u.key.sku, u.price, u.fulfilment, u.quantity) for u in market.submitted if u.price in (1500, 1490)]
    assert ("FBA", 1500, Fulfilment.AMAZON, None) in sent and ("FBA", 1490, Fulfilment.AMAZON, None) in sent
    # A merchant-fulfilled offer's quantity travels with its price once; unchanged, it is not sent again.
    assert ("FBM", 1500, Fulfilment.MERCHANT, 7) in sent and ("FBM", 1490, Fulfilment.MERCHANT, None) in sent


async def test_two_sellers_same_sku(autojump_clock: trio.testing.MockClock) -> None:
    one, two = ScriptedMarketplace("DE", "ONE"), ScriptedMarketplace("DE", "TWO")
    store = MemoryStore()
    daemon = _daemon({("ONE", "DE"): one, ("TWO", "DE"): two}, ["SAME"], store=store)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(300)
        daemon.seller("ONE").pause()
        await trio.sleep(1)
        daemon.stop.set()
    assert {u.key for u in one.submitted} == {OfferKey("ONE", "DE", "SAME")}
    assert {u.key for u in two.submitted} == {OfferKey("TWO", "DE", "SAME")}
    assert set(await store.load_search_states("ONE", "DE")) == {OfferKey("ONE", "DE", "SAME")}
    assert set(await store.load_search_states("TWO", "DE")) == {OfferKey("TWO", "DE", "SAME")}
    assert [m.paused for m in daemon.status()] == [True, False]


def test_a_plan_that_contradicts_itself_is_refused() -> None:
    plan = DaemonPlan((SellerPlan("ONE", (MarketplacePlan("DE", (settings("A", "FR", "ONE"),)),)),))
    store = MemoryStore()
    try:
        compose(plan, lambda s, c: ScriptedMarketplace(c, s), store, EngineSearch())
    except ValueError as error:
        assert "ONE/FR/A" in str(error) and "DE" in str(error)
    else:
        raise AssertionError("an offer filed under the wrong marketplace was accepted")


def test_channel_settings_are_replaced_for_every_offer() -> None:
    market = ScriptedMarketplace()
    store = MemoryStore()
    runtime = MarketRuntime(
        market, [settings("A"), settings("B")], ChannelSettings(), store, Recorder(store), EngineSearch(), tick=1
    )
    dry = ChannelSettings(dry_run=True)
    runtime.set_channel(dry)
    assert runtime.batcher.channel is dry
    assert all(actor.channel is dry for actor in runtime.actors.values())


async def test_a_failed_item_is_polled_again_while_the_others_are_observed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = ScriptedMarketplace()
    config = msgspec.structs.replace(FAST, intake=IntakeConfig(sweep_interval_s=1800.0, foep=False, shares=False))
    daemon = _daemon({("SELLER", "DE"): market}, ["A", "B", "C"], config=config)
    runtime = _market(daemon, "SELLER", "DE")
    broken = OfferKey("SELLER", "DE", "B")
    market.failing_items[broken] = True  # a 5xx for this item alone
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(300)
        # A and C were observed on the first sweep and are not due again for half an hour; B, not swept, is
        # asked again a minute later, ahead of the sweep.
        assert runtime.offer("A").snapshot is not None and runtime.offer("C").snapshot is not None
        assert runtime.offer("B").snapshot is None
        assert market.polled.count(broken) > 1
        assert market.polled.count(OfferKey("SELLER", "DE", "A")) == 1
        del market.failing_items[broken]
        await trio.sleep(120)
        assert runtime.offer("B").snapshot is not None
        assert runtime.intake.counters.item_failures >= 2
        daemon.stop.set()


async def test_an_update_throttled_alone_is_sent_again(autojump_clock: trio.testing.MockClock) -> None:
    """Amazon's per-SKU patches: with three tokens left, five updates get three through and two answered
    throttled; those two go out again once the seller's bucket refills, at their latest price."""
    from adapters.simulated import MarketFeed, SimulatedMarketplace, catalog_settings
    from engine.daemon import MarketplacePlan
    from sim.competitors import CompetitorSpec
    from sim.market import Market
    from sim.spec import OurSpec, RowSpec, spec_from_rows

    rival = CompetitorSpec(price=9_500)  # a competitor: the strategy (which holds) decides, not "no competition"
    market = Market(spec_from_rows([RowSpec(our=OurSpec(10_000, 8_000, 12_000), competitors=[rival])] * 5), seed=3)
    feed = MarketFeed(market)  # ours to run, with its quota book: the adapter keeps both private
    adapter = SimulatedMarketplace(market, code="DE", api_latency_s=0.0, feed=feed)
    plan = DaemonPlan((SellerPlan("SIM", (MarketplacePlan("DE", tuple(catalog_settings(market)), tick=market.tick),)),))
    daemon = compose(plan, lambda s, c: adapter, MemoryStore(), Holds(), config=FAST)
    runtime = daemon.markets[0]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(feed.run)
        await nursery.start(daemon.run)
        now = trio.current_time()
        assert feed.quotas.try_acquire(0, "patchListingsItem", now, 2)  # someone else spent two tokens
        for key in runtime.actors:
            runtime.intent(PriceIntent(key, 9_000, Reason.CHALLENGE, now, signal_backed=True), 10_000)
        await trio.sleep(10)
        counters = runtime.batcher.counters
        assert counters.throttled == 2 and counters.requeued >= 1
        # Every SKU's latest price went through in the end.
        assert {key: sent.price for key, sent in runtime.batcher._sent.items()} == dict.fromkeys(runtime.actors, 9_000)
        daemon.stop.set()
        nursery.cancel_scope.cancel()


async def test_pause_one_offer_drops_its_intent_and_resume_asks_again(autojump_clock: trio.testing.MockClock) -> None:
    market = ScriptedMarketplace()
    daemon = _daemon({("SELLER", "DE"): market}, ["A", "B"])
    runtime = _market(daemon, "SELLER", "DE")
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        runtime.pause_offer("A")
        await trio.sleep(600)
        assert {u.key.sku for u in market.submitted} == {"B"}  # B decided and sent; A decided nothing
        assert runtime.offer("A").last is not None and runtime.offer("A").last.reason is Reason.PAUSED
        runtime.resume_offer("A")
        await trio.sleep(60)
        assert {u.key.sku for u in market.submitted} == {"A", "B"}
        daemon.stop.set()


async def test_an_offer_removed_and_added_back_keeps_its_place_in_the_store(
    autojump_clock: trio.testing.MockClock,
) -> None:
    market = ScriptedMarketplace()
    store = MemoryStore()
    daemon = _daemon({("SELLER", "DE"): market}, ["A", "B"], store=store)
    runtime = _market(daemon, "SELLER", "DE")
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(60)
        settings_a = runtime.remove_offer("A")
        runtime.add_offer(settings_a)
        await trio.sleep(60)
        assert runtime.offer("A").decisions > 0
        daemon.stop.set()
    assert set(await store.load_search_states("SELLER", "DE")) == {
        OfferKey("SELLER", "DE", "A"),
        OfferKey("SELLER", "DE", "B"),
    }
