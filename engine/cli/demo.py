"""`repricer demo`: the engine against the simulator under virtual time, then a summary.

The demo keeps its state in memory and has no ``--db``: it runs under a MockClock that jumps to the next timer
whenever every task waits, and a task waiting for the SQLite store's thread counts as waiting, so virtual time
would race ahead of the database (trio#456) and the daemon's save deadlines would expire at once. `repricer run
--sim --db PATH`, whose virtual time runs at a steady rate, is the way to keep a simulated run's state.

Imports the simulated adapter and the metrics inside the command; never anything from `bench`.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import msgspec
import trio
import trio.testing

from engine.cli.args import (
    HelpFormatter,
    check_scenario,
    marketplace_code,
    non_negative_int,
    output_file,
    positive_float,
    positive_int,
    refuse,
)

__all__ = ["DemoSummary", "add_parser"]


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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        help="the engine against the simulator under virtual time, then a summary",
        description="Run the daemon on one simulated marketplace under virtual time (hours in seconds), then print "
        "how fast it won the Buy Box and approached the best winning price. State stays in memory (to keep a "
        "simulated run's state in a database, use run --sim --db PATH).",
        formatter_class=HelpFormatter,
    )
    demo.add_argument("--skus", type=positive_int, default=500, help="SKUs on the marketplace")
    demo.add_argument("--hours", type=positive_float, default=4.0, help="simulated hours to run")
    demo.add_argument("--seed", type=non_negative_int, default=1, help="seed of the simulated market")
    demo.add_argument("--scenario", default="S1b", help="simulated competition, S1a..S8")
    demo.add_argument("--marketplace", type=marketplace_code, default="DE", help="country code of the marketplace")
    demo.add_argument("--json", type=output_file, metavar="FILE", help="also write the summary as JSON to FILE")
    demo.set_defaults(handler=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    if (problem := check_scenario(args.scenario)) is not None:
        return refuse("repricer demo", problem)
    from sim.scheduling import fix_scheduling

    started = time.perf_counter()
    fix_scheduling(args.seed)  # the same seed, the same run
    results = trio.run(_demo, args, clock=trio.testing.MockClock(autojump_threshold=0))
    summary = _summarize(args, results, time.perf_counter() - started)
    print(_table(summary))
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


def _summarize(args: argparse.Namespace, results: Any, wall_s: float) -> DemoSummary:
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


def _pct(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.1%}"


def _table(s: DemoSummary) -> str:
    return "\n".join(
        [
            f"repricer demo: {s.skus} SKUs on {s.marketplace}, scenario {s.scenario}, {s.hours:g} h, seed {s.seed} "
            f"({s.wall_s:.1f} s wall)",
            f"  Buy Box share (time-averaged)    {s.buybox_share:.1%}",
            f"  time to Buy Box       median {_minutes(s.median_time_to_buybox_s):>12}   p90 "
            f"{_minutes(s.p90_time_to_buybox_s):>12}   within 30 min {_pct(s.p_buybox_30min)}",
            f"  time to 99% of p*     median {_minutes(s.median_time_to_99_s):>12}   within 60 min "
            f"{_pct(s.p_t99_60min)}",
            f"  time to 99.8% of p*   median {_minutes(s.median_time_to_998_s):>12}   within 120 min "
            f"{_pct(s.p_t998_120min)}",
            f"  updates sent {s.updates_sent}   prices outside bounds {s.prices_outside_bounds}   "
            f"unwinnable offers {s.unwinnable}",
        ]
    )
