"""The offer actor: one per (marketplace, SKU). Observation in, decision out, nothing else.

Observations conflate: only the newest snapshot of an offer matters, so the actor keeps one slot per kind of
observation (offers, FOEP, our Buy Box share, pricing health) that a newer one simply replaces, and a wake-up.
An older one is dropped: Amazon's notifications arrive out of order, and a reordered PRICING_HEALTH or offer change
would otherwise undo what a newer one said (an offer snapshot older than the one already decided on too).
A flood of notifications for one SKU therefore costs neither memory nor the other SKUs anything. Commands and
submission results are not conflated: they go to a small bounded inbox, and a full inbox is a counted overflow
at the sender, never a stall.

The actor is thin: it calls the pure policy (`engine.pricing.policy.decide`) and hands an intent to the batcher
and a decision to the recorder, both without awaiting. It keeps its strategy's state and a short trace of its
latest decisions for the operator; the full trace goes to the store.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import trio

from engine.actors.messages import Command, Pause, Resume
from engine.actors.supervisor import SupervisorConfig, crashed
from engine.model import (
    ChannelSettings,
    Decision,
    FoepReading,
    HealthEvent,
    Observation,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    PriceIntent,
    Reason,
    ShareReading,
    SubmissionResult,
)
from engine.pricing.learning import Lesson
from engine.pricing.policy import PolicyInputs, decide
from engine.pricing.scoring import ScorePrior
from engine.pricing.view import Strategy

__all__ = ["OfferActor", "Sinks"]

COMMAND_INBOX = 16
TRACE_LEN = 4  # the store keeps the full trace; the actor only the latest few, for `ctl`
_SUPERVISION = SupervisorConfig()


class Sinks(Protocol):
    """Where an offer actor's output goes; every method returns at once."""

    def intent(self, intent: PriceIntent, current_price: int | None) -> None: ...

    def decision(self, decision: Decision) -> None: ...

    def recheck(self, key: OfferKey, at: float) -> None: ...

    def want_foep(self, key: OfferKey) -> None: ...

    def want_share(self, key: OfferKey) -> None: ...

    def prior(self) -> ScorePrior | None: ...

    def learn(self, sample: Lesson) -> None: ...

    def overflow(self, key: OfferKey) -> None: ...

    def paused(self) -> bool:
        """Whether the offer's marketplace, seller or the whole daemon is paused."""
        ...


class OfferActor:
    """One offer's decision loop; ``run`` is its task."""

    __slots__ = (
        "_abort",
        "_commands",
        "_foep",
        "_health",
        "_nudged",
        "_pending",
        "_share",
        "_snapshot",
        "_waiter",
        "asked",
        "channel",
        "crashes",
        "decisions",
        "foep",
        "health",
        "last",
        "paused",
        "quarantined",
        "removed",
        "settings",
        "share",
        "sinks",
        "snapshot",
        "state",
        "strategy",
        "supervisor",
        "tick",
        "trace",
        "unsent",
    )

    def __init__(
        self,
        settings: OfferSettings,
        channel: ChannelSettings,
        tick: int,
        strategy: Strategy[Any],
        sinks: Sinks,
        state: Any = None,
        supervisor: SupervisorConfig | None = None,
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.tick = tick
        self.strategy = strategy
        self.sinks = sinks
        self.supervisor = supervisor or _SUPERVISION
        self.state = strategy.initial_state() if state is None else state
        # The newest observation of each kind not yet seen by the loop (the conflating slots) ...
        self._snapshot: OfferSnapshot | None = None
        self._foep: FoepReading | None = None
        self._share: ShareReading | None = None
        self._health: HealthEvent | None = None
        # ... and the newest ones the policy decided on.
        self.snapshot: OfferSnapshot | None = None
        self.foep: FoepReading | None = None
        self.share: ShareReading | None = None
        self.health: HealthEvent | None = None
        self._commands: deque[Command] | None = None  # created on first use: most actors never get one
        # The wake-up: the loop's task while it sleeps, and whether anything arrived since it last looked. A trio
        # Event per actor (and a new one per wake) cost ~1 KB an actor at 100,000 actors; this costs two slots.
        self._waiter: trio.lowlevel.Task | None = None
        # Bound once: a bound method made per sleep is one more object per wake-up for the collector to walk.
        self._abort = self._aborted
        self._pending = False
        self._nudged = False  # decide again on what is held (settings changed, resumed)
        self.paused = False
        self.quarantined = False
        self.removed = False
        self.crashes: tuple[float, ...] = ()
        self.decisions = 0
        self.last: Decision | None = None
        self.asked: int | None = None  # the last price handed to the batcher
        self.unsent = False  # ... and it was dropped there unsent (paused)
        self.trace: tuple[Decision, ...] = ()

    @property
    def key(self) -> OfferKey:
        return self.settings.key

    @property
    def name(self) -> str:
        return f"offer {self.key}"

    @property
    def our_price(self) -> int | None:
        """Our live price as the newest observation of the offers shows it (waiting or decided on); None when
        nothing showed our offer yet."""
        snapshot = self._snapshot or self.snapshot
        return None if snapshot is None or snapshot.our is None else snapshot.our.listing_price

    # --- producers' side: never blocks -------------------------------------------------------------------

    def observe(self, observation: Observation) -> None:
        """Keep only the newest observation of its kind and wake the loop; an older one is dropped."""
        match observation:
            case OfferSnapshot():
                if _older(observation, self._snapshot or self.snapshot):
                    return
                self._snapshot = observation
            case FoepReading():
                if _older(observation, self._foep or self.foep):
                    return
                self._foep = observation
            case ShareReading():
                if _older(observation, self._share or self.share):
                    return
                self._share = observation
            case HealthEvent():
                if _older(observation, self._health or self.health):
                    return
                self._health = observation
        self._wake()

    def replace_settings(self, settings: OfferSettings) -> None:
        """New settings (bounds, activation, sale price, ...) from the runtime, which holds the same in its catalog;
        the next decision is made on them."""
        self.settings = settings
        self.nudge()

    def inherit(self, other: OfferActor) -> None:
        """Take over what another actor of the same offer held (a quarantined one this one replaces)."""
        held: tuple[Observation | None, ...] = (
            other._snapshot or other.snapshot,
            other._foep or other.foep,
            other._share or other.share,
            other._health or other.health,
        )
        for observation in held:
            if observation is not None:
                self.observe(observation)

    def dropped(self) -> None:
        """The price this offer asked for was dropped unsent (it was paused): it is not on its way."""
        self.asked = None
        self.unsent = True

    def nudge(self) -> None:
        """Decide again on what is held (its settings or channel changed, or it was resumed)."""
        self._nudged = True
        self._wake()

    def command(self, command: Command) -> bool:
        """Queue a command; False (and a counted overflow) when the inbox is full.

        A submission result other than a rejection changes nothing here (an accepted price going live shows up as
        an observation), so it is taken at once: waking the loop for it cost as much as a decision, and an inbox.
        """
        if isinstance(command, SubmissionResult) and command.status != "invalid":
            return True
        if self._commands is None:
            self._commands = deque()
        if len(self._commands) >= COMMAND_INBOX:
            self.sinks.overflow(self.key)
            return False
        self._commands.append(command)
        self._wake()
        return True

    # --- the loop --------------------------------------------------------------------------------------------

    def _wake(self) -> None:
        self._pending = True
        if self._waiter is not None:
            task, self._waiter = self._waiter, None
            trio.lowlevel.reschedule(task)

    def _aborted(self, _: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
        self._waiter = None
        return trio.lowlevel.Abort.SUCCEEDED

    async def run(self) -> None:
        """The actor's task: wait, decide, repeat. A decision that raises is a crash: the actor carries on after a
        backoff, or stops once quarantined (`engine.actors.supervisor`)."""
        while not self.quarantined:
            # Sleep until something arrives (at once if it already has); a checkpoint either way. Inline rather
            # than a helper coroutine, and a method bound once rather than a closure to abort: what a sleeping
            # actor holds is paid 100,000 times over, in memory and in the collector's walks.
            if self._pending:
                await trio.lowlevel.checkpoint()
            else:
                self._waiter = trio.lowlevel.current_task()
                await trio.lowlevel.wait_task_rescheduled(self._abort)
            self._pending = False
            if self.removed:
                return
            try:
                self.step(trio.current_time())
            except Exception:
                backoff = crashed(self, self.supervisor)
                if backoff is not None:
                    await trio.sleep(backoff)

    def step(self, now: float) -> Decision | None:
        """Apply pending commands and observations, then decide once. Synchronous: a decision is never cut."""
        changed = self._apply_commands() or self._nudged
        self._nudged = False
        changed = self._take_observations() or changed
        if not changed or self.quarantined:
            return None
        inputs = PolicyInputs(
            settings=self.settings,
            channel=self.channel,
            tick=self.tick,
            snapshot=self.snapshot,
            foep=self.foep,
            share=self.share,
            health=self.health,
            paused=self.paused or self.sinks.paused(),
            prior=self.sinks.prior(),
            asked=self.asked,
            unsent=self.unsent,
        )
        outcome = decide(inputs, self.strategy, self.state, now)
        self.state = outcome.state
        decision = outcome.decision
        self.decisions += 1
        self._remember(decision)
        if decision.target is not None:
            intent = PriceIntent(self.key, decision.target, decision.reason, now, decision.signal_backed)
            current = None if self.snapshot is None or self.snapshot.our is None else self.snapshot.our.listing_price
            # Before the hand-over: an intent dropped there (paused) un-asks it.
            self.asked, self.unsent = decision.target, False
            self.sinks.intent(intent, current)
        if outcome.recheck_at is not None:
            self.sinks.recheck(self.key, outcome.recheck_at)
        if outcome.want_foep:
            self.sinks.want_foep(self.key)
        if outcome.want_share:
            self.sinks.want_share(self.key)
        if outcome.learned is not None:
            self.sinks.learn(outcome.learned)
        return decision

    def _apply_commands(self) -> bool:
        """Apply queued commands; True when one of them changes what the policy would decide."""
        changed = False
        while self._commands:
            match self._commands.popleft():
                case Pause():
                    self.paused = changed = True
                case Resume():
                    self.paused = False
                    changed = True
                case SubmissionResult(status="invalid", at=at, price=price):
                    # Amazon refused the update: the trace shows it, and the search asks again in its own time.
                    # A refused price is not on its way.
                    self._remember(Decision(self.key, at, None, Reason.REJECTED))
                    if price == self.asked:
                        self.asked = None
                        changed = True
                case SubmissionResult():
                    pass  # not queued (see `command`)
        return changed

    def _take_observations(self) -> bool:
        took = False
        if self._snapshot is not None:
            self.snapshot, self._snapshot, took = self._snapshot, None, True
        if self._foep is not None:
            self.foep, self._foep, took = self._foep, None, True
        if self._share is not None:
            self.share, self._share, took = self._share, None, True
        if self._health is not None:
            self.health, self._health, took = self._health, None, True
        return took

    def _remember(self, decision: Decision) -> None:
        """Keep decisions that changed something: in the short trace here, and in the store's full trace.

        A run of identical holds (say, while waiting for a price to go live) is one entry, so a flood of
        notifications does not flood the trace.
        """
        last = self.last
        self.last = decision
        if last is None or decision.target is not None or decision.reason != last.reason:
            self.trace = (decision, *self.trace[: TRACE_LEN - 1])
            self.sinks.decision(decision)


def _older(observation: Observation, held: Observation | None) -> bool:
    """Whether ``observation`` is older than the one of its kind already held (waiting or decided on)."""
    return held is not None and observation.as_of < held.as_of
