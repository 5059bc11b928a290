"""A one-line progress display for long benchmark runs: done/total, elapsed, an estimate of what is left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Rewrites one line on a terminal; on a pipe or file prints a line every ``every_s`` seconds instead, so a
    log of a long run is readable and still shows it is alive."""

    def __init__(self, total: int, label: str, *, out: TextIO | None = None, every_s: float = 30.0) -> None:
        self.total = total
        self.label = label
        self.out = out or sys.stderr
        self.every_s = every_s
        self.done = 0
        self.started = time.perf_counter()
        self._last_print = -float("inf")
        self._tty = self.out.isatty()

    def step(self, note: str = "") -> None:
        self.done += 1
        now = time.perf_counter()
        if not self._tty and now - self._last_print < self.every_s and self.done < self.total:
            return
        self._last_print = now
        elapsed = now - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        line = (
            f"{self.label}: {self.done}/{self.total} done, {_clock(elapsed)} elapsed, ~{_clock(left)} left"
            f"{'  ' + note if note else ''}"
        )
        if self._tty:
            self.out.write("\r\x1b[2K" + line[:160])
            if self.done >= self.total:
                self.out.write("\n")
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
