"""The daemon: its composition from a plan, its seller accounts and their marketplace runtimes.

`compose` builds a `Daemon` from a `DaemonPlan`; `Daemon` runs services and `SellerRuntime`s; each seller runs a
`MarketRuntime` per marketplace (intake, router, offer actors, batcher).
"""

from engine.daemon.compose import DaemonPlan, MarketplaceFactory, MarketplacePlan, SellerPlan, compose
from engine.daemon.config import RuntimeConfig
from engine.daemon.daemon import Daemon, Service, StopReport
from engine.daemon.market import CatalogStock, MarketRuntime, freeze
from engine.daemon.seller import SellerRuntime, account_error
from engine.daemon.status import MarketStatus, PersistReport
from engine.daemon.switch import Switch, throw

__all__ = [
    "CatalogStock",
    "Daemon",
    "DaemonPlan",
    "MarketRuntime",
    "MarketStatus",
    "MarketplaceFactory",
    "MarketplacePlan",
    "PersistReport",
    "RuntimeConfig",
    "SellerPlan",
    "SellerRuntime",
    "Service",
    "StopReport",
    "Switch",
    "account_error",
    "compose",
    "freeze",
    "throw",
]
