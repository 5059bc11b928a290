"""The simulated marketplace behind the `Marketplace` port, and the wiring of a simulated run.

`marketplace` is the adapter (the engine talks to it as to Amazon); `run` builds the daemon's composition over
simulated markets for `repricer run --sim`, `repricer demo` and the benchmarks.
"""

from adapters.simulated.marketplace import OPERATIONS, MarketFeed, SimulatedMarketplace, catalog_settings
from adapters.simulated.run import MarketResult, Placement, SimRun, build_run

__all__ = [
    "OPERATIONS",
    "MarketFeed",
    "MarketResult",
    "Placement",
    "SimRun",
    "SimulatedMarketplace",
    "build_run",
    "catalog_settings",
]
