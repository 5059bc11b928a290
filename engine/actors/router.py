"""The router: observations to the offer actor they concern, without ever waiting on one actor."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import msgspec
import trio

from engine.actors.offer import OfferActor
from engine.model import Observation, OfferKey

__all__ = ["RouterCounters", "route"]

log = logging.getLogger(__name__)


class RouterCounters(msgspec.Struct):
    routed: int = 0
    unknown: int = 0


async def route(
    receive: trio.MemoryReceiveChannel[Observation],
    actors: Mapping[OfferKey, OfferActor],
    counters: RouterCounters,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Hand each observation to its actor's conflating slot (a plain call: the router never awaits an actor)."""
    task_status.started()
    async with receive:
        async for observation in receive:
            actor = actors.get(observation.key)
            if actor is None:
                counters.unknown += 1
                if counters.unknown & (counters.unknown - 1) == 0:  # log the 1st, 2nd, 4th, 8th ... only
                    log.warning(
                        "observation for %s, which has no offer actor (%d so far)", observation.key, counters.unknown
                    )
                continue
            counters.routed += 1
            actor.observe(observation)
