"""`repricer run`: the daemon, on the embedded simulated marketplace (``--sim``) or, later, a seller's account.

Imports the simulated adapter and the live view inside the command; never anything from `bench`.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import trio
import trio.testing

from engine.cli.args import (
    HelpFormatter,
    check_scenario,
    marketplace_codes,
    non_negative_int,
    positive_float,
    positive_int,
    refuse,
)

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="run the daemon (on the simulated marketplace with --sim)",
        description="Run the repricing daemon until SIGTERM or Ctrl-C. Say where: --sim or --config FILE.",
        formatter_class=HelpFormatter,
    )
    run.add_argument("--sim", action="store_true", help="run on the embedded simulated marketplace")
    run.add_argument("--config", type=Path, metavar="FILE", help="run for your seller account, configured in FILE")
    run.add_argument("--skus", type=positive_int, default=200, help="SKUs per marketplace (--sim)")
    run.add_argument(
        "--marketplaces", type=marketplace_codes, default="DE,FR,GB", help="country codes, comma-separated (--sim)"
    )
    run.add_argument("--speed", type=positive_float, default=60.0, help="simulated seconds per real second (--sim)")
    run.add_argument("--scenario", default="S1b", help="simulated competition, S1a..S8 (--sim)")
    run.add_argument("--seed", type=non_negative_int, default=1, help="seed of the simulated market (--sim)")
    run.add_argument("--hours", type=positive_float, help="stop after this many simulated hours (default: never)")
    run.set_defaults(handler=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    if not args.sim and args.config is None:
        return refuse(
            "repricer run",
            "say where to run: --sim (the embedded simulated marketplace) or --config FILE (your seller account)",
        )
    if args.sim and args.config is not None:
        return refuse("repricer run", "--sim and --config exclude each other")
    if args.config is not None:
        return refuse(
            f"repricer run --config {args.config}",
            "running against Amazon needs the SP-API adapter and the SQLite store, which this version does not "
            "have yet; use --sim",
        )
    if (problem := check_scenario(args.scenario)) is not None:
        return refuse("repricer run", problem)
    # Virtual time that runs at --speed times real time; nothing jumps, so the view is steady.
    clock = trio.testing.MockClock(rate=args.speed)
    return trio.run(_run_sim, args, clock=clock)


async def _run_sim(args: argparse.Namespace) -> int:
    from adapters.simulated.run import build_run
    from engine.live import LiveView
    from engine.pricing.search import EngineSearch

    run = build_run(
        scenario=args.scenario, seed=args.seed, skus=args.skus, strategy=EngineSearch(), marketplaces=args.marketplaces
    )
    title = (
        f"repricer --sim: {args.skus} SKUs on {', '.join(args.marketplaces)}, competition {args.scenario}, "
        f"{args.speed:g}x   (Ctrl-C stops)"
    )
    view = LiveView(title)
    refresh = 2.0 * args.speed  # every two real seconds

    def tick() -> None:
        now = trio.current_time()
        view.show(run.status(), now, now - run.started_at)

    # The composition root opens and closes the store; the daemon only uses it.
    async with run.store, trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, run.daemon.stop)
        nursery.start_soon(_refresh, tick, refresh)
        if args.hours is not None:
            nursery.start_soon(_stop_after, run.daemon.stop, args.hours * 3600)
        await run.daemon.run()
        nursery.cancel_scope.cancel()
    tick()
    report = run.daemon.stop_report
    assert report is not None  # set whenever `Daemon.run` returns
    print(report.describe(), file=sys.stderr)  # only what the store confirmed
    return 0 if report.complete else 1


async def _stop_on_signal(stop: trio.Event) -> None:
    """SIGTERM or SIGINT: stop intake, let the decisions in hand finish, persist, exit 0."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


async def _refresh(tick: Callable[[], None], every: float) -> None:
    while True:
        await trio.sleep(every)
        tick()


async def _stop_after(stop: trio.Event, seconds: float) -> None:
    await trio.sleep(seconds)
    stop.set()
