"""The live view of a running daemon: `repricer run --sim`'s screen and `repricer ctl top`, one implementation.

Data and rendering are apart. `board` makes a `Board` (a msgspec Struct, so the control socket sends it as JSON)
from a running `Daemon`: per marketplace its status and how many offers sit at or below their min, and the offers
that moved last or sit at their min, with SKU, prices and currency. A `Screen` shows boards: a frame that fits
the terminal (rich; `frame` renders one into any `Console`) or, without a terminal, log lines. `Watch` turns
the counters that move (throttles, failures, quarantines) into log lines.

Cost: `board` is the daemon's `status()` plus one more pass over the offer actors, which reads a few attributes of
each (about as much as merely touching every actor costs). At 100,000 offers on one marketplace: about 0.1 s on
a quiet machine (status 0.07 s), 0.2-0.3 s on a busy one; the run makes one every two real seconds
(``python -m engine.live --skus 100000 --marketplaces DE --time`` measures it).

``python -m engine.live`` prints a frame of a short simulated run, at 80 columns.
"""

from engine.live.board import AtMin, Board, MarketBoard, Move, board
from engine.live.screen import Screen, summary
from engine.live.view import COLUMNS, LEGEND, PerMinute, Rates, frame, starting_frame
from engine.live.watch import Watch

__all__ = [
    "COLUMNS",
    "LEGEND",
    "AtMin",
    "Board",
    "MarketBoard",
    "Move",
    "PerMinute",
    "Rates",
    "Screen",
    "Watch",
    "board",
    "frame",
    "starting_frame",
    "summary",
]
