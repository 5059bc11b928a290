"""`repricer bench convergence`: the engine and the baselines against the simulated competitors, side by side.

Protocol: reference/buybox.md ("Definitions", "Scenarios", "Baselines"). A *cell* is (scenario, D, τ, strategy).
Every run is the real daemon (`adapters.simulated.run.build_run`): simulated marketplace adapter, intake, router, offer
actors, policy, guard, batcher, with the strategy under test plugged into the offer actors, under
`MockClock(autojump_threshold=0)`. The metrics are `sim.metrics`'s, never recomputed here.

What a seed is. One seed is one independent simulated market: its own Buy Box coefficients (each γ drawn within
±50% of its default), its own R rows (SKUs, each with its own competitors, bounds and costs) and its own random
streams; all R rows belong to one seller account sharing one SP-API quota (``--sellers one``, as a real seller)
unless ``--sellers per-sku``. Every strategy of a (scenario, D, τ) runs on the same seeds, so the strategies see
the same markets and the same random numbers (common random numbers). Statistics are over rows (seeds × R);
the bootstrap CIs of `sim.metrics.summarize` resample rows, and beside them a cluster bootstrap resamples whole
seeds (`*_ci_seed`), which is the honest interval when rows of one seed share coefficients. Both counts are
reported.

The oracle, per (scenario, D, τ, seed), shared by the strategies:
- reacting scenarios (S2–S8): `sim.oracle.best_constant_price`, the best constant price per row, re-simulated
  with the same random numbers;
- static scenarios (S1a, S1b): "p* itself": each row held at the p* of the market's first moment (the highest
  price that wins against the initial incumbent; competitors never move, so it wins all day), re-simulated the
  same way (`sim.oracle.expected_profit` of a constant-price replica). The best constant price is reported beside
  it for every scenario (``profit_ratio_best_constant``): under τ > 0 it sits below p*, where our share is well
  above one half, so it earns more than p* does.

Runs are independent `trio.run`s, so (cell, batch of seeds) runs and oracles go to a pool of worker processes. A
batch is several seeds in one run (``--batch``, `adapters.simulated.run.build_run`): their markets side by side in one
simulated market, each its own seller account with its own runtime, so each seed is the market it would be alone
while the simulator handles their events in the same vectorised rounds.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from bench.progress import Progress

__all__ = [
    "STRATEGIES",
    "CellResult",
    "OracleOutcome",
    "OracleTask",
    "Plan",
    "RunOutcome",
    "RunTask",
    "cells_json",
    "minutes_label",
    "run_plan",
    "table",
]

# "engine-flat" is the engine's search without its prior (`ScorePrior.flat`): what the search finds on its own,
# beside what the engine's public-knowledge prior adds (the simulator's formula is drawn wider than that prior).
STRATEGIES: Final = ("engine", "engine-flat", "undercut", "match", "step", "bisect", "pbisect", "foep")
# Baselines that price exactly as another one on a scenario, so their row would repeat the other's: not run there
# when the other is in the plan. S1a has one static seller, so the lowest offer is the Buy Box winner and "match"
# prices as "undercut" does (every S1a figure of the two was the same).
SAME_AS: Final[dict[tuple[str, str], str]] = {("S1a", "match"): "undercut"}
F64 = npt.NDArray[np.float64]
Sellers = Literal["one", "per-sku"]


# --- the plan ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a convergence benchmark runs: the grid, the seeds, the rows per seed and the horizon."""

    scenarios: tuple[str, ...]
    delays_s: tuple[float, ...]
    taus: tuple[float, ...]
    strategies: tuple[str, ...]
    seeds: int
    rows: int
    hours: float
    sellers: Sellers = "one"
    workers: int = 2
    first_seed: int = 1
    n_boot: int = 1000
    batch: int = 1  # seeds per run

    @property
    def seed_values(self) -> range:
        return range(self.first_seed, self.first_seed + self.seeds)

    def batches(self) -> list[tuple[int, ...]]:
        seeds = list(self.seed_values)
        size = max(1, self.batch)
        return [tuple(seeds[i : i + size]) for i in range(0, len(seeds), size)]

    def groups(self) -> list[tuple[str, float, float]]:
        """Every (scenario, D, τ): the unit that shares seeds and an oracle."""
        return [(s, d, t) for s in self.scenarios for d in self.delays_s for t in self.taus]

    def strategies_for(self, scenario: str) -> tuple[str, ...]:
        """The strategies run on ``scenario``: the plan's, less those that would repeat another's (`SAME_AS`)."""
        return tuple(s for s in self.strategies if SAME_AS.get((scenario, s)) not in self.strategies)

    def not_run(self) -> dict[str, str]:
        """Each strategy left out of a scenario, as "scenario strategy", and the strategy its row would repeat."""
        return {
            f"{scenario} {strategy}": SAME_AS[(scenario, strategy)]
            for scenario in self.scenarios
            for strategy in self.strategies
            if strategy not in self.strategies_for(scenario)
        }


@dataclass(frozen=True, slots=True)
class RunTask:
    scenario: str
    delay_s: float
    tau: float
    seeds: tuple[int, ...]
    strategy: str
    rows: int
    hours: float
    sellers: Sellers
    sample_rows: int = 1  # rows of the first seed whose series come back for the trajectory plot


@dataclass(frozen=True, slots=True)
class OracleTask:
    scenario: str
    delay_s: float
    tau: float
    seeds: tuple[int, ...]
    rows: int
    hours: float
    sellers: Sellers


@dataclass(frozen=True, slots=True)
class Series:
    """One row's recorded price and p* (for the trajectory plot); value k holds on [t[k], t[k+1])."""

    t: F64
    our_price: npt.NDArray[np.int64]
    p_star: npt.NDArray[np.int64]
    min_price: int
    max_price: int
    end: float


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """One seed of a run (a batch gives one per seed)."""

    task: RunTask
    seed: int
    rows: list[Any]  # sim.metrics.RowMetrics, one per row
    updates_sent: int
    bound_ratio: F64  # max/min per row
    samples: list[Series]
    wall_s: float


@dataclass(frozen=True, slots=True)
class OracleOutcome:
    task: OracleTask
    seed: int
    best_constant: F64  # profit per row
    p_star_held: F64  # profit per row of holding the initial p* (static scenarios' oracle)
    wall_s: float


def _params(scenario: str, delay_s: float, tau: float, sellers: Sellers) -> Any:
    from sim.scenarios import RunParams

    return RunParams.cell(delay_s=delay_s, tau=tau, start="max", sellers=sellers)


def _strategy(name: str) -> Any:
    if name in ("engine", "engine-flat"):
        from engine.pricing.scoring import ScorePrior
        from engine.pricing.search import EngineSearch, SearchConfig

        return EngineSearch() if name == "engine" else EngineSearch(SearchConfig(prior=ScorePrior.flat()))
    from engine.pricing.baselines import make_baseline

    return make_baseline(name)


# --- one run, one oracle (in a worker process) ---------------------------------------------------------------


Outcome = RunOutcome | OracleOutcome


def execute(task: RunTask | OracleTask) -> list[Outcome]:
    """Run one task; a module-level function so a process pool can pickle it."""
    if isinstance(task, RunTask):
        return list(run_one(task))
    return list(oracle_one(task))


def run_one(task: RunTask) -> list[RunOutcome]:
    """One strategy on a batch of seeds' markets for ``hours`` of virtual time, through the real daemon."""
    import trio
    import trio.testing

    from adapters.simulated.run import build_run
    from sim import metrics
    from sim.scheduling import fix_scheduling

    started = time.perf_counter()
    params = _params(task.scenario, task.delay_s, task.tau, task.sellers)

    async def main() -> Any:
        seed = task.seeds[0]
        batch = task.seeds if len(task.seeds) > 1 else ()
        strategy = _strategy(task.strategy)
        run = build_run(
            scenario=task.scenario, seed=seed, skus=task.rows, strategy=strategy, params=params, batch=batch
        )
        await run.run_for(task.hours * 3600.0)
        return run.results

    fix_scheduling(task.seeds[0])
    results = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    wall = (time.perf_counter() - started) / len(results)
    outcomes = []
    for i, result in enumerate(results):
        traj = result.trajectory
        rows = metrics.run_metrics(traj, reacting=result.reacting)
        samples = []
        for row in range(min(task.sample_rows if i == 0 else 0, traj.n_rows)):
            series = traj.row_series(row)
            samples.append(
                Series(
                    series.t.copy(),
                    series.our_price.copy(),
                    series.p_star.copy(),
                    int(traj.min_price[row]),
                    int(traj.max_price[row]),
                    traj.end,
                )
            )
        ratio = traj.max_price / traj.min_price
        outcomes.append(RunOutcome(task, result.seed, rows, result.updates_sent, ratio, samples, wall))
    return outcomes


def oracle_one(task: OracleTask) -> list[OracleOutcome]:
    """The oracle's profit per row for a batch of seeds: best constant price, and the initial p* held (see module
    doc), the seeds' markets side by side in one simulated market."""
    from sim.market import Market
    from sim.oracle import best_constant_price, expected_profit
    from sim.scenarios import build_spec
    from sim.spec import MarketSpec

    started = time.perf_counter()
    params = _params(task.scenario, task.delay_s, task.tau, task.sellers)
    horizon = task.hours * 3600.0
    spec = MarketSpec.concat([build_spec(task.scenario, seed, task.rows, params) for seed in task.seeds])
    sim_params = {"latency": params.latency, "buybox": params.buybox, "orders": params.orders}
    best = best_constant_price(spec, horizon_s=horizon, **sim_params)
    initial = Market(spec, notifications=False, **sim_params)
    p_star = np.asarray(initial.p_star, np.int64)
    # An unwinnable row has no p*: the oracle then waits at max, as the engine does.
    held_price = np.where(p_star > 0, p_star, spec.max_price)
    replica = spec.replicate(1, held_price)
    market = Market(replica, notifications=False, **sim_params)
    held = expected_profit(market.finish(horizon), replica.start_price)
    wall = (time.perf_counter() - started) / len(task.seeds)
    n = task.rows
    return [
        OracleOutcome(task, seed, best.profit[i * n : (i + 1) * n], held[i * n : (i + 1) * n], wall)
        for i, seed in enumerate(task.seeds)
    ]


# --- running the plan -----------------------------------------------------------------------------------------


def tasks(plan: Plan) -> list[RunTask | OracleTask]:
    """Every run and oracle of the plan: batch by batch of seeds, so that whatever part of a long plan has run
    covers every cell; within a batch the slowest scenarios first, so the pool's last minutes are not idle."""
    from sim.scenarios import SCENARIOS

    weight = {name: len(sc.roles) + (3 if sc.reacting else 0) for name, sc in SCENARIOS.items()}
    out: list[RunTask | OracleTask] = []
    for seeds in plan.batches():
        batch: list[RunTask | OracleTask] = []
        for scenario, delay, tau in plan.groups():
            batch.append(OracleTask(scenario, delay, tau, seeds, plan.rows, plan.hours, plan.sellers))
            sample = 3 if seeds[0] == plan.first_seed else 0
            for strategy in plan.strategies_for(scenario):
                task = RunTask(scenario, delay, tau, seeds, strategy, plan.rows, plan.hours, plan.sellers, sample)
                batch.append(task)
        out.extend(sorted(batch, key=lambda t: -weight[t.scenario]))
    return out


def _finished_path(directory: Path, task: RunTask | OracleTask) -> Path:
    """Where a finished task's outcomes are kept: named by a hash of the task, which is all that determines them
    for a given engine (so the directory belongs to one version of the code)."""
    return directory / f"{hashlib.sha256(repr(task).encode()).hexdigest()[:20]}.pickle"


def run_plan(
    plan: Plan,
    *,
    progress: bool = True,
    on_done: Callable[[Outcome], None] | None = None,
    resume: Path | None = None,
) -> tuple[list[CellResult], list[RunOutcome]]:
    """Run every task (in ``plan.workers`` processes; in this process when 1) and aggregate the cells.

    With ``resume``, each finished task's outcomes are kept in that directory as it finishes, and tasks found
    there are not run again: a long plan stopped part way resumes where it was, and a plan that covers part of
    another (fewer seeds, fewer cells) reuses its runs.
    """
    todo = tasks(plan)
    outcomes: list[Outcome] = []
    if resume is not None:
        resume.mkdir(parents=True, exist_ok=True)
        left = []
        for task in todo:
            path = _finished_path(resume, task)
            if path.exists():
                outcomes.extend(pickle.loads(path.read_bytes()))
            else:
                left.append(task)
        todo = left
    bar = Progress(len(todo), "bench convergence") if progress else None

    def finished(batch: list[Outcome]) -> None:
        outcomes.extend(batch)
        if resume is not None and batch:
            path = _finished_path(resume, batch[0].task)
            partial = path.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(batch))
            partial.replace(path)  # whole or not at all: a run stopped mid-write is run again
        if on_done is not None:
            for outcome in batch:
                on_done(outcome)
        if bar is not None:
            bar.step(_describe(batch))

    if plan.workers <= 1:
        for task in todo:
            finished(execute(task))
    else:
        with ProcessPoolExecutor(max_workers=plan.workers, mp_context=get_context("spawn")) as pool:
            pending: set[Future[list[Outcome]]] = {pool.submit(execute, task) for task in todo}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(future.result())
    runs = [o for o in outcomes if isinstance(o, RunOutcome)]
    oracles = [o for o in outcomes if isinstance(o, OracleOutcome)]
    return aggregate(plan, runs, oracles), runs


def _describe(batch: list[Outcome]) -> str:
    task = batch[0].task
    what = task.strategy if isinstance(task, RunTask) else "oracle"
    seeds = f"seed {task.seeds[0]}" if len(task.seeds) == 1 else f"seeds {task.seeds[0]}-{task.seeds[-1]}"
    wall = sum(o.wall_s for o in batch)
    return f"last: {task.scenario} D={minutes_label(task.delay_s)} τ={task.tau:g} {what} {seeds} ({wall:.1f} s)"


# --- aggregation -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class CellResult:
    """One cell: the JSON contract's fields, then everything else the table and the README show."""

    scenario: str
    delay_s: float
    tau: float
    strategy: str
    seeds: int
    rows: int
    summary: Any  # sim.metrics.CellSummary
    profit_ratio: float | None
    profit_ratio_best_constant: float | None
    oracle: str
    seed_cis: dict[str, tuple[float | None, float | None]]
    floors: dict[str, float]
    wall_s: float
    t_99: list[float | None] = field(default_factory=list)  # per winnable row, for the CDF plot

    def as_json(self) -> dict[str, Any]:
        s = self.summary
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "delay_s": self.delay_s,
            "tau": self.tau,
            "strategy": self.strategy,
            "seeds": self.seeds,
            "p_buybox_30min": s.p_buybox_30min,
            "median_t_buybox_s": s.median_t_buybox_s,
            "median_t_99_s": s.median_t_99_s,
            "median_t_998_s": s.median_t_998_s,
            "p_t99_60min": s.p_t99_60min,
            "p_t998_120min": s.p_t998_120min,
            "profit_ratio": self.profit_ratio,
            "prices_outside_bounds": s.prices_outside_bounds,
            "unwinnable": s.unwinnable,
            # Beyond the contract:
            "rows": self.rows,
            "rows_per_seed": self.rows // max(1, self.seeds),
            "oracle": self.oracle,
            "profit_ratio_best_constant": self.profit_ratio_best_constant,
            "wall_s": round(self.wall_s, 2),
        }
        for name, value in s.as_dict().items():
            if name not in out and name not in ("profit_ratio", "n"):
                out[name] = list(value) if isinstance(value, tuple) else value
        for name, ci in self.seed_cis.items():
            out[f"{name}_ci_seed"] = list(ci)
        out["information_floor_s"] = self.floors
        return out


def aggregate(plan: Plan, runs: Sequence[RunOutcome], oracles: Sequence[OracleOutcome]) -> list[CellResult]:
    from sim import metrics
    from sim.scenarios import SCENARIOS

    oracle_by = {(o.task.scenario, o.task.delay_s, o.task.tau, o.seed): o for o in oracles}
    by_cell: dict[tuple[str, float, float, str], list[RunOutcome]] = {}
    for run in runs:
        t = run.task
        by_cell.setdefault((t.scenario, t.delay_s, t.tau, t.strategy), []).append(run)
    cells = []
    for scenario, delay, tau in plan.groups():
        reacting = SCENARIOS[scenario].reacting
        for strategy in plan.strategies:
            group = sorted(by_cell.get((scenario, delay, tau, strategy), []), key=lambda r: r.seed)
            if not group:
                continue
            rows = [row for run in group for row in run.rows]
            found = [oracle_by.get((scenario, delay, tau, run.seed)) for run in group]
            have_oracle = all(o is not None for o in found)
            best = np.concatenate([o.best_constant for o in found if o is not None]) if have_oracle else None
            held = np.concatenate([o.p_star_held for o in found if o is not None]) if have_oracle else None
            oracle_profit = best if reacting else held
            seed = _stable_seed(scenario, delay, tau, strategy)
            summary = metrics.summarize(
                rows,
                oracle_profit=oracle_profit,
                updates_sent=sum(run.updates_sent for run in group),
                seed=seed,
                n_boot=plan.n_boot,
            )
            best_ratio = summary.profit_ratio
            if not reacting and best is not None:
                best_ratio = _ratio([r.profit for r in rows], best)
            ratios = np.concatenate([run.bound_ratio for run in group])
            cells.append(
                CellResult(
                    scenario=scenario,
                    delay_s=delay,
                    tau=tau,
                    strategy=strategy,
                    seeds=len(group),
                    rows=len(rows),
                    summary=summary,
                    profit_ratio=summary.profit_ratio,
                    profit_ratio_best_constant=best_ratio,
                    oracle="best_constant_price" if reacting else "p_star_held",
                    seed_cis=_seed_cis(group, seed, plan.n_boot),
                    floors=_floors(float(np.median(ratios)), delay),
                    wall_s=sum(run.wall_s for run in group),
                    t_99=[r.t_99 for r in rows if not r.unwinnable],
                )
            )
    return cells


def _ratio(ours: Iterable[float], oracle: F64) -> float | None:
    total = float(oracle.sum())
    return float(sum(ours)) / total if total > 0 else None


def _stable_seed(*parts: object) -> int:
    """A bootstrap seed that depends on the cell only (Python's str hash is salted per process)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def _seed_cis(group: Sequence[RunOutcome], seed: int, n_boot: int) -> dict[str, tuple[float | None, float | None]]:
    """Cluster-bootstrap 95% CIs of the medians: resample whole seeds (markets), take `sim.metrics.median`.

    With fewer than 5 seeds a cluster bootstrap says nothing, so the intervals are left out.
    """
    from sim import metrics

    if len(group) < 5:
        return {}
    rng = np.random.default_rng(seed)
    out: dict[str, tuple[float | None, float | None]] = {}
    for name in ("t_buybox", "t_99", "t_998"):
        per_seed = [[getattr(r, name) for r in run.rows if not r.unwinnable] for run in group]
        stats = []
        for _ in range(n_boot):
            picked = rng.integers(0, len(per_seed), len(per_seed))
            value = metrics.median([v for i in picked for v in per_seed[i]])
            stats.append(math.inf if value is None else value)
        # Censored medians are inf: take order statistics, since interpolating between two of them is undefined.
        low, high = np.quantile(np.array(stats), [0.025, 0.975], method="inverted_cdf")
        out[f"median_{name}_s"] = (
            float(low) if math.isfinite(low) else None,
            float(high) if math.isfinite(high) else None,
        )
    return out


def _floors(bound_ratio: float, delay_s: float) -> dict[str, float]:
    """buybox.md's information floor: one round trip with a direct signal; N0 round trips searching blind."""
    from sim import metrics

    signal = metrics.information_floor_s(r=bound_ratio, alpha=0.99, submit_to_live_median_s=delay_s, direct_signal=True)
    return {
        "bound_ratio": round(bound_ratio, 3),
        "signal_s": signal,
        "search_99_s": metrics.information_floor_s(
            r=bound_ratio, alpha=0.99, submit_to_live_median_s=delay_s, direct_signal=False
        ),
        "search_998_s": metrics.information_floor_s(
            r=bound_ratio, alpha=0.998, submit_to_live_median_s=delay_s, direct_signal=False
        ),
    }


# --- output ------------------------------------------------------------------------------------------------------


def cells_json(cells: Sequence[CellResult], plan: Plan, wall_s: float) -> dict[str, Any]:
    return {
        "cells": [c.as_json() for c in cells],
        "plan": {
            "scenarios": list(plan.scenarios),
            "delays_s": list(plan.delays_s),
            "taus": list(plan.taus),
            "strategies": list(plan.strategies),
            "not_run_same_as": plan.not_run(),
            "seeds": plan.seeds,
            "rows_per_seed": plan.rows,
            "hours": plan.hours,
            "sellers": plan.sellers,
            "start": "max",
            "workers": plan.workers,
            "wall_s": round(wall_s, 1),
        },
    }


def minutes_label(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds % 60 == 0 else f"{seconds:g}s"


def _t(seconds: float | None) -> str:
    """A time in minutes for the table; '>H' where the statistic is censored."""
    if seconds is None:
        return "cens."
    return f"{seconds / 60:.1f}"


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _ci(ci: tuple[float | None, float | None] | None) -> str:
    if not ci:
        return ""
    low, high = ci
    return f"[{_t(low)},{_t(high)}]"


HEADER: Final = (
    f"{'scen':<4} {'D':>4} {'τ':>5} {'strategy':<11} {'seeds×rows':>10} │ {'P(BB≤30)':>8} {'T_BB med [CI]':>19} "
    f"{'p90':>6} │ {'T99 med [CI]':>20} {'p90':>6} {'≤60':>5} │ {'T99.8 med':>9} {'p90':>6} {'≤120':>5} │ "
    f"{'reconv99':>8} │ {'profit':>6} {'(best)':>6} {'noBB':>6} {'@min':>5} {'upd/row':>7} {'unw':>4} {'out':>3} │ "
    f"floor sig/99/99.8"
)


def table(cells: Sequence[CellResult], *, not_run: Mapping[str, str] | None = None) -> str:
    """The terminal table: times in minutes (medians with row-bootstrap 95% CIs), probabilities, profit.
    ``not_run``: the cells left out because they would repeat another's (`Plan.not_run`), named under it."""
    lines = [HEADER, "─" * len(HEADER)]
    previous: tuple[str, float, float] | None = None
    for c in cells:
        s = c.summary
        group = (c.scenario, c.delay_s, c.tau)
        if previous is not None and group != previous:
            lines.append("")
        previous = group
        floors = c.floors
        lines.append(
            f"{c.scenario:<4} {minutes_label(c.delay_s):>4} {c.tau:>5g} {c.strategy:<11} "
            f"{f'{c.seeds}×{c.rows // max(1, c.seeds)}':>10} │ {_p(s.p_buybox_30min):>8} "
            f"{_t(s.median_t_buybox_s) + ' ' + _ci(s.median_t_buybox_s_ci):>19} {_t(s.p90_t_buybox_s):>6} │ "
            f"{_t(s.median_t_99_s) + ' ' + _ci(s.median_t_99_s_ci):>20} {_t(s.p90_t_99_s):>6} "
            f"{_p(s.p_t99_60min):>5} │ {_t(s.median_t_998_s):>9} {_t(s.p90_t_998_s):>6} {_p(s.p_t998_120min):>5} │ "
            f"{_t(s.median_reconvergence_99_s) if s.n_moves else '—':>8} │ "
            f"{_p(c.profit_ratio):>6} {_p(c.profit_ratio_best_constant):>6} "
            f"{_p(s.minutes_without_buybox):>6} {_p(s.share_at_min):>5} "
            f"{(s.updates_sent or 0) / max(1, c.rows):>7.1f} {s.unwinnable:>4} {s.prices_outside_bounds:>3} │ "
            f"{floors['signal_s'] / 60:.1f}/{floors['search_99_s'] / 60:.0f}/{floors['search_998_s'] / 60:.0f}"
        )
    lines.append(
        "times in minutes from the start (at max); [95% CI] resamples rows; 'cens.' = beyond the horizon for that "
        "share of rows; reconv99 = median re-convergence to the 99% band after a competitor move; profit = ratio "
        "to the oracle (static: p* held; reacting: best constant price), (best) = to the best constant price; "
        "noBB = mean minutes without the Buy Box per row; @min = share of time at the min price; floor = "
        "information floor (minutes): one round trip with a direct signal / N0 round trips at 99% / at 99.8%."
    )
    for cell, twin in (not_run or {}).items():
        lines.append(f"{cell}: not run, its row would repeat {twin}'s (the same prices on that market)")
    return "\n".join(lines)
