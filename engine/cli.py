"""`repricer`: the command line, and the composition root.

This is the only module of `engine/` that wires adapters, the simulator and the benchmarks together; it imports
them inside each subcommand so that `repricer --help` stays fast and the daemon never loads what it does not use.

    repricer run --sim [--skus N] [--marketplaces DE,FR,GB] [--speed X] [--scenario S1b] [--seed S]
    repricer run --config FILE
    repricer demo --skus N --hours H --seed S [--scenario NAME] [--json FILE]
    repricer bench convergence [--scenario S1a,S2|all] [--delay 2m,5m] [--tau 0,0.005] [--seeds N] [--rows R] ...
    repricer bench throughput [--actors 10k,100k] [--seconds S] [--json FILE]
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import trio
import trio.testing

__all__ = ["main"]

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: Any = args.handler
    return int(handler(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repricer", description="Amazon repricing engine")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    sub = parser.add_subparsers(required=True, metavar="command")

    run = sub.add_parser("run", help="run the daemon (on the simulated marketplace with --sim)")
    run.add_argument("--sim", action="store_true", help="run on the embedded simulated marketplace")
    run.add_argument("--config", type=Path, help="run for your seller account, configured in FILE")
    run.add_argument("--skus", type=_positive_int, default=200, help="SKUs per marketplace (--sim)")
    run.add_argument("--marketplaces", type=_codes, default=("DE", "FR", "GB"), help="comma-separated (--sim)")
    run.add_argument("--speed", type=_positive_float, default=60.0, help="simulated seconds per second (--sim)")
    run.add_argument("--scenario", default="S1b", help="simulated competition, S1a..S8 (--sim)")
    run.add_argument("--seed", type=int, default=1, help="seed of the simulated market (--sim)")
    run.add_argument("--hours", type=_positive_float, default=None, help="stop after this much simulated time")
    run.set_defaults(handler=_cmd_run)

    demo = sub.add_parser("demo", help="the engine against the simulator under virtual time, then a summary")
    demo.add_argument("--skus", type=_positive_int, default=500)
    demo.add_argument("--hours", type=_positive_float, default=4.0)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--scenario", default="S1b")
    demo.add_argument("--marketplace", default="DE")
    demo.add_argument("--json", type=Path, help="also write the summary as JSON to FILE")
    demo.set_defaults(handler=_cmd_demo)

    bench = sub.add_parser("bench", help="benchmarks: convergence against simulated competitors, throughput")
    bench_sub = bench.add_subparsers(required=True, metavar="benchmark")
    conv = bench_sub.add_parser(
        "convergence",
        help="the engine and the baselines against simulated competitors, side by side (bench/README.md)",
    )
    conv.add_argument("--scenario", type=_scenarios, default=None, help="S1a..S8, comma-separated, or all")
    conv.add_argument("--delay", type=_durations, default=None, help="submit→live median D: 2m,5m,15m")
    conv.add_argument("--tau", type=_floats, default=None, help="Buy Box softmax temperature: 0,0.005")
    conv.add_argument("--seeds", type=_positive_int, default=None, help="independent markets per cell")
    conv.add_argument("--rows", type=_positive_int, default=None, help="rows (SKUs) per market")
    conv.add_argument("--hours", type=_positive_float, default=None, help="simulated hours per run (24)")
    conv.add_argument("--strategies", type=_strategies, default=None, help="engine,undercut,match,...")
    conv.add_argument("--sellers", choices=["one", "per-sku"], default="one", help="quota: one account or per SKU")
    conv.add_argument("--workers", type=_positive_int, default=2, help="worker processes (1 = in this process)")
    conv.add_argument("--batch", type=_positive_int, default=20, help="seeds run side by side in one run (20)")
    conv.add_argument("--first-seed", type=_positive_int, default=1, help="the first seed (1)")
    conv.add_argument("--resume", type=Path, help="keep finished runs in DIR and skip those already there")
    conv.add_argument("--json", type=Path, help="write the cells as JSON to FILE")
    conv.add_argument("--plots", type=Path, help="write PNG plots into DIR")
    conv.add_argument("--quick", action="store_true", help="a small plan that runs in a few minutes")
    conv.add_argument("--quiet", action="store_true", help="no progress line")
    conv.set_defaults(handler=_cmd_bench_convergence)

    thr = bench_sub.add_parser("throughput", help="offer actors per process: memory, observations/s, latency")
    thr.add_argument("--actors", type=_counts, default=None, help="actor counts: 10k,100k")
    thr.add_argument("--seconds", type=_positive_float, default=None, help="seconds per rate measurement (10)")
    thr.add_argument("--latency-seconds", type=_positive_float, default=None, help="seconds of the latency run (120)")
    thr.add_argument("--latency-rate", type=_positive_float, default=None, help="observations/s offered (10,000)")
    thr.add_argument("--warmup", type=_positive_float, default=None, help="seconds before each rate is measured (1)")
    thr.add_argument("--quick", action="store_true", help="1,000 actors, a second or so per measurement")
    thr.add_argument("--in-process", action="store_true", help="measure in this process, not a fresh one per count")
    thr.add_argument("--json", type=Path, help="write the runs as JSON to FILE")
    thr.set_defaults(handler=_cmd_bench_throughput)
    return parser


# --- argument types --------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _codes(text: str) -> tuple[str, ...]:
    from engine.marketplaces import MARKETPLACES

    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    unknown = [code for code in codes if code not in MARKETPLACES]
    if unknown or not codes:
        raise argparse.ArgumentTypeError(
            f"unknown marketplace {', '.join(unknown) or text!r}; known: {', '.join(MARKETPLACES)}"
        )
    return codes


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _scenarios(text: str) -> tuple[str, ...]:
    from sim.scenarios import SCENARIOS

    if text.strip().lower() == "all":
        return tuple(SCENARIOS)
    names = tuple(_split(text))
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {', '.join(unknown) or text!r}; known: {', '.join(SCENARIOS)}"
        )
    return names


def _durations(text: str) -> tuple[float, ...]:
    """Durations like 2m,90s,1h as seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    values = []
    for part in _split(text):
        scale = units.get(part[-1].lower())
        try:
            value = float(part[:-1]) * scale if scale is not None else float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a duration: {part!r} (say 2m, 90s or 1h)") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"a duration must be positive, not {part!r}")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError("no duration given")
    return tuple(values)


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in _split(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"need non-negative numbers, not {text!r}")
    return values


def _counts(text: str) -> tuple[int, ...]:
    """Counts like 10k,100k,1500."""
    values = []
    for part in _split(text):
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1].lower(), 1)
        digits = part[:-1] if scale > 1 else part
        try:
            value = int(float(digits) * scale)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a count: {part!r} (say 10k or 1500)") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"a count must be positive, not {part!r}")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError("no count given")
    return tuple(values)


def _strategies(text: str) -> tuple[str, ...]:
    from bench.convergence import STRATEGIES

    names = tuple(_split(text))
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown strategy {', '.join(unknown) or text!r}; known: {', '.join(STRATEGIES)}"
        )
    return names


def _check_scenario(name: str) -> str | None:
    from sim.scenarios import SCENARIOS

    if name not in SCENARIOS:
        return f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}"
    return None


# --- run ---------------------------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    if not args.sim and args.config is None:
        print(
            "repricer run: say where to run: --sim (the embedded simulated marketplace) "
            "or --config FILE (your seller account)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.sim and args.config is not None:
        print("repricer run: --sim and --config exclude each other", file=sys.stderr)
        return EXIT_USAGE
    if args.config is not None:
        print(
            f"repricer run --config {args.config}: running against Amazon needs the SP-API adapter and the SQLite "
            "store, which this version does not have yet; use --sim",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if (problem := _check_scenario(args.scenario)) is not None:
        print(f"repricer run: {problem}", file=sys.stderr)
        return EXIT_USAGE
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

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, run.daemon.stop)
        nursery.start_soon(_refresh, tick, refresh)
        if args.hours is not None:
            nursery.start_soon(_stop_after, run.daemon.stop, args.hours * 3600)
        await run.daemon.run()
        nursery.cancel_scope.cancel()
    tick()
    states = sum(len(r.actors) for r in run.runtimes)
    print(f"stopped: {states} search states saved, outbox persisted", file=sys.stderr)
    return 0 if run.daemon.stopped_cleanly else 1


async def _stop_on_signal(stop: trio.Event) -> None:
    """SIGTERM or SIGINT: stop intake, let the decisions in hand finish, persist, exit 0."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


async def _refresh(tick: Any, every: float) -> None:
    while True:
        await trio.sleep(every)
        tick()


async def _stop_after(stop: trio.Event, seconds: float) -> None:
    await trio.sleep(seconds)
    stop.set()


# --- demo --------------------------------------------------------------------------------------------------------


class DemoSummary(msgspec.Struct, frozen=True):
    skus: int
    hours: float
    seed: int
    scenario: str
    marketplace: str
    buybox_share: float
    median_time_to_buybox_s: float | None
    p90_time_to_buybox_s: float | None
    median_time_to_99_s: float | None
    median_time_to_998_s: float | None
    p_buybox_30min: float | None
    p_t99_60min: float | None
    p_t998_120min: float | None
    updates_sent: int
    prices_outside_bounds: int
    unwinnable: int
    wall_s: float


def _cmd_demo(args: argparse.Namespace) -> int:
    if (problem := _check_scenario(args.scenario)) is not None:
        print(f"repricer demo: {problem}", file=sys.stderr)
        return EXIT_USAGE
    import time

    from sim.scheduling import fix_scheduling

    started = time.perf_counter()
    fix_scheduling(args.seed)  # the same seed, the same run
    results = trio.run(_demo, args, clock=trio.testing.MockClock(autojump_threshold=0))
    summary = _summarize_demo(args, results, time.perf_counter() - started)
    print(_demo_table(summary))
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(summary)) + b"\n")
    return 0


async def _demo(args: argparse.Namespace) -> Any:
    from adapters.simulated.run import build_run
    from engine.pricing.search import EngineSearch

    run = build_run(
        scenario=args.scenario,
        seed=args.seed,
        skus=args.skus,
        strategy=EngineSearch(),
        marketplaces=(args.marketplace,),
    )
    await run.run_for(args.hours * 3600)
    return run.results


def _summarize_demo(args: argparse.Namespace, results: Any, wall_s: float) -> DemoSummary:
    from sim import metrics

    result = results[0]
    rows = metrics.run_metrics(result.trajectory, reacting=result.reacting)
    cell = metrics.summarize(rows, oracle_profit=None, updates_sent=result.updates_sent)
    return DemoSummary(
        skus=args.skus,
        hours=args.hours,
        seed=args.seed,
        scenario=args.scenario,
        marketplace=args.marketplace,
        buybox_share=sum(r.mean_share for r in rows) / max(1, len(rows)),
        median_time_to_buybox_s=cell.median_t_buybox_s,
        p90_time_to_buybox_s=cell.p90_t_buybox_s,
        median_time_to_99_s=cell.median_t_99_s,
        median_time_to_998_s=cell.median_t_998_s,
        p_buybox_30min=cell.p_buybox_30min,
        p_t99_60min=cell.p_t99_60min,
        p_t998_120min=cell.p_t998_120min,
        updates_sent=result.updates_sent,
        prices_outside_bounds=cell.prices_outside_bounds,
        unwinnable=cell.unwinnable,
        wall_s=round(wall_s, 2),
    )


def _minutes(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds / 60:.1f} min"


def _demo_table(s: DemoSummary) -> str:
    def pct(p: float | None) -> str:
        return "n/a" if p is None else f"{p:.1%}"

    return "\n".join(
        [
            f"repricer demo: {s.skus} SKUs on {s.marketplace}, scenario {s.scenario}, {s.hours:g} h, seed {s.seed} "
            f"({s.wall_s:.1f} s wall)",
            f"  Buy Box share (time-averaged)    {s.buybox_share:.1%}",
            f"  time to Buy Box       median {_minutes(s.median_time_to_buybox_s):>12}   p90 "
            f"{_minutes(s.p90_time_to_buybox_s):>12}   within 30 min {pct(s.p_buybox_30min)}",
            f"  time to 99% of p*     median {_minutes(s.median_time_to_99_s):>12}   within 60 min "
            f"{pct(s.p_t99_60min)}",
            f"  time to 99.8% of p*   median {_minutes(s.median_time_to_998_s):>12}   within 120 min "
            f"{pct(s.p_t998_120min)}",
            f"  updates sent {s.updates_sent}   prices outside bounds {s.prices_outside_bounds}   "
            f"unwinnable offers {s.unwinnable}",
        ]
    )


# --- bench ---------------------------------------------------------------------------------------------------------

# `--quick`: every strategy on one static and one reacting scenario, a few seeds of a few rows, six hours.
_QUICK = {"scenarios": ("S1b", "S2"), "delays_s": (120.0,), "taus": (0.005,), "seeds": 2, "rows": 10, "hours": 6.0}
# Without --quick: the ten headline cells' grid of buybox.md, one-row seeds as its protocol has them, at a size
# that runs in tens of minutes (the full plan is 500 seeds; see bench/README.md).
_DEFAULT = {
    "scenarios": ("S1a", "S1b", "S2", "S4", "S5"),
    "delays_s": (120.0, 300.0),
    "taus": (0.005,),
    "seeds": 40,
    "rows": 1,
    "hours": 24.0,
}


def _cmd_bench_convergence(args: argparse.Namespace) -> int:
    import time

    from bench.convergence import STRATEGIES, Plan, cells_json, run_plan, table

    base: dict[str, Any] = dict(_QUICK if args.quick else _DEFAULT)
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
    runs_total = len(plan.groups()) * len(plan.batches()) * (len(plan.strategies) + 1)
    print(
        f"bench convergence: {len(plan.groups()) * len(plan.strategies)} cells, {plan.seeds} seeds × {plan.rows} "
        f"rows, {plan.hours:g} h each, up to {plan.batch} seeds a run: {runs_total} runs and oracles on "
        f"{plan.workers} worker(s)",
        file=sys.stderr,
    )
    started = time.perf_counter()
    cells, runs = run_plan(plan, progress=not args.quiet, resume=args.resume)
    wall = time.perf_counter() - started
    print(table(cells))
    print(f"wall time {wall:.0f} s")
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(cells_json(cells, plan, wall))) + b"\n")
    if args.plots is not None:
        from bench.plots import write_plots

        written = write_plots(cells, runs, args.plots)
        print(f"{len(written)} plots in {args.plots}", file=sys.stderr)
    return 0


def _cmd_bench_throughput(args: argparse.Namespace) -> int:
    from bench.throughput import ThroughputPlan, run_throughput, throughput_json, throughput_table

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
    )
    runs = run_throughput(plan)
    print(throughput_table(runs))
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(throughput_json(runs, plan))) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
