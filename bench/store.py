"""`repricer bench store`: how many rows a second the SQLite store's writer commits while the daemon decides.

For each batch size B, in a fresh process (unless asked otherwise), on trio's real clock, in a temporary
directory: the throughput benchmark's real topology (`bench.throughput.engine_daemon`: N offer actors with the
engine's search over the no-op marketplace, observations pushed as fast as the engine takes them, or at a fixed
rate) with a `SqliteStore` as its store, so its batcher puts every update in the outbox and marks it, and its
recorder writes its decisions and prices; and beside it, load tasks that hand the same store B rows at a time,
as fast as it takes them, for offers of another seller:

- ``decisions``: `record_decisions` of B decisions. The call returns once the rows are handed over, so the task
  waits for a read (`last_update_id`, which the writer answers after committing everything queued before it)
  every `_WINDOW_ROWS` rows: at most that many of its rows wait uncommitted;
- ``states``: `save_search_states` of B search states of `STATE_BYTES` bytes, which returns once committed.

What is counted is rows committed per second of wall time: the decision, price and outbox rows whose ids the file
gained between the window's start and end (read beside the writer on a connection of its own; the load's
decisions are told from the daemon's by seller afterwards) and the states whose calls returned in the window.
The daemon's decision rate is measured in the same window. A group of commits that straddles the window's end
counts for nothing in it, so ``overall_rows_per_s`` also counts every row from the load's start until the stop
had committed everything, over that time. Each store method's callers' waits are timed, the writer's groups (its
busy share of the window) and the CPU each thread used; ``drain_s`` is how long the stop took, saving every
offer's search state and committing the backlog.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Final

import trio

from bench.imports import directory_bytes
from bench.noop import NoopMarketplace
from bench.progress import Progress
from bench.stores import CallTimes, committed, thread_cpu, time_calls
from bench.throughput import engine_daemon, offers
from engine.model import Decision, DecisionInputs, OfferKey, Reason
from engine.ports import Clock
from engine.store.sqlite import SqliteStore

__all__ = ["LOADS", "StorePlan", "StoreRun", "measure_store", "run_store", "store_json", "store_table"]

LOADS: Final = ("decisions", "states")
LOAD_SELLER: Final = "LOAD"
STATE_BYTES: Final = 200
_STATE_KEYS: Final = 100_000  # the load's states replace these offers' rows over and over
_WINDOW_ROWS: Final = 50_000
_TIMED: Final = (
    "record_decisions",
    "record_prices",
    "save_search_states",
    "outbox_put",
    "outbox_mark",
    "last_update_id",
    "_commit",
)


@dataclass(frozen=True, slots=True)
class StorePlan:
    actors: int = 10_000
    seconds: float = 10.0
    warmup_s: float = 2.0
    batches: tuple[int, ...] = (100, 1000)
    loads: tuple[str, ...] = LOADS
    daemon: bool = True  # False: the load alone, the writer's ceiling on this machine
    rate: float | None = None  # observations/s offered to the daemon; None: as fast as it takes them
    isolate: bool = True  # each batch size in a fresh process


@dataclass(frozen=True, slots=True)
class StoreRun:
    batch: int
    rows_per_s: float  # every row committed, the load's and the daemon's
    load_rows_per_s: float
    daemon_decisions_per_s: float
    # Beyond the contract:
    load_decision_rows_per_s: float
    state_rows_per_s: float
    daemon_rows_per_s: float  # its decisions, prices and outbox entries, as committed
    commits_per_s: float
    writer_busy: float  # the share of the window the writer spent in its groups
    daemon_obs_per_s: float
    daemon_intents_per_s: float
    lost_rows: int
    # Every row committed from the load's start until the stop had committed everything, over that time (so the
    # warm-up and the stop's own saving too): not cut by a group that straddles the window.
    overall_rows_per_s: float
    drain_s: float
    window_s: float
    file_mb: float
    calls: dict[str, dict[str, float]] = field(default_factory=dict)  # method: calls, mean and longest wait (ms)
    cores: dict[str, float] = field(default_factory=dict)  # CPU used in the window: trio, other threads, writer


def _decisions(batch: int) -> list[Decision]:
    """``batch`` decisions of the load's seller, shaped like the engine's (every input of the trace filled)."""
    inputs = DecisionInputs(
        our_price=10_499,
        our_live=True,
        we_win=False,
        winner_landed=10_350,
        lowest_landed=10_020,
        foep=10_310,
        competitors=5,
        age_s=0.4,
        competitive_cap=15_990,
    )
    return [
        Decision(OfferKey(LOAD_SELLER, "DE", f"SKU-{i:07d}"), 1_000.0 + i, 10_340 + i % 97, Reason.SEARCH_UP, inputs)
        for i in range(batch)
    ]


def _state_batches(batch: int) -> list[dict[OfferKey, bytes]]:
    keys = [OfferKey(LOAD_SELLER, "DE", f"SKU-{i:07d}") for i in range(max(_STATE_KEYS, batch))]
    blob = bytes(range(256))[:STATE_BYTES]
    return [
        {key: blob[:-1] + bytes([i % 256]) for key in keys[start : start + batch]}
        for i, start in enumerate(range(0, len(keys) - batch + 1, batch))
    ]


class _Window:
    """The measurement window, in trio time; rows committed inside it are counted."""

    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.state_rows = 0
        self.all_state_rows = 0  # window or not

    def __contains__(self, at: float) -> bool:
        return self.start <= at <= self.end


async def _load_decisions(store: SqliteStore, batch: int) -> None:
    rows = _decisions(batch)
    window = max(1, _WINDOW_ROWS // batch)
    while True:
        for _ in range(window):
            await store.record_decisions(rows)
        await store.last_update_id()  # answered once everything handed over before it has committed


async def _load_states(store: SqliteStore, batch: int, window: _Window) -> None:
    for states in itertools.cycle(_state_batches(batch)):
        await store.save_search_states(states)
        window.all_state_rows += len(states)
        if trio.current_time() in window:
            window.state_rows += len(states)


def _decisions_by_seller(path: str, after: int, upto: int) -> dict[str, int]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT seller, count(*) FROM decision WHERE id > ? AND id <= ? GROUP BY seller", (after, upto)
        ).fetchall()
    return dict(rows)


async def _measure(batch: int, plan: StorePlan, directory: Path) -> StoreRun:
    keys, settings = offers(plan.actors)
    path = str(directory / "store.db")
    window = _Window()
    async with SqliteStore.open(path, clock=Clock()) as store:
        times = time_calls(store, _TIMED)
        writer = times["_commit"]
        daemon = engine_daemon(NoopMarketplace(keys, rate=plan.rate), settings, store)
        runtime = daemon.markets[0]
        async with trio.open_nursery() as nursery:
            if plan.daemon:
                await nursery.start(daemon.run)
            started = time.perf_counter()
            async with trio.open_nursery() as load:
                if "decisions" in plan.loads:
                    load.start_soon(_load_decisions, store, batch)
                if "states" in plan.loads:
                    load.start_soon(_load_states, store, batch, window)
                await trio.sleep(plan.warmup_s)
                rows0, commits0 = await committed(store), store.commits
                busy0, cpu0 = writer.busy_s(time.perf_counter()), thread_cpu(store.writer_pid)
                window.start = trio.current_time()
                decisions0 = sum(a.decisions for a in runtime.actors.values())
                routed0, intents0 = runtime.router_counters.routed, runtime.batcher.counters.intents
                await trio.sleep(plan.seconds)
                window.end = trio.current_time()
                decisions1 = sum(a.decisions for a in runtime.actors.values())
                routed1, intents1 = runtime.router_counters.routed, runtime.batcher.counters.intents
                busy1, cpu1 = writer.busy_s(time.perf_counter()), thread_cpu(store.writer_pid)
                rows1, commits1 = await committed(store), store.commits
                load.cancel_scope.cancel()
            stopping = time.perf_counter()
            daemon.stop.set()
        await store.aclose()
        drained = time.perf_counter()
        lost = store.lost_rows
        final = await committed(store)
    assert rows0 is not None and rows1 is not None and final is not None
    span = window.end - window.start
    by_seller = await trio.to_thread.run_sync(_decisions_by_seller, path, rows0.decision, rows1.decision)
    grown = rows1.minus(rows0)
    load_decisions = by_seller.get(LOAD_SELLER, 0)
    daemon_rows = grown.decision - load_decisions + grown.price + grown.outbox
    load_rows = load_decisions + window.state_rows
    return StoreRun(
        batch=batch,
        rows_per_s=round((load_rows + daemon_rows) / span, 1),
        load_rows_per_s=round(load_rows / span, 1),
        daemon_decisions_per_s=round((decisions1 - decisions0) / span, 1),
        load_decision_rows_per_s=round(load_decisions / span, 1),
        state_rows_per_s=round(window.state_rows / span, 1),
        daemon_rows_per_s=round(daemon_rows / span, 1),
        commits_per_s=round((commits1 - commits0) / span, 2),
        writer_busy=round((busy1 - busy0) / span, 3),
        daemon_obs_per_s=round((routed1 - routed0) / span, 1),
        daemon_intents_per_s=round((intents1 - intents0) / span, 1),
        lost_rows=lost,
        overall_rows_per_s=round(
            (final.decision + final.price + final.outbox + window.all_state_rows) / (drained - started), 1
        ),
        drain_s=round(drained - stopping, 2),
        window_s=round(span, 3),
        file_mb=round(await trio.to_thread.run_sync(directory_bytes, directory) / 2**20, 1),
        calls={name: _waits(t) for name, t in times.items() if t.calls},
        cores={name: max(0.0, round((cpu1[name] - cpu0[name]) / span, 2)) for name in cpu1.keys() & cpu0.keys()},
    )


def _waits(times: CallTimes) -> dict[str, float]:
    return {
        "calls": times.calls,
        "mean_ms": round(times.total_s / times.calls * 1000, 3),
        "longest_ms": round(times.longest_s * 1000, 3),
    }


def measure_store(batch: int, plan: StorePlan) -> StoreRun:
    """One batch size's run, in this process, on trio's real clock."""
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        return trio.run(_measure, batch, plan, Path(directory))


def run_store(plan: StorePlan, *, progress: bool = True) -> list[StoreRun]:
    bar = Progress(len(plan.batches), "bench store", every_s=0.0) if progress else None
    runs = []
    for batch in plan.batches:
        if plan.isolate:
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                run = pool.submit(measure_store, batch, plan).result()
        else:
            run = measure_store(batch, plan)
        runs.append(run)
        if bar is not None:
            bar.step(f"batches of {batch:,}: {run.rows_per_s:,.0f} rows/s")
    return runs


def store_json(runs: Sequence[StoreRun], plan: StorePlan) -> dict[str, Any]:
    return {
        "runs": [asdict(run) for run in runs],
        "plan": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(plan).items()},
    }


def store_table(runs: Sequence[StoreRun]) -> str:
    lines = [
        f"{'batch':>6} │ {'rows/s':>8} {'load':>8} {'decis.':>8} {'states':>8} {'daemon':>7} {'overall':>8} │ "
        f"{'commits/s':>9} {'busy':>5} │ {'decisions/s':>11} {'obs/s':>7} │ {'lost':>4} {'drain s':>7}"
    ]
    lines.append("─" * len(lines[0]))
    for r in runs:
        lines.append(
            f"{r.batch:>6,} │ {r.rows_per_s:>8,.0f} {r.load_rows_per_s:>8,.0f} {r.load_decision_rows_per_s:>8,.0f} "
            f"{r.state_rows_per_s:>8,.0f} {r.daemon_rows_per_s:>7,.0f} {r.overall_rows_per_s:>8,.0f} │ "
            f"{r.commits_per_s:>9,.1f} {r.writer_busy:>5.0%} │ {r.daemon_decisions_per_s:>11,.0f} "
            f"{r.daemon_obs_per_s:>7,.0f} │ {r.lost_rows:>4} {r.drain_s:>7.1f}"
        )
    lines.append("")
    lines.append("callers' waits (ms, mean / longest, calls) and the cores each thread used, batch by batch:")
    for r in runs:
        waits = "; ".join(
            f"{name} {c['mean_ms']:.1f} / {c['longest_ms']:.0f} ({c['calls']:,.0f})" for name, c in r.calls.items()
        )
        cores = ", ".join(f"{name} {used:.2f}" for name, used in sorted(r.cores.items()))
        lines.append(f"{r.batch:>6,}: {waits}")
        lines.append(f"{'':>6}  cores: {cores}")
    return "\n".join(lines)
