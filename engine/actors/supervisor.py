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
import random
import zlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
import trio

from engine.ports import AccountError

__all__ = ["Backoff", "ServiceState", "StartedOnce", "Supervised", "SupervisorConfig", "crashed", "supervise"]

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


# --- services ----------------------------------------------------------------------------------------------------


class Backoff:
    """Capped exponential backoff with jitter: the n-th wait is uniform in [½, 1] × min(cap, first × 2ⁿ⁻¹).

    The jitter keeps callers that failed together (one 5xx burst hits every marketplace of a region) from
    retrying together. Its random numbers come from a generator seeded by the caller's name, so a run under
    virtual time is the same every time.
    """

    __slots__ = ("_failures", "_rng", "cap_s", "first_s")

    def __init__(self, name: str, *, first_s: float = 1.0, cap_s: float = 60.0) -> None:
        self.first_s = first_s
        self.cap_s = cap_s
        self._failures = 0
        self._rng = random.Random(zlib.crc32(name.encode()))

    @property
    def failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def next(self) -> float:
        """Count a failure; the wait before the next try."""
        self._failures += 1
        ceiling = min(self.cap_s, self.first_s * 2.0 ** min(self._failures - 1, 30))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self._failures = 0


class ServiceState(msgspec.Struct):
    """What `supervise` knows of a service, for the status."""

    name: str
    restarts: int = 0
    last_error: str | None = None
    running: bool = False


def _fatal(error: BaseException) -> bool:
    """Whether an error must end the supervision: cancellation, KeyboardInterrupt, or an `AccountError` (which
    the seller's runtime handles), also inside an exception group."""
    if isinstance(error, BaseExceptionGroup):
        return any(_fatal(inner) for inner in error.exceptions)
    return not isinstance(error, Exception) or isinstance(error, AccountError)


async def supervise(
    service: Callable[..., Awaitable[object]],
    state: ServiceState,
    *,
    first_backoff_s: float = 1.0,
    max_backoff_s: float = 60.0,
    healthy_after_s: float = 300.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``service`` (started with ``nursery.start``), restarting it with backoff whenever it raises.

    The parent is told the service started once it first has (or once its first start failed: it keeps being
    retried in the background, and the status shows it). A service that ran ``healthy_after_s`` before failing
    starts again from the first backoff. Cancellation, and an `AccountError` (the seller's runtime stops every
    service of that seller), end the supervision.
    """
    backoff = Backoff(state.name, first_s=first_backoff_s, cap_s=max_backoff_s)
    once = StartedOnce(task_status)
    while True:
        began = trio.current_time()
        state.running = True
        try:
            await service(task_status=once)
            state.running = False
            return  # the service ended by itself
        except BaseException as error:
            state.running = False
            if _fatal(error):
                raise
            if trio.current_time() - began >= healthy_after_s:
                backoff.reset()
            wait = backoff.next()
            state.restarts += 1
            state.last_error = _describe(error)
            log.warning("%s failed (%s); restarting in %.1fs", state.name, state.last_error, wait, exc_info=error)
        once.started()
        await trio.sleep(wait)


class StartedOnce:
    """A task status that passes the first `started` on to the parent's and ignores the rest, so a service
    restarted in place tells its parent once (and a first start that failed still lets the parent go on)."""

    __slots__ = ("_status", "told")

    def __init__(self, status: trio.TaskStatus[None]) -> None:
        self._status = status
        self.told = False

    def started(self, value: None = None) -> None:
        if not self.told:
            self.told = True
            self._status.started()


def _describe(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"
