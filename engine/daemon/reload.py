"""Reloading the catalog into a running daemon (SIGHUP, `repricer ctl reload`): offers added, removed or changed
(bounds, activation, sale price, stock, lead time, shipping profile) without a restart.

A row the engine cannot price (`engine.catalog.settings` names the SKU and why) leaves that offer as it runs: a
seller who mistyped one max among thousands of rows must not stop the others, nor lose the offer's search. A
marketplace for which the catalog holds no row at all keeps every offer it runs: an empty catalog is a catalog not
loaded (a database that is not the daemon's, or a run that never stored its offers), not an order to stop repricing.
Nothing is half applied: the rows are read and checked first, then the runtimes change in one step between two
checkpoints, so no decision sees half a reload.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import msgspec
import trio

from engine.catalog import CatalogRow, settings
from engine.daemon.daemon import Daemon
from engine.model import OfferKey, OfferSettings
from engine.ports import Store
from engine.pricing.bounds import BoundsError

__all__ = ["ReloadReport", "apply_catalog", "reload_catalog"]

log = logging.getLogger(__name__)


class Rejected(msgspec.Struct, frozen=True):
    seller: str
    marketplace: str
    sku: str
    reason: str


class ReloadReport(msgspec.Struct, frozen=True):
    """What a reload changed, per kind, and what it left as it was and why."""

    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: tuple[Rejected, ...] = ()  # rows that cannot be priced: those offers run on as they were
    kept: tuple[str, ...] = ()  # "seller/marketplace" with no row in the catalog: every offer there runs on
    elsewhere: int = 0  # rows of marketplaces this daemon does not run (taken in at the next start)
    failed: str | None = None  # why the catalog could not be read: then nothing changed

    def describe(self) -> str:
        if self.failed is not None:
            return f"reload failed: {self.failed}; nothing changed, the offers run on"
        parts = [f"{self.added} added, {self.removed} removed, {self.changed} changed, {self.unchanged} unchanged"]
        if self.rejected:
            parts.append(f"{_rows(len(self.rejected))} rejected (those offers run on as before)")
        if self.kept:
            parts.append(f"no catalog rows for {', '.join(self.kept)}: the offers there run on")
        if self.elsewhere:
            parts.append(f"{_rows(self.elsewhere)} for marketplaces this daemon does not run")
        return "reloaded the catalog: " + "; ".join(parts)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


async def reload_catalog(daemon: Daemon, store: Store, *, timeout_s: float = math.inf) -> ReloadReport:
    """Read every running marketplace's catalog from ``store`` and apply it (`apply_catalog`). A store that fails,
    or does not answer within ``timeout_s`` (on trio's clock), changes nothing: the report says why, it is logged,
    and the offers run on; a reload is never what stops the daemon."""
    rows: list[CatalogRow] = []
    failed: str | None = None
    with trio.move_on_after(timeout_s) as scope:
        try:
            for market in daemon.markets:
                rows.extend(await store.load_catalog(market.seller, market.code))
        except Exception as error:
            failed = f"the catalog could not be read ({type(error).__name__}: {error})"
    if scope.cancelled_caught:
        failed = f"the store did not answer within {timeout_s:g}s"
    if failed is not None:
        report = ReloadReport(failed=failed)
        log.error("%s", report.describe())
        return report
    return apply_catalog(daemon, rows)


def apply_catalog(daemon: Daemon, rows: Iterable[CatalogRow]) -> ReloadReport:
    """Make the running offers what ``rows`` describe; synchronous, so no other task runs in between."""
    wanted: dict[tuple[str, str], dict[OfferKey, OfferSettings]] = {
        (market.seller, market.code): {} for market in daemon.markets
    }
    rejected: list[Rejected] = []
    elsewhere = 0
    for row in rows:
        key = row.key
        offers = wanted.get((key.seller, key.marketplace))
        if offers is None:
            elsewhere += 1
            continue
        try:
            offers[key] = settings(row)
        except BoundsError as error:
            rejected.append(Rejected(key.seller, key.marketplace, key.sku, error.reason))
    refused = {(r.seller, r.marketplace, r.sku) for r in rejected}
    added = removed = changed = unchanged = 0
    kept: list[str] = []
    for market in daemon.markets:
        offers = wanted[(market.seller, market.code)]
        if not offers and not any((market.seller, market.code) == (r.seller, r.marketplace) for r in rejected):
            kept.append(f"{market.seller}/{market.code}")
            continue
        for key in [key for key in market.catalog if key not in offers]:
            if (key.seller, key.marketplace, key.sku) in refused:
                continue
            market.remove_offer(key.sku)
            removed += 1
        for key, offer in offers.items():
            running = market.catalog.get(key)
            if running is None:
                market.add_offer(offer)
                added += 1
            elif running != offer:
                market.replace_offer(offer)
                changed += 1
            else:
                unchanged += 1
    report = ReloadReport(added, removed, changed, unchanged, tuple(rejected), tuple(kept), elsewhere)
    for r in rejected:
        log.error("reload: %s/%s SKU %r not changed: %s", r.seller, r.marketplace, r.sku, r.reason)
    log.info("%s", report.describe())
    return report
