"""One (seller account, marketplace): intake, router, offer actors and batcher, and the offers changing under them.

```
MarketRuntime
├── batcher                  latest intent per SKU wins; guard; one update per SKU in flight; submit; verify
└── deciding
    ├── intake               notifications + quota-aware poll sweep → observations (restarted if it fails)
    ├── router               sku → that offer actor's slots
    ├── offer actor × N      observation → policy → decision → intent (each supervised in its own task)
    ├── saver                every search state, now and then
    └── decided saver        the search state of each offer that decided, a second after (a persistent store)
```

The batcher outlives the deciding nursery: at a stop, intake and the actors stop first (a decision is synchronous,
so none is cut), then the submits in flight get the grace period, then what was not sent goes to the outbox and
every search state to the store, in a `finally` under a shielded deadline, so that happens however the runtime
stops (a stop, a cancellation, a seller's revoked authorization, a bug).

The runtime's catalog is the one source of truth for an offer's settings: `replace_offer` changes it and the
actor's copy in one call, so the guard and the decision never disagree on an offer's bounds. Channel settings are
the marketplace's (``channel``), except for the offers that have their own (``overrides``, by SKU: the
configuration's per-offer tables, already merged over the marketplace's); `set_channels` changes both the same way.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
import trio

from engine.actors.batcher import OfferBatcher, UpdateIds
from engine.actors.intake import Intake
from engine.actors.messages import Pause, Resume
from engine.actors.offer import OfferActor
from engine.actors.pacing import Pacers
from engine.actors.recorder import Recorder
from engine.actors.router import RouterCounters, route
from engine.actors.supervisor import ServiceState, supervise
from engine.actors.validate import FUTURE_LIMIT_S
from engine.daemon.config import RuntimeConfig
from engine.daemon.status import MarketStatus, PersistReport, RestoreReport
from engine.daemon.switch import Switch
from engine.model import (
    OUTBOX_UNANSWERED,
    ChannelSettings,
    Decision,
    Observation,
    OfferBounds,
    OfferKey,
    OfferSettings,
    OutboxMark,
    OutboxState,
    PriceIntent,
    Reason,
    SubmissionResult,
)
from engine.ports import Clock, Marketplace, StockProvider, Store
from engine.pricing.bounds import check_bounds
from engine.pricing.learning import LearnerState, Lesson, TemperatureSample, WeightLearner
from engine.pricing.scoring import ScorePrior
from engine.pricing.view import Strategy, state_problem

__all__ = ["CatalogStock", "MarketRuntime", "freeze"]

log = logging.getLogger(__name__)


class CatalogStock:
    """The quantity to offer is the catalog's own (`OfferSettings.quantity`), until the stock ledger exists."""

    def available(self, offer: OfferSettings) -> int | None:
        return offer.quantity


_ACTOR_TASK = "offer actor"

# Offers the engine has settled: converged, secured within 1% of the best price (holding there before refining),
# or alone at their max.
_SETTLED = frozenset({Reason.CONVERGED, Reason.SECURED, Reason.NO_COMPETITION, Reason.NO_COMPETITION_SALE_PRICE})
# Trace entries that say nothing of where an offer stands: waiting for a price to go live or a verdict to settle,
# and an observation dropped before it reached the offer.
# A competitive summary older than this says nothing about today's share of views (the status's estimate).
_SHARE_MAX_AGE_S = 3600.0
_PASSING = frozenset({Reason.AWAIT_LIVE, Reason.INVALID_OBSERVATION})


class MarketLearned(msgspec.Struct, frozen=True):
    """What one marketplace learned, as stored: the learner's sums, and the prior the offers use now (relearned
    every few lessons, so not always the learner's latest). ``saved_at``: the wall time of the save (Unix seconds),
    so a process whose wall clock reads earlier than that (a simulation run faster than real time, a system clock
    stepped back) can tell its stored times would be in its future."""

    learner: LearnerState | None
    prior: ScorePrior | None
    saved_at: float = 0.0


class MarketRuntime:
    """The actors of one (seller account, marketplace); it is also the offer actors' `Sinks`.

    ``pacers`` are the seller's (shared with its other marketplaces in the region; default: this runtime's own);
    ``switch`` is this marketplace's pause switch, under the seller's (default: a switch of its own); ``overrides``
    are the channel settings of the SKUs that do not use the marketplace's (an offer added later finds its own
    there too).
    """

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
        pacers: Pacers | None = None,
        ids: UpdateIds | None = None,
        stock: StockProvider | None = None,
        switch: Switch | None = None,
        overrides: Mapping[str, ChannelSettings] | None = None,
    ) -> None:
        self.marketplace = marketplace
        self.code = marketplace.code
        self.seller = marketplace.seller
        self.config = config or RuntimeConfig()
        self.store = store
        self.recorder = recorder
        self.strategy = strategy
        self.channel = channel
        self.overrides = self._by_key(overrides or {})
        self.tick = tick
        self.switch = switch or Switch()
        self.pacers = pacers or Pacers(marketplace.quota)
        if tick < 1:
            raise ValueError(f"{self.seller}/{self.code}: a price tick of {tick} minor units is not 1 or more")
        self.catalog: dict[OfferKey, OfferSettings] = {}
        for offer in offers:
            self._check_offer(offer)
            self.catalog[offer.key] = offer
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
            pacers=self.pacers,
            stock=stock if stock is not None else CatalogStock(),
            paused=self._offer_paused,
            ids=ids,
            overrides=self.overrides,
            seen=self._seen_price,
        )
        self.intake = Intake(marketplace, list(self.catalog), self._send, self.config.intake, self.pacers)
        name = f"{self.seller}/{self.code}"
        self.services = {
            "intake": ServiceState(f"{name} intake"),
            "batcher": ServiceState(f"{name} batcher"),
        }
        # Amazon's weights are the same for every offer here: learn them from the offers that converge, if the
        # strategy has a prior to refine (the engine's search does; the benchmark's baselines do not).
        base: ScorePrior | None = getattr(strategy, "score_prior", None)
        self.learner = WeightLearner(base) if base is not None and self.config.learn_weights else None
        self._prior: ScorePrior | None = None
        self._state_type = type(strategy.initial_state())
        self.actors: dict[OfferKey, OfferActor] = {}
        for key, settings in self.catalog.items():
            self.actors[key] = self._actor(settings, None)
        # Stored times are wall time: a state goes out with its times moved by this (Unix seconds at trio time 0
        # here) and comes back moved by the reading process's (`restore`).
        self._wall_offset: float | None = None
        self._saved: dict[OfferKey, object] = {}  # the state object last saved per offer: only changes are written
        self._decided: set[OfferKey] = set()  # offers that decided since the decided saver last ran
        self._decided_wake = trio.Event()
        self._actors_nursery: trio.Nursery | None = None
        self._stopping = trio.Event()
        self._removed: list[OfferKey] = []
        self.stopped: str | None = None
        self.persisted: PersistReport | None = None

    def _check_offer(self, settings: OfferSettings) -> None:
        """Settings enter here from the catalog, the store and the control socket alike: an offer of another
        account, or bounds that are not prices on the currency's tick with min below max, raise an error naming the
        SKU (`BoundsError`) before anything changes."""
        key = settings.key
        if (key.seller, key.marketplace) != (self.seller, self.code):
            raise ValueError(f"offer {key} does not belong to seller {self.seller} on {self.code}")
        check_bounds(settings)

    def _actor(self, settings: OfferSettings, state: Any) -> OfferActor:
        channel = self.channel_for(settings.key)
        return OfferActor(settings, channel, self.tick, self.strategy, self, state, self.config.supervisor)

    def _by_key(self, overrides: Mapping[str, ChannelSettings]) -> dict[OfferKey, ChannelSettings]:
        return {OfferKey(self.seller, self.code, sku): channel for sku, channel in overrides.items()}

    def channel_for(self, key: OfferKey) -> ChannelSettings:
        """The channel settings one offer decides and is guarded with: its own, or the marketplace's."""
        return self.overrides.get(key, self.channel)

    @property
    def wall_offset(self) -> float:
        if self._wall_offset is None:
            self._wall_offset = Clock().to_utc(0.0).timestamp()
        return self._wall_offset

    def _decode_state(self, stored: bytes) -> Any:
        """A stored state on this process's clock; ValueError when it decodes but holds a NaN or a time further
        ahead than an observation may be (`FUTURE_LIMIT_S`): resumed, it would freeze or break the search."""
        state = self.strategy.rebase(msgspec.msgpack.decode(stored, type=self._state_type), -self.wall_offset)
        problem = state_problem(state, trio.current_time() + FUTURE_LIMIT_S)
        if problem is not None:
            raise ValueError(problem)
        return state

    async def restore(self, clock: Clock) -> RestoreReport:
        """Go on where the last process stopped: each offer's search state, what the marketplace learned, the
        updates it never heard back about (sent again as intents, so guarded against today's bounds) and the
        accepted ones not yet verified (read back when due); updates in a feed Amazon had not answered for are
        followed by the feed's id, where the marketplace can. A stored state that cannot be read is reported and
        that offer starts afresh; nothing else is lost."""
        store = self.store
        learned = await store.load_market_state(self.seller, self.code)
        market: MarketLearned | None = None
        if learned is not None:
            try:
                market = msgspec.msgpack.decode(learned, type=MarketLearned)
            except (msgspec.DecodeError, msgspec.ValidationError) as error:
                log.error("%s/%s: stored market state unreadable (%s); learning afresh", self.seller, self.code, error)
        # Stored times map onto this process's clock by wall time; when the last save is ahead of this clock's
        # now, the whole timeline moves back by that much, so no state waits for a moment that has not come (an
        # observation older than the newest one seen is ignored).
        ahead = 0.0 if market is None else max(0.0, market.saved_at - clock.now_utc().timestamp())
        self._wall_offset = clock.to_utc(0.0).timestamp() + ahead
        states = await store.load_search_states(self.seller, self.code)
        resumed = unreadable = 0
        for key, stored in states.items():
            actor = self.actors.get(key)
            if actor is None:
                continue
            try:
                actor.state = self._decode_state(stored)
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError, OverflowError) as error:
                unreadable += 1
                log.error("%s: stored search state unreadable (%s); starting afresh", key, error)
                continue
            self._saved[key] = actor.state
            resumed += 1
        if market is not None and market.learner is not None and self.learner is not None:
            try:
                self.learner = WeightLearner.restore(self.learner.base, market.learner)
                self._prior = market.prior
            except ValueError as error:
                log.error(
                    "%s/%s: stored Buy Box weights unreadable (%s); learning afresh", self.seller, self.code, error
                )
        unanswered = await store.outbox_entries(self.seller, self.code, OUTBOX_UNANSWERED)
        accepted = await store.outbox_entries(self.seller, self.code, (OutboxState.ACCEPTED,))
        now = trio.current_time()
        resent = followed = 0
        dropped: list[OutboxMark] = []
        for entry in unanswered:  # at most one per offer: a newer update supersedes an unanswered one
            update = entry.update
            if update.key in self.actors and not self._offer_paused(update.key):
                # In a feed Amazon may still be processing: ask about the feed, rather than send the price again.
                feed = entry.submission_id if entry.state is OutboxState.SUBMITTED else None
                if feed is not None and self.batcher.await_submitted(update, feed):
                    followed += 1
                    continue
                intent = PriceIntent(update.key, update.price, Reason.RESUMED, now, signal_backed=True)
                resent += self.batcher.offer(intent, None)
            else:
                why = "the offer is no longer repriced" if update.key in self.actors else "the offer is gone"
                dropped.append(OutboxMark(update.key, update.update_id, OutboxState.GIVEN_UP, now, issues=(why,)))
        verifying = 0
        for entry in accepted:
            if entry.update.key in self.actors:
                self.batcher.expect(entry.update.key, entry.update.update_id, entry.update.price, entry.at)
                verifying += 1
        if dropped:
            await store.outbox_mark(dropped)
        return RestoreReport(resumed, unreadable, resent, verifying, len(dropped), followed)

    # --- Sinks: what offer actors call, never blocking --------------------------------------------------------

    def intent(self, intent: PriceIntent, current_price: int | None) -> None:
        if not self.batcher.offer(intent, current_price):
            self._unask([intent.key])

    def _unask(self, keys: Sequence[OfferKey]) -> None:
        """Intents dropped unsent (paused): their actors must not wait for those prices to go live."""
        for key in keys:
            actor = self.actors.get(key)
            if actor is not None:
                actor.dropped()

    def decision(self, decision: Decision) -> None:
        self.recorder.decision(decision)
        if self.store.persistent:
            self._decided.add(decision.key)
            self._decided_wake.set()

    def recheck(self, key: OfferKey, at: float) -> None:
        self.intake.recheck(key, at)

    def want_foep(self, key: OfferKey) -> None:
        self.intake.want_foep(key)

    def want_share(self, key: OfferKey) -> None:
        self.intake.want_share(key)

    def prior(self) -> ScorePrior | None:
        return self._prior

    def paused(self) -> bool:
        return self.switch.paused

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
        """A result to its actor; False only for a full inbox (an offer removed meanwhile needs no result)."""
        actor = self.actors.get(result.key)
        return actor is None or actor.command(result)

    def _seen_price(self, key: OfferKey) -> int | None:
        """Our live price as the offers view last showed it to the offer's actor: the batcher checks a read-back
        against it (`engine.actors.batcher`, verification)."""
        actor = self.actors.get(key)
        return None if actor is None else actor.our_price

    def _offer_paused(self, key: OfferKey) -> bool:
        actor = self.actors.get(key)
        return actor is None or actor.paused or not actor.settings.repricing or self.switch.paused

    # --- offers changing while running ---------------------------------------------------------------------------

    def offer(self, sku: str) -> OfferActor:
        """The actor of one SKU; a KeyError naming the SKU and the marketplace when there is none."""
        actor = self.actors.get(OfferKey(self.seller, self.code, sku))
        if actor is None:
            raise KeyError(f"no offer {sku!r} for seller {self.seller} on {self.code}")
        return actor

    def poll_now(self, sku: str) -> OfferActor:
        """Observe one offer now (`repricer ctl reprice`): a poll ahead of the sweep, sent as soon as the seller's
        poll quota allows; its actor decides when the answer arrives. The actor, for the caller to follow."""
        actor = self.offer(sku)
        self.intake.recheck(actor.key, trio.current_time())
        return actor

    @staticmethod
    def settled_reasons() -> frozenset[Reason]:
        """The reasons that count an offer as converged in `status` (its standing decision: the newest in its trace
        other than waiting for a price to go live or a dropped observation)."""
        return _SETTLED

    def add_offer(self, settings: OfferSettings, state: bytes | None = None) -> None:
        """Start repricing a new offer (its first poll comes at once), or replace an existing one's settings."""
        self._check_offer(settings)
        if settings.key in self.actors:
            self.replace_offer(settings)
            return
        self.catalog[settings.key] = settings
        actor = self.actors[settings.key] = self._actor(settings, None if state is None else self._decode_state(state))
        if settings.key in self._removed:  # removed and added back before the store heard of the removal
            self._removed.remove(settings.key)
        self.intake.add(settings.key)
        if self._actors_nursery is not None:
            self._actors_nursery.start_soon(actor.run, name=_ACTOR_TASK)

    def remove_offer(self, sku: str) -> OfferSettings:
        """Stop repricing an offer: its actor ends, nothing more is sent or verified for it, every per-SKU entry
        goes. An update already in flight is answered; the store forgets the offer through `forget_removed`."""
        actor = self.offer(sku)
        key = actor.key
        actor.removed = True
        actor.nudge()
        del self.actors[key]
        del self.catalog[key]
        self._saved.pop(key, None)
        self.recorder.forget(key)
        self.intake.remove(key)
        self.batcher.forget(key)
        self._removed.append(key)
        return actor.settings

    def replace_offer(self, settings: OfferSettings) -> None:
        """New settings for an offer (bounds, activation, sale price, shipping group, ...): the catalog, which the
        batcher's guard reads, and the actor's copy change together. An offer switched off loses its waiting
        intent."""
        self._check_offer(settings)
        actor = self.actors.get(settings.key)
        if actor is None:
            raise KeyError(f"no offer {settings.key.sku!r} for seller {self.seller} on {self.code}")
        self.catalog[settings.key] = settings
        actor.replace_settings(settings)
        if not settings.repricing and self.batcher.drop(settings.key):
            self._unask([settings.key])

    def set_bounds(self, sku: str, bounds: OfferBounds) -> None:
        """New min and max for one offer; `BoundsError` naming the SKU, and nothing changed, when they are not
        prices on the tick with min below max."""
        self.replace_offer(msgspec.structs.replace(self.offer(sku).settings, bounds=bounds))

    def set_channel(self, channel: ChannelSettings) -> None:
        """New channel settings for the whole marketplace (the offers with settings of their own keep them); every
        offer that uses them decides again."""
        self.set_channels(channel, {key.sku: own for key, own in self.overrides.items()})

    def set_channels(self, channel: ChannelSettings, overrides: Mapping[str, ChannelSettings]) -> int:
        """New channel settings for the marketplace and for the SKUs with settings of their own (all of them: a SKU
        left out uses the marketplace's from now on), in one step; every offer whose settings changed decides
        again on them. How many offers that was."""
        by_key = self._by_key(overrides)
        self.channel = self.batcher.channel = channel
        self.overrides.clear()  # the batcher reads the same map
        self.overrides.update(by_key)
        changed = 0
        for key, actor in self.actors.items():
            now = self.channel_for(key)
            if actor.channel != now:
                actor.channel = now
                actor.nudge()
                changed += 1
        return changed

    def respawn(self, sku: str) -> None:
        """Bring a quarantined offer back. Its search starts afresh: the state it crashed on may be the cause."""
        actor = self.offer(sku)
        if not actor.quarantined:
            raise ValueError(f"{actor.key} is not quarantined")
        fresh = self._actor(actor.settings, None)
        fresh.paused = actor.paused
        fresh.inherit(actor)
        self.actors[actor.key] = fresh
        if self._actors_nursery is not None:
            self._actors_nursery.start_soon(fresh.run, name=_ACTOR_TASK)
        fresh.nudge()

    def pause_offer(self, sku: str) -> None:
        """Pause one offer: no decision, and its waiting intent is dropped."""
        actor = self.offer(sku)
        actor.paused = True
        actor.command(Pause(actor.key))
        if self.batcher.drop(actor.key):
            self._unask([actor.key])

    def resume_offer(self, sku: str) -> None:
        actor = self.offer(sku)
        actor.paused = False
        actor.command(Resume(actor.key))

    def pause(self) -> None:
        """Pause the whole marketplace."""
        self.switch.on = True
        self.dropped_paused()

    def dropped_paused(self) -> None:
        """A switch at or above this one went on: intents of paused offers go, unsent."""
        self._unask(self.batcher.drop_paused())

    def resume(self) -> None:
        self.switch.on = False
        self.resumed()

    def resumed(self) -> None:
        """A switch above this one went off: every offer not paused itself decides again."""
        if self.switch.paused:
            return
        for actor in self.actors.values():
            actor.nudge()

    async def forget_removed(self) -> None:
        """Tell the store about offers removed since the last call."""
        if self._removed:
            removed = list(self._removed)
            await self.store.remove_offers(removed)
            del self._removed[: len(removed)]  # only once the store has them: a failed call is tried again

    # --- running -------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Begin a graceful stop: `run` stops deciding, drains the batcher and persists, then returns."""
        self._stopping.set()

    async def run(
        self,
        *,
        spawned: Callable[[], None] | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Start the batcher and the actors, then intake; on `stop` (or any end) drain and persist.

        ``spawned`` is called once every offer actor is waiting for its first observation and before intake
        starts: the daemon freezes them out of the collector's walks there, so no observation waits on that (at
        100,000 actors, most of a second's) collection."""
        config = self.config
        first, cap = config.service_backoff_s, config.service_max_backoff_s
        batcher = functools.partial(
            supervise, self.batcher.run, self.services["batcher"], first_backoff_s=first, max_backoff_s=cap
        )
        intake = functools.partial(
            supervise, self.intake.run, self.services["intake"], first_backoff_s=first, max_backoff_s=cap
        )
        try:
            async with trio.open_nursery() as submitting:
                await submitting.start(batcher)
                async with trio.open_nursery() as deciding:
                    self._actors_nursery = deciding
                    router = functools.partial(
                        route,
                        self._receive,
                        self.actors,
                        self.router_counters,
                        self.decision,
                        skew_s=config.intake.clock_skew_s,
                        limit_s=config.intake.future_limit_s,
                    )
                    await deciding.start(router)
                    for actor in self.actors.values():
                        # A shared name: by default trio formats one per task, a string per actor kept for its life.
                        deciding.start_soon(actor.run, name=_ACTOR_TASK)
                    deciding.start_soon(self._save_periodically)
                    if self.store.persistent:
                        deciding.start_soon(self._save_decided)
                    await trio.lowlevel.checkpoint()  # the actors spawned above run up to their first wait
                    if spawned is not None:
                        spawned()
                    await deciding.start(intake)
                    task_status.started()
                    await self._stopping.wait()
                    deciding.cancel_scope.cancel()
                self._actors_nursery = None
                await self.batcher.close(config.shutdown_grace_s)
                submitting.cancel_scope.cancel()
        finally:
            self._actors_nursery = None
            with trio.move_on_after(config.persist_timeout_s, shield=True):
                self.persisted = await self.persist()

    async def _save_periodically(self) -> None:
        """Every search state now and then; a store that fails (a full disk) is logged and tried again next
        time, and stops nothing."""
        while True:
            await trio.sleep(self.config.save_interval_s)
            try:
                await self.save_learned()
                await self.forget_removed()
            except Exception:
                log.exception(
                    "%s/%s: saving search states failed; trying again in %.0fs",
                    self.seller,
                    self.code,
                    self.config.save_interval_s,
                )

    async def _save_decided(self) -> None:
        """The search state of every offer that decided (asked a price, or moved on in its search), soon after:
        the update it asked for is in the outbox before it is sent, and a daemon killed after that resumes the
        search that asked it, not the one of the last periodic save. Sleeps while no offer decides; waits
        ``state_save_delay_s`` after the first decision so the decisions of that while go in one write. When the
        store fails (a full disk), those offers wait for the next decisions' write, or the periodic save; the first
        failure in a row is logged."""
        failing = False
        while True:
            await self._decided_wake.wait()
            await trio.sleep(self.config.state_save_delay_s)
            # A fresh event before the swap: a decision made while the store writes wakes the next round.
            self._decided_wake = trio.Event()
            keys, self._decided = self._decided, set()
            changed = {
                key: actor.state
                for key in keys
                if (actor := self.actors.get(key)) is not None and self._saved.get(key) is not actor.state
            }
            if not changed:
                continue
            offset, rebase, encode = self.wall_offset, self.strategy.rebase, msgspec.msgpack.encode
            try:
                await self.store.save_search_states({k: encode(rebase(state, offset)) for k, state in changed.items()})
            except Exception:
                if not failing:
                    log.exception(
                        "%s/%s: saving the search states of offers that decided failed", self.seller, self.code
                    )
                failing = True
                self._decided.update(changed)
                continue
            failing = False
            self._saved.update(changed)

    def search_states(self) -> dict[OfferKey, bytes]:
        """Every offer's search state as stored (times as wall time)."""
        offset, rebase, encode = self.wall_offset, self.strategy.rebase, msgspec.msgpack.encode
        return {key: encode(rebase(actor.state, offset)) for key, actor in self.actors.items()}

    async def save_learned(self) -> int:
        """The search states that changed since the last save, and what the marketplace learned; how many
        states the store confirmed."""
        offset, rebase, encode = self.wall_offset, self.strategy.rebase, msgspec.msgpack.encode
        changed = {key: actor.state for key, actor in self.actors.items() if self._saved.get(key) is not actor.state}
        if changed:
            await self.store.save_search_states({key: encode(rebase(state, offset)) for key, state in changed.items()})
            self._saved.update(changed)
        snapshot = self.learner.snapshot() if self.learner is not None and self.learner.samples else None
        saved_at = trio.current_time() + self.wall_offset
        learned = MarketLearned(snapshot, self._prior, saved_at)
        await self.store.save_market_state(self.seller, self.code, msgspec.msgpack.encode(learned))
        return len(changed)

    async def persist(self) -> PersistReport:
        """Unsent intents to the outbox, search states to the store; what the store confirmed."""
        updates = self.batcher.drain()
        outbox = states = 0
        complete = False
        try:
            await self.store.outbox_put(updates, trio.current_time())
            outbox = len(updates)
            await self.save_learned()
            states = len(self.actors)  # every state now in the store: the unchanged ones were confirmed earlier
            await self.forget_removed()
            complete = True
        except Exception:
            log.exception("%s/%s: saving at stop failed", self.seller, self.code)
        return PersistReport(states, outbox, complete)

    def status(self) -> MarketStatus:
        live = holding = converged = quarantined = 0
        views = 0.0
        now = trio.current_time()
        for actor in self.actors.values():
            snapshot = actor.snapshot
            if snapshot is not None and snapshot.our is not None and snapshot.our.live:
                live += 1
                holding += snapshot.our.is_buybox_winner
                share = actor.share
                if share is not None and share.share is not None and now - share.as_of <= _SHARE_MAX_AGE_S:
                    views += share.share
                else:
                    views += snapshot.our.is_buybox_winner
            standing = next((d.reason for d in actor.trace if d.reason not in _PASSING), None)
            converged += standing in _SETTLED
            quarantined += actor.quarantined
        counters = self.batcher.counters
        return MarketStatus(
            seller=self.seller,
            marketplace=self.code,
            offers=len(self.actors),
            live=live,
            holding=holding,
            converged=converged,
            quarantined=quarantined,
            paused=self.switch.paused,
            decisions=sum(a.decisions for a in self.actors.values()),
            intents=counters.intents,
            updates_sent=counters.updates_sent,
            accepted=counters.accepted,
            rejected=counters.rejected,
            throttled=counters.throttled + self.intake.counters.throttled,
            polls=self.intake.counters.polls,
            observations=self.router_counters.routed,
            invalid_observations=dict(self.router_counters.invalid),
            clamped_observations=self.router_counters.clamped,
            command_overflow=self.command_overflow,
            transient_errors=counters.transient_errors + self.intake.counters.transient_errors,
            service_restarts=sum(s.restarts for s in self.services.values()),
            stopped=self.stopped,
            share_of_views=views / live if live else None,
            queued=self.batcher.pending,
            awaiting=self.batcher.awaiting,
            failed=counters.failed,
            unapplied=counters.unapplied,
            last_observation_age_s=None if (last := self.router_counters.last_at) is None else now - last,
        )


def freeze() -> None:
    """Everything alive now lives as long as the daemon: keep it out of the collector's walks."""
    gc.collect()
    gc.freeze()
