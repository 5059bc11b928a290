"""`repricer catalog import|export`: the seller's catalog between a file (CSV or JSON Lines) and the database.

Reading and writing the files is `adapters.catalog`'s; saving is `engine.importing`'s. An import commits its good
rows in one transaction and lists the lines it rejected; an export replaces its output file whole, so a reader
never sees half a catalog.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from engine.cli.args import (
    DEFAULT_SELLER,
    EXIT_REJECTED,
    HelpFormatter,
    marketplace_code,
    output_file,
    refuse,
    seller_id,
)
from engine.cli.database import StoreUnavailable, add_db_option, database_exists, open_store
from engine.cli.report import print_report

if TYPE_CHECKING:
    from engine.catalog import CatalogRow
    from engine.importing import ImportReport, Problem

__all__ = ["add_parser"]

_FORMATS = ("csv", "jsonl")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    catalog = sub.add_parser(
        "catalog",
        help="the seller's catalog: import a CSV or JSON Lines file into the database, export it",
        description="The seller's catalog (costs, fees, margins or bounds, stock) between a file and the database.",
        formatter_class=HelpFormatter,
    )
    actions = catalog.add_subparsers(required=True, metavar="action")
    load = actions.add_parser(
        "import",
        help="save a catalog file's rows in the database",
        description="Read a catalog file and save its good rows in one transaction; list each rejected line as "
        "FILE:LINE: SKU: reason, and each saved row the engine cannot price yet as a warning. Exit code 0 when "
        "nothing was rejected, 1 when lines were (the good rows are saved), 2 for a usage error.",
        formatter_class=HelpFormatter,
    )
    load.add_argument("file", type=Path, metavar="FILE", help="the catalog file")
    load.add_argument(
        "--format", choices=_FORMATS, help="the file's format (default: from its name: .csv, .jsonl, .ndjson)"
    )
    load.add_argument(
        "--seller",
        type=seller_id,
        default=DEFAULT_SELLER,
        metavar="ID",
        help="seller account of records that name none",
    )
    load.add_argument(
        "--marketplace",
        type=marketplace_code,
        help="country code of records that name none (default: none; each record must then have one)",
    )
    load.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    load.add_argument("--json", action="store_true", help="print the report as one JSON object")
    add_db_option(load)
    load.set_defaults(handler=_cmd_import)

    dump = actions.add_parser(
        "export",
        help="write the database's catalog as a file",
        description="Write the catalog rows in the database (all, or one seller's or marketplace's) as a catalog "
        "file that `repricer catalog import` reads back as the same rows.",
        formatter_class=HelpFormatter,
    )
    dump.add_argument(
        "--seller", type=seller_id, metavar="ID", help="only this seller account's rows (default: every seller)"
    )
    dump.add_argument(
        "--marketplace", type=marketplace_code, help="only this marketplace's rows (default: every marketplace)"
    )
    dump.add_argument(
        "--format", choices=_FORMATS, help="the file's format (default: from the name of -o FILE; csv on stdout)"
    )
    dump.add_argument(
        "-o", "--output", type=output_file, metavar="FILE", help="write to FILE, replacing it whole (not stdout)"
    )
    add_db_option(dump)
    dump.set_defaults(handler=_cmd_export)


def _cmd_import(args: argparse.Namespace) -> int:
    from adapters.catalog import detect_format, read_catalog
    from engine.importing import Problem, repricing_problem

    prog = "repricer catalog import"
    format = args.format or detect_format(args.file)
    if format is None:
        return refuse(prog, f"cannot tell the format of {args.file} from its name: give --format csv or jsonl")
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        return refuse(prog, f"cannot read {args.file}: {exc.strerror or exc}")
    parsed = read_catalog(data, format=format, seller=args.seller, marketplace=args.marketplace)
    errors = [Problem(error.line, error.sku, error.reason) for error in parsed.errors]
    warnings = [Problem(None, row.key.sku, reason) for row in parsed.rows if (reason := repricing_problem(row))]
    try:
        report = trio.run(_save, args, parsed.rows, errors, warnings)
    except StoreUnavailable as exc:
        return refuse(prog, str(exc))
    return print_report(report, str(args.file), as_json=args.json)


async def _save(
    args: argparse.Namespace, rows: list[CatalogRow], errors: list[Problem], warnings: list[Problem]
) -> ImportReport:
    from engine.importing import save_rows, stored_rows

    if not rows or (args.dry_run and not database_exists(args.db)):
        return await save_rows(None, rows, {}, errors, warnings=warnings, dry_run=args.dry_run)
    async with open_store(args.db, create=not args.dry_run) as store:
        # The store counts what a commit changed; a dry run counts against what it holds.
        stored = await stored_rows(store, {(r.key.seller, r.key.marketplace) for r in rows}) if args.dry_run else {}
        return await save_rows(store, rows, stored, errors, warnings=warnings, dry_run=args.dry_run)


def _cmd_export(args: argparse.Namespace) -> int:
    from adapters.catalog import detect_format, write_catalog

    prog = "repricer catalog export"
    format = args.format or ("csv" if args.output is None else detect_format(args.output))
    if format is None:
        return refuse(prog, f"cannot tell the format of {args.output} from its name: give --format csv or jsonl")
    try:
        rows = trio.run(_load, args)
    except StoreUnavailable as exc:
        return refuse(prog, str(exc))
    try:
        data = write_catalog(rows, format=format)
    except ValueError as exc:  # a row no file can hold; it names the SKU
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        _write_replacing(args.output, data)
    except OSError as exc:
        return refuse(prog, f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"{prog}: {len(rows)} row{'' if len(rows) == 1 else 's'} written to {args.output}", file=sys.stderr)
    return 0


async def _load(args: argparse.Namespace) -> list[CatalogRow]:
    async with open_store(args.db, create=False) as store:
        rows = []
        for seller, marketplace in await store.markets():
            if args.seller in (None, seller) and args.marketplace in (None, marketplace):
                rows += await store.load_catalog(seller, marketplace)
        return rows


def _write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it: ``path`` is the old file or the new, whole."""
    mode = _mode_for(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode_for(path: Path) -> int:
    """The replaced file's permissions; for a new file, what `open` would give it (mkstemp's are owner only)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
