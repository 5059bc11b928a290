"""Where boards go: a frame redrawn in place on a terminal, log lines anywhere else.

A journal or a file behind stdout gets no frames (a full frame every two seconds was a flood there): it gets one
summary line per marketplace per real minute, through `logging` (logger ``repricer.live``, level INFO, with the
figures as extra fields for the JSON format), plus a line when the run starts, is stopping, and has stopped.

On a terminal, rich redraws the frame from a thread of its own twice a second. That is what lets "starting…"
count its seconds while the caller builds a run of 100,000 offers synchronously, and "stopping…" while the
daemon saves; the trio side only hands over boards. What the thread reads is replaced whole, never changed in
place, so it always sees a consistent frame. Log records written meanwhile (``--log-level info``) go to
`sys.stderr`, which rich redirects above the frame (`engine.logs` writes to the stream current at each record).
"""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType

from rich.console import Console, RenderableType
from rich.live import Live

from engine.live.board import Board, MarketBoard
from engine.live.view import PerMinute, Rates, frame, starting_frame
from engine.logs import LIVE_LOGGER

__all__ = ["SUMMARY_EVERY_S", "Screen", "summary"]

log = logging.getLogger(LIVE_LOGGER)

SUMMARY_EVERY_S = 60.0  # real seconds between two summaries of a marketplace without a terminal
_REDRAWS_PER_S = 2.0


class Screen:
    """Shows the boards it is given; a context manager that shows "starting…" as soon as it is entered.

    ``detail`` says what the start is waiting for. `stopping` says that a stop was asked; leaving the context
    keeps the last frame on the terminal.
    """

    def __init__(
        self,
        title: str,
        *,
        detail: str = "",
        console: Console | None = None,
        summary_every_s: float = SUMMARY_EVERY_S,
        legend: bool = True,
    ) -> None:
        self.title = title
        self.detail = detail
        self.console = console or Console()
        self.legend = legend
        self.summary_every_s = summary_every_s
        # A terminal gets frames; a pipe, a file or a journal gets log lines.
        self.frames = self.console.is_terminal and not self.console.is_dumb_terminal
        self.rates = Rates()
        self._opened = time.monotonic()
        self._board: Board | None = None
        self._per_minute: dict[tuple[str, str], PerMinute] = {}
        self._stop_asked: float | None = None
        self._summarised: float | None = None
        self._phase: str | None = None
        self._live: Live | None = None

    def __enter__(self) -> Screen:
        self._opened = time.monotonic()
        if self.frames:
            self._live = Live(
                console=self.console,
                get_renderable=self.render,
                refresh_per_second=_REDRAWS_PER_S,
                redirect_stdout=True,
                # Log records to a terminal go above the frame; to a file (``2>run.log``) they stay in the file.
                redirect_stderr=sys.stderr.isatty(),
            )
            self._live.start(refresh=True)
        else:
            log.info("starting: %s (%s)", self.title, self.detail)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()  # draws the last frame once more and leaves it on the terminal
            self._live = None

    def render(self) -> RenderableType:
        """The frame as things stand (rich's thread calls this for every redraw)."""
        board, now = self._board, time.monotonic()
        if board is None:
            return starting_frame(self.title, self.detail, now - self._opened, self.console)
        stopping_for = None if self._stop_asked is None else now - self._stop_asked
        return frame(board, self._per_minute, self.console, stopping_for=stopping_for, legend=self.legend)

    def show(self, board: Board, at: float | None = None) -> None:
        """Take a new board, received at monotonic time ``at`` (default: now)."""
        now = time.monotonic() if at is None else at
        self.rates.observe(board, now)
        self._per_minute = self.rates.per_minute()
        self._board = board
        if self._live is not None:
            self._live.refresh()
        else:
            self._summarise(board, now)

    def stopping(self) -> None:
        """A stop was asked: say so until the next board says it is over."""
        if self._stop_asked is not None:
            return
        self._stop_asked = time.monotonic()
        if self._live is not None:
            self._live.refresh()
        else:
            log.info("stopping: the decisions in hand finish, updates in flight get their grace, the state is stored")

    def _summarise(self, board: Board, now: float) -> None:
        """A line per marketplace: at the first board, at a change of phase, then once per ``summary_every_s``."""
        due = self._summarised is None or now - self._summarised >= self.summary_every_s
        if not (due or board.phase != self._phase):
            return
        self._summarised, self._phase = now, board.phase
        several = len({m.status.seller for m in board.markets}) > 1
        for market in board.markets:
            status = market.status
            rate = self._per_minute.get((status.seller, status.marketplace))
            message, fields = summary(market, rate, several=several)
            log.info("%s %s", board.phase, message, extra=fields)


def summary(market: MarketBoard, rate: PerMinute | None, *, several: bool = False) -> tuple[str, dict[str, object]]:
    """One marketplace in one log line, and its figures as fields (the JSON format shows them)."""
    s = market.status
    name = f"{s.seller}/{s.marketplace}" if several else s.marketplace
    views = "–" if s.share_of_views is None else f"{s.share_of_views:.0%}"
    hold = f"{s.holding / s.live:.0%}" if s.live else "–"
    per_minute = "" if rate is None else f"{rate.decisions:.0f} decisions/min, {rate.updates:.0f} updates/min, "
    message = (
        f"{name}: {s.live}/{s.offers} offers live, share of views {views}, holding {s.holding} ({hold}), "
        f"converged {s.converged}, at min {market.at_min}, beaten below min {market.below_min}, {per_minute}"
        f"{s.updates_sent} updates sent, {s.queued} queued, {s.throttled} throttled, {s.failed} failed, "
        f"{s.quarantined} quarantined"
    )
    fields: dict[str, object] = {
        "seller": s.seller,
        "marketplace": s.marketplace,
        "offers": s.offers,
        "live": s.live,
        "share_of_views": None if s.share_of_views is None else round(s.share_of_views, 4),
        "holding": s.holding,
        "converged": s.converged,
        "at_min": market.at_min,
        "below_min": market.below_min,
        "decisions_per_min": None if rate is None else round(rate.decisions, 1),
        "updates_per_min": None if rate is None else round(rate.updates, 1),
        "updates_sent": s.updates_sent,
        "queued": s.queued,
        "throttled": s.throttled,
        "failed": s.failed,
        "quarantined": s.quarantined,
    }
    return message, fields
