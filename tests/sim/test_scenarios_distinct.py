"""No two scenarios are the same market in practice (buybox.md, "Scenarios").

Before issue 22, S7's raiser and S2's undercutter set the same price in every case, so S7 was S2 on every seed and
every S7 figure in bench/results was S2's. The test drives each scenario on the same seeds with the same scripted
prices of ours (so the same bounds and the same random numbers: only the competitors differ) and compares what a
seller would see every 15 minutes: p*, the lowest competing landed price, and whether we hold the Buy Box.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from sim.scenarios import SCENARIOS, build_market

SEEDS = (1, 2)
ROWS = 8
HOURS = 8
# Our price each hour, as a fraction of the way from min to max: the same script in every scenario.
SCRIPT = (0.9, 0.3, 0.7, 0.1, 0.5, 0.8, 0.2, 0.6, 0.4, 1.0, 0.0, 0.55)
# The share of samples in which two scenarios must differ. The closest pair is S2 and S6 (about 0.19): S6's
# resetter undercuts like S2's undercutter except while it is up at its ceiling, about a sixth of the time.
MIN_DIFFERENT = 0.1


def _trajectory(name: str, seed: int) -> npt.NDArray[np.int64]:
    """What a seller sees every 15 min, shape ``(samples, 3, rows)``: p*, the lowest competing landed price,
    whether we hold the Buy Box."""
    market = build_market(name, seed, ROWS, notifications=False)
    spec, rows = market.spec, np.arange(ROWS)
    samples = []
    for hour, fraction in enumerate(SCRIPT[:HOURS]):
        start = hour * 3600.0
        price = spec.min_price + np.floor((spec.max_price - spec.min_price) * fraction).astype(np.int64)
        market.submit(rows, price // spec.tick * spec.tick, start)
        for quarter in range(1, 5):
            market.advance_to(start + 900.0 * quarter)
            landed = market.price + market.ship
            lowest = np.where(
                market.available[:, 1:].any(axis=1),
                np.where(market.available[:, 1:], landed[:, 1:], np.iinfo(np.int64).max).min(axis=1),
                -1,
            )
            samples.append(np.stack([market.p_star.copy(), lowest, (market.holder == 0).astype(np.int64)]))
    return np.array(samples)


def test_scenarios_are_distinct() -> None:
    seen = {name: [_trajectory(name, seed) for seed in SEEDS] for name in SCENARIOS}
    alike = []
    for a, b in itertools.combinations(SCENARIOS, 2):
        # A sample differs when any of the three readings differs on that row at that time.
        differ = np.mean(
            [np.mean((ta != tb).any(axis=1)) for ta, tb in zip(seen[a], seen[b], strict=True)],
        )
        if differ < MIN_DIFFERENT:
            alike.append((a, b, round(float(differ), 3)))
    assert not alike, f"scenarios that are the same market in practice: {alike}"
