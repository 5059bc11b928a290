"""`repricer import`: Amazon's listings export (Seller Central's "All Listings Report") into the catalog.

Parsing is `adapters.listings`'s, the merge with the stored rows `engine.importing`'s: the export sets what Amazon
knows about each listing and keeps what the seller set (cost, fees, margins, bounds, sale price, lead time). The
stored rows are read first and the merged rows saved in one transaction, so re-importing the same export changes
nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from engine.cli.args import DEFAULT_SELLER, HelpFormatter, marketplace_code, refuse, seller_id
from engine.cli.database import StoreUnavailable, add_db_option, database_exists, open_store
from engine.cli.report import print_report

if TYPE_CHECKING:
    from adapters.listings import ParsedExport
    from engine.importing import ImportReport

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = sub.add_parser(
        "import",
        help="Amazon's listings export (All Listings Report) into the catalog",
        description="Read Amazon's listings export (tab-separated, as Seller Central downloads it) for one "
        "marketplace and merge each listing into the catalog: the export sets ASIN, product id, title, condition, "
        "fulfilment, price, stock (not for FBA), shipping group and the other columns; cost, fees, margins, "
        "bounds, sale price and lead time stay as you set them. The good rows are saved in one transaction and "
        "each rejected line is listed as FILE:LINE: SKU: reason. Exit code 0 when nothing was rejected, 1 when "
        "lines were, 2 for a usage error.",
        formatter_class=HelpFormatter,
    )
    load.add_argument("file", type=Path, metavar="FILE", help="the listings export")
    load.add_argument(
        "--marketplace",
        type=marketplace_code,
        required=True,
        help="country code the export is of; its prices are read in this marketplace's currency (no default)",
    )
    load.add_argument(
        "--seller",
        type=seller_id,
        default=DEFAULT_SELLER,
        metavar="ID",
        help="seller account the listings belong to; one account needs no other name than the default",
    )
    load.add_argument("--strict", action="store_true", help="save nothing if any line is rejected")
    load.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    load.add_argument("--json", action="store_true", help="print the report as one JSON object")
    add_db_option(load)
    load.set_defaults(handler=_cmd_import)


def _cmd_import(args: argparse.Namespace) -> int:
    from adapters.listings import parse_export
    from engine.marketplaces import by_code

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        return refuse("repricer import", f"cannot read {args.file}: {exc.strerror or exc}")
    parsed = parse_export(data, currency=by_code(args.marketplace).currency_code)
    try:
        report = trio.run(_merge_and_save, args, parsed)
    except StoreUnavailable as exc:
        return refuse("repricer import", str(exc))
    return print_report(report, str(args.file), as_json=args.json)


async def _merge_and_save(args: argparse.Namespace, parsed: ParsedExport) -> ImportReport:
    from engine.catalog import CatalogRow
    from engine.importing import Problem, merge_listing, repricing_problem, save_rows, stored_rows
    from engine.model import OfferKey

    errors = [Problem(error.line, error.sku, error.reason) for error in parsed.errors]

    def merged(stored: dict[OfferKey, CatalogRow]) -> tuple[list[CatalogRow], list[Problem]]:
        rows, warnings = [], []
        for listing in parsed.rows:
            key = OfferKey(args.seller, args.marketplace, listing.sku)
            row = merge_listing(listing, key, stored.get(key))
            rows.append(row)
            if (reason := repricing_problem(row)) is not None:
                warnings.append(Problem(listing.line, listing.sku, reason))
        return rows, warnings

    if not parsed.rows or (args.dry_run and not database_exists(args.db)):
        rows, warnings = merged({})
        return await save_rows(None, rows, {}, errors, warnings=warnings, strict=args.strict, dry_run=args.dry_run)
    async with open_store(args.db, create=not args.dry_run) as store:
        stored = await stored_rows(store, [(args.seller, args.marketplace)])
        rows, warnings = merged(stored)
        return await save_rows(store, rows, stored, errors, warnings=warnings, strict=args.strict, dry_run=args.dry_run)
