"""The router: observations to the offer actor they concern, without ever waiting on one actor.

It is also where every observation enters the engine (notifications, polls, FOEP and share readings all come
through this one channel), so it is where they are checked (`engine.actors.validate`): an invalid one is counted
by cause, logged the first time its cause turns up, shown in its offer's trace, and dropped before any actor sees
it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import msgspec
import trio

from engine.actors.offer import TRACE_LEN, OfferActor
from engine.actors.validate import CLOCK_SKEW_S, FUTURE_LIMIT_S, Invalid, validate
from engine.model import Decision, Observation, OfferKey, Reason

__all__ = ["RouterCounters", "route"]

log = logging.getLogger(__name__)


class RouterCounters(msgspec.Struct):
    routed: int = 0
    unknown: int = 0
    clamped: int = 0  # observations whose times were moved back to now (`engine.actors.validate`)
    invalid: dict[str, int] = msgspec.field(default_factory=dict)  # dropped, by cause
    last_at: float | None = None  # when the newest observation was routed, on the daemon's clock


def _ignore(decision: Decision) -> None:
    pass


async def route(
    receive: trio.MemoryReceiveChannel[Observation],
    actors: Mapping[OfferKey, OfferActor],
    counters: RouterCounters,
    record: Callable[[Decision], None] = _ignore,
    *,
    skew_s: float = CLOCK_SKEW_S,
    limit_s: float = FUTURE_LIMIT_S,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Check each observation, then hand it to its actor's conflating slot (a plain call: the router never awaits
    an actor). ``record`` takes the trace entry of a dropped one (the store's trace; it must return at once)."""
    task_status.started()
    async with receive:
        async for received in receive:
            now = trio.current_time()
            observation = validate(received, now, skew_s, limit_s)
            if isinstance(observation, Invalid):
                _dropped(received, observation, actors.get(received.key), counters, record)
                continue
            if observation is not received:
                counters.clamped += 1
                if counters.clamped == 1:
                    log.warning(
                        "%s: observation from the future, its time moved back to now: %r; further ones only counted",
                        _market(received.key),
                        received,
                    )
            actor = actors.get(observation.key)
            if actor is None:
                counters.unknown += 1
                if counters.unknown & (counters.unknown - 1) == 0:  # log the 1st, 2nd, 4th, 8th ... only
                    log.warning(
                        "observation for %s, which has no offer actor (%d so far)", observation.key, counters.unknown
                    )
                continue
            counters.routed += 1
            counters.last_at = now
            actor.observe(observation)


def _dropped(
    observation: Observation,
    invalid: Invalid,
    actor: OfferActor | None,
    counters: RouterCounters,
    record: Callable[[Decision], None],
) -> None:
    """Count and trace an observation dropped as invalid; log its cause the first time only (a feed gone bad
    sends thousands, and the status counts them)."""
    cause = invalid.reason.value
    seen = counters.invalid.get(cause, 0)
    counters.invalid[cause] = seen + 1
    if not seen:
        log.warning(
            "%s: invalid observation dropped (%s): %r; further ones are only counted",
            _market(observation.key),
            cause,
            observation,
        )
    if actor is None:
        return
    # In the offer's short trace and the store's, once per run of drops (as a run of identical holds is one
    # entry): the actor's loop is not woken, and pricing never sees it.
    trace = actor.trace
    if not trace or trace[0].reason is not Reason.INVALID_OBSERVATION:
        decision = Decision(actor.key, trio.current_time(), None, Reason.INVALID_OBSERVATION)
        actor.trace = (decision, *trace[: TRACE_LEN - 1])
        record(decision)


def _market(key: OfferKey) -> str:
    return f"{key.seller}/{key.marketplace}"
