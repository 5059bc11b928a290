"""`repricer bench throughput`: how many offer actors one process carries, and how fast they decide.

For each actor count N, in a fresh process (so one measurement's freed memory cannot flatter the next), on trio's
real clock, with no I/O anywhere (`bench.noop`: a marketplace that answers at once and never throttles, a store
that keeps nothing):

1. spawn: the daemon's `MarketRuntime` for N offers with the engine's search, started by `Daemon.run` (which
   collects and freezes the GC generation after start-up, as in production), until it reports started;
2. memory: process RSS after `gc.collect()` before building anything, and again once every actor has decided
   on one observation of 5 competitors it holds (its own objects, not shared); the difference over N;
3. rates, measured side by side in this process: observations/s routed through intake → router → offer actor →
   policy → search → batcher → no-op submit, as fast as the load generator can push; the same topology with
   no-op actors (same slot-and-event inbox, no decision); and a bare trio memory channel between the same
   generator and a counting consumer. The ratios are the point: the generator's own cost is in all three;
4. latency: the real topology offered a fixed rate (default 10,000 observations/s) for a fixed time (default
   120 s); each observation is stamped with the time it was due, and the time from then until its decision
   hands an intent to the batcher is recorded; the longest GC pause in that window comes from `gc.callbacks`.

The store under the daemon (`bench.stores`) is ``null`` unless asked: with one other store every measurement
above runs on it (a SQLite store in a fresh file of a temporary directory each time, handed to the daemon as
`engine.daemon.compose` does, so it restores from it and saves into it at the stop); with several, only the
real topology's rates are measured, store after store in alternating order for a few rounds in one process,
and each store's decision rate is compared with the first's round by round (`compare_stores`).
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import trio

from bench.noop import NoopActor, NoopCounter, NoopMarketplace, NullStore
from bench.progress import Progress
from bench.stores import committed, open_store
from engine.actors.recorder import Recorder
from engine.daemon import Daemon, MarketRuntime, RuntimeConfig, SellerRuntime
from engine.model import ChannelSettings, OfferBounds, OfferKey, OfferSettings, PriceIntent
from engine.ports import Store
from engine.store.sqlite import SqliteStore

__all__ = [
    "StoreRate",
    "ThroughputPlan",
    "ThroughputRun",
    "compare_stores",
    "comparison_table",
    "engine_daemon",
    "measure",
    "offers",
    "run_throughput",
    "throughput_json",
    "throughput_table",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ThroughputPlan:
    actors: tuple[int, ...] = (10_000, 100_000)
    seconds: float = 10.0  # per rate measurement
    warmup_s: float = 1.0
    latency_seconds: float = 120.0
    latency_rate: float = 10_000.0
    isolate: bool = True  # each actor count in a fresh process
    stores: tuple[str, ...] = ("null",)  # several: their rates compared (`compare_stores`)
    rounds: int = 3  # rate measurements of each store when comparing


@dataclass(frozen=True, slots=True)
class ThroughputRun:
    actors: int
    bytes_per_actor: float
    spawn_s: float
    obs_per_s: float
    noop_topology_per_s: float
    bare_channel_per_s: float
    p99_latency_ms: float | None
    max_gc_pause_ms: float
    # Beyond the contract:
    p50_latency_ms: float | None
    max_latency_ms: float | None
    ratio_to_noop: float
    decisions_per_s: float
    intents_per_s: float
    latency_rate: float
    latency_seconds: float
    latency_offered: int
    latency_samples: int
    rss_before_mb: float
    rss_after_mb: float
    store: str = "null"


@dataclass(frozen=True, slots=True)
class StoreRate:
    """One store's rates in a comparison: medians over the rounds, and each round's decision rate.

    ``ratio``: the median over rounds of this store's decision rate over the first store's in the same round.
    The SQLite store's figures are per second of the same windows: its commits, and the rows committed in the
    tables that only grow (decisions the recorder wrote, prices, outbox entries the batcher put).
    """

    actors: int
    store: str
    decisions_per_s: float
    obs_per_s: float
    intents_per_s: float
    updates_per_s: float  # updates the batcher sent (the outbox put before, marked after)
    ratio: float
    rounds: tuple[float, ...]
    commits_per_s: float | None = None
    decision_rows_per_s: float | None = None
    price_rows_per_s: float | None = None
    outbox_rows_per_s: float | None = None


def _rss_bytes() -> int:
    """The process's resident set size now (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def offers(n: int) -> tuple[list[OfferKey], list[OfferSettings]]:
    """``n`` offers of seller BENCH on DE, each with its own key and bounds."""
    keys = [OfferKey("BENCH", "DE", f"SKU-{i:07d}") for i in range(n)]
    settings = [
        OfferSettings(key=k, asin=f"B{i:09d}", currency="EUR", bounds=OfferBounds(8_000, 16_000), quantity=5)
        for i, k in enumerate(keys)
    ]
    return keys, settings


class _TimedRuntime(MarketRuntime):
    """The daemon's runtime, recording for each observation the delay until its decision yields an intent.

    A decision re-made on the same observation (after a submission result) is not counted again.
    """

    latencies: list[float]
    _counted: dict[OfferKey, float]

    def intent(self, intent: PriceIntent, current_price: int | None) -> None:
        snapshot = self.actors[intent.key].snapshot
        if snapshot is not None and self._counted.get(intent.key) != snapshot.as_of:
            self._counted[intent.key] = snapshot.as_of
            self.latencies.append(trio.current_time() - snapshot.as_of)
        super().intent(intent, current_price)


def engine_daemon(
    marketplace: NoopMarketplace, settings: Sequence[OfferSettings], store: Store | None = None, *, timed: bool = False
) -> Daemon:
    """The daemon of one marketplace with the engine's search; ``store`` None is the null store, not handed to
    the daemon (nothing to restore, nothing to save), as the benchmark has always run."""
    from engine.pricing.search import EngineSearch

    runtime_store = store if store is not None else NullStore()
    recorder = Recorder(runtime_store)
    config = RuntimeConfig()
    args = (marketplace, settings, ChannelSettings(), runtime_store, recorder, EngineSearch())
    if timed:
        timed_runtime = _TimedRuntime(*args, tick=1, config=config)
        timed_runtime.latencies = []
        timed_runtime._counted = {}
        runtime: MarketRuntime = timed_runtime
    else:
        runtime = MarketRuntime(*args, tick=1, config=config)
    seller = SellerRuntime(runtime.seller, [runtime], runtime.switch)
    return Daemon([seller], config=config, services=[recorder], store=store)


def _daemon_store(kind: str, store: Store) -> Store | None:
    return None if kind == "null" else store


async def _settle(runtime: MarketRuntime, target: int) -> None:
    """Wait until ``target`` observations were routed and the batcher has sent everything it was given.

    The engine's counters have no event to wait on, so the benchmark looks at them every 50 ms.
    """
    while True:
        if runtime.router_counters.routed >= target and not runtime.batcher.pending:
            break
        await trio.sleep(0.05)
    # The batcher flushes every half second; then the results go back to the actors.
    await trio.sleep(runtime.batcher.config.flush_interval_s + 0.2)


async def _memory(n: int, kind: str, directory: Path | None) -> tuple[float, float, float, float]:
    """(spawn seconds, bytes per actor, RSS before, RSS after)."""
    gc.collect()
    before = _rss_bytes()
    keys, settings = offers(n)
    marketplace = NoopMarketplace(keys, limit=n, shared=False)
    async with open_store(kind, directory) as store:
        started = time.perf_counter()
        daemon = engine_daemon(marketplace, settings, _daemon_store(kind, store))
        return await _spawn_and_settle(daemon, n, started, before)


async def _spawn_and_settle(daemon: Daemon, n: int, started: float, before: int) -> tuple[float, float, float, float]:
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        spawn_s = time.perf_counter() - started
        await _settle(daemon.markets[0], n)
        gc.collect()
        after = _rss_bytes()
        daemon.stop.set()
    return spawn_s, (after - before) / n, before, after


async def _rate(
    daemon: Daemon, seconds: float, warmup_s: float, counter: NoopCounter | None = None, store: Store | None = None
) -> dict[str, float]:
    """Rates over ``seconds`` after ``warmup_s``; with a SQLite ``store``, its commits and committed rows too."""
    runtime = daemon.markets[0]
    commits0 = commits1 = 0
    rows0 = rows1 = None
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(warmup_s)
        if isinstance(store, SqliteStore):
            rows0, commits0 = await committed(store), store.commits
        routed0, t0 = runtime.router_counters.routed, trio.current_time()
        decisions0 = sum(getattr(a, "decisions", 0) for a in runtime.actors.values())
        intents0, updates0 = runtime.batcher.counters.intents, runtime.batcher.counters.updates_sent
        await trio.sleep(seconds)
        routed1, t1 = runtime.router_counters.routed, trio.current_time()
        decisions1 = sum(getattr(a, "decisions", 0) for a in runtime.actors.values())
        intents1, updates1 = runtime.batcher.counters.intents, runtime.batcher.counters.updates_sent
        if isinstance(store, SqliteStore):
            rows1, commits1 = await committed(store), store.commits
        daemon.stop.set()
    span = t1 - t0
    rates = {
        "routed": (routed1 - routed0) / span,
        "decisions": (decisions1 - decisions0) / span,
        "intents": (intents1 - intents0) / span,
        "updates": (updates1 - updates0) / span,
    }
    if rows0 is not None and rows1 is not None:
        rows = rows1.minus(rows0)
        rates.update(
            commits=(commits1 - commits0) / span,
            decision_rows=rows.decision / span,
            price_rows=rows.price / span,
            outbox_rows=rows.outbox / span,
        )
    return rates


async def _bare_channel(marketplace: NoopMarketplace, seconds: float, warmup_s: float) -> float:
    """The same load generator into a trio memory channel of the router's size, and a counting consumer."""
    send, receive = trio.open_memory_channel[Any](RuntimeConfig().router_buffer)
    received = 0

    async def consume() -> None:
        nonlocal received
        async for _ in receive:
            received += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await nursery.start(marketplace.stream_observations, send)
        await trio.sleep(warmup_s)
        count0, t0 = received, trio.current_time()
        await trio.sleep(seconds)
        count1, t1 = received, trio.current_time()
        nursery.cancel_scope.cancel()
    return (count1 - count0) / (t1 - t0)


class _GcPauses:
    """The longest stop-the-world collection while installed (gc.callbacks: 'start' and 'stop' of each)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._began)

    def __enter__(self) -> _GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def _latency(
    settings: Sequence[OfferSettings], keys: list[OfferKey], plan: ThroughputPlan, store: Store | None
) -> Any:
    offered = int(plan.latency_rate * plan.latency_seconds)
    marketplace = NoopMarketplace(keys, rate=plan.latency_rate, limit=offered)
    daemon = engine_daemon(marketplace, settings, store, timed=True)
    runtime = daemon.markets[0]
    assert isinstance(runtime, _TimedRuntime)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        # From the daemon's start on: its start-up collection (before intake opens) is not a pause under load.
        with _GcPauses() as pauses:
            await marketplace.done.wait()
            await _settle(runtime, offered)
        daemon.stop.set()
    return np.asarray(runtime.latencies, np.float64), pauses.longest, offered


async def _measure(n: int, plan: ThroughputPlan, directory: Path | None) -> ThroughputRun:
    (kind,) = plan.stores
    spawn_s, per_actor, before, after = await _memory(n, kind, directory)
    keys, settings = offers(n)
    async with open_store(kind, directory) as store:
        daemon = engine_daemon(NoopMarketplace(keys), settings, _daemon_store(kind, store))
        engine = await _rate(daemon, plan.seconds, plan.warmup_s)
    counter = NoopCounter()
    async with open_store(kind, directory) as store:
        noop = engine_daemon(NoopMarketplace(keys), settings, _daemon_store(kind, store))
        noop.markets[0].actors = {key: NoopActor(actor, counter) for key, actor in noop.markets[0].actors.items()}
        noop_rate = await _rate(noop, plan.seconds, plan.warmup_s, counter)
    bare = await _bare_channel(NoopMarketplace(keys), plan.seconds, plan.warmup_s)
    async with open_store(kind, directory) as store:
        latencies, gc_pause, offered = await _latency(settings, keys, plan, _daemon_store(kind, store))
    ms = latencies * 1000.0
    has = len(ms) > 0
    return ThroughputRun(
        actors=n,
        bytes_per_actor=round(per_actor, 1),
        spawn_s=round(spawn_s, 3),
        obs_per_s=round(engine["routed"], 1),
        noop_topology_per_s=round(noop_rate["routed"], 1),
        bare_channel_per_s=round(bare, 1),
        p99_latency_ms=round(float(np.percentile(ms, 99)), 3) if has else None,
        max_gc_pause_ms=round(gc_pause * 1000.0, 3),
        p50_latency_ms=round(float(np.percentile(ms, 50)), 3) if has else None,
        max_latency_ms=round(float(ms.max()), 3) if has else None,
        ratio_to_noop=round(engine["routed"] / noop_rate["routed"], 3) if noop_rate["routed"] else 0.0,
        decisions_per_s=round(engine["decisions"], 1),
        intents_per_s=round(engine["intents"], 1),
        latency_rate=plan.latency_rate,
        latency_seconds=plan.latency_seconds,
        latency_offered=offered,
        latency_samples=len(ms),
        rss_before_mb=round(before / 2**20, 1),
        rss_after_mb=round(after / 2**20, 1),
        store=kind,
    )


async def _compare(n: int, plan: ThroughputPlan, directory: Path | None) -> list[StoreRate]:
    """The real topology's rates on each store, alternating the order round by round, so the machine's drift and
    whatever the first run of a process pays fall on every store alike."""
    keys, settings = offers(n)
    rates: dict[str, list[dict[str, float]]] = {kind: [] for kind in plan.stores}
    for round_ in range(plan.rounds):
        for kind in plan.stores if round_ % 2 == 0 else reversed(plan.stores):
            async with open_store(kind, directory) as store:
                daemon = engine_daemon(NoopMarketplace(keys), settings, _daemon_store(kind, store))
                rates[kind].append(await _rate(daemon, plan.seconds, plan.warmup_s, store=store))
    first = rates[plan.stores[0]]

    def median(kind: str, name: str) -> float | None:
        values = [r[name] for r in rates[kind] if name in r]
        return round(statistics.median(values), 1) if values else None

    return [
        StoreRate(
            actors=n,
            store=kind,
            decisions_per_s=median(kind, "decisions") or 0.0,
            obs_per_s=median(kind, "routed") or 0.0,
            intents_per_s=median(kind, "intents") or 0.0,
            updates_per_s=median(kind, "updates") or 0.0,
            ratio=round(
                statistics.median(r["decisions"] / f["decisions"] for r, f in zip(rates[kind], first, strict=True)), 3
            ),
            rounds=tuple(round(r["decisions"], 1) for r in rates[kind]),
            commits_per_s=median(kind, "commits"),
            decision_rows_per_s=median(kind, "decision_rows"),
            price_rows_per_s=median(kind, "price_rows"),
            outbox_rows_per_s=median(kind, "outbox_rows"),
        )
        for kind in plan.stores
    ]


def _in_directory(n: int, plan: ThroughputPlan, run: Any) -> Any:
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as directory:
        return trio.run(run, n, plan, Path(directory))


def measure(n: int, plan: ThroughputPlan) -> ThroughputRun:
    """Every measurement for ``n`` actors on the plan's one store, in this process, on trio's real clock."""
    run: ThroughputRun = _in_directory(n, plan, _measure)
    return run


def compare_stores(n: int, plan: ThroughputPlan) -> list[StoreRate]:
    """The rates for ``n`` actors on each of the plan's stores, in this process, on trio's real clock."""
    rates: list[StoreRate] = _in_directory(n, plan, _compare)
    return rates


def run_throughput(plan: ThroughputPlan, *, progress: bool = True) -> list[ThroughputRun] | list[StoreRate]:
    """`measure` for each actor count, or with several stores `compare_stores`; each in a fresh process unless
    the plan says otherwise."""
    bar = Progress(len(plan.actors), "bench throughput", every_s=0.0) if progress else None
    if len(plan.stores) > 1:
        rates: list[StoreRate] = []
        for n in plan.actors:
            compared = _in_process_or_not(compare_stores, n, plan)
            rates.extend(compared)
            if bar is not None:
                bar.step(
                    f"{n:,} actors: decisions/s " + ", ".join(f"{r.store} {r.decisions_per_s:,.0f}" for r in compared)
                )
        return rates
    runs: list[ThroughputRun] = []
    for n in plan.actors:
        run = _in_process_or_not(measure, n, plan)
        runs.append(run)
        if bar is not None:
            bar.step(f"{n:,} actors: {run.obs_per_s:,.0f} obs/s")
    return runs


def _in_process_or_not(job: Callable[[int, ThroughputPlan], T], n: int, plan: ThroughputPlan) -> T:
    if not plan.isolate:
        return job(n, plan)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(job, n, plan).result()


def throughput_json(runs: Sequence[ThroughputRun] | Sequence[StoreRate], plan: ThroughputPlan) -> dict[str, Any]:
    key = "stores" if len(plan.stores) > 1 else "runs"
    return {
        key: [asdict(run) for run in runs],
        "plan": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(plan).items()},
    }


def throughput_table(runs: Sequence[ThroughputRun]) -> str:
    lines = [
        f"{'actors':>8} │ {'spawn s':>7} {'B/actor':>8} │ {'obs/s':>8} {'noop/s':>8} {'bare/s':>8} {'vs noop':>7} │ "
        f"{'offered/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8} {'max GC ms':>9}"
    ]
    lines.append("─" * len(lines[0]))

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    for r in runs:
        lines.append(
            f"{r.actors:>8,} │ {r.spawn_s:>7.2f} {r.bytes_per_actor:>8,.0f} │ {r.obs_per_s:>8,.0f} "
            f"{r.noop_topology_per_s:>8,.0f} {r.bare_channel_per_s:>8,.0f} {r.ratio_to_noop:>7.0%} │ "
            f"{r.latency_rate:>9,.0f} {ms(r.p50_latency_ms):>7} {ms(r.p99_latency_ms):>7} "
            f"{ms(r.max_latency_ms):>8} {r.max_gc_pause_ms:>9.2f}"
        )
    return "\n".join(lines)


def comparison_table(rates: Sequence[StoreRate]) -> str:
    first = rates[0].store if rates else ""
    lines = [
        f"{'actors':>8} │ {'store':<7} {'decisions/s':>11} {'vs ' + first:>10} {'intents/s':>9} {'updates/s':>9} │ "
        f"{'commits/s':>9} {'decisions→db/s':>14} │ decisions/s by round"
    ]
    lines.append("─" * len(lines[0]))

    def rate(value: float | None, digits: int = 0) -> str:
        return "—" if value is None else f"{value:,.{digits}f}"

    for r in rates:
        lines.append(
            f"{r.actors:>8,} │ {r.store:<7} {r.decisions_per_s:>11,.0f} {r.ratio:>10.1%} {r.intents_per_s:>9,.0f} "
            f"{r.updates_per_s:>9,.0f} │ {rate(r.commits_per_s, 1):>9} {rate(r.decision_rows_per_s):>14} │ "
            f"{', '.join(f'{d:,.0f}' for d in r.rounds)}"
        )
    return "\n".join(lines)
