"""The live terminal view of a running daemon: one line per marketplace, refreshed in place on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from engine.daemon import MarketStatus

__all__ = ["LiveView"]

_HEADER = (
    f"{'market':<7}{'offers':>7}{'live':>6}{'buy box':>9}{'converged':>11}"
    f"{'decisions/s':>13}{'updates sent':>14}{'throttled':>11}{'quarantined':>13}"
)


class LiveView:
    """Renders `MarketStatus` rows; decisions per second are over the last refresh, in the daemon's seconds."""

    def __init__(self, title: str, out: TextIO | None = None) -> None:
        self.title = title
        self.out = out or sys.stdout
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self._tty = self.out.isatty()

    def render(self, statuses: Sequence[MarketStatus], now: float, elapsed: float) -> str:
        hours, rest = divmod(int(elapsed), 3600)
        lines = [f"{self.title}   time {hours:02d}:{rest // 60:02d}:{rest % 60:02d}", _HEADER]
        several = len({s.seller for s in statuses}) > 1
        for s in statuses:
            then, before = self._last.get((s.seller, s.marketplace), (now, s.decisions))
            rate = (s.decisions - before) / (now - then) if now > then else 0.0
            self._last[(s.seller, s.marketplace)] = (now, s.decisions)
            # The seller is named only where there are several: `--sim` runs one.
            market = f"{s.seller}/{s.marketplace}" if several else s.marketplace
            share = s.holding / s.live if s.live else 0.0
            converged = s.converged / s.offers if s.offers else 0.0
            lines.append(
                f"{market:<7}{s.offers:>7}{s.live:>6}{share:>9.1%}{converged:>11.1%}"
                f"{rate:>13.2f}{s.updates_sent:>14}{s.throttled:>11}{s.quarantined:>13}"
            )
        return "\n".join(lines)

    def show(self, statuses: Sequence[MarketStatus], now: float, elapsed: float) -> None:
        frame = self.render(statuses, now, elapsed)
        if self._tty:
            self.out.write("\x1b[H\x1b[2J" + frame + "\n")
        else:
            self.out.write(frame + "\n\n")
        self.out.flush()
