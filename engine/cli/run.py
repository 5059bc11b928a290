"""`repricer run`: the daemon, on the embedded simulated marketplace (``--sim``) or for a seller's accounts on
Amazon (``--config FILE``).

``--config`` reads the configuration file whole first (a mistake is one ``FILE:LINE: key: problem`` line and exit
code 1, as `repricer config check` prints it; nothing starts), then opens the SQLite database it names (``--db``
overrides), plans the daemon from the configuration and the database's catalog (`engine.daemon.configured`),
reaches Amazon through the SP-API adapter (`adapters.spapi.run`: one client per seller account, at the endpoints
configured), and runs until SIGTERM. A restart takes up where the last run stopped: the daemon restores each
marketplace's search states, learned weights and outbox from the store as it starts (`engine.daemon.Daemon`).

``--sim`` keeps its state in memory unless ``--db PATH`` names a SQLite database: then the run restores what an
earlier run there learned, and `repricer history` reads its decisions, during the run and after. The command
opens and closes the store; the daemon only uses it. One daemon at a time runs on a database
(`engine.cli.database.daemon_lock`).

SIGHUP and `repricer ctl reload` read the catalog again (`engine.daemon.reload`) and, with ``--config``, the
configuration file first (`engine.daemon.reconfigure`: log settings, the control socket and channel settings live;
anything else refused, and the daemon runs on as configured before).

Imports the adapters and the live view inside the command; never anything from `bench`.

The screen (`engine.live.Screen`) says "starting…" before anything is built, shows a board every two real seconds
(on a terminal a frame; otherwise a summary log line per marketplace per minute), and "stopping…" from the
signal until the stop is over. `Watch` logs the throttles, failures and quarantines the boards show.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import trio
import trio.testing

from engine.cli.args import (
    EXIT_REJECTED,
    HelpFormatter,
    check_scenario,
    marketplace_codes,
    non_negative_int,
    positive_float,
    positive_int,
    refuse,
)
from engine.cli.database import StoreUnavailable, daemon_lock, db_path, open_store

if TYPE_CHECKING:
    from engine.config import Config
    from engine.control.results import ReloadResult
    from engine.daemon import Daemon
    from engine.daemon.reconfigure import CommandLine, Reconfigure
    from engine.live import Board, Screen
    from engine.ports import Store

__all__ = ["add_parser"]

log = logging.getLogger(__name__)

_RELOAD_TIMEOUT_S = 30.0  # real seconds a reload may take reading the store
# The options that only mean something on the simulated marketplace, with their defaults.
_SIM_ONLY: dict[str, object] = {
    "skus": 200,
    "marketplaces": ("DE", "FR", "GB"),
    "speed": 60.0,
    "scenario": "S1b",
    "seed": 1,
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="run the daemon (on the simulated marketplace with --sim, for your accounts with --config FILE)",
        description="Run the repricing daemon until SIGTERM or Ctrl-C. Say where: --sim or --config FILE. SIGHUP "
        "(or `repricer ctl reload`) reads the catalog, and the configuration file, again.",
        formatter_class=HelpFormatter,
    )
    run.add_argument("--sim", action="store_true", help="run on the embedded simulated marketplace")
    run.add_argument("--config", type=Path, metavar="FILE", help="run for your seller accounts, configured in FILE")
    run.add_argument("--skus", type=positive_int, default=_SIM_ONLY["skus"], help="SKUs per marketplace (--sim)")
    run.add_argument(
        "--marketplaces", type=marketplace_codes, default="DE,FR,GB", help="country codes, comma-separated (--sim)"
    )
    run.add_argument(
        "--speed", type=positive_float, default=_SIM_ONLY["speed"], help="simulated seconds per real second (--sim)"
    )
    run.add_argument("--scenario", default=_SIM_ONLY["scenario"], help="simulated competition, S1a..S8 (--sim)")
    run.add_argument(
        "--seed", type=non_negative_int, default=_SIM_ONLY["seed"], help="seed of the simulated market (--sim)"
    )
    run.add_argument(
        "--hours", type=positive_float, help="stop after this many hours, simulated with --sim (default: never)"
    )
    run.add_argument(
        "--db",
        type=db_path,
        metavar="PATH",
        help="keep the run's state in this SQLite database; --sim creates it if missing (default: --sim in memory "
        "only, --config the configuration's database)",
    )
    run.add_argument(
        "--control-socket",
        metavar="PATH",
        help="listen for `repricer ctl` on this Unix socket (default: the configuration's control_socket, or "
        "control.sock in your runtime directory)",
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
        return _cmd_run_config(args)
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


# --- on Amazon ------------------------------------------------------------------------------------------------


def _cmd_run_config(args: argparse.Namespace) -> int:
    """The configuration is checked whole (as `repricer config check` does) before anything starts."""
    from engine import logs
    from engine.config import ConfigError, load
    from engine.control import ControlSocketError
    from engine.daemon.configured import NothingToReprice
    from engine.daemon.reconfigure import CommandLine

    prog = f"repricer run --config {args.config}"
    sim_only = [f"--{name}" for name, default in _SIM_ONLY.items() if getattr(args, name) != default]
    if sim_only:
        return refuse(prog, f"{', '.join(sim_only)}: only with --sim")
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REJECTED
    command_line = CommandLine(
        log_level=args.log_level,
        log_format=args.log_format,
        database=args.db,
        control_socket=None if args.control_socket is None else Path(args.control_socket),
    )
    logs.configure(*command_line.log_settings(config))
    try:
        return trio.run(_run_config, args, config, command_line)
    except (StoreUnavailable, ControlSocketError, NothingToReprice) as exc:
        return refuse(prog, str(exc))


async def _run_config(args: argparse.Namespace, config: Config, command_line: CommandLine) -> int:
    from adapters.spapi.run import compose_daemon, open_accounts
    from engine.daemon import RuntimeConfig
    from engine.daemon.configured import import_hint, plan_daemon
    from engine.daemon.reconfigure import Reconfigure
    from engine.live import Screen
    from engine.pricing.search import EngineSearch

    database = command_line.database_of(config)
    if not database.exists():
        first = config.sellers[0]
        raise StoreUnavailable(
            f"no database at {database}: no offers were imported there yet; "
            f"{import_hint(first.id, first.marketplaces[0], database)}"
        )
    sellers = ", ".join(f"{seller.id} ({','.join(seller.marketplaces)})" for seller in config.sellers)
    title = f"repricer --config {config.file}: {sellers}, Ctrl-C stops"
    with daemon_lock(database):
        async with open_store(database, create=False) as store:
            planned = await plan_daemon(config, store, database=database)
            with Screen(title, detail=f"starting {planned.offers} offer actors") as screen:
                async with open_accounts(config.sellers) as accounts:
                    daemon = compose_daemon(planned.plan, accounts, store, EngineSearch(), config=RuntimeConfig())
                    reconfigure = Reconfigure(daemon, config, command_line=command_line)
                    socket = command_line.socket(config)
                    await _operate(
                        daemon,
                        store,
                        screen,
                        title,
                        socket=socket,
                        speed=1.0,
                        hours=args.hours,
                        reconfigure=reconfigure,
                    )
    return _said_stop(daemon)


# --- on the simulated marketplace -----------------------------------------------------------------------------


async def _run_sim(args: argparse.Namespace) -> int:
    # The composition root opens and closes the store; the daemon only uses it.
    if args.db is None:
        from engine.store import MemoryStore

        async with MemoryStore() as memory:
            return await _run_simulated(args, memory)
    with daemon_lock(args.db):
        async with open_store(args.db, create=True) as store:
            return await _run_simulated(args, store)


async def _run_simulated(args: argparse.Namespace, store: Store) -> int:
    from adapters.simulated.run import build_run
    from engine.daemon import RuntimeConfig
    from engine.live import Screen
    from engine.pricing.search import EngineSearch

    config = RuntimeConfig()
    if store.persistent:
        # Saving is real I/O in real time; its deadline and pacing are virtual time, which runs --speed times faster.
        faster = max(1.0, args.speed)
        config = msgspec.structs.replace(
            config,
            persist_timeout_s=config.persist_timeout_s * faster,
            state_save_delay_s=config.state_save_delay_s * faster,
        )
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
        socket = None if args.control_socket is None else Path(args.control_socket)
        hours = args.hours
        await _operate(
            run.daemon, store, screen, title, socket=socket, speed=args.speed, hours=hours, started_at=run.started_at
        )
    return _said_stop(run.daemon)


# --- both -----------------------------------------------------------------------------------------------------


def _said_stop(daemon: Daemon) -> int:
    report = daemon.stop_report
    assert report is not None  # set whenever `Daemon.run` returns
    said = report.describe()  # only what the store confirmed
    # Under the frame, wrapped as the frame is; to a file or a journal, one line.
    print(textwrap.fill(said, shutil.get_terminal_size().columns) if sys.stderr.isatty() else said, file=sys.stderr)
    return 0 if report.complete else 1


async def _operate(
    daemon: Daemon,
    store: Store,
    screen: Screen,
    title: str,
    *,
    socket: Path | None,
    speed: float,
    hours: float | None,
    started_at: float | None = None,
    reconfigure: Reconfigure | None = None,
) -> None:
    """Run the daemon until it stops, a board on the screen every two real seconds; "stopping…" from the moment a
    stop is asked (a signal, or the end of ``hours``) until it is over. ``speed``: the daemon's seconds per real
    second; ``reconfigure``: the configuration file a reload reads again (None: only the catalog)."""
    from engine.daemon.notify import notify
    from engine.live import Watch, board

    watch = Watch()
    started = trio.current_time() if started_at is None else started_at

    def boards() -> Board:
        return board(daemon, trio.current_time(), title=title, started_at=started, clock_rate=speed)

    def show() -> None:
        shown = boards()
        screen.show(shown)
        watch.observe([market.status for market in shown.markets])

    def stop() -> None:
        screen.stopping()
        notify("STOPPING=1")
        daemon.stop.set()

    # The reload's deadline is real time, as the store's: the daemon's clock may run faster (--speed).
    reload = _Reload(daemon, store, reconfigure)
    # Bound before any nursery opens: a socket another daemon answers on is a refusal of this start (one line,
    # `_cmd_run`), not an exception group out of a nursery.
    _start_control(daemon, socket, speed, boards, reload, reconfigure)
    async with trio.open_nursery() as services:
        services.start_soon(_stop_on_signal, stop)
        async with trio.open_nursery() as running:
            await running.start(daemon.run)
            services.start_soon(_reload_on_signal, reload, _RELOAD_TIMEOUT_S * speed)
            notify("READY=1", f"STATUS=repricing {sum(len(m.actors) for m in daemon.markets)} offers")
            show()
            services.start_soon(_refresh, show, 2.0 * speed)  # every two real seconds
            if hours is not None:
                services.start_soon(_stop_after, stop, hours * 3600)
        services.cancel_scope.cancel()
    show()  # the last board: stopped


def _start_control(
    daemon: Daemon,
    socket: Path | None,
    speed: float,
    boards: Callable[[], Board],
    reload: Callable[[float], Awaitable[ReloadResult]],
    reconfigure: Reconfigure | None,
) -> None:
    """The control socket (`repricer ctl`) joins the daemon's services, its deadlines in real time (the daemon's
    clock may run ``speed`` times faster). It binds here, before the daemon starts: a socket another daemon answers
    on refuses this start (`ControlSocketError`, naming the path) rather than becoming a service that keeps failing.
    ``boards`` makes the board `repricer ctl top` shows, with this run's title and clock; a reloaded configuration
    may move the socket (``reconfigure``)."""
    from engine.control import ControlConfig, ControlServer

    config = ControlConfig(socket=None if socket is None else str(socket))
    server = ControlServer(daemon, config, time_scale=speed, boards=boards, reload=reload)
    server.bind()
    daemon.add_service(server)
    if reconfigure is not None:
        reconfigure.move_control = server.move


class _Reload:
    """What SIGHUP and `repricer ctl reload` do, one at a time: the configuration file again (with ``--config``),
    then the catalog. Neither raises for what the file or the store hold: a refusal is logged and answered."""

    def __init__(self, daemon: Daemon, store: Store, reconfigure: Reconfigure | None) -> None:
        self._daemon = daemon
        self._store = store
        self._reconfigure = reconfigure
        self._one_at_a_time = trio.Lock()

    async def __call__(self, timeout_s: float) -> ReloadResult:
        from engine.control.results import ReloadResult
        from engine.daemon.reload import reload_catalog

        async with self._one_at_a_time:
            configured = None if self._reconfigure is None else self._reconfigure.reload()
            catalog = await reload_catalog(self._daemon, self._store, timeout_s=timeout_s)
        return ReloadResult(
            configuration=None if configured is None else configured.describe(),
            applied=() if configured is None else configured.applied,
            refused=configured is not None and configured.refused,
            catalog=catalog.describe(),
        )


async def _reload_on_signal(reload: _Reload, timeout_s: float) -> None:
    """SIGHUP (`systemctl reload`): see `_Reload`, which logs what it changed, refused, or why it could not."""
    from engine.daemon.notify import notify

    with trio.open_signal_receiver(signal.SIGHUP) as signals:
        async for _ in signals:
            notify("RELOADING=1")
            try:
                await reload(timeout_s)
            except Exception:  # a bug: the daemon runs on as it was
                log.exception("reload failed; the daemon runs on as before")
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
