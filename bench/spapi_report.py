"""What `bench spapi` reports of a run, and how: the JSON of each run, the ratios against issue 20's targets, the
terminal table (bench/README.md, "SP-API end to end")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from bench.outbox import UpdateAudit
from bench.wiretap import OperationTally
from sim.metrics import CellSummary

__all__ = ["TARGET_FAKE", "TARGET_FAULT", "OperationUse", "RunReport", "ratios", "table"]

TARGET_FAKE: Final = 1.5  # issue 20: median T_99 on the fake within 1.5x of in-process
TARGET_FAULT: Final = 2.0  # and under each fault within 2x of the fault-free run


@dataclass(slots=True)
class OperationUse:
    """One engine operation over a run. ``calls``: the tokens the engine's pacer took (calls; for a per-SKU
    operation, SKUs), ``share`` of what Amazon's documented quota allows over the run (burst + rate × time),
    ``throttled`` the calls the adapter saw refused whole with a 429. Over HTTP, ``http``: the requests the fake got
    for it by answer, and ``over_quota`` the 429s the fake sent because the bucket was empty (the rest of the 429s
    were a storm's)."""

    operation: str
    sp_operation: str
    calls: float
    share: float
    throttled: int
    http: OperationTally | None = None
    over_quota: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "sp_operation": self.sp_operation,
            "calls": self.calls,
            "share_of_quota": round(self.share, 4),
            "throttled": self.throttled,
            "over_quota": self.over_quota,
            "http": None if self.http is None else asdict(self.http),
        }


@dataclass(slots=True)
class RunReport:
    """One run (bench/spapi.py says how each figure is taken). The fields after ``audit`` are the fake's, None in
    process."""

    name: str
    adapter: Literal["in-process", "sp-api"]
    fault: str
    offers: int
    live: int
    holding: int  # offers holding the Buy Box at the end, by the daemon's status
    unwinnable: int
    converged: int  # winnable rows whose T_99 came within the run
    summary: CellSummary
    calls: float  # every operation's pacer tokens
    over_quota: int  # refused for quota: by the fake (HTTP), or by the simulated API (in process)
    over_quota_steady: int  # of those, in steady state
    prices_outside_bounds_live: int  # our live price outside its bounds in the market's record
    updates_sent: int
    accepted: int  # the daemon's counts
    verified: int
    unapplied: int  # accepted, never seen live after the batcher's resends
    audit: UpdateAudit
    alive: bool  # no seller stopped, and the stop saved everything
    service_restarts: int
    transient_errors: int
    quota: list[OperationUse]
    wall_s: float
    requests: int | None = None  # SP-API requests the fake got
    prices_outside_bounds_sent: int | None = None  # received by the fake outside the offer's bounds
    fake_accepted: int | None = None
    fake_applied: int | None = None
    unreadable_accepts: int | None = None  # patches the fake took whose reply the adapter could not read
    token_exchanges: int | None = None
    faults_hit: dict[str, int] = field(default_factory=dict)

    @property
    def per_converged(self) -> float | None:
        """Requests (HTTP; calls in process) per converged offer."""
        spent = self.requests if self.requests is not None else self.calls
        return spent / self.converged if self.converged else None

    def as_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "name": self.name,
            "adapter": self.adapter,
            "fault": self.fault,
            "offers": self.offers,
            "live": self.live,
            "holding": self.holding,
            "converged": self.converged,
            "unwinnable": self.unwinnable,
            "median_t_buybox_s": s.median_t_buybox_s,
            "median_t_99_s": s.median_t_99_s,
            "median_t_998_s": s.median_t_998_s,
            "median_t_99_s_ci": list(s.median_t_99_s_ci),
            "p90_t_99_s": s.p90_t_99_s,
            "p_buybox_30min": s.p_buybox_30min,
            "p_t99_60min": s.p_t99_60min,
            "minutes_without_buybox": s.minutes_without_buybox,
            "calls": self.calls,
            "requests": self.requests,
            "requests_per_converged_offer": self.per_converged,
            "over_quota": self.over_quota,
            "over_quota_steady": self.over_quota_steady,
            "prices_outside_bounds_sent": self.prices_outside_bounds_sent,
            "prices_outside_bounds_live": self.prices_outside_bounds_live,
            "updates": {
                "sent": self.updates_sent,
                "accepted": self.accepted,
                "verified": self.verified,
                "unapplied": self.unapplied,
                "fake_accepted": self.fake_accepted,
                "fake_applied": self.fake_applied,
                "unreadable_accepts": self.unreadable_accepts,
                "outbox": self.audit.updates,
                "outbox_states": self.audit.by_state,
                "given_up": self.audit.given_up,
                "given_up_last": self.audit.given_up_last,
                "unsent_at_stop": self.audit.unsent_at_stop,
                "lost": self.audit.lost,
                "phantom": self.audit.phantom,
                "verified_not_live": self.audit.verified_not_live,
                "stranded": self.audit.stranded,
                "lost_examples": self.audit.examples,
            },
            "alive": self.alive,
            "service_restarts": self.service_restarts,
            "transient_errors": self.transient_errors,
            "faults_hit": self.faults_hit,
            "token_exchanges": self.token_exchanges,
            "quota": [use.as_json() for use in self.quota],
            "wall_s": round(self.wall_s, 1),
        }


def ratios(reports: Sequence[RunReport]) -> dict[str, float | None]:
    """Median T_99 of the fault-free fake run over the in-process run's (``fake_vs_in_process``), and of each
    fault run over the fault-free fake run's (``<fault>_vs_fault_free``); None where a median is censored."""
    by_name = {report.name: report for report in reports}
    out: dict[str, float | None] = {}
    fake = by_name.get("fake")
    in_process = by_name.get("in-process")
    if fake is not None and in_process is not None:
        out["fake_vs_in_process"] = _ratio(fake.summary.median_t_99_s, in_process.summary.median_t_99_s)
    for report in reports:
        if report.adapter == "sp-api" and report.fault != "none" and fake is not None:
            out[f"{report.fault}_vs_fault_free"] = _ratio(report.summary.median_t_99_s, fake.summary.median_t_99_s)
    return out


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base <= 0:
        return None
    return value / base


def _t(seconds: float | None) -> str:
    return "cens." if seconds is None else f"{seconds / 60:.1f}"


def _n(value: float | None, spec: str = ",.0f") -> str:
    return "—" if value is None else format(value, spec)


HEADER: Final = (
    f"{'run':<19} {'offers':>6} {'hold':>5} {'conv':>5} │ {'T_BB':>5} {'T_99':>5} {'T99.8':>6} {'ratio':>5} │ "
    f"{'calls':>7} {'requests':>8} {'/conv':>5} │ {'429 quota':>9} {'steady':>6} │ {'out':>5} │ {'sent':>6} "
    f"{'accepted':>8} {'applied':>7} {'verified':>8} {'gave up':>7} {'lost':>4} │ {'alive':>5} {'wall s':>6}"
)
QUOTA_HEADER: Final = (
    f"{'run':<19} {'operation':<21} {'SP-API operation':<34} {'calls':>7} {'share':>6} {'throttled':>9} │ "
    f"{'requests':>8} {'2xx':>7} {'429 quota':>9} {'429 fault':>9} {'5xx':>5} {'403':>4}"
)


def table(reports: Sequence[RunReport], *, steady_after_s: float) -> str:
    """The runs, one line each; quota use per operation; the ratios against issue 20's targets."""
    ratio = ratios(reports)
    lines = [HEADER, "─" * len(HEADER)]
    for r in reports:
        s = r.summary
        key = "fake_vs_in_process" if r.name == "fake" else f"{r.fault}_vs_fault_free"
        shown = "" if r.adapter == "in-process" else _n(ratio.get(key), ".2f")
        outside = f"{_n(r.prices_outside_bounds_sent)}/{r.prices_outside_bounds_live}"
        lines.append(
            f"{r.name:<19} {r.offers:>6} {r.holding:>5} {r.converged:>5} │ {_t(s.median_t_buybox_s):>5} "
            f"{_t(s.median_t_99_s):>5} {_t(s.median_t_998_s):>6} {shown:>5} │ {r.calls:>7,.0f} {_n(r.requests):>8} "
            f"{_n(r.per_converged, '.0f'):>5} │ {r.over_quota:>9} {r.over_quota_steady:>6} │ {outside:>5} │ "
            f"{r.updates_sent:>6} {r.accepted:>8} {_n(r.fake_applied):>7} {r.verified:>8} "
            f"{f'{r.audit.given_up}/{r.audit.given_up_last}':>7} "
            f"{r.audit.lost:>4} │ {'yes' if r.alive else 'NO':>5} {r.wall_s:>6.0f}"
        )
    lines.append(
        "hold: offers holding the Buy Box at the end; conv: rows whose T_99 came within the run; times: medians in "
        "minutes from the start (at max), 'cens.' beyond the run; ratio: median T_99 over the in-process run's "
        "(fake) or the fault-free fake run's (faults); calls: the engine's pacer tokens (SKUs for per-SKU "
        "operations); requests: SP-API requests the fake got; /conv: requests (calls in process) per converged "
        f"offer; 429 quota: refused for quota, in all and from minute {steady_after_s / 60:g} on (steady); out: "
        "prices outside bounds received by the fake / live in the market; sent, accepted, verified: the daemon's "
        "counts; applied: handed to the market by the fake; gave up: updates the daemon gave up on / of those, the "
        "newest of their offer at the end; lost: none may be (bench/outbox.py)."
    )
    lines += ["", QUOTA_HEADER, "─" * len(QUOTA_HEADER)]
    for r in reports:
        for use in r.quota:
            lines.append(_quota_line(r.name, use))
    lines.append(
        "calls, throttled: the engine's side (pacer tokens; calls the adapter saw refused whole with a 429); "
        "share: calls over what Amazon's documented quota allows in the run (burst + rate × time; the SP-API "
        "adapter paces at 95% of it, the in-process one at 100%); requests onwards: what the fake answered; "
        "429 fault: a storm's."
    )
    lines.append("")
    lines.extend(_verdicts(reports, ratio))
    return "\n".join(lines)


def _quota_line(name: str, use: OperationUse) -> str:
    http = use.http
    if http is None:
        wire = f"{'—':>8} {'—':>7} {'—':>9} {'—':>9} {'—':>5} {'—':>4}"
    else:
        quota = use.over_quota or 0
        wire = (
            f"{http.requests:>8,} {http.ok:>7,} {quota:>9} {http.throttled - quota:>9} "
            f"{http.server_errors:>5} {http.unauthorized:>4}"
        )
    return (
        f"{name:<19} {use.operation:<21} {use.sp_operation:<34} {use.calls:>7,.0f} {use.share:>6.1%} "
        f"{use.throttled:>9} │ {wire}"
    )


def _verdicts(reports: Sequence[RunReport], ratio: dict[str, float | None]) -> list[str]:
    by_name = {report.name: report for report in reports}

    def verdict(value: float | None, target: float, *names: str) -> str:
        if value is None:
            within = ", ".join(f"{by_name[n].converged}/{by_name[n].offers} {n}" for n in names if n in by_name)
            return f"censored (converged within the run: {within})"
        return f"{value:.2f} ({'met' if value <= target else 'MISSED'}, target ≤ {target:g})"

    lines = []
    if "fake_vs_in_process" in ratio:
        value = ratio["fake_vs_in_process"]
        lines.append(f"median T_99, fake / in-process: {verdict(value, TARGET_FAKE, 'fake', 'in-process')}")
    for report in reports:
        key = f"{report.fault}_vs_fault_free"
        if key in ratio:
            said = verdict(ratio[key], TARGET_FAULT, report.name, "fake")
            lines.append(f"median T_99, {report.fault} / fault-free: {said}")
    outside = sum((r.prices_outside_bounds_sent or 0) + r.prices_outside_bounds_live for r in reports)
    lost = sum(r.audit.lost for r in reports)
    down = [r.name for r in reports if not r.alive]
    steady = sum(r.over_quota_steady for r in reports if r.fault == "none")
    lines.append(
        f"prices outside bounds: {outside}; updates lost: {lost}; over quota in steady state, fault-free runs: "
        f"{steady}; daemon alive through every run: {'yes' if not down else 'NO: ' + ', '.join(down)}"
    )
    return lines
