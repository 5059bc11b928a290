"""Per-minute rates of the daemon's counters, over a sliding window of real time.

The counters only ever grow (decisions, updates sent, quota spent); a sampler notes them now and then, and a rate
is the growth since the oldest sample still in the window, per real minute. Real time is the daemon's clock divided
by its time scale, so a ``run --sim`` at 60x reports what an operator sees on the wall clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping

__all__ = ["Rates"]

# A rate over less than this says more about when the samples fell than about the daemon.
_MIN_SPAN_S = 0.5


class Rates:
    """Samples of named counters; `per_minute` reads one's rate against the oldest sample in the window."""

    __slots__ = ("_samples", "window_s")

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, dict[Hashable, int]]] = deque()

    def sample(self, now: float, counts: Mapping[Hashable, int]) -> None:
        """Note the counters at real time ``now``; samples older than the window go, but for the one that opens it."""
        self._samples.append((now, dict(counts)))
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.window_s:
            self._samples.popleft()

    def span(self, now: float) -> float:
        """Real seconds the rates are taken over now (0 before the first sample)."""
        return now - self._samples[0][0] if self._samples else 0.0

    def per_minute(self, now: float, counts: Mapping[Hashable, int], key: Hashable) -> float | None:
        """How fast ``key`` grew, per real minute, since the oldest sample in the window that has it (a counter
        that appeared since the window opened, an operation first paced, counts from its first sample); None
        without a sample of it far enough back."""
        if key not in counts:
            return None
        first = next(((at, old[key]) for at, old in self._samples if key in old), None)
        if first is None:
            return None
        since, base = first
        span = now - since
        if span < _MIN_SPAN_S:
            return None
        return max(0, counts[key] - base) * 60.0 / span
