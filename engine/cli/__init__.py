"""`repricer`: the command line, one module per command group.

With the composition code, the only part of `engine/` that wires adapters, the simulator and the benchmarks
together. Each group imports them inside its commands, so that `repricer --help` stays fast and the daemon never
loads what it does not use: `run` and `demo` never import `bench`.

    repricer run --sim [--skus N] [--marketplaces DE,FR,GB] [--speed X] [--scenario S1b] [--seed S] [--hours H]
                       [--db PATH]
    repricer run --config FILE [--db PATH] [--control-socket PATH] [--hours H]
    repricer config check FILE [--json]
    repricer amazon authorize --config FILE --seller ID --env-file FILE [--consent --application-id ID ...]
    repricer demo [--skus N] [--hours H] [--seed S] [--scenario NAME] [--marketplace DE] [--json FILE]
    repricer catalog import FILE [--format csv|jsonl] [--seller ID] [--marketplace DE] [--dry-run] [--json] [--db PATH]
    repricer catalog export [--seller ID] [--marketplace DE] [--format csv|jsonl] [-o FILE] [--db PATH]
    repricer import FILE --marketplace DE [--seller ID] [--strict] [--dry-run] [--json] [--db PATH]
    repricer history SKU --marketplace DE [--seller ID] [--limit N] [--json] [--db PATH]
    repricer ctl [--socket PATH] status | offer SKU | pause/resume [SKU] [--all] | bounds SKU --min --max
                 | reprice SKU | release SKU | settings [--set NAME=VALUE] | watch [SKU] | history SKU | top
                 | reload  [--json]
    repricer bench convergence [--scenario S1a,S2|all] [--delay 2m,5m] [--tau 0,0.005] [--seeds N] [--rows R] ...
    repricer bench throughput [--actors 10k,100k] [--seconds S] [--json FILE]
    repricer sim serve [--port 8765] [--host 127.0.0.1] [--scenario S1b] [--skus N] [--marketplaces DE,FR,IT]
                       [--time-scale X] [--seed S] [--faults JSON] [--catalog FILE [--account ID]]

The store-using commands share one SQLite database in the user's data directory (`engine.cli.database`); ``--db``
names another. `run --sim` keeps its state in memory unless given ``--db``; `demo` always does (its virtual time
jumps, which a database thread cannot follow). ``--seller`` defaults to "default", the account of a seller who
has only one.

Every refusal is one line on stderr that names the bad value, with exit code 2; Ctrl-C during a command that does
not handle it itself (demo, bench) is one line and exit code 130. The imports exit 1 when they rejected lines (and
saved the good ones), `history` when it knows nothing of the offer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from engine import logs
from engine.cli import amazon, bench, catalog, config, ctl, demo, history, listings, run, sim
from engine.cli.args import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, HelpFormatter

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Unset, the configuration's [log] table decides (`run --config`); otherwise warning, plain.
    logs.configure(args.log_level or "warning", args.log_format or "plain")
    handler: Callable[[argparse.Namespace], int] = args.handler
    # trio hands on a Ctrl-C that lands inside a nursery wrapped in an exception group; except* takes it either way
    # and re-raises whatever else came with it, so a real crash stays a crash. (`run` handles SIGINT itself.)
    try:
        return _handle(handler, args)
    except* KeyboardInterrupt:
        pass
    print("repricer: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _handle(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return int(handler(args))
    except BrokenPipeError:
        # The reader of stdout went away (`repricer catalog export | head`): stop quietly, as Unix tools do. Stdout
        # goes to /dev/null so that the interpreter's last flush does not fail again on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repricer", description="Amazon repricing engine", formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--log-level",
        choices=logs.LEVELS,
        help="what gets logged, to stderr: info adds starts, stops, reloads, throttling, quarantines and failures; "
        "debug adds every decision. Without a terminal, `run` logs a summary a minute unless the level is error "
        "(default: warning, or the [log] level of the configuration of `run --config`)",
    )
    parser.add_argument(
        "--log-format",
        choices=["plain", "json"],
        help="log lines as text, or one JSON object each (default: plain, or the configuration's [log] format)",
    )
    sub = parser.add_subparsers(required=True, metavar="command")
    run.add_parser(sub)
    config.add_parser(sub)
    amazon.add_parser(sub)
    demo.add_parser(sub)
    catalog.add_parser(sub)
    listings.add_parser(sub)
    history.add_parser(sub)
    ctl.add_parser(sub)
    bench.add_parser(sub)
    sim.add_parser(sub)
    return parser


def _version() -> str:
    try:
        return metadata.version("repricer")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"
