"""What the status counters show happening, as log lines: the first time at once, then a count per minute.

Amazon throttles in bursts and a failing feed fails every update: a line per event would flood the log, and none
at all left ``--log-level info`` silent about it. So the first throttle (failure, rejection, ...) of a marketplace
is logged when it is seen, and after that at most one line per counter per real minute says how many more there
were. The daemon's loop that makes the boards (`repricer run`) feeds it; it reads nothing but the statuses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from engine.daemon.status import MarketStatus

__all__ = ["Watch"]

log = logging.getLogger(__name__)

# Counter of `MarketStatus` → (level, what it counts).
_COUNTERS: dict[str, tuple[int, str]] = {
    "throttled": (logging.INFO, "calls throttled by Amazon"),
    "transient_errors": (logging.INFO, "transient errors, retried"),
    "rejected": (logging.WARNING, "updates rejected by Amazon"),
    "failed": (logging.WARNING, "updates failed, given up after retries"),
    "unapplied": (logging.WARNING, "accepted updates whose price never went live"),
    "quarantined": (logging.WARNING, "offers quarantined after repeated crashes"),
    "command_overflow": (logging.WARNING, "commands dropped at a full inbox"),
}


class Watch:
    """Log lines for counters that moved, per marketplace: the first move at once, then a sum per ``every_s``."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        # (seller, marketplace, counter) → (the value last logged, real time it was logged; None: never)
        self._logged: dict[tuple[str, str, str], tuple[int, float | None]] = {}

    def observe(self, statuses: Sequence[MarketStatus], at: float | None = None) -> None:
        now = time.monotonic() if at is None else at
        for status in statuses:
            for counter, (level, what) in _COUNTERS.items():
                value: int = getattr(status, counter)
                key = (status.seller, status.marketplace, counter)
                logged, logged_at = self._logged.get(key, (0, None))
                if value <= logged:
                    continue
                if logged_at is None:
                    log.log(level, "%s/%s: %d %s (the first; from now on a count a minute)", *key[:2], value, what)
                elif now - logged_at >= self.every_s:
                    log.log(
                        level,
                        "%s/%s: %d more %s in %.0fs (%d in all)",
                        *key[:2],
                        value - logged,
                        what,
                        now - logged_at,
                        value,
                    )
                else:
                    continue
                self._logged[key] = (value, now)
