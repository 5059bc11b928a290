"""PNG plots of a convergence benchmark: CDFs of T_99 per strategy per cell, and price trajectories against p*.

matplotlib is imported here only, with the Agg backend, so the benchmark runs headless and nothing else pays for
the import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.convergence import CellResult, RunOutcome, minutes_label

__all__ = ["write_plots"]


def write_plots(cells: Sequence[CellResult], runs: Sequence[RunOutcome], directory: Path) -> list[Path]:
    """Write every plot into ``directory`` (created if needed); returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    groups: dict[tuple[str, float, float], list[CellResult]] = {}
    for cell in cells:
        groups.setdefault((cell.scenario, cell.delay_s, cell.tau), []).append(cell)
    for (scenario, delay, tau), group in groups.items():
        written.append(_t99_cdf(scenario, delay, tau, group, directory))
    first_group: dict[str, tuple[float, float]] = {}
    for scenario, delay, tau in groups:
        first_group.setdefault(scenario, (delay, tau))
    for scenario, (delay, tau) in first_group.items():
        chosen = [
            r
            for r in runs
            if r.task.scenario == scenario and r.task.delay_s == delay and r.task.tau == tau and r.samples
        ]
        if chosen:
            written.append(_trajectories(scenario, delay, tau, chosen, directory))
    return written


def _t99_cdf(scenario: str, delay: float, tau: float, group: Sequence[CellResult], directory: Path) -> Path:
    """Empirical CDF of T_99 over winnable rows; rows never in the band stay out of reach (the curve tops out)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for cell in group:
        values = np.array([v for v in cell.t_99 if v is not None], np.float64) / 60.0
        n = max(1, len(cell.t_99))
        if len(values):
            xs = np.sort(values)
            ys = np.arange(1, len(xs) + 1) / n
            ax.step(np.concatenate(([0.0], xs)), np.concatenate(([0.0], ys)), where="post", label=cell.strategy)
        else:
            ax.plot([], [], label=f"{cell.strategy} (never)")
    floor = group[0].floors["search_99_s"] / 60.0
    ax.axvline(floor, color="grey", linestyle=":", linewidth=1, label="floor (N0 round trips)")
    ax.axvline(group[0].floors["signal_s"] / 60.0, color="grey", linestyle="--", linewidth=1, label="floor (signal)")
    ax.set_xscale("symlog", linthresh=10.0)
    ax.set_xlim(left=0.0)
    ax.set_xlabel("T_99 (minutes from start, at max)")
    ax.set_ylabel("share of winnable rows")
    ax.set_ylim(0, 1.02)
    rows = group[0].rows
    ax.set_title(f"{scenario}, D = {minutes_label(delay)}, τ = {tau:g}: time to 99% of p* ({rows} rows)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    path = directory / f"t99_cdf_{scenario}_D{minutes_label(delay)}_tau{tau:g}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _trajectories(scenario: str, delay: float, tau: float, runs: Sequence[RunOutcome], directory: Path) -> Path:
    """One row of the first seed, each strategy in its own panel: our live price against p*(t)."""
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: r.task.strategy != "engine")
    row = _interesting_row(runs)
    fig, axes = plt.subplots(len(runs), 1, figsize=(9, 1.6 * len(runs) + 0.8), sharex=True, squeeze=False)
    for ax, run in zip(axes[:, 0], runs, strict=True):
        series = run.samples[min(row, len(run.samples) - 1)]
        hours = np.append(series.t, series.end) / 3600.0
        ax.step(hours, _masked(series.p_star), where="post", color="tab:orange", linewidth=1.2, label="p*")
        ax.step(hours, _masked(series.our_price), where="post", color="tab:blue", linewidth=1.0, label="our price")
        ax.axhline(series.min_price, color="grey", linewidth=0.6, linestyle=":")
        ax.axhline(series.max_price, color="grey", linewidth=0.6, linestyle=":")
        ax.set_ylabel(run.task.strategy, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("hours")
    fig.suptitle(
        f"{scenario}, D = {minutes_label(delay)}, τ = {tau:g}: seed {runs[0].seed}, row {row} "
        "(minor units; dotted: min and max)",
        fontsize=10,
    )
    fig.tight_layout()
    path = directory / f"trajectory_{scenario}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _interesting_row(runs: Sequence[RunOutcome]) -> int:
    """The first sampled row where p* is a price at the start (a winnable row), else row 0."""
    samples = runs[0].samples
    for i, series in enumerate(samples):
        if len(series.p_star) and (series.p_star > 0).any():
            return i
    return 0


def _masked(values: np.ndarray) -> np.ndarray:
    """Prices with the sentinels (not live, unwinnable) as gaps, closed by a last point for ``step``."""
    out = np.where(values >= 0, values, np.nan).astype(np.float64)
    return np.append(out, out[-1] if len(out) else np.nan)
