"""How slow and how unreliable the simulated Amazon is: every delay and fault rate in one frozen object.

buybox.md scales our submit→live latency by one number, the median D; the other delays are fixed by default but
are parameters too, so a benchmark cell can vary any of them without touching code. The functions here turn
standard draws (from `sim.rng`) into delays; the market decides which stream and counter feed them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.rng import exponential, lognormal_quantile

__all__ = ["LatencyParams"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LatencyParams:
    """Latency and fault model (seconds, shares).

    Our submit goes live after a floor, uniform in ``floor_s`` (Amazon never applies a price faster), plus a
    log-normal whose median and p90 make the total's median D (``delay_s``) and its p90 ``p90_ratio``·D. The tail
    has no cap: at D = 2 min the log-normal's σ is about 1.9, p10 is 77 s, p99 about an hour and p99.9 about 4.7 h
    (4.7% of submits take longer than 10·D). For D
    below 2 min the floor shrinks in proportion, so it stays under three quarters of D. A share ``never_apply`` of
    accepted submits never apply. The listings view (getListingsItem, the read-back) shows a new live price only
    after a lag of its own, log-normal(``listing_lag_median_s``, p90 ``listing_lag_p90_s``).

    Buy Box recomputes are a Poisson process. Notifications take log-normal(median, p95) and are dropped,
    duplicated or delivered out of order at the given rates (`sim.notifications`). Amazon refreshes its FOEP
    estimate at uniform(0, ``foep_refresh_max_s``) intervals; its relative error is a persistent per-item bias
    N(0, ``foep_bias_sigma``) plus N(0, ``foep_sigma``) drawn afresh at each refresh. Competitors' own
    submit→live latency is log-normal around each one's median with p90 ``competitor_p90_ratio``·median.
    """

    delay_s: float = 120.0
    floor_s: tuple[float, float] = (60.0, 90.0)
    p90_ratio: float = 5.0
    never_apply: float = 0.02
    listing_lag_median_s: float = 60.0
    listing_lag_p90_s: float = 240.0
    recompute_mean_s: float = 60.0
    notif_median_s: float = 45.0
    notif_p95_s: float = 300.0
    notif_drop: float = 0.02
    notif_dup: float = 0.01
    notif_reorder: float = 0.01
    foep_refresh_max_s: float = 600.0
    foep_bias_sigma: float = 0.0025
    foep_sigma: float = 0.0015
    competitor_p90_ratio: float = 3.0
    competitor_cap_ratio: float = 10.0

    def submit_delay(self, z: F64, u: F64) -> F64:
        """Our submit→live delays from standard normals ``z`` (the log-normal part) and uniforms ``u`` (the
        floor).

        The log-normal part's median and p90 are the total's less the floor's mean: the total's median is then D
        within a few per cent (at D = 2 min, 121 s), its p90 ``p90_ratio``·D.
        """
        lo, hi = self.floor_s
        scale = min(1.0, 0.75 * self.delay_s / hi) if hi > 0 else 0.0
        floor_mean = scale * 0.5 * (lo + hi)
        median = self.delay_s - floor_mean
        p90 = self.p90_ratio * self.delay_s - floor_mean
        floor = scale * (lo + (hi - lo) * u)
        return floor + lognormal_quantile(median, z, p90=p90 / median)

    def listing_lag(self, z: F64) -> F64:
        """How long after a price goes live the listings view (the read-back) shows it."""
        return lognormal_quantile(self.listing_lag_median_s, z, p90=self.listing_lag_p90_s / self.listing_lag_median_s)

    def competitor_delay(self, median_s: F64, z: F64) -> F64:
        """A competitor's submit→live delays around its own median."""
        return lognormal_quantile(
            median_s, z, p90=self.competitor_p90_ratio, cap=self.competitor_cap_ratio * np.asarray(median_s)
        )

    def notification_delay(self, z: F64) -> F64:
        """Notification delivery delays (ANY_OFFER_CHANGED, PRICING_HEALTH)."""
        return lognormal_quantile(self.notif_median_s, z, p95=self.notif_p95_s / self.notif_median_s)

    def reorder_extra(self, u: F64) -> F64:
        """The extra delay of an out-of-order notification: one to two p95 delays, so a later change of the
        same row almost always overtakes it."""
        return self.notif_p95_s * (1.0 + u)

    def recompute_interval(self, u: F64) -> F64:
        """Time to the next Buy Box recompute of a row."""
        return exponential(self.recompute_mean_s, u)

    def foep_refresh_interval(self, u: F64) -> F64:
        """Time to Amazon's next refresh of its FOEP estimate for a row."""
        return self.foep_refresh_max_s * u

    def foep_bias(self, z: F64) -> F64:
        """Each item's persistent relative FOEP error, from one standard normal per item."""
        return self.foep_bias_sigma * z

    def foep_factor(self, bias: F64, z: F64) -> F64:
        """The multiplicative error of one FOEP refresh: the item's bias plus this refresh's own noise."""
        return 1.0 + bias + self.foep_sigma * z
