"""`repricer bench convergence|spapi|throughput|store|import`: the benchmarks (bench/README.md).

The only command group that imports `bench`, and only inside its commands (and the ``--strategies`` and ``--faults``
types).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from engine.cli.args import (
    HelpFormatter,
    check_scenario,
    counts,
    durations,
    marketplace_codes,
    non_negative_floats,
    output_dir,
    output_file,
    positive_float,
    positive_int,
    refuse,
    scenarios,
    split,
)

__all__ = ["add_parser"]

# `--quick`: every strategy on one static and one reacting scenario, a few seeds of a few rows, six hours.
_QUICK: dict[str, Any] = {
    "scenarios": ("S1b", "S2"),
    "delays_s": (120.0,),
    "taus": (0.005,),
    "seeds": 2,
    "rows": 10,
    "hours": 6.0,
}
# Without --quick: the ten headline cells' grid of buybox.md, one-row seeds as its protocol has them, at a size
# that runs in tens of minutes (the full plan is 500 seeds; see bench/README.md).
_DEFAULT: dict[str, Any] = {
    "scenarios": ("S1a", "S1b", "S2", "S4", "S5"),
    "delays_s": (120.0, 300.0),
    "taus": (0.005,),
    "seeds": 40,
    "rows": 1,
    "hours": 24.0,
}


def _listed(values: tuple[Any, ...]) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _minutes(values: tuple[float, ...]) -> str:
    return ",".join(f"{v / 60:g}m" for v in values)


def _plan_default(key: str, show: Callable[[tuple[Any, ...]], str] = _listed) -> str:
    """ "(default: X; Y with --quick)" for an option whose default depends on --quick."""
    full, quick = _DEFAULT[key], _QUICK[key]
    if isinstance(full, tuple):
        return f"(default: {show(full)}; {show(quick)} with --quick)"
    return f"(default: {full:g}; {quick:g} with --quick)"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "bench",
        help="benchmarks: convergence against simulated competitors, throughput, the store, a listings import",
        description="Benchmarks of the engine; see bench/README.md.",
        formatter_class=HelpFormatter,
    )
    bench_sub = bench.add_subparsers(required=True, metavar="benchmark")
    conv = bench_sub.add_parser(
        "convergence",
        help="the engine and the baselines against simulated competitors, side by side (bench/README.md)",
        description="The engine and the baseline strategies against simulated competitors, on the same random "
        "numbers: times to the Buy Box and to 99% / 99.8% of the best price, and profit.",
        formatter_class=HelpFormatter,
    )
    conv.add_argument(
        "--scenario", type=scenarios, help=f"S1a..S8, comma-separated, or all {_plan_default('scenarios')}"
    )
    conv.add_argument(
        "--delay", type=durations, help=f"submit→live median D, like 2m,5m {_plan_default('delays_s', _minutes)}"
    )
    conv.add_argument("--tau", type=non_negative_floats, help=f"Buy Box softmax temperature {_plan_default('taus')}")
    conv.add_argument("--seeds", type=positive_int, help=f"independent markets per cell {_plan_default('seeds')}")
    conv.add_argument("--rows", type=positive_int, help=f"rows (SKUs) per market {_plan_default('rows')}")
    conv.add_argument("--hours", type=positive_float, help=f"simulated hours per run {_plan_default('hours')}")
    conv.add_argument(
        "--strategies",
        type=_strategies,
        help="comma-separated: engine,engine-flat,undercut,match,... (default: all of them)",
    )
    conv.add_argument("--sellers", choices=["one", "per-sku"], default="one", help="quota: one account or per SKU")
    conv.add_argument("--workers", type=positive_int, default=2, help="worker processes (1 = in this process)")
    conv.add_argument("--batch", type=positive_int, default=20, help="seeds run side by side in one run")
    conv.add_argument("--first-seed", type=positive_int, default=1, help="the first seed")
    conv.add_argument(
        "--resume", type=output_dir, metavar="DIR", help="keep finished runs in DIR and skip those already there"
    )
    conv.add_argument("--json", type=output_file, metavar="FILE", help="write the cells as JSON to FILE")
    conv.add_argument("--plots", type=output_dir, metavar="DIR", help="write PNG plots into DIR")
    conv.add_argument("--quick", action="store_true", help="a small plan that runs in a few minutes")
    conv.add_argument("--quiet", action="store_true", help="no progress line")
    conv.set_defaults(handler=_cmd_convergence)

    spapi = bench_sub.add_parser(
        "spapi",
        help="the SP-API adapter end to end against the fake of Amazon, with and without faults (bench/README.md)",
        description="The daemon as `run --config` composes it, through the SP-API adapter over HTTP (in process) "
        "onto the fake of Amazon, fault-free and under each fault, beside the in-process simulated adapter on the "
        "same markets: times to the Buy Box and to 99% / 99.8% of the best price, requests and quota per "
        "operation, prices outside bounds, updates lost.",
        formatter_class=HelpFormatter,
    )
    spapi.add_argument("--marketplaces", type=marketplace_codes, default="DE,FR,IT", help="country codes of one region")
    spapi.add_argument("--skus", type=positive_int, default=100, help="SKUs per marketplace")
    spapi.add_argument("--hours", type=positive_float, default=4.0, help="simulated hours per run")
    spapi.add_argument("--seed", type=positive_int, default=1, help="seed of the first marketplace's market")
    spapi.add_argument("--scenario", default="S1b", help="simulated competition, S1a..S8")
    spapi.add_argument("--delay", type=_one_duration, default="2m", help="submit→live median D")
    spapi.add_argument("--tau", type=_one_tau, default=0.005, help="Buy Box softmax temperature")
    spapi.add_argument(
        "--faults",
        type=_faults,
        default=None,
        help="runs on the fake, comma-separated: none,storm429,5xx,token,malformed,never-applied, or all "
        "(default: all)",
    )
    spapi.add_argument("--json", type=output_file, metavar="FILE", help="write the runs as JSON to FILE")
    spapi.add_argument("--quiet", action="store_true", help="no line per finished run")
    spapi.set_defaults(handler=_cmd_spapi)

    thr = bench_sub.add_parser(
        "throughput",
        help="offer actors per process: memory, observations/s, latency",
        description="Offer actors per process: bytes per actor, observations per second, decision latency.",
        formatter_class=HelpFormatter,
    )
    thr.add_argument("--actors", type=counts, help="actor counts, like 10k,100k (default: 10k,100k; 1k with --quick)")
    thr.add_argument(
        "--seconds", type=positive_float, help="seconds per rate measurement (default: 10; 0.3 with --quick)"
    )
    thr.add_argument(
        "--latency-seconds", type=positive_float, help="seconds of the latency run (default: 120; 1 with --quick)"
    )
    thr.add_argument(
        "--latency-rate",
        type=positive_float,
        help="observations/s offered in the latency run (default: 10,000; 1,000 with --quick)",
    )
    thr.add_argument(
        "--warmup", type=positive_float, help="seconds before each rate is measured (default: 1; 0.2 with --quick)"
    )
    thr.add_argument(
        "--store",
        type=_stores,
        help="the daemon's store: null, memory or sqlite (a temporary file); several, like memory,sqlite, compare "
        "their decision rates side by side in one process (default: null)",
    )
    thr.add_argument(
        "--rounds", type=positive_int, default=3, help="with several stores: rate measurements of each, alternated"
    )
    thr.add_argument("--quick", action="store_true", help="1,000 actors, a second or so per measurement")
    thr.add_argument("--in-process", action="store_true", help="measure in this process, not a fresh one per count")
    thr.add_argument("--json", type=output_file, metavar="FILE", help="write the runs as JSON to FILE")
    thr.set_defaults(handler=_cmd_throughput)

    store = bench_sub.add_parser(
        "store",
        help="rows/s the SQLite store's writer commits while the daemon decides",
        description="The daemon's real topology (the engine's search, a no-op marketplace) on a SQLite store, and "
        "beside it tasks writing decisions and search states into the same store in batches: rows committed per "
        "second, and the daemon's decision rate meanwhile.",
        formatter_class=HelpFormatter,
    )
    store.add_argument("--seconds", type=positive_float, default=10.0, help="seconds measured per batch size")
    store.add_argument("--warmup", type=positive_float, default=2.0, help="seconds before measuring")
    store.add_argument("--batch", type=counts, help="rows per call, like 100,1000 (default: 100,1000)")
    store.add_argument("--actors", type=_count, default=10_000, help="offer actors deciding meanwhile")
    store.add_argument(
        "--load", type=_loads, help="what the load writes: decisions, states or both (default: decisions,states)"
    )
    store.add_argument(
        "--rate",
        type=positive_float,
        help="observations/s offered to the daemon (default: as many as it takes, the daemon at full speed)",
    )
    store.add_argument("--no-daemon", action="store_true", help="the load alone: the writer's ceiling here")
    store.add_argument("--in-process", action="store_true", help="measure in this process, not one per batch size")
    store.add_argument("--json", type=output_file, metavar="FILE", help="write the runs as JSON to FILE")
    store.set_defaults(handler=_cmd_store)

    imp = bench_sub.add_parser(
        "import",
        help="a large listings export into a fresh SQLite store, phase by phase",
        description="Writes a listings export of --rows rows, then times its import into a fresh SQLite store "
        "(parse, catalog rows, save) and a re-import of the same file.",
        formatter_class=HelpFormatter,
    )
    imp.add_argument("--rows", type=_count, default=100_000, help="rows in the export")
    imp.add_argument(
        "--encoding", choices=["cp1252", "utf-8", "utf-8-sig"], default="cp1252", help="the export's encoding"
    )
    imp.add_argument("--json", type=output_file, metavar="FILE", help="write the run as JSON to FILE")
    imp.set_defaults(handler=_cmd_import)


def _names(text: str, known: Sequence[str], what: str, *, every: bool = False) -> tuple[str, ...]:
    """Comma-separated names out of ``known``, each once (with ``every``, ``all`` is every one of them)."""
    names = tuple(split(text))
    if every and names == ("all",):
        return tuple(known)
    unknown = [name for name in names if name not in known]
    if unknown or not names or len(set(names)) != len(names):
        choices = ", ".join(known) + (", or all" if every else "")
        raise argparse.ArgumentTypeError(
            f"unknown or repeated {what} {', '.join(unknown) or repr(text)}; known: {choices}"
        )
    return names


def _strategies(text: str) -> tuple[str, ...]:
    from bench.convergence import STRATEGIES

    return _names(text, STRATEGIES, "strategy")


def _faults(text: str) -> tuple[str, ...]:
    from bench.spapi import FAULTS

    return _names(text, FAULTS, "fault", every=True)


def _one_duration(text: str) -> float:
    values = durations(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"one duration, not {text!r}")
    return values[0]


def _one_tau(text: str) -> float:
    values = non_negative_floats(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"one temperature, not {text!r}")
    return values[0]


def _stores(text: str) -> tuple[str, ...]:
    from bench.stores import STORES

    return _names(text, STORES, "store")


def _count(text: str) -> int:
    """One count, like 100k."""
    values = counts(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"one count, not {text!r}")
    return values[0]


def _loads(text: str) -> tuple[str, ...]:
    from bench.store import LOADS

    return _names(text, LOADS, "load")


def _cmd_convergence(args: argparse.Namespace) -> int:
    from bench.convergence import STRATEGIES, Plan, cells_json, run_plan, table

    base = _QUICK if args.quick else _DEFAULT
    plan = Plan(
        scenarios=args.scenario or base["scenarios"],
        delays_s=args.delay or base["delays_s"],
        taus=args.tau or base["taus"],
        strategies=args.strategies or STRATEGIES,
        seeds=args.seeds or base["seeds"],
        rows=args.rows or base["rows"],
        hours=args.hours or base["hours"],
        sellers=args.sellers,
        workers=args.workers,
        batch=args.batch,
        first_seed=args.first_seed,
    )
    n_cells = sum(len(plan.strategies_for(scenario)) for scenario, _, _ in plan.groups())
    runs_total = len(plan.batches()) * (n_cells + len(plan.groups()))
    print(
        f"bench convergence: {n_cells} cells, {plan.seeds} seeds × {plan.rows} "
        f"rows, {plan.hours:g} h each, up to {plan.batch} seeds a run: {runs_total} runs and oracles on "
        f"{plan.workers} worker(s)",
        file=sys.stderr,
    )
    started = time.perf_counter()
    cells, runs = run_plan(plan, progress=not args.quiet, resume=args.resume)
    wall = time.perf_counter() - started
    print(table(cells, not_run=plan.not_run()))
    print(f"wall time {wall:.0f} s")
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(cells_json(cells, plan, wall))) + b"\n")
    if args.plots is not None:
        from bench.plots import write_plots

        written = write_plots(cells, runs, args.plots)
        print(f"{len(written)} plots in {args.plots}", file=sys.stderr)
    return 0


def _cmd_spapi(args: argparse.Namespace) -> int:
    from bench.spapi import FAULTS, SpApiPlan, run_plan, spapi_json
    from bench.spapi_report import RunReport, table

    if (problem := check_scenario(args.scenario)) is not None:
        return refuse("repricer bench spapi", problem)
    plan = SpApiPlan(
        marketplaces=args.marketplaces,
        skus=args.skus,
        hours=args.hours,
        seed=args.seed,
        scenario=args.scenario,
        faults=args.faults or FAULTS,
        delay_s=args.delay,
        tau=args.tau,
    )
    print(
        f"bench spapi: {plan.scenario} (D = {plan.delay_s / 60:g} min, τ = {plan.tau:g}), {plan.skus} SKUs × "
        f"{','.join(plan.marketplaces)}, {plan.hours:g} h, seed {plan.seed}: in process, then on the fake with "
        f"faults {', '.join(plan.faults)}",
        file=sys.stderr,
    )

    def said(report: RunReport) -> None:
        if not args.quiet:
            print(f"bench spapi: {report.name} done in {report.wall_s:.0f} s", file=sys.stderr)

    started = time.perf_counter()
    reports = run_plan(plan, progress=said)
    wall = time.perf_counter() - started
    print(table(reports, steady_after_s=plan.steady_after_s))
    print(f"wall time {wall:.0f} s")
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(spapi_json(reports, plan, wall))) + b"\n")
    return 0


def _cmd_throughput(args: argparse.Namespace) -> int:
    from bench.throughput import (
        StoreRate,
        ThroughputPlan,
        ThroughputRun,
        comparison_table,
        run_throughput,
        throughput_json,
        throughput_table,
    )

    # `--quick`: every measurement of the full run, at a size that takes seconds (the suite's smoke test).
    quick = ThroughputPlan(actors=(1000,), seconds=0.3, warmup_s=0.2, latency_seconds=1.0, latency_rate=1000.0)

    base = quick if args.quick else ThroughputPlan()
    plan = ThroughputPlan(
        actors=args.actors or base.actors,
        seconds=args.seconds or base.seconds,
        latency_seconds=args.latency_seconds or base.latency_seconds,
        latency_rate=args.latency_rate or base.latency_rate,
        warmup_s=args.warmup or base.warmup_s,
        isolate=not args.in_process,
        stores=args.store or base.stores,
        rounds=args.rounds,
    )
    runs = run_throughput(plan)
    if len(plan.stores) > 1:
        print(comparison_table([r for r in runs if isinstance(r, StoreRate)]))
    else:
        if plan.stores != ("null",):
            print(f"store: {plan.stores[0]}")
        print(throughput_table([r for r in runs if isinstance(r, ThroughputRun)]))
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(throughput_json(runs, plan))) + b"\n")
    return 0


def _cmd_store(args: argparse.Namespace) -> int:
    from bench.store import StorePlan, run_store, store_json, store_table

    base = StorePlan()
    plan = StorePlan(
        actors=args.actors,
        seconds=args.seconds,
        warmup_s=args.warmup,
        batches=args.batch or base.batches,
        loads=args.load or base.loads,
        daemon=not args.no_daemon,
        rate=args.rate,
        isolate=not args.in_process,
    )
    runs = run_store(plan)
    print(store_table(runs))
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(store_json(runs, plan))) + b"\n")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from bench.imports import ImportPlan, import_json, import_table, run_import

    plan = ImportPlan(rows=args.rows, encoding=args.encoding)
    print(f"bench import: {plan.rows:,} rows, {plan.encoding}", file=sys.stderr)
    run = run_import(plan)
    print(import_table(run))
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(import_json(run, plan))) + b"\n")
    return 0
