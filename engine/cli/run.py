"""`repricer run`: the daemon, on the embedded simulated marketplace (``--sim``) or, later, a seller's account.

``--sim`` keeps its state in memory unless ``--db PATH`` names a SQLite database: then the run restores what an
earlier run there learned, and `repricer history` reads its decisions, during the run and after. The command
opens and closes the store; the daemon only uses it.

Imports the simulated adapter and the live view inside the command; never anything from `bench`.

The screen (`engine.live.Screen`) says "starting…" before anything is built, shows a board every two real seconds
(on a terminal a frame; otherwise a summary log line per marketplace per minute), and "stopping…" from the
signal until the stop is over. `Watch` logs the throttles, failures and quarantines the boards show.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import textwrap
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
    from adapters.simulated.run import SimRun
    from engine.daemon import Daemon
    from engine.live import Board, Screen
    from engine.ports import Store

__all__ = ["add_parser"]

_RELOAD_TIMEOUT_S = 30.0  # real seconds a reload may take reading the store


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
    run.add_argument(
        "--control-socket",
        metavar="PATH",
        help="listen for `repricer ctl` on this Unix socket (default: control.sock in your runtime directory)",
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
        return _refuse_config(args.config)
    if (problem := check_scenario(args.scenario)) is not None:
        return refuse("repricer run", problem)
    # Virtual time that runs at --speed times real time; nothing jumps, so the view is steady.
    # The store's thread is fine with it: time only ever runs at a rate, it never jumps while the thread works.
    clock = trio.testing.MockClock(rate=args.speed)
    from engine.control import ControlSocketError

    try:
        return trio.run(_run_sim, args, clock=clock)
    except (StoreUnavailable, ControlSocketError) as exc:
        return refuse("repricer run", str(exc))


def _refuse_config(file: Path) -> int:
    """The configuration is checked whole (as `repricer config check` does), so its mistakes show now; running
    against Amazon itself waits for the SP-API adapter."""
    from engine.config import ConfigError, load

    prog = f"repricer run --config {file}"
    try:
        config = load(file)
    except ConfigError as exc:
        return refuse(prog, str(exc))
    sellers = ", ".join(seller.id for seller in config.sellers)
    return refuse(
        prog,
        f"the configuration is valid (sellers {sellers}), but running against Amazon needs the SP-API adapter, "
        "which this version does not have yet; use --sim",
    )


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
    from engine.live import Screen
    from engine.pricing.search import EngineSearch

    config = RuntimeConfig()
    if store.persistent:
        # Saving at a stop is real I/O in real time; its deadline is virtual time, which runs --speed times faster.
        config = msgspec.structs.replace(config, persist_timeout_s=config.persist_timeout_s * max(1.0, args.speed))
    title = f"repricer --sim: {args.skus} SKUs × {','.join(args.marketplaces)}, {args.scenario}, Ctrl-C stops"
    offers = args.skus * len(args.marketplaces)
    # The screen shows "starting…" before the run is built: at 100,000 offers that takes a while, synchronously.
    with Screen(title, detail=f"building {offers} simulated offers") as screen:
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
        screen.detail = f"starting {offers} offer actors"
        await _operate(run, store, screen, args, title)
    report = run.daemon.stop_report
    assert report is not None  # set whenever `Daemon.run` returns
    said = report.describe()  # only what the store confirmed
    # Under the frame, wrapped as the frame is; to a file or a journal, one line.
    print(textwrap.fill(said, shutil.get_terminal_size().columns) if sys.stderr.isatty() else said, file=sys.stderr)
    return 0 if report.complete else 1


async def _operate(run: SimRun, store: Store, screen: Screen, args: argparse.Namespace, title: str) -> None:
    """Run the daemon until it stops, a board on the screen every two real seconds; "stopping…" from the moment a
    stop is asked (a signal, or the end of ``--hours``) until it is over."""
    from engine.daemon.notify import notify
    from engine.live import Watch, board

    daemon = run.daemon
    watch = Watch()

    def boards() -> Board:
        return board(daemon, trio.current_time(), title=title, started_at=run.started_at, clock_rate=args.speed)

    def show() -> None:
        shown = boards()
        screen.show(shown)
        watch.observe([market.status for market in shown.markets])

    def stop() -> None:
        screen.stopping()
        notify("STOPPING=1")
        daemon.stop.set()

    # Bound before any nursery opens: a socket another daemon answers on is a refusal of this start (one line,
    # `_cmd_run`), not an exception group out of a nursery.
    _start_control(daemon, args, boards)
    async with trio.open_nursery() as services:
        services.start_soon(_stop_on_signal, stop)
        async with trio.open_nursery() as running:
            await running.start(daemon.run)
            # The reload's deadline is real time, as the store's: the daemon's clock runs --speed times faster.
            services.start_soon(_reload_on_signal, daemon, store, _RELOAD_TIMEOUT_S * args.speed)
            notify("READY=1", f"STATUS=repricing {sum(len(m.actors) for m in daemon.markets)} offers")
            show()
            services.start_soon(_refresh, show, 2.0 * args.speed)  # every two real seconds
            if args.hours is not None:
                services.start_soon(_stop_after, stop, args.hours * 3600)
        services.cancel_scope.cancel()
    show()  # the last board: stopped


def _start_control(daemon: Daemon, args: argparse.Namespace, boards: Callable[[], Board]) -> None:
    """The control socket (`repricer ctl`) joins the daemon's services, its deadlines in real time (the daemon's
    clock runs --speed times faster). It binds here, before the daemon starts: a socket another daemon answers on
    refuses this start (`ControlSocketError`, naming the path) rather than becoming a service that keeps failing.
    ``boards`` makes the board `repricer ctl top` shows, with this run's title and clock."""
    from engine.control import ControlConfig, ControlServer

    server = ControlServer(daemon, ControlConfig(socket=args.control_socket), time_scale=args.speed, boards=boards)
    server.bind()
    daemon.add_service(server)


async def _reload_on_signal(daemon: Daemon, store: Store, timeout_s: float) -> None:
    """SIGHUP (`systemctl reload`): the catalog is read again from the store and applied to the running offers
    (`engine.daemon.reload`, which also logs what it changed, refused, or why it could not read the store)."""
    from engine.daemon.notify import notify
    from engine.daemon.reload import reload_catalog

    with trio.open_signal_receiver(signal.SIGHUP) as signals:
        async for _ in signals:
            notify("RELOADING=1")
            await reload_catalog(daemon, store, timeout_s=timeout_s)  # never raises: a failure is logged
            notify("READY=1")


async def _stop_on_signal(stop: Callable[[], None]) -> None:
    """SIGTERM or SIGINT: stop intake, let the decisions in hand finish, persist, exit 0."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop()
            return


async def _refresh(tick: Callable[[], None], every: float) -> None:
    while True:
        await trio.sleep(every)
        tick()


async def _stop_after(stop: Callable[[], None], seconds: float) -> None:
    await trio.sleep(seconds)
    stop()
