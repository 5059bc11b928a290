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

    Our submit goes live after log-normal(median D, p90 ``p90_ratio``·D) capped at ``cap_ratio``·D, and a share
    ``never_apply`` of accepted submits never apply. Buy Box recomputes are a Poisson process. Notifications take
    log-normal(median, p95) and are dropped, duplicated or delivered out of order at the given rates. Amazon
    refreshes its FOEP estimate at uniform(0, ``foep_refresh_max_s``) intervals with relative noise
    N(``foep_bias``, ``foep_sigma``). Competitors' own submit→live latency is log-normal around each one's
    median with p90 ``competitor_p90_ratio``·median.
    """

    delay_s: float = 120.0
    p90_ratio: float = 5.0
    cap_ratio: float = 10.0
    never_apply: float = 0.02
    recompute_mean_s: float = 60.0
    notif_median_s: float = 45.0
    notif_p95_s: float = 300.0
    notif_drop: float = 0.02
    notif_dup: float = 0.01
    notif_reorder: float = 0.01
    foep_refresh_max_s: float = 600.0
    foep_bias: float = 0.0
    foep_sigma: float = 0.003
    competitor_p90_ratio: float = 3.0
    competitor_cap_ratio: float = 10.0

    def submit_delay(self, z: F64) -> F64:
        """Our submit→live delays from standard normals ``z``."""
        return lognormal_quantile(self.delay_s, z, p90=self.p90_ratio, cap=self.cap_ratio * self.delay_s)

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

    def foep_factor(self, z: F64) -> F64:
        """The multiplicative error of one FOEP refresh."""
        return 1.0 + self.foep_bias + self.foep_sigma * z
