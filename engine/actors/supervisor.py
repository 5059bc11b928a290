"""Supervision of offer actors: restart inside the actor's own task, quarantine a repeat offender.

A nursery per actor would cost memory a hundred thousand times over and turn one bad SKU into a cancelled
marketplace; so would, more modestly, a supervising coroutine around each actor's loop (a frame per actor, and one
more level on every wake-up). Instead an actor's loop catches what its decision raises and asks `crashed` what
to do: wait a backoff that doubles with each crash and carry on, or, after ``max_crashes`` crashes within
``window_s``, stop: the actor is quarantined. It stops deciding and shows up in the status, while the others
carry on. Cancellation (a `BaseException`) is not caught, so shutting down always works.
"""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec
import trio

__all__ = ["Supervised", "SupervisorConfig", "crashed"]

log = logging.getLogger(__name__)


class SupervisorConfig(msgspec.Struct, frozen=True):
    max_crashes: int = 5
    window_s: float = 600.0
    first_backoff_s: float = 1.0
    max_backoff_s: float = 60.0


class Supervised(Protocol):
    crashes: tuple[float, ...]
    quarantined: bool

    @property
    def name(self) -> str: ...


def crashed(actor: Supervised, config: SupervisorConfig) -> float | None:
    """Count a crash of ``actor``, from inside its ``except``: the backoff before it carries on, or None once it is
    quarantined (its loop then returns)."""
    now = trio.current_time()
    actor.crashes = (*(t for t in actor.crashes if now - t < config.window_s), now)
    if len(actor.crashes) >= config.max_crashes:
        actor.quarantined = True
        log.exception("%s crashed %d times in %.0fs: quarantined", actor.name, len(actor.crashes), config.window_s)
        return None
    backoff: float = min(config.max_backoff_s, config.first_backoff_s * 2.0 ** (len(actor.crashes) - 1))
    log.warning("%s crashed; restarting in %.1fs", actor.name, backoff, exc_info=True)
    return backoff
