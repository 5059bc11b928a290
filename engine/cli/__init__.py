"""`repricer`: the command line, one module per command group.

With the composition code, the only part of `engine/` that wires adapters, the simulator and the benchmarks
together. Each group imports them inside its commands, so that `repricer --help` stays fast and the daemon never
loads what it does not use: `run` and `demo` never import `bench`.

    repricer run --sim [--skus N] [--marketplaces DE,FR,GB] [--speed X] [--scenario S1b] [--seed S] [--hours H]
    repricer run --config FILE
    repricer demo [--skus N] [--hours H] [--seed S] [--scenario NAME] [--marketplace DE] [--json FILE]
    repricer bench convergence [--scenario S1a,S2|all] [--delay 2m,5m] [--tau 0,0.005] [--seeds N] [--rows R] ...
    repricer bench throughput [--actors 10k,100k] [--seconds S] [--json FILE]

Every refusal is one line on stderr that names the bad value, with exit code 2; Ctrl-C during a command that does
not handle it itself (demo, bench) is one line and exit code 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from engine.cli import bench, demo, run
from engine.cli.args import EXIT_INTERRUPTED, HelpFormatter

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    # trio hands on a Ctrl-C that lands inside a nursery wrapped in an exception group; except* takes it either way
    # and re-raises whatever else came with it, so a real crash stays a crash. (`run` handles SIGINT itself.)
    try:
        return int(handler(args))
    except* KeyboardInterrupt:
        pass
    print("repricer: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repricer", description="Amazon repricing engine", formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"], help="what gets logged"
    )
    sub = parser.add_subparsers(required=True, metavar="command")
    run.add_parser(sub)
    demo.add_parser(sub)
    bench.add_parser(sub)
    return parser


def _version() -> str:
    try:
        return metadata.version("repricer")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"
