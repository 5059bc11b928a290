"""One `World` played end to end: a real `MarketRuntime` (intake, router, offer actors, batcher) in a `trio.run` of
its own under `MockClock`, and what it did held to the engine's promises.

Each example gets a fresh runtime, clock and scheduler seed (pytest-trio's fixtures live per test, not per
Hypothesis example). What it finds comes back as `Findings`: the test asserts there are no violations, and
`TALLY` adds up every example for the report a longer local run quotes (``REPRICER_FUZZ_REPORT=1``).
"""

from __future__ import annotations

import collections
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import trio
import trio.testing

from engine.actors.recorder import Recorder
from engine.daemon import MarketRuntime
from engine.model import HealthEvent, Observation, OfferBounds, OfferKey, OfferSnapshot, Reason
from engine.pricing.baselines import BASELINES, BisectState, PBisectState, StepState, TrackState
from engine.pricing.search import EngineSearch, SearchState
from engine.pricing.view import Strategy
from engine.store import MemoryStore
from sim.scheduling import fix_scheduling
from tests.fuzz.market import LiveMarketplace
from tests.fuzz.worlds import Event, NewChannel, NewSettings, PauseOffer, Push, RivalsMove, Sane, Wait, World

__all__ = ["TALLY", "Findings", "play"]

STRATEGIES: dict[str, Callable[[], Strategy[Any]]] = {"engine": EngineSearch, **BASELINES}

# An update is guarded when the batcher builds it, then waits for the flush, a submit slot and the submit pacer
# before the marketplace has it: one built under bounds changed within this window carries the bounds it was
# guarded against.
SUBMIT_LAG_S = 5.0
# Long enough for anything that got through with a little clock skew (`CLOCK_SKEW_S`) to be in the past.
SETTLE_S = 60.0
# How long anything the script waits on may take before the runtime counts as hung (virtual seconds).
HANG_S = 3600.0

VIOLATIONS = (
    "death",
    "crash",
    "service_restart",
    "out_of_bounds",
    "off_tick",
    "sale_price",
    "frozen",
    "nan_state",
    "error_logged",
)


@dataclass
class Findings:
    """What one example did, and what it broke: (kind, detail), kind one of `VIOLATIONS`."""

    observations: int = 0  # pushed by the script
    routed: int = 0  # reached an offer actor, the marketplace's polls and readings included
    invalid: int = 0
    clamped: int = 0
    decisions: int = 0
    updates: int = 0
    virtual_s: float = 0.0
    violations: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Tally:
    examples: collections.Counter[str] = field(default_factory=collections.Counter)  # by strategy
    totals: collections.Counter[str] = field(default_factory=collections.Counter)
    violations: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, strategy: str, findings: Findings) -> None:
        self.examples[strategy] += 1
        for name in ("observations", "routed", "invalid", "clamped", "decisions", "updates", "virtual_s"):
            self.totals[name] += getattr(findings, name)
        for kind, _ in findings.violations:
            self.violations[kind] += 1

    def lines(self) -> list[str]:
        examples = sum(self.examples.values())
        by_strategy = ", ".join(f"{name} {count}" for name, count in sorted(self.examples.items()))
        totals = ", ".join(f"{name} {int(self.totals[name])}" for name in self.totals)
        broken = ", ".join(f"{kind} {self.violations[kind]}" for kind in VIOLATIONS)
        return [f"fuzz: {examples} examples ({by_strategy})", f"fuzz: {totals}", f"fuzz: {broken}"]


TALLY = Tally()


class _Errors(logging.Handler):
    """Every record at ERROR or above: the engine logs one where something it promises did not hold."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def play(world: World) -> Findings:
    findings = Findings()
    errors = _Errors()
    engine_log = logging.getLogger("engine")
    engine_log.addHandler(errors)
    # The same order of ready tasks for every example, whatever ran before it: a failure replays as it happened.
    fix_scheduling(int(os.environ.get("REPRICER_SCHEDULING_SEED", "0")))
    try:
        trio.run(_play, world, findings, clock=trio.testing.MockClock(autojump_threshold=0))
    except BaseException as error:
        findings.violations.append(("death", repr(error)))
        TALLY.add(world.strategy, findings)
        raise
    finally:
        engine_log.removeHandler(errors)
    findings.violations.extend(("error_logged", record.getMessage()) for record in errors.records)
    TALLY.add(world.strategy, findings)
    return findings


async def _play(world: World, findings: Findings) -> None:
    keys = [offer.key for offer in world.offers]
    market = LiveMarketplace(dict(zip(keys, world.markets, strict=True)))
    store = MemoryStore()
    strategy = STRATEGIES[world.strategy]()
    runtime = MarketRuntime(market, world.offers, world.channel, store, Recorder(store), strategy, tick=world.tick)
    bounds = {offer.key: [(0.0, offer.bounds)] for offer in world.offers}
    ended = trio.Event()

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await runtime.run(task_status=task_status)
        ended.set()

    async with trio.open_nursery() as nursery:
        await nursery.start(run)
        for event in world.events:
            await _apply(event, runtime, market, bounds, findings)
            if ended.is_set():
                break
        if ended.is_set():
            findings.violations.append(("death", f"the runtime ended by itself (stopped: {runtime.stopped})"))
        else:
            await _check_not_frozen(runtime, market, findings)
        status = runtime.status()
        runtime.stop()
        with trio.fail_after(HANG_S):
            await ended.wait()
    findings.virtual_s = trio.current_time()
    findings.routed = status.observations
    findings.invalid = sum(status.invalid_observations.values())
    findings.clamped = status.clamped_observations
    findings.decisions = status.decisions
    findings.updates = len(market.sent)
    for actor in runtime.actors.values():
        if actor.crashes or actor.quarantined:
            findings.violations.append(("crash", f"{actor.key}: {len(actor.crashes)} crashes"))
    for name, service in runtime.services.items():
        if service.restarts:
            findings.violations.append(("service_restart", f"{name}: {service.restarts}, {service.last_error}"))
    if runtime.persisted is None or not runtime.persisted.complete:
        findings.violations.append(("death", f"the stop did not save everything: {runtime.persisted}"))
    _check_sent(world, market, bounds, findings)


async def _apply(
    event: Event,
    runtime: MarketRuntime,
    market: LiveMarketplace,
    bounds: dict[OfferKey, list[tuple[float, OfferBounds]]],
    findings: Findings,
) -> None:
    match event:
        case Wait(seconds):
            await trio.sleep(seconds)
        case Push(observation):
            await _push(market, _at(observation, trio.current_time()))
            findings.observations += 1
        case Sane(sku):
            await _push(market, market.snapshot(runtime.offer(sku).key))
            findings.observations += 1
        case RivalsMove(sku, rivals):
            key = runtime.offer(sku).key
            market.markets[key] = market.markets[key]._replace(rivals=rivals)
        case NewSettings(settings):
            runtime.replace_offer(settings)
            bounds[settings.key].append((trio.current_time(), settings.bounds))
        case NewChannel(channel):
            runtime.set_channel(channel)
        case PauseOffer(sku, seconds):
            runtime.pause_offer(sku)
            await trio.sleep(seconds)
            runtime.resume_offer(sku)


async def _push(market: LiveMarketplace, observation: Observation) -> None:
    # The stream hands it to the intake's channel; an intake that no longer reads would hang the script here.
    with trio.fail_after(HANG_S):
        await market.push_send.send(observation)


def _at(observation: Observation, now: float) -> Observation:
    """``observation`` with its time offsets made times: ``now`` added (NaN and ±inf stay what they are)."""
    if isinstance(observation, OfferSnapshot):
        return msgspec.structs.replace(
            observation, as_of=now + observation.as_of, received_at=now + observation.received_at
        )
    return msgspec.structs.replace(observation, as_of=now + observation.as_of)


async def _check_not_frozen(runtime: MarketRuntime, market: LiveMarketplace, findings: Findings) -> None:
    """After the script, every offer still decides on a fresh, sane observation of a market that moved.

    Frozen is no decision at all, a fresh observation taken for no data, or a strategy that takes it for older than
    one it saw (a time from the future once did that for good). An offer whose repricing is off still decides (to
    hold, paused)."""
    await trio.sleep(SETTLE_S)
    for key in list(runtime.actors):
        moved = market.markets[key]
        rivals = tuple(msgspec.structs.replace(r, listing_price=r.listing_price + 7) for r in moved.rivals)
        market.markets[key] = moved._replace(rivals=rivals)
        actor = runtime.actors[key]
        before = actor.decisions
        fresh = market.snapshot(key)
        await _push(market, HealthEvent(key, fresh.as_of, disqualified=False))
        await _push(market, fresh)
        await trio.sleep(1.0)
        last = actor.last
        seen = _seen_as_of(actor.state)
        if actor.decisions == before or last is None or last.at < fresh.as_of:
            findings.violations.append(("frozen", f"{key}: no decision on a fresh observation; last {last}"))
        elif last.reason is Reason.NO_DATA:
            findings.violations.append(("frozen", f"{key}: a fresh observation held for no data: {last}"))
        elif last.reason is Reason.AWAIT_LIVE and seen is not None and seen < fresh.as_of:
            findings.violations.append(("frozen", f"{key}: the strategy saw {seen} as newer than {fresh.as_of}"))
        if any(math.isnan(t) for t in _state_times(actor.state)):
            findings.violations.append(("nan_state", f"{key}: {actor.state}"))


def _seen_as_of(state: object) -> float | None:
    """The newest observation time a strategy's state took in (None: a strategy that keeps none)."""
    match state:
        case SearchState() | TrackState():
            return state.seen_as_of
        case StepState() | BisectState() | PBisectState():
            return state.track.seen_as_of
    return None


def _state_times(state: object) -> list[float]:
    match state:
        case SearchState():
            fields: tuple[str, ...] = SearchState.CLOCK_FIELDS
        case TrackState():
            fields = TrackState.CLOCK_FIELDS
        case StepState() | BisectState() | PBisectState():
            return _state_times(state.track)
        case _:
            return []
    times: list[float] = []
    for name in fields:
        value = getattr(state, name)
        if isinstance(value, tuple):
            times.extend(value)
        elif value is not None:
            times.append(value)
    return times


def _check_sent(
    world: World,
    market: LiveMarketplace,
    bounds: dict[OfferKey, list[tuple[float, OfferBounds]]],
    findings: Findings,
) -> None:
    """Every update on the tick within the bounds it carries, which are the offer's bounds of the moment it was
    guarded; a sale price only within them and on the tick."""
    tick = world.tick
    for at, update in market.sent:
        carried = OfferBounds(update.min_price, update.max_price)
        if not update.min_price <= update.price <= update.max_price:
            findings.violations.append(("out_of_bounds", f"at {at}: {update}"))
        if carried not in _in_force(bounds[update.key], at - SUBMIT_LAG_S, at):
            findings.violations.append(("out_of_bounds", f"at {at}: {update} carries bounds the offer did not have"))
        if update.price % tick:
            findings.violations.append(("off_tick", f"at {at}, tick {tick}: {update}"))
        sale = update.sale_price
        if sale is not None and (not update.min_price <= sale <= update.max_price or sale % tick):
            findings.violations.append(("sale_price", f"at {at}, tick {tick}: {update}"))


def _in_force(history: list[tuple[float, OfferBounds]], start: float, end: float) -> list[OfferBounds]:
    """The bounds an offer had at some moment of [start, end] (``history``: (since, bounds), oldest first)."""
    held = [b for since, b in history if since <= start][-1:]
    return held + [b for since, b in history if start < since <= end]
