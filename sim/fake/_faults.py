"""Faults the fake injects on demand: 429 storms, 5xx bursts, access tokens that expire early, malformed JSON,
slow replies, and updates that are accepted but never applied.

`Faults` is the set in force, as the constructor takes it and ``POST /_sim/faults`` sets it (JSON, every field
optional, an unknown one an error). Each fault is a `Window`: from ``start_s`` after the set was made, for
``duration_s`` (or until the next set), repeating every ``every_s`` when given (a burst each period), hitting a
``share`` of the requests it sees, of the operations named (all when none are). Whether a request is hit is drawn
from a seeded generator of its own per kind of fault, so a run replays exactly given its seed and its requests, and
drawing for one kind never shifts another. `FaultDice` counts every hit, by kind.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import msgspec
import numpy as np

__all__ = ["FAULT_KINDS", "FaultDice", "FaultKind", "Faults", "ServerErrors", "Slow", "Window"]

FaultKind = Literal["throttle", "server_error", "expire_token", "malformed_json", "never_apply", "slow"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = (
    "throttle",
    "server_error",
    "expire_token",
    "malformed_json",
    "never_apply",
    "slow",
)


class Window(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """When a fault strikes: ``share`` of the requests (of ``operations``, SP-API operation names; every operation
    when empty) from ``start_s`` after the faults were set, for ``duration_s`` (None: until the next set), again
    every ``every_s`` when given; ``limit`` hits at most (None: no limit), so ``{"limit": 1}`` is "the next
    request"."""

    share: float = 1.0
    start_s: float = 0.0
    duration_s: float | None = None
    every_s: float | None = None
    operations: tuple[str, ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        # msgspec runs this on decode too, and names the struct in its error: a bad control request is a 400.
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"share must be within 0 and 1, not {self.share}")
        if not (math.isfinite(self.start_s) and self.start_s >= 0):
            raise ValueError(f"start_s must be zero or more seconds, not {self.start_s}")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f"duration_s must be positive, not {self.duration_s}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, not {self.limit}")
        if self.every_s is not None:
            if self.duration_s is None:
                raise ValueError("a window that repeats (every_s) needs a duration_s")
            if not self.every_s > self.duration_s:
                raise ValueError(f"every_s ({self.every_s}) must be longer than duration_s ({self.duration_s})")

    def covers(self, operation: str, elapsed: float) -> bool:
        """Whether a request of ``operation`` ``elapsed`` seconds after the set falls in the window."""
        if self.operations and operation not in self.operations:
            return False
        since = elapsed - self.start_s
        if since < 0:
            return False
        if self.every_s is not None:
            since %= self.every_s
        return self.duration_s is None or since < self.duration_s


class ServerErrors(Window, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A 5xx burst: the requests hit are answered ``status`` (500 InternalFailure, 503 ServiceUnavailable...)
    without being carried out."""

    status: int = 503

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 500 <= self.status <= 599:
            raise ValueError(f"a server error's status is 500 to 599, not {self.status}")


class Slow(Window, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Slow replies: the requests hit are answered ``delay_s`` later than they would be."""

    delay_s: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (math.isfinite(self.delay_s) and self.delay_s > 0):
            raise ValueError(f"delay_s must be a positive number of seconds, not {self.delay_s}")


class Faults(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """The faults in force (none by default).

    - ``throttle``: a 429 storm, Amazon's QuotaExceeded body, the seller's quota untouched;
    - ``server_error``: 5xx bursts; nothing the request asked is done;
    - ``expire_token``: the access token the request carries expires there and then (403 Unauthorized, "has
      expired"), as Amazon may end a token before its hour; a fresh exchange gives a working one;
    - ``malformed_json``: a 2xx reply's JSON cut off half way; what the request asked is done all the same;
    - ``never_apply``: an update is accepted and never applied: a patchListingsItem call, or a feed's message (its
      window's operation is then createFeed, and its time the feed's processing);
    - ``slow``: the reply comes ``delay_s`` late.
    """

    throttle: Window | None = None
    server_error: ServerErrors | None = None
    expire_token: Window | None = None
    malformed_json: Window | None = None
    never_apply: Window | None = None
    slow: Slow | None = None

    def window(self, kind: FaultKind) -> Window | None:
        window: Window | None = getattr(self, kind)
        return window

    @property
    def operations(self) -> frozenset[str]:
        """Every operation some window names."""
        return frozenset(
            op for kind in FAULT_KINDS if (window := self.window(kind)) is not None for op in window.operations
        )


class FaultDice:
    """The faults in force since ``set_at`` (the fake's clock), a seeded generator per kind, and the hits so far."""

    def __init__(self, faults: Faults, *, seed: int, set_at: float) -> None:
        self.faults = faults
        self.set_at = set_at
        self.hits: dict[str, int] = {}
        self._since_set: dict[str, int] = {}  # hits of the faults in force, for their limits
        self._rngs = {kind: np.random.default_rng([seed, n]) for n, kind in enumerate(FAULT_KINDS)}

    def set(self, faults: Faults, at: float) -> None:
        """Put ``faults`` in force from ``at`` (the old ones end); the counts and the generators carry on."""
        self.faults = faults
        self.set_at = at
        self._since_set = {}

    def strikes(self, kind: FaultKind, operation: str, now: float) -> bool:
        """Whether the fault ``kind`` hits this request of ``operation`` at ``now`` (counted when it does). A draw
        is made only for a request inside the window, so requests outside it never shift the sequence."""
        window = self.faults.window(kind)
        if window is None or not window.covers(operation, now - self.set_at):
            return False
        if window.limit is not None and self._since_set.get(kind, 0) >= window.limit:
            return False
        if window.share < 1.0 and not float(self._rngs[kind].random()) < window.share:
            return False
        self.hits[kind] = self.hits.get(kind, 0) + 1
        self._since_set[kind] = self._since_set.get(kind, 0) + 1
        return True
