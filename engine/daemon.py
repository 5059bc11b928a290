"""The daemon: the actor tree of DESIGN.md, one nursery per lifetime.

```
daemon
├── recorder                 decisions to the store, in batches
└── per (seller account, marketplace): MarketRuntime
    ├── intake               notifications + quota-aware poll sweep → observations
    ├── router               sku → that offer actor's slots
    ├── offer actor × N      observation → policy → decision → intent (each supervised in its own task)
    └── offer batcher        latest intent per SKU wins; guard; one update per SKU in flight; submit; verify
```

Shutdown (SIGTERM, or the end of a demo): the marketplaces' nursery is cancelled, which stops intake and lets
each actor finish the decision in hand (decisions are synchronous, so a cancel never lands inside one); then,
shielded and within a grace period, intents not yet sent go to the outbox, every search state is saved and the
store is closed. Unsent updates are sent by the next start, not during shutdown.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
import trio

from engine.actors.batcher import BatcherConfig, OfferBatcher
from engine.actors.intake import Intake, IntakeConfig
from engine.actors.offer import OfferActor
from engine.actors.recorder import Recorder
from engine.actors.router import RouterCounters, route
from engine.actors.supervisor import SupervisorConfig
from engine.model import (
    ChannelSettings,
    Decision,
    Observation,
    OfferKey,
    OfferSettings,
    PriceIntent,
    Reason,
    SubmissionResult,
)
from engine.ports import Marketplace, Store
from engine.pricing.learning import Lesson, TemperatureSample, WeightLearner
from engine.pricing.scoring import ScorePrior
from engine.pricing.view import Strategy

__all__ = ["Daemon", "MarketRuntime", "MarketStatus", "RuntimeConfig"]

log = logging.getLogger(__name__)


class RuntimeConfig(msgspec.Struct, frozen=True):
    router_buffer: int = 4096
    batcher: BatcherConfig = BatcherConfig()
    intake: IntakeConfig = IntakeConfig()
    supervisor: SupervisorConfig = SupervisorConfig()
    # How often every search state is saved while running (it is always saved at shutdown).
    save_interval_s: float = 300.0
    # Learn the marketplace's Buy Box weights from converged offers; refresh the shared prior every N samples.
    learn_weights: bool = True
    relearn_every: int = 5
    shutdown_grace_s: float = 10.0
    # The collector's thresholds while the daemon runs (CPython's default is (700, 10, 10)). A sleeping offer
    # actor holds a few objects of trio's that are replaced at each wake-up and so outlive the young generations;
    # with 100,000 actors a full collection walks half a million of them (a quarter of a second), and by default
    # one comes every few seconds under load. The engine's data are untracked structs and make no cycles, so
    # full collections can wait for a thousand middle-generation ones (minutes under load).
    gc_thresholds: tuple[int, int, int] = (700, 10, 1000)


class MarketStatus(msgspec.Struct, frozen=True):
    """One marketplace at a glance, for the live view and `repricer ctl status`."""

    marketplace: str
    offers: int
    live: int
    holding: int
    converged: int
    quarantined: int
    decisions: int
    intents: int
    updates_sent: int
    accepted: int
    rejected: int
    throttled: int
    polls: int
    observations: int
    command_overflow: int


class MarketRuntime:
    """The actors of one (seller account, marketplace); it is also the offer actors' `Sinks`."""

    def __init__(
        self,
        marketplace: Marketplace,
        offers: Sequence[OfferSettings],
        channel: ChannelSettings,
        store: Store,
        recorder: Recorder,
        strategy: Strategy[Any],
        *,
        tick: int,
        config: RuntimeConfig | None = None,
        states: Mapping[OfferKey, bytes] | None = None,
    ) -> None:
        self.marketplace = marketplace
        self.code = marketplace.code
        self.config = config or RuntimeConfig()
        self.store = store
        self.recorder = recorder
        self.strategy = strategy
        self.catalog: dict[OfferKey, OfferSettings] = {o.key: o for o in offers}
        self._send, self._receive = trio.open_memory_channel[Observation](self.config.router_buffer)
        self.router_counters = RouterCounters()
        self.command_overflow = 0
        self.batcher = OfferBatcher(
            marketplace,
            self.catalog,
            channel,
            tick,
            store,
            deliver=self._deliver,
            config=self.config.batcher,
        )
        self.intake = Intake(marketplace, list(self.catalog), self._send, self.config.intake)
        # Amazon's weights are the same for every offer here: learn them from the offers that converge, if the
        # strategy has a prior to refine (the engine's search does; the benchmark's baselines do not).
        base: ScorePrior | None = getattr(strategy, "score_prior", None)
        self.learner = WeightLearner(base) if base is not None and self.config.learn_weights else None
        self._prior: ScorePrior | None = None
        state_type = type(strategy.initial_state())
        states = states or {}
        self.actors: dict[OfferKey, OfferActor] = {}
        for key, settings in self.catalog.items():
            stored = states.get(key)
            state = None if stored is None else msgspec.msgpack.decode(stored, type=state_type)
            self.actors[key] = OfferActor(settings, channel, tick, strategy, self, state, self.config.supervisor)

    # --- Sinks: what offer actors call, never blocking --------------------------------------------------------

    def intent(self, intent: PriceIntent, current_price: int | None) -> None:
        self.batcher.offer(intent, current_price)

    def decision(self, decision: Decision) -> None:
        self.recorder.decision(decision)

    def recheck(self, key: OfferKey, at: float) -> None:
        self.intake.recheck(key, at)

    def want_foep(self, key: OfferKey) -> None:
        self.intake.want_foep(key)

    def want_share(self, key: OfferKey) -> None:
        self.intake.want_share(key)

    def prior(self) -> ScorePrior | None:
        return self._prior

    def learn(self, sample: Lesson) -> None:
        if self.learner is None:
            return
        self.learner.add(sample)
        # A temperature is used as soon as there is one: every offer still searching converges faster with it.
        if self.learner.samples % self.config.relearn_every == 0 or isinstance(sample, TemperatureSample):
            self._prior = self.learner.prior()

    def overflow(self, key: OfferKey) -> None:
        self.command_overflow += 1
        log.warning("command inbox of %s is full: command dropped", key)

    def _deliver(self, result: SubmissionResult) -> bool:
        actor = self.actors.get(result.key)
        return actor is not None and actor.command(result)

    # --- running -------------------------------------------------------------------------------------------

    async def run(
        self,
        *,
        spawned: Callable[[], None] | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Start the actors, then intake. ``spawned`` is called once every offer actor is waiting for its first
        observation and before intake starts: the daemon freezes them out of the collector's walks there, so no
        observation waits on that (at 100,000 actors, most of a second's) collection."""
        async with trio.open_nursery() as nursery:
            await nursery.start(route, self._receive, self.actors, self.router_counters)
            await nursery.start(self.batcher.run)
            for actor in self.actors.values():
                # A shared name: by default trio formats one per task, a string per actor kept for its lifetime.
                nursery.start_soon(actor.run, name=_ACTOR_TASK)
            nursery.start_soon(self._save_periodically)
            await trio.lowlevel.checkpoint()  # the actors spawned above run up to their first wait
            if spawned is not None:
                spawned()
            await nursery.start(self.intake.run)
            task_status.started()

    async def _save_periodically(self) -> None:
        while True:
            await trio.sleep(self.config.save_interval_s)
            await self.store.save_search_states(self.search_states())

    def search_states(self) -> dict[OfferKey, bytes]:
        return {key: msgspec.msgpack.encode(actor.state) for key, actor in self.actors.items()}

    async def persist(self) -> None:
        """At shutdown: unsent intents to the outbox, search states to the store."""
        await self.store.outbox_put(self.batcher.drain())
        await self.store.save_search_states(self.search_states())

    def status(self) -> MarketStatus:
        live = holding = converged = quarantined = 0
        for actor in self.actors.values():
            snapshot = actor.snapshot
            if snapshot is not None and snapshot.our is not None and snapshot.our.live:
                live += 1
                holding += snapshot.our.is_buybox_winner
            # The latest decision that was not just waiting for a price to go live or a verdict to settle.
            standing = next((d.reason for d in actor.trace if d.reason is not Reason.AWAIT_LIVE), None)
            converged += standing in _SETTLED
            quarantined += actor.quarantined
        counters = self.batcher.counters
        return MarketStatus(
            marketplace=self.code,
            offers=len(self.actors),
            live=live,
            holding=holding,
            converged=converged,
            quarantined=quarantined,
            decisions=sum(a.decisions for a in self.actors.values()),
            intents=counters.intents,
            updates_sent=counters.updates_sent,
            accepted=counters.accepted,
            rejected=counters.rejected,
            throttled=counters.throttled + self.intake.counters.throttled,
            polls=self.intake.counters.polls,
            observations=self.router_counters.routed,
            command_overflow=self.command_overflow,
        )


_ACTOR_TASK = "offer actor"


def _freeze() -> None:
    """Everything alive now lives as long as the daemon: keep it out of the collector's walks."""
    gc.collect()
    gc.freeze()


# Offers the engine has settled: converged, secured within 1% of the best price (holding there before refining),
# or alone at their max.
_SETTLED = frozenset({Reason.CONVERGED, Reason.SECURED, Reason.NO_COMPETITION, Reason.NO_COMPETITION_SALE_PRICE})


class Daemon:
    """Runs every marketplace runtime and the recorder until ``stop`` is set, then shuts down cleanly."""

    def __init__(
        self, markets: Sequence[MarketRuntime], store: Store, recorder: Recorder, config: RuntimeConfig
    ) -> None:
        self.markets = list(markets)
        self.store = store
        self.recorder = recorder
        self.config = config
        self.stop = trio.Event()
        self.stopped_cleanly = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        thresholds = gc.get_threshold()
        try:
            async with trio.open_nursery() as outer:
                await outer.start(self.recorder.run)
                async with trio.open_nursery() as markets:
                    for market in self.markets:
                        await markets.start(functools.partial(market.run, spawned=_freeze))
                    _freeze()  # and what intake and the recorder started with
                    gc.set_threshold(*self.config.gc_thresholds)
                    task_status.started()
                    await self.stop.wait()
                    markets.cancel_scope.cancel()
                with trio.move_on_after(self.config.shutdown_grace_s, shield=True) as grace:
                    for market in self.markets:
                        await market.persist()
                    await self.recorder.flush()
                    await self.store.aclose()
                self.stopped_cleanly = not grace.cancelled_caught
                outer.cancel_scope.cancel()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    def status(self) -> list[MarketStatus]:
        return [market.status() for market in self.markets]
