"""The composition: a `Daemon` from a typed description of what to run.

A `DaemonPlan` lists seller accounts, each with its marketplaces, each with its channel settings and offers. With
a `Marketplace` factory per (seller, marketplace) (the SP-API adapter, or the simulated one), a `Store` and the
strategy, `compose` builds the runtimes: one set of quota pacers per seller and region (Amazon's buckets are per
seller and application, shared by the marketplaces a seller reaches through one regional endpoint), one pause
switch per marketplace under its seller's under the daemon's. `repricer run --sim`, `repricer demo` and the
benchmarks compose the simulated daemon this way; `repricer run --config` composes the real one
(`engine.daemon.configured` plans it from the configuration and the store's catalog).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from engine.actors.batcher import UpdateIds
from engine.actors.pacing import Pacers
from engine.actors.recorder import Recorder
from engine.daemon.config import RuntimeConfig
from engine.daemon.daemon import Daemon, Service
from engine.daemon.market import MarketRuntime
from engine.daemon.seller import SellerRuntime
from engine.daemon.switch import Switch
from engine.marketplaces import by_code
from engine.model import ChannelSettings, OfferSettings
from engine.ports import Marketplace, StockProvider, Store
from engine.pricing.view import Strategy

__all__ = ["DaemonPlan", "MarketplaceFactory", "MarketplacePlan", "SellerPlan", "compose"]


class MarketplacePlan(msgspec.Struct, frozen=True):
    """One marketplace of a seller: its channel settings and the offers repriced there. ``tick`` is the price
    grid in minor units (1 unless the marketplace rounds); ``overrides`` are the channel settings of the SKUs that
    have their own (a configuration's per-offer tables, merged over the marketplace's)."""

    code: str
    offers: tuple[OfferSettings, ...] = ()
    channel: ChannelSettings = ChannelSettings()
    tick: int = 1
    overrides: dict[str, ChannelSettings] = {}


class SellerPlan(msgspec.Struct, frozen=True):
    """One seller account (Amazon's selling partner id, or the configuration's name for it)."""

    seller: str
    marketplaces: tuple[MarketplacePlan, ...]


class DaemonPlan(msgspec.Struct, frozen=True):
    sellers: tuple[SellerPlan, ...]


# (seller, marketplace code) → the adapter that acts for that seller there.
MarketplaceFactory = Callable[[str, str], Marketplace]


def compose(
    plan: DaemonPlan,
    marketplace: MarketplaceFactory,
    store: Store,
    strategy: Strategy[Any],
    *,
    config: RuntimeConfig | None = None,
    recorder: Recorder | None = None,
    services: Sequence[Service] = (),
    stock: StockProvider | None = None,
) -> Daemon:
    """Build the daemon for ``plan``. The store stays the caller's to open and close. A plan that contradicts
    itself (an offer filed under another seller or marketplace, a marketplace twice, an unknown code) is a
    ValueError naming the place."""
    config = config or RuntimeConfig()
    recorder = recorder or Recorder(store)
    root = Switch()
    ids = UpdateIds()  # one sequence for the whole daemon: the outbox is keyed by update id
    sellers = []
    for seller_plan in plan.sellers:
        seller = seller_plan.seller
        switch = Switch(root)
        pacers: dict[str, Pacers] = {}  # per region
        markets = []
        seen: set[str] = set()
        for market_plan in seller_plan.marketplaces:
            code = market_plan.code.upper()
            try:
                info = by_code(code)
            except KeyError as error:
                raise ValueError(f"seller {seller}: {error.args[0]}") from None
            if code in seen:
                raise ValueError(f"seller {seller}: marketplace {code} is listed twice")
            seen.add(code)
            for offer in market_plan.offers:
                if (offer.key.seller, offer.key.marketplace) != (seller, code):
                    raise ValueError(f"seller {seller}, marketplace {code}: offer {offer.key} belongs elsewhere")
            adapter = marketplace(seller, code)
            if (adapter.seller, adapter.code) != (seller, code):
                raise ValueError(f"the adapter for {seller}/{code} acts for {adapter.seller}/{adapter.code}")
            # The first marketplace of a region says what the seller's quota is; the others share its pacers.
            region = pacers.get(info.region)
            if region is None:
                region = pacers[info.region] = Pacers(adapter.quota)
            markets.append(
                MarketRuntime(
                    adapter,
                    market_plan.offers,
                    market_plan.channel,
                    store,
                    recorder,
                    strategy,
                    tick=market_plan.tick,
                    config=config,
                    pacers=region,
                    ids=ids,
                    stock=stock,
                    switch=Switch(switch),
                    overrides=market_plan.overrides,
                )
            )
        sellers.append(SellerRuntime(seller, markets, switch))
    return Daemon(sellers, config=config, services=[recorder, *services], switch=root, store=store)
