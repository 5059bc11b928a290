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
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np
import trio

from bench.noop import NoopActor, NoopCounter, NoopMarketplace, NullStore
from bench.progress import Progress
from engine.actors.recorder import Recorder
from engine.daemon import Daemon, MarketRuntime, RuntimeConfig, SellerRuntime
from engine.model import ChannelSettings, OfferBounds, OfferKey, OfferSettings, PriceIntent

__all__ = ["ThroughputPlan", "ThroughputRun", "measure", "run_throughput", "throughput_json", "throughput_table"]


@dataclass(frozen=True, slots=True)
class ThroughputPlan:
    actors: tuple[int, ...] = (10_000, 100_000)
    seconds: float = 10.0  # per rate measurement
    warmup_s: float = 1.0
    latency_seconds: float = 120.0
    latency_rate: float = 10_000.0
    isolate: bool = True  # each actor count in a fresh process


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


def _rss_bytes() -> int:
    """The process's resident set size now (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _catalog(n: int) -> tuple[list[OfferKey], list[OfferSettings]]:
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


def _runtime(marketplace: NoopMarketplace, settings: Sequence[OfferSettings], *, timed: bool = False) -> Daemon:
    from engine.pricing.search import EngineSearch

    store = NullStore()
    recorder = Recorder(store)
    config = RuntimeConfig()
    args = (marketplace, settings, ChannelSettings(), store, recorder, EngineSearch())
    if timed:
        timed_runtime = _TimedRuntime(*args, tick=1, config=config)
        timed_runtime.latencies = []
        timed_runtime._counted = {}
        runtime: MarketRuntime = timed_runtime
    else:
        runtime = MarketRuntime(*args, tick=1, config=config)
    seller = SellerRuntime(runtime.seller, [runtime], runtime.switch)
    return Daemon([seller], config=config, services=[recorder])


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


async def _memory(n: int) -> tuple[float, float, float, float]:
    """(spawn seconds, bytes per actor, RSS before, RSS after)."""
    gc.collect()
    before = _rss_bytes()
    keys, settings = _catalog(n)
    marketplace = NoopMarketplace(keys, limit=n, shared=False)
    started = time.perf_counter()
    daemon = _runtime(marketplace, settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        spawn_s = time.perf_counter() - started
        await _settle(daemon.markets[0], n)
        gc.collect()
        after = _rss_bytes()
        daemon.stop.set()
    return spawn_s, (after - before) / n, before, after


async def _rate(
    daemon: Daemon, seconds: float, warmup_s: float, counter: NoopCounter | None = None
) -> dict[str, float]:
    runtime = daemon.markets[0]
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(warmup_s)
        routed0, t0 = runtime.router_counters.routed, trio.current_time()
        decisions0 = sum(getattr(a, "decisions", 0) for a in runtime.actors.values())
        intents0 = runtime.batcher.counters.intents
        await trio.sleep(seconds)
        routed1, t1 = runtime.router_counters.routed, trio.current_time()
        decisions1 = sum(getattr(a, "decisions", 0) for a in runtime.actors.values())
        intents1 = runtime.batcher.counters.intents
        daemon.stop.set()
    span = t1 - t0
    return {
        "routed": (routed1 - routed0) / span,
        "decisions": (decisions1 - decisions0) / span,
        "intents": (intents1 - intents0) / span,
    }


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


async def _latency(n: int, settings: Sequence[OfferSettings], keys: list[OfferKey], plan: ThroughputPlan) -> Any:
    offered = int(plan.latency_rate * plan.latency_seconds)
    marketplace = NoopMarketplace(keys, rate=plan.latency_rate, limit=offered)
    daemon = _runtime(marketplace, settings, timed=True)
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


async def _measure(n: int, plan: ThroughputPlan) -> ThroughputRun:
    spawn_s, per_actor, before, after = await _memory(n)
    keys, settings = _catalog(n)
    engine = await _rate(_runtime(NoopMarketplace(keys), settings), plan.seconds, plan.warmup_s)
    counter = NoopCounter()
    noop = _runtime(NoopMarketplace(keys), settings)
    noop.markets[0].actors = {key: NoopActor(actor, counter) for key, actor in noop.markets[0].actors.items()}
    noop_rate = await _rate(noop, plan.seconds, plan.warmup_s, counter)
    bare = await _bare_channel(NoopMarketplace(keys), plan.seconds, plan.warmup_s)
    latencies, gc_pause, offered = await _latency(n, settings, keys, plan)
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
    )


def measure(n: int, plan: ThroughputPlan) -> ThroughputRun:
    """Every measurement for ``n`` actors, in this process, on trio's real clock."""
    return trio.run(_measure, n, plan)


def run_throughput(plan: ThroughputPlan, *, progress: bool = True) -> list[ThroughputRun]:
    bar = Progress(len(plan.actors), "bench throughput", every_s=0.0) if progress else None
    runs = []
    for n in plan.actors:
        if plan.isolate:
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                run = pool.submit(measure, n, plan).result()
        else:
            run = measure(n, plan)
        runs.append(run)
        if bar is not None:
            bar.step(f"{n:,} actors: {run.obs_per_s:,.0f} obs/s")
    return runs


def throughput_json(runs: Sequence[ThroughputRun], plan: ThroughputPlan) -> dict[str, Any]:
    return {
        "runs": [asdict(run) for run in runs],
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
