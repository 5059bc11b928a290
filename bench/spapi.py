"""`repricer bench spapi`: the SP-API adapter end to end against the fake of Amazon, fault-free and under each
fault, beside the in-process simulated adapter on the same markets (bench/README.md, "SP-API end to end").

Protocol. One seller account on ``marketplaces``, ``skus`` offers in each, a market per marketplace of ``scenario``
drawn with seeds ``seed``, ``seed + 1``, ... (`adapters.simulated.run.build_run` and `sim.fake.scenario_fake` draw
them alike, so both adapters meet the same markets), our price starting at max, every call answered `API_LATENCY_S`
after it is taken. Each run is its own `trio.run` under `MockClock(autojump_threshold=0)`, trio's scheduler seeded
with ``seed`` (`sim.scheduling`), so a run replays:

- ``in-process``: the daemon as the convergence benchmark runs it (`build_run`: the simulated adapter, which also
  pushes the market's notifications);
- ``fake`` and ``fake <fault>``: the daemon as `repricer run --config` composes it (a configuration file read by
  `engine.config.load`, the catalog in the store, `engine.daemon.configured.plan_daemon`,
  `adapters.spapi.run.open_accounts` and `compose_daemon`), its HTTP client on `httpx.ASGITransport` onto the fake
  (`sim.fake.SpApiFake` behind a `bench.wiretap.Wiretap`), the fake's markets advanced by a daemon service. The
  seller subscribes to ANY_OFFER_CHANGED and PRICING_HEALTH at start, and the adapter reads them from the fake's
  SQS queue (`adapters.spapi.inbox`): the same notifications of the same markets as in process, over HTTP.

The faults are the fake's own (`injection`), each from minute 10, while the searches are under way. Per run
(`bench.spapi_report.RunReport`): the daemon's status at the end; T_BB, T_99, T_99.8 from the market's record
(`sim.metrics`, as the convergence benchmark takes them); calls per operation (the tokens the engine's pacers took:
what each adapter charged to the seller's quota) and, over HTTP, the requests the fake answered, by answer; refusals
for quota, in all and in steady state (from `SpApiPlan.steady_after_s`); prices outside bounds, received by the fake
and live in the market; updates sent, accepted, applied, given up and lost (`bench.outbox`).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal

import httpx
import trio
import trio.testing

from adapters.simulated.marketplace import catalog_settings
from adapters.simulated.run import build_run
from adapters.spapi.quotas import ENGINE_OPERATIONS
from adapters.spapi.run import compose_daemon, open_accounts
from bench.outbox import UpdateAudit, audit_outbox
from bench.spapi_report import OperationUse, RunReport, ratios
from bench.wiretap import OperationTally, Wiretap
from engine.catalog import from_settings
from engine.config import Config, load
from engine.daemon import Daemon, MarketStatus
from engine.daemon.configured import plan_daemon
from engine.marketplaces import by_code
from engine.model import OfferKey, OutboxEntry, OutboxState
from engine.ports import Clock
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from sim import ids, metrics
from sim.fake import (
    DEFAULT_WALL_ORIGIN,
    SIM_AWS_ACCESS_KEY_ID,
    SIM_AWS_ACCOUNT,
    SIM_AWS_SECRET_ACCESS_KEY,
    SIM_QUEUE,
    SIM_REFRESH_TOKEN,
    SIM_REGION,
    Faults,
    ServerErrors,
    SpApiFake,
    Window,
    scenario_fake,
)
from sim.quotas import OPERATIONS as DOCUMENTED
from sim.scenarios import SCENARIOS, RunParams
from sim.scheduling import fix_scheduling
from sim.trajectory import RowSeries, Trajectory

__all__ = [
    "API_LATENCY_S",
    "FAULTS",
    "SpApiPlan",
    "injection",
    "run_in_process",
    "run_on_fake",
    "run_plan",
    "spapi_json",
]

FAULTS: Final = ("none", "storm429", "5xx", "token", "malformed", "never-applied")
FAULT_START_S: Final = 600.0
FAULT_WINDOW_S: Final = 3600.0  # how long the lasting faults (5xx bursts, malformed replies, unapplied updates) go on
API_LATENCY_S: Final = 0.25  # the in-process adapter's (`SimulatedMarketplace.api_latency_s`)
SELLER: Final = "sim-eu"
_ENDPOINT: Final = "http://127.0.0.1:8765"
_CLIENT_SECRET_ENV: Final = "BENCH_SPAPI_CLIENT_SECRET"
_REFRESH_TOKEN_ENV: Final = "BENCH_SPAPI_REFRESH_TOKEN"
_AWS_SECRET_ENV: Final = "BENCH_SPAPI_AWS_SECRET_ACCESS_KEY"


@dataclass(frozen=True, slots=True)
class SpApiPlan:
    """What `bench spapi` runs: one in-process run, then one run on the fake per fault."""

    marketplaces: tuple[str, ...] = ("DE", "FR", "IT")
    skus: int = 100
    hours: float = 4.0
    seed: int = 1
    scenario: str = "S1b"
    faults: tuple[str, ...] = FAULTS
    delay_s: float = 120.0
    tau: float = 0.005
    n_boot: int = 1000

    @property
    def horizon_s(self) -> float:
        return self.hours * 3600.0

    @property
    def steady_after_s(self) -> float:
        """Where steady state starts: 30 simulated minutes in (half the run, for a run shorter than an hour)."""
        return min(1800.0, self.horizon_s / 2)

    def params(self) -> RunParams:
        return RunParams.cell(delay_s=self.delay_s, tau=self.tau, start="max")


def injection(fault: str) -> Faults | None:
    """The fake's faults for a named fault (None for "none"), each from `FAULT_START_S`:

    - ``storm429``: half of all SP-API requests refused with Amazon's 429 for 10 minutes (the quota untouched);
    - ``5xx``: every request answered 503 for one minute in fifteen, for an hour (four bursts);
    - ``token``: the access token expires early, once (Amazon's 403 "has expired"; a fresh exchange works);
    - ``malformed``: a tenth of the 2xx replies cut off half way, for an hour (what they asked was done);
    - ``never-applied``: half of the price updates accepted and never applied, for an hour.
    """
    start = FAULT_START_S
    match fault:
        case "none":
            return None
        case "storm429":
            return Faults(throttle=Window(share=0.5, start_s=start, duration_s=600.0))
        case "5xx":
            return Faults(server_error=ServerErrors(status=503, start_s=start, duration_s=60.0, every_s=900.0))
        case "token":
            return Faults(expire_token=Window(start_s=start, limit=1))
        case "malformed":
            return Faults(malformed_json=Window(share=0.1, start_s=start, duration_s=FAULT_WINDOW_S))
        case "never-applied":
            return Faults(never_apply=Window(share=0.5, start_s=start, duration_s=FAULT_WINDOW_S))
    raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")


def run_plan(plan: SpApiPlan, *, progress: Callable[[RunReport], None] | None = None) -> list[RunReport]:
    """The in-process run, then one run on the fake per fault of the plan."""
    for fault in plan.faults:
        injection(fault)  # an unknown fault fails before anything runs
    reports: list[RunReport] = []

    def done(report: RunReport) -> None:
        reports.append(report)
        if progress is not None:
            progress(report)

    done(run_in_process(plan))
    for fault in plan.faults:
        done(run_on_fake(plan, fault))
    return reports


def run_in_process(plan: SpApiPlan) -> RunReport:
    fix_scheduling(plan.seed)
    report: RunReport = trio.run(_in_process, plan, clock=trio.testing.MockClock(autojump_threshold=0))
    return report


def run_on_fake(plan: SpApiPlan, fault: str) -> RunReport:
    fix_scheduling(plan.seed)
    with tempfile.TemporaryDirectory(prefix="bench-spapi-") as directory:
        report: RunReport = trio.run(
            _on_fake, plan, fault, Path(directory), clock=trio.testing.MockClock(autojump_threshold=0)
        )
    return report


def spapi_json(reports: Sequence[RunReport], plan: SpApiPlan, wall_s: float) -> dict[str, Any]:
    return {
        "runs": [report.as_json() for report in reports],
        "ratios": ratios(reports),
        "plan": {
            "marketplaces": list(plan.marketplaces),
            "skus": plan.skus,
            "hours": plan.hours,
            "seed": plan.seed,
            "scenario": plan.scenario,
            "faults": list(plan.faults),
            "delay_s": plan.delay_s,
            "tau": plan.tau,
            "api_latency_s": API_LATENCY_S,
            "fault_start_s": FAULT_START_S,
            "steady_after_s": plan.steady_after_s,
            "wall_s": round(wall_s, 1),
        },
    }


# --- in process ------------------------------------------------------------------------------------------------


async def _in_process(plan: SpApiPlan) -> RunReport:
    started = time.perf_counter()
    async with MemoryStore() as store:
        run = build_run(
            scenario=plan.scenario,
            seed=plan.seed,
            skus=plan.skus,
            strategy=EngineSearch(),
            marketplaces=plan.marketplaces,
            params=plan.params(),
            store=store,
        )

        def refused() -> int:
            """Calls and SKUs the simulated API refused for quota."""
            return sum(sum(a.throttled.values()) + sum(a.throttled_items.values()) for a in run.adapters)

        status, at_steady = await _run_daemon(run.daemon, plan, refused)
        results = run.finish()
        entries = await _outbox(store, run.daemon)
    trajectories = {result.marketplace: result.trajectory for result in results}
    adapters = {adapter.code: adapter for adapter in run.adapters}

    def series(key: OfferKey) -> RowSeries:
        return trajectories[key.marketplace].row_series(adapters[key.marketplace].row(key))

    return _report(
        plan,
        name="in-process",
        adapter="in-process",
        fault="none",
        daemon=run.daemon,
        status=status,
        trajectories=list(trajectories.values()),
        audit=audit_outbox(entries, series, start=run.started_at),
        throttles=_summed([a.throttled for a in run.adapters]),
        over_quota=(refused(), refused() - at_steady),
        wall_s=time.perf_counter() - started,
    )


# --- over HTTP onto the fake -----------------------------------------------------------------------------------


async def _on_fake(plan: SpApiPlan, fault: str, directory: Path) -> RunReport:
    started = time.perf_counter()
    fake = scenario_fake(
        scenario=plan.scenario,
        seed=plan.seed,
        skus=plan.skus,
        marketplaces=plan.marketplaces,
        faults=injection(fault),
        params=plan.params(),
        latency_s=API_LATENCY_S,
    )
    tap = Wiretap(fake)
    config = _configuration(plan.marketplaces, directory)
    async with MemoryStore() as store:
        rows = [from_settings(offer) for api in fake.apis for offer in catalog_settings(api.market, seller=SELLER)]
        await store.save_catalog(rows)
        planned = await plan_daemon(config, store, database=directory / "repricer.db")
        # Amazon's timestamps (a notification's change time) are the fake's wall time: read on the same clock.
        clock = Clock(DEFAULT_WALL_ORIGIN + timedelta(seconds=trio.current_time()))
        transport = httpx.ASGITransport(app=tap)
        async with open_accounts(config.sellers, transport=transport, clock=clock) as accounts:
            daemon = compose_daemon(planned.plan, accounts, store, EngineSearch(), services=[_FakeMarkets(fake)])
            status, at_steady = await _run_daemon(daemon, plan, lambda: fake.read_stats().over_quota)
            adapters = list(accounts.adapters.values())
        entries = await _outbox(store, daemon)
    now = trio.current_time()
    stats = fake.read_stats()
    markets = {code: api.market for code, api in zip(plan.marketplaces, fake.apis, strict=True)}
    trajectories = {code: market.finish(now) for code, market in markets.items()}

    def series(key: OfferKey) -> RowSeries:
        return trajectories[key.marketplace].row_series(markets[key.marketplace].row_of(key.sku))

    start = min(market.start_at for market in markets.values())
    report = _report(
        plan,
        name="fake" if fault == "none" else f"fake {fault}",
        adapter="sp-api",
        fault=fault,
        daemon=daemon,
        status=status,
        trajectories=list(trajectories.values()),
        audit=audit_outbox(entries, series, start=start, accepted=tap.accepted),
        throttles=_summed([a.throttled for a in adapters]),
        over_quota=(stats.over_quota, stats.over_quota - at_steady),
        wall_s=time.perf_counter() - started,
    )
    report.requests = stats.requests
    report.prices_outside_bounds_sent = stats.prices_outside_bounds
    report.fake_accepted = stats.updates_accepted
    report.fake_applied = stats.updates_applied
    report.unreadable_accepts = tap.unreadable
    report.token_exchanges = stats.token_exchanges
    report.faults_hit = dict(stats.faults)
    for use in report.quota:
        use.http = tap.tallies.get(use.sp_operation, OperationTally())
        use.over_quota = stats.over_quota_by_operation.get(use.sp_operation, 0)
    return report


def _configuration(marketplaces: Sequence[str], directory: Path) -> Config:
    """The configuration file `repricer run --config` would read for the fake (examples/sim.toml's account, with
    the default channel settings, as the in-process run has them), written and read as the command reads it."""
    text = f"""\
[[seller]]
id = "{SELLER}"
merchant_id = "{ids.our_seller_id(0)}"
region = "{by_code(marketplaces[0]).region.lower()}"
marketplaces = [{", ".join(f'"{code}"' for code in marketplaces)}]

[seller.credentials]
client_id = "amzn1.application-oa2-client.bench"
client_secret_env = "{_CLIENT_SECRET_ENV}"
refresh_token_env = "{_REFRESH_TOKEN_ENV}"

[seller.endpoints]
sp_api = "{_ENDPOINT}"
lwa_token = "{_ENDPOINT}/auth/o2/token"

[seller.notifications]
queue_url = "{_ENDPOINT}/{SIM_AWS_ACCOUNT}/{SIM_QUEUE}"
aws_region = "{SIM_REGION}"
aws_access_key_id = "{SIM_AWS_ACCESS_KEY_ID}"
aws_secret_access_key_env = "{_AWS_SECRET_ENV}"
"""
    file = directory / "bench.toml"
    file.write_text(text)
    environ = {
        _CLIENT_SECRET_ENV: "bench",
        _REFRESH_TOKEN_ENV: SIM_REFRESH_TOKEN,
        _AWS_SECRET_ENV: SIM_AWS_SECRET_ACCESS_KEY,
    }
    return load(file, environ)


class _FakeMarkets:
    """The fake's markets advanced with trio's clock, as a daemon service (what `repricer sim serve` runs beside
    its server)."""

    name = "SP-API fake's markets"

    def __init__(self, fake: SpApiFake) -> None:
        self._fake = fake

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._fake.run(task_status=task_status)

    async def finish(self) -> None:
        return None


# --- what both share -------------------------------------------------------------------------------------------


async def _run_daemon(daemon: Daemon, plan: SpApiPlan, refused: Callable[[], int]) -> tuple[list[MarketStatus], int]:
    """Run ``daemon`` for the plan's hours and stop it; its status just before the stop, and ``refused()`` as
    steady state began."""
    at_steady = 0

    async def steady() -> None:
        nonlocal at_steady
        await trio.sleep(plan.steady_after_s)
        at_steady = refused()

    with _quiet_daemon():
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            nursery.start_soon(steady)
            await trio.sleep(plan.horizon_s)
            status = daemon.status()
            daemon.stop.set()
    return status, at_steady


@contextmanager
def _quiet_daemon() -> Iterator[None]:
    """The daemon's warnings are what the injected faults make it say, and the table counts them: only errors are
    logged while it runs."""
    engine = logging.getLogger("engine")
    level = engine.level
    engine.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        engine.setLevel(level)


async def _outbox(store: MemoryStore, daemon: Daemon) -> list[OutboxEntry]:
    entries = []
    for market in daemon.markets:
        entries.extend(await store.outbox_entries(market.seller, market.code, list(OutboxState)))
    return entries


def _summed(counters: Sequence[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for counter in counters:
        for name, value in counter.items():
            total[name] = total.get(name, 0) + value
    return total


def _report(
    plan: SpApiPlan,
    *,
    name: str,
    adapter: Literal["in-process", "sp-api"],
    fault: str,
    daemon: Daemon,
    status: Sequence[MarketStatus],
    trajectories: Sequence[Trajectory],
    audit: UpdateAudit,
    throttles: Mapping[str, int],
    over_quota: tuple[int, int],
    wall_s: float,
) -> RunReport:
    """What both kinds of run report alike: the status, the record's metrics, the engine's pacers and counters."""
    reacting = SCENARIOS[plan.scenario].reacting
    rows = [row for traj in trajectories for row in metrics.run_metrics(traj, reacting=reacting)]
    counters = [market.batcher.counters for market in daemon.markets]
    sent = sum(c.updates_sent for c in counters)
    summary = metrics.summarize(
        rows, oracle_profit=None, updates_sent=sent, seed=plan.seed, n_boot=plan.n_boot, horizon_s=plan.horizon_s
    )
    quota = _quota_use(daemon, throttles, plan.horizon_s)
    return RunReport(
        name=name,
        adapter=adapter,
        fault=fault,
        offers=sum(s.offers for s in status),
        live=sum(s.live for s in status),
        holding=sum(s.holding for s in status),
        unwinnable=sum(r.unwinnable for r in rows),
        converged=sum(1 for r in rows if not r.unwinnable and r.t_99 is not None),
        summary=summary,
        calls=sum(use.calls for use in quota),
        over_quota=over_quota[0],
        over_quota_steady=over_quota[1],
        prices_outside_bounds_live=summary.prices_outside_bounds,
        updates_sent=sent,
        accepted=sum(c.accepted for c in counters),
        verified=sum(c.verified for c in counters),
        unapplied=sum(c.unapplied for c in counters),
        audit=audit,
        alive=all(s.stopped is None for s in status) and daemon.stopped_cleanly,
        service_restarts=sum(s.service_restarts for s in status),
        transient_errors=sum(s.transient_errors for s in status),
        quota=quota,
        wall_s=wall_s,
    )


def _quota_use(daemon: Daemon, throttles: Mapping[str, int], horizon_s: float) -> list[OperationUse]:
    """Each engine operation's pacer tokens (a seller's pacers are shared by its marketplaces: counted once)."""
    spent: dict[str, float] = {}
    seen: set[int] = set()
    for market in daemon.markets:
        if id(market.pacers) in seen:
            continue
        seen.add(id(market.pacers))
        for operation, pacer in market.pacers.made():
            spent[operation] = spent.get(operation, 0.0) + pacer.spent
    uses = []
    for operation, sp_operation in ENGINE_OPERATIONS.items():
        documented = DOCUMENTED[sp_operation]
        calls = spent.get(operation, 0.0)
        share = calls / (documented.burst + documented.rate * horizon_s)
        uses.append(OperationUse(operation, sp_operation, calls, share, throttles.get(operation, 0)))
    return uses
