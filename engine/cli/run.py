"""`repricer run`: the daemon, on the embedded simulated marketplace (``--sim``) or, later, a seller's account.

``--sim`` keeps its state in memory unless ``--db PATH`` names a SQLite database: then the run restores what an
earlier run there learned, and `repricer history` reads its decisions, during the run and after. The command
opens and closes the store; the daemon only uses it.

Imports the simulated adapter and the live view inside the command; never anything from `bench`.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
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
from engine.cli.database import StoreUnavailable, db_path, open_store

if TYPE_CHECKING:
    from engine.ports import Store

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
    run.add_argument(
        "--db",
        type=db_path,
        metavar="PATH",
        help="keep the run's state in this SQLite database, created if missing (--sim default: in memory only)",
    )
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
            "running against Amazon needs the SP-API adapter and its configuration file, which this version does "
            "not have yet; use --sim",
        )
    if (problem := check_scenario(args.scenario)) is not None:
        return refuse("repricer run", problem)
    # Virtual time that runs at --speed times real time; nothing jumps, so the view is steady.
    # The store's thread is fine with it: time only ever runs at a rate, it never jumps while the thread works.
    clock = trio.testing.MockClock(rate=args.speed)
    try:
        return trio.run(_run_sim, args, clock=clock)
    except StoreUnavailable as exc:
        return refuse("repricer run", str(exc))


async def _run_sim(args: argparse.Namespace) -> int:
    # The composition root opens and closes the store; the daemon only uses it.
    if args.db is None:
        from engine.store import MemoryStore

        async with MemoryStore() as memory:
            return await _run_daemon(args, memory)
    async with open_store(args.db, create=True) as store:
        return await _run_daemon(args, store)


async def _run_daemon(args: argparse.Namespace, store: Store) -> int:
    from adapters.simulated.run import build_run
    from engine.daemon import RuntimeConfig
    from engine.live import LiveView
    from engine.pricing.search import EngineSearch

    config = RuntimeConfig()
    if store.persistent:
        # Saving at a stop is real I/O in real time; its deadline is virtual time, which runs --speed times faster.
        config = msgspec.structs.replace(config, persist_timeout_s=config.persist_timeout_s * max(1.0, args.speed))
    run = build_run(
        scenario=args.scenario,
        seed=args.seed,
        skus=args.skus,
        strategy=EngineSearch(),
        marketplaces=args.marketplaces,
        config=config,
        store=store,
    )
    if store.persistent:
        # The simulated offers go into the catalog, so `catalog export` and `history` know them.
        from engine.catalog import from_settings

        await store.save_catalog([from_settings(r.catalog[k]) for r in run.runtimes for k in r.catalog])
    title = (
        f"repricer --sim: {args.skus} SKUs on {', '.join(args.marketplaces)}, competition {args.scenario}, "
        f"{args.speed:g}x   (Ctrl-C stops)"
    )
    view = LiveView(title)
    refresh = 2.0 * args.speed  # every two real seconds

    def tick() -> None:
        now = trio.current_time()
        view.show(run.status(), now, now - run.started_at)

    async with trio.open_nursery() as nursery:
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
