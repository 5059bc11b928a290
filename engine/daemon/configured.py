"""The plan of a configured daemon (`repricer run --config`): the configuration's sellers and marketplaces, with the
store's catalog as their offers.

Each (seller, marketplace) of the configuration gets the catalog rows stored for it (by `repricer import` or
`repricer catalog import`), made into `OfferSettings` as a reload makes them (`engine.catalog.settings`): a row that
cannot be priced is logged naming its SKU and why, and the other offers run. A marketplace without a single offer is
logged, with how to import its offers, and runs empty: a catalog reload (SIGHUP) adds them once they are imported.

A configuration none of whose marketplaces has an offer is refused (`NothingToReprice`): a daemon that reprices
nothing must not look healthy. The refusal names the database and how to import; when the database holds offers of
sellers or marketplaces the configuration does not name, it names those too, as the usual cause is an import under
another seller id (`repricer import` files under "default" unless told) or into another database.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from engine.catalog import settings
from engine.config.resolved import Config
from engine.daemon.compose import DaemonPlan, MarketplacePlan, SellerPlan
from engine.daemon.reload import Rejected
from engine.marketplaces import by_code
from engine.model import OfferSettings
from engine.ports import Store
from engine.pricing.bounds import BoundsError

__all__ = ["ConfiguredPlan", "NothingToReprice", "import_hint", "plan_daemon"]

log = logging.getLogger(__name__)


class NothingToReprice(Exception):
    """No configured marketplace has an offer in the catalog; the message says where it looked and what to do."""


class ConfiguredPlan(msgspec.Struct, frozen=True):
    """The plan, and what the catalog lacked: marketplaces without an offer (``"seller/DE"``), rows that cannot be
    priced (those offers do not run), and the (seller, marketplace) pairs the catalog holds that the configuration
    does not name (their offers do not run either)."""

    plan: DaemonPlan
    empty: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    elsewhere: tuple[tuple[str, str], ...] = ()

    @property
    def offers(self) -> int:
        return sum(len(market.offers) for seller in self.plan.sellers for market in seller.marketplaces)


def import_hint(seller: str, marketplace: str, database: Path) -> str:
    """How a seller gets a marketplace's offers into the daemon's catalog."""
    where = f"--seller {seller} --marketplace {marketplace} --db {database}"
    return (
        f"import them with `repricer import LISTINGS.txt {where}` (Amazon's listings export) or "
        f"`repricer catalog import FILE {where}`"
    )


async def plan_daemon(config: Config, store: Store, *, database: Path) -> ConfiguredPlan:
    """The plan of ``config``'s daemon with the offers of ``store``'s catalog (the database at ``database``, named
    in what is logged and refused). Raises `NothingToReprice` when no configured marketplace has an offer."""
    sellers: list[SellerPlan] = []
    empty: list[str] = []
    rejected: list[Rejected] = []
    for account in config.sellers:
        markets: list[MarketplacePlan] = []
        for market in account.markets:
            code = market.marketplace
            offers: list[OfferSettings] = []
            for row in await store.load_catalog(account.id, code):
                try:
                    offers.append(settings(row))
                except BoundsError as error:
                    rejected.append(Rejected(account.id, code, row.key.sku, error.reason))
                    log.error("%s/%s SKU %r not repriced: %s", account.id, code, row.key.sku, error.reason)
            if not offers:
                empty.append(f"{account.id}/{code}")
            tick = by_code(code).currency.tick
            markets.append(MarketplacePlan(code, tuple(offers), market.channel, tick, dict(market.offers)))
        sellers.append(SellerPlan(account.id, tuple(markets)))
    configured = {(account.id, code) for account in config.sellers for code in account.marketplaces}
    elsewhere = tuple(pair for pair in await store.markets() if pair not in configured)
    planned = ConfiguredPlan(DaemonPlan(tuple(sellers)), tuple(empty), tuple(rejected), elsewhere)
    if not planned.offers:
        raise NothingToReprice(_nothing(config, database, planned))
    for place in empty:
        seller, code = place.split("/")
        log.warning(
            "%s: no offers in the catalog, nothing to reprice there; %s", place, import_hint(seller, code, database)
        )
    if elsewhere:
        log.info(
            "the catalog also holds offers for %s, which the configuration does not name: not repriced",
            ", ".join(f"{seller}/{code}" for seller, code in elsewhere),
        )
    return planned


def _nothing(config: Config, database: Path, planned: ConfiguredPlan) -> str:
    first = config.sellers[0]
    looked = "; ".join(f"seller {account.id} on {', '.join(account.marketplaces)}" for account in config.sellers)
    said = f"nothing to reprice: the catalog in {database} has no offer for {looked}"
    if planned.rejected:
        said += f" that can be priced ({len(planned.rejected)} rows cannot be: see above)"
    if planned.elsewhere:
        said += (
            f"; it holds offers for {', '.join(f'{seller}/{code}' for seller, code in planned.elsewhere)}: were they "
            "imported under another --seller?"
        )
    return f"{said}; {import_hint(first.id, first.marketplaces[0], database)}"
