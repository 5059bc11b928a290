"""A `Board` as a terminal frame (rich), made to fit the console's width and height.

Pure apart from rich's spinner: the same board and rates give the same frame, so a test renders into a `Console`
of width 80 and reads it. Rates (decisions and updates per minute) are per *real* minute, measured by the screen
from successive boards with `time.monotonic` (`Rates`): under ``run --sim`` the daemon's clock runs ``--speed``
times faster, and a rate per simulated second read 0.00 once the offers had settled, which looked like a stall.

Narrower than the columns need, the marketplace table drops columns in this order: fail, queue, live, upd/m,
min, <min, dec/m, thr, quar, conv (the marketplace, views and hold stay); the offer tables drop why, then BB,
then cur. Lower than the frame needs, the offer lists lose rows first (one each stays), then the legend shrinks to
a pointer to `--help`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

from rich.console import Console, Group, RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from engine.live.board import AtMin, Board, MarketBoard, Move
from engine.model import Reason
from engine.money import MoneyError, format_minor

__all__ = ["COLUMNS", "LEGEND", "PerMinute", "Rates", "frame", "starting_frame"]

RATE_WINDOW_S = 60.0  # real seconds of boards a rate is measured over

# What every column means, in full: for `repricer ctl top --help` and the `?` key.
COLUMNS = {
    "views": "our estimated share of the shoppers' page views of our live offers: per offer, Amazon's "
    "featured-offer share where its competitive summary (at most an hour old) gave one, else 1 while we hold the "
    "Buy Box and 0 while we do not. A Buy Box Amazon rotates between sellers counts in part",
    "hold": "live offers holding the Buy Box now, as a share of the live offers: a count of offers, so a Buy Box "
    "shared with another seller counts whole here and in part in views; hence hold > views",
    "conv": "offers settled, as a share of all: converged on the highest price that keeps the Buy Box, secured "
    "within 1% of it, or alone at their max (no competition)",
    "min": "live offers priced at their min",
    "<min": "live offers whose Buy Box another seller wins below our min (landed prices compared): winning "
    "would mean selling under the min, i.e. losing money; the search parks them at their max until the market moves",
    "dec/m": "decisions per real minute (a settled market decides rarely: 0 is not a stall)",
    "upd/m": "price updates sent to Amazon per real minute",
    "queue": "updates waiting for a submit slot",
    "thr": "calls Amazon throttled, in all",
    "fail": "updates Amazon answered with a failure (retried, then given up), in all",
    "quar": "offers quarantined after crashing repeatedly (they stop repricing)",
    "was → now": "the price the offer had live when the engine decided, and the price it asked for",
    "BB": "the Buy Box winner's landed price less our shipping (the listing price of ours that would match it); "
    "* the winner is us",
    "ago": "time since the decision or observation, on the daemon's clock (simulated time under run --sim)",
}
# The same, in the few lines a terminal can spare under the tables.
LEGEND = (
    "views: est. share of shoppers' page views showing our offer · hold: live offers holding the Buy Box "
    "(a count: a shared Buy Box counts whole, so hold > views) · conv: settled (converged, secured, alone) · "
    "min: at min price · <min: Buy Box won below our min (matching it = selling under min) · dec/m upd/m: "
    "decisions, updates per real minute · thr: throttled · quar: quarantined · BB: winner's price less our "
    "shipping, * ours · ago: daemon clock"
)
_SHORT_LEGEND = "column meanings: repricer ctl top --help"

# Short names of the reasons, for a narrow "why" column; the rest show their value.
_REASONS = {
    Reason.NO_COMPETITION: "alone",
    Reason.NO_COMPETITION_SALE_PRICE: "alone: sale",
    Reason.SUPPRESSED: "BB suppressed",
    Reason.DISQUALIFIED: "disqualified",
    Reason.ABOVE_THRESHOLD: "above CPT",
    Reason.FIRST_PROBE_FOEP: "probe FOEP",
    Reason.FIRST_PROBE_WINNER: "probe winner",
    Reason.SEARCH_UP: "search up",
    Reason.SHARE_ESTIMATE: "share est.",
    Reason.WAR_DAMPED: "war damped",
    Reason.WAR_RESET: "war reset",
    Reason.BASELINE: "baseline",
    Reason.REJECTED: "rejected",
    Reason.RESUMED: "resent",
    Reason.DEGENERATE_MARKET: "degenerate",
}


class PerMinute(NamedTuple):
    decisions: float
    updates: float


class Rates:
    """Decisions and updates per real minute for each marketplace, from the boards seen in the last minute."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._seen: dict[tuple[str, str], deque[tuple[float, int, int]]] = {}

    def observe(self, board: Board, at: float | None = None) -> None:
        """Take a board received at monotonic time ``at`` (default: now)."""
        now = time.monotonic() if at is None else at
        for market in board.markets:
            status = market.status
            seen = self._seen.setdefault((status.seller, status.marketplace), deque())
            if seen and status.decisions < seen[-1][1]:  # counters from zero again: a new daemon process
                seen.clear()
            seen.append((now, status.decisions, status.updates_sent))
            # Keep one sample at or beyond the window's start, so the rate always spans the whole window.
            while len(seen) > 2 and now - seen[1][0] >= self.window_s:
                seen.popleft()

    def per_minute(self) -> dict[tuple[str, str], PerMinute]:
        """Each (seller, marketplace) seen twice a second or more apart: its rates over the last minute."""
        rates = {}
        for key, seen in self._seen.items():
            (then, decisions_then, updates_then), (now, decisions, updates) = seen[0], seen[-1]
            if now - then >= 1.0:
                scale = 60.0 / (now - then)
                rates[key] = PerMinute((decisions - decisions_then) * scale, (updates - updates_then) * scale)
        return rates


# --- the frame ------------------------------------------------------------------------------------------------


def frame(
    board: Board,
    rates: Mapping[tuple[str, str], PerMinute],
    console: Console,
    *,
    stopping_for: float | None = None,
    legend: bool = True,
) -> RenderableType:
    """The whole frame for ``board``, with ``rates`` from `Rates.per_minute` (a marketplace missing there shows
    "–"); ``stopping_for``: real seconds since a stop was asked (None: not asked)."""
    width = console.width
    height = None if console.is_dumb_terminal or not console.is_terminal else console.height
    phase = board.phase if stopping_for is None or board.phase == "stopped" else "stopping"
    parts: list[RenderableType] = [_header(board.title, _clock(board), phase, stopping_for)]
    parts.append(_markets(board.markets, rates, width))
    notes = _notes(board.markets)
    if notes:
        parts.append(Text(notes, style="yellow", overflow="ellipsis", no_wrap=True))
    legend_lines = _legend(console, width, legend)
    if height is None:
        rows = max(len(board.moves), len(board.at_min))
    else:
        # What is not an offer row: the header, the marketplaces and their header, the notes, two list titles and
        # table headers, the legend. The offer lists share what is left.
        room = height - (2 + len(board.markets) + bool(notes) + 4)

        def rows_beside(legend_lines: list[str]) -> int:
            return (room - len(legend_lines)) // 2

        rows = rows_beside(legend_lines)
        if rows < 1 and legend:
            legend_lines = _legend(console, width, legend=False)
            rows = rows_beside(legend_lines)
        rows = max(rows, 1)
    several = len({m.status.seller for m in board.markets}) > 1
    parts.append(_moves(board.moves[:rows], several, width))
    parts.append(_floor(board.at_min[:rows], board.markets, several, width))
    parts.append(Text("\n".join(legend_lines), style="dim"))
    return Group(*parts)


def starting_frame(title: str, detail: str, started_for: float, console: Console) -> RenderableType:
    """What shows before the first board: the title, a spinner with the seconds so far, and the legend."""
    width = console.width
    line = Table.grid(padding=(0, 1))
    line.add_column(no_wrap=True)
    line.add_column(no_wrap=True, overflow="ellipsis", max_width=max(10, width - 2))
    line.add_row(Spinner("dots", style="cyan"), Text(f"starting… {started_for:.0f}s  {detail}"))
    legend = Text("\n".join(_legend(console, width, True)), style="dim")
    return Group(_title_line(title, ""), line, legend)


def _legend(console: Console, width: int, legend: bool) -> list[str]:
    text = Text(LEGEND if legend else _SHORT_LEGEND)
    return [line.plain.rstrip() for line in text.wrap(console, width)]


def _clock(board: Board) -> str:
    simulated = board.clock_rate != 1.0
    if board.uptime_s is None:
        return f"{board.clock_rate:g}x" if simulated else ""
    hours, rest = divmod(int(board.uptime_s), 3600)
    shown = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"sim {shown}, {board.clock_rate:g}x" if simulated else f"up {shown}"


def _header(title: str, clock: str, phase: str, stopping_for: float | None) -> RenderableType:
    if phase == "stopping":
        waited = "" if stopping_for is None else f" {stopping_for:.0f}s"
        status: RenderableType = Text(f"stopping…{waited} {clock}".rstrip(), style="bold yellow")
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(Text(title, style="bold"), Spinner("dots", style="yellow"), status)
        return grid
    right = f"{phase} {clock}".strip() if phase != "running" else clock
    return _title_line(title, right)


def _title_line(title: str, right: str) -> RenderableType:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    grid.add_column(no_wrap=True, justify="right")
    grid.add_row(Text(title, style="bold"), Text(right, style="cyan"))
    return grid


def _notes(markets: Sequence[MarketBoard]) -> str:
    paused = [_name(m, True) for m in markets if m.status.paused]
    stopped = {m.status.seller: m.status.stopped for m in markets if m.status.stopped}
    notes = []
    if paused:
        notes.append(f"paused: {', '.join(paused)}")
    notes += [f"seller {seller} stopped: {why}" for seller, why in stopped.items()]
    return "; ".join(notes)


# --- tables ---------------------------------------------------------------------------------------------------


class _Column(NamedTuple):
    header: str
    cells: list[str]
    justify: Literal["left", "right"] = "right"
    drop: int = 99  # lower drops first; 99: never
    max_width: int | None = None  # text cut with an ellipsis beyond this


def _fit(columns: list[_Column], width: int) -> Table:
    """A table of the columns that fit in ``width``: the lowest ``drop`` goes first."""
    kept = list(columns)
    while _width(kept) > width:
        droppable = [c for c in kept if c.drop < 99]
        if not droppable:
            break
        kept.remove(min(droppable, key=lambda c: c.drop))
    table = Table(box=None, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False, header_style="bold")
    for column in kept:
        table.add_column(
            column.header, justify=column.justify, no_wrap=True, overflow="ellipsis", max_width=column.max_width
        )
    for row in zip(*(c.cells for c in kept), strict=True):
        table.add_row(*row)
    return table


def _width(columns: Sequence[_Column]) -> int:
    def one(column: _Column) -> int:
        natural = max(len(column.header), *(len(cell) for cell in column.cells)) if column.cells else len(column.header)
        return natural if column.max_width is None else min(natural, max(column.max_width, len(column.header)))

    return sum(one(c) for c in columns) + max(0, len(columns) - 1)


def _name(market: MarketBoard, several: bool) -> str:
    status = market.status
    return f"{status.seller}/{status.marketplace}" if several else status.marketplace


def _markets(markets: Sequence[MarketBoard], rates: Mapping[tuple[str, str], PerMinute], width: int) -> Table:
    several = len({m.status.seller for m in markets}) > 1
    per_minute = [rates.get((m.status.seller, m.status.marketplace)) for m in markets]

    def column(header: str, cell: Callable[[MarketBoard], str], drop: int = 99) -> _Column:
        return _Column(header, [cell(m) for m in markets], drop=drop)

    columns = [
        _Column("mkt", [_name(m, several) for m in markets], justify="left", max_width=16),
        column("offers", lambda m: _count(m.status.offers)),
        column("live", lambda m: _count(m.status.live), drop=3),
        column("views", lambda m: _pct(m.status.share_of_views)),
        column("hold", lambda m: _pct(m.status.holding / m.status.live if m.status.live else None)),
        column("conv", lambda m: _pct(m.status.converged / m.status.offers if m.status.offers else None), drop=10),
        column("min", lambda m: _count(m.at_min), drop=5),
        column("<min", lambda m: _count(m.below_min), drop=6),
        _Column("dec/m", [_rate(r, decisions=True) for r in per_minute], drop=7),
        _Column("upd/m", [_rate(r, decisions=False) for r in per_minute], drop=4),
        column("queue", lambda m: _count(m.status.queued), drop=2),
        column("thr", lambda m: _count(m.status.throttled), drop=8),
        column("fail", lambda m: _count(m.status.failed), drop=1),
        column("quar", lambda m: _count(m.status.quarantined), drop=9),
    ]
    return _fit(columns, width)


def _moves(moves: Sequence[Move], several: bool, width: int) -> RenderableType:
    if not moves:
        return Text("Moved last: no price changed yet", style="bold")
    columns = [
        _Column("SKU", [m.sku for m in moves], justify="left", max_width=18),
        _Column("mkt", [f"{m.seller}/{m.marketplace}" if several else m.marketplace for m in moves], "left"),
        _Column("cur", [m.currency for m in moves], "left", drop=3),
        _Column("was", [_money(m.was, m.currency) for m in moves]),
        _Column("now", [_money(m.now, m.currency) for m in moves]),
        _Column("BB", [_money(m.buybox, m.currency) + ("*" if m.ours else " ") for m in moves], drop=2),
        _Column("why", [_REASONS.get(Reason(m.reason), m.reason) for m in moves], "left", drop=1, max_width=13),
        _Column("ago", [_ago(m.age_s) for m in moves]),
    ]
    title = "Moved last: the newest price changes asked for, was → now"
    return Group(Text(title, style="bold", overflow="ellipsis", no_wrap=True), _fit(columns, width))


def _floor(rows: Sequence[AtMin], markets: Sequence[MarketBoard], several: bool, width: int) -> RenderableType:
    at_min = sum(m.at_min for m in markets)
    below = sum(m.below_min for m in markets)
    title = f"At min or beaten below it: {at_min} at min, {below} beaten below min"
    if not rows:
        return Text(title, style="bold", overflow="ellipsis", no_wrap=True)
    columns = [
        _Column("SKU", [r.sku for r in rows], justify="left", max_width=18),
        _Column("mkt", [f"{r.seller}/{r.marketplace}" if several else r.marketplace for r in rows], "left"),
        _Column("cur", [r.currency for r in rows], "left", drop=3),
        _Column("price", [_money(r.price, r.currency) for r in rows]),
        _Column("min", [_money(r.min_price, r.currency) for r in rows]),
        _Column("BB", [_money(r.buybox, r.currency) + ("*" if r.ours else " ") for r in rows], drop=2),
        _Column("state", [_standing(r) for r in rows], "left", drop=1),
        _Column("ago", [_ago(r.age_s) for r in rows]),
    ]
    return Group(Text(title, style="bold", overflow="ellipsis", no_wrap=True), _fit(columns, width))


def _standing(row: AtMin) -> str:
    if row.below_min:
        return "beaten below min"
    return "at min, holding" if row.ours else "at min, not holding"


# --- cells ----------------------------------------------------------------------------------------------------


def _count(n: int) -> str:
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.0f}k" if n >= 100_000 else f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def _rate(rate: PerMinute | None, *, decisions: bool) -> str:
    if rate is None:
        return "–"
    value = rate.decisions if decisions else rate.updates
    return _count(round(value))


def _money(minor: int | None, currency: str) -> str:
    if minor is None:
        return "–"
    try:
        return format_minor(minor, currency)
    except MoneyError:  # a board from a daemon that knows more currencies than this client
        return f"{minor} {currency}"


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
