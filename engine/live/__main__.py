"""``python -m engine.live``: one frame of a short simulated run, as ``repricer run --sim`` would show it.

The run goes on trio's virtual clock (hours in seconds); boards are taken every two "real" seconds of a run at
``--speed`` (default 60x, as `run --sim`), so the rates per real minute read as they would on the screen.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

import trio
import trio.testing
from rich.console import Console

from engine.live.board import Board, board
from engine.live.view import Rates, frame

if TYPE_CHECKING:
    from engine.daemon import Daemon


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m engine.live", description=__doc__)
    parser.add_argument("--width", type=int, default=80, help="columns of the frame")
    parser.add_argument("--height", type=int, help="lines of the frame (default: as many as it needs)")
    parser.add_argument("--skus", type=int, default=200, help="SKUs per marketplace")
    parser.add_argument("--marketplaces", default="DE,FR,GB", help="country codes, comma-separated")
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours before the frame")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated market")
    parser.add_argument("--time", action="store_true", help="also say what the daemon's status and the board cost")
    args = parser.parse_args()
    last, rates = trio.run(_sample, args, clock=trio.testing.MockClock(autojump_threshold=0))
    # A height makes it a terminal of that size, so the frame fits it; styles only when stdout is a terminal.
    console = Console(
        width=args.width,
        height=args.height,
        force_terminal=args.height is not None,
        color_system="auto" if sys.stdout.isatty() else None,
    )
    console.print(frame(last, rates.per_minute(), console))


async def _sample(args: argparse.Namespace) -> tuple[Board, Rates]:
    from adapters.simulated.run import build_run
    from engine.pricing.search import EngineSearch

    codes = args.marketplaces.split(",")
    run = build_run(scenario="S1b", seed=args.seed, skus=args.skus, strategy=EngineSearch(), marketplaces=codes)
    title = f"repricer --sim: {args.skus} SKUs × {','.join(codes)}, S1b, Ctrl-C stops"
    rates = Rates()
    every = 2.0 * args.speed
    async with trio.open_nursery() as nursery:
        await nursery.start(run.daemon.run)
        while (now := trio.current_time()) - run.started_at < args.hours * 3600:
            await trio.sleep(every)
            now = trio.current_time()
            last = board(run.daemon, now, title=title, started_at=run.started_at, clock_rate=args.speed)
            rates.observe(last, now / args.speed)
        if args.time:
            _time(run.daemon)
        run.daemon.stop.set()
    return last, rates


def _time(daemon: Daemon) -> None:
    """The daemon's status alone and the whole board, best of five, on stderr."""
    statuses, boards = [], []
    for _ in range(5):
        began = time.perf_counter()
        daemon.status()
        statuses.append(time.perf_counter() - began)
        began = time.perf_counter()
        board(daemon, trio.current_time())
        boards.append(time.perf_counter() - began)
    offers = sum(len(m.actors) for m in daemon.markets)
    print(
        f"{offers} offers: status() {min(statuses) * 1000:.0f} ms, board() {min(boards) * 1000:.0f} ms (best of 5)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
