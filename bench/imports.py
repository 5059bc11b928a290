"""`repricer bench import`: how long a large listings export takes to become catalog rows in a SQLite store.

One run, on trio's real clock (the SQLite store's thread does not run under a MockClock), in a fresh temporary
directory:

1. a listings export of N rows is written by `adapters.listings.write_export` (not timed against the target):
   a German seller's file as Amazon sends it, cp1252 with decimal commas by default, a mix of merchant-fulfilled
   and FBA rows, used and new, a few inactive rows without a price, and B2B columns on a third of the rows;
2. the import as `repricer import` does it (`engine.cli.listings`), phase by phase: opening a fresh store (its
   migrations), `parse_export`, reading the stored rows of the marketplace (`engine.importing.stored_rows`),
   building the catalog rows (`merge_listing` over each stored row, and `repricing_problem` for each, since the
   command warns of rows it cannot price yet: an export gives no bounds, so that is every new row), and one
   `save_rows` (one `save_catalog`, one transaction); ``import_s`` is the wall time of the whole;
3. the same file imported again into the now-filled store, the same phases: every row must come back
   ``unchanged``.
"""

from __future__ import annotations

import math
import random
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec
import trio

from adapters.listings import CONDITION_CODES, ExportRow, ProductIdType, parse_export, write_export
from engine.catalog import CatalogRow
from engine.importing import ImportReport, Problem, merge_listing, repricing_problem, save_rows, stored_rows
from engine.model import Condition, Fulfilment, OfferKey
from engine.money import format_minor
from engine.ports import Clock
from engine.store.sqlite import SqliteStore

__all__ = ["ImportPlan", "ImportRun", "directory_bytes", "export_rows", "import_json", "import_table", "run_import"]

SELLER = "BENCH"
MARKETPLACE = "DE"
CURRENCY = "EUR"

_TITLE_WORDS = (
    "Kaffeebecher Größe Jacke für Männer Übergröße Teekanne Edelstahl Küchenwaage Gürtel Lederhülle Ladegerät "
    "Fahrradschloss Bürostuhl Rucksack wasserdicht Spülbürste Schraubendreher Wärmflasche Glühbirne Öko Baumwolle "
    "Süßigkeiten Spielzeug Kinder Damen Herren schwarz weiß grün blau 2er-Pack XL Größe-M Ersatzteil Zubehör"
)
_WORDS = tuple(_TITLE_WORDS.split())
_USED = ("1", "2", "3", "4", "10")
_GROUPS = ("Standardvorlage", "Sperrgut", "Prime-Vorlage", "Versand Ausland")


@dataclass(frozen=True, slots=True)
class ImportPlan:
    rows: int = 100_000
    encoding: str = "cp1252"  # or "utf-8" ("utf-8-sig" with a BOM)
    seed: int = 1


@dataclass(frozen=True, slots=True)
class ImportRun:
    rows: int
    file_mb: float
    encoding: str
    # The first import, into a fresh store, and its wall time in all:
    open_s: float
    parse_s: float
    stored_s: float  # reading the stored rows to merge with
    rows_s: float
    save_s: float
    import_s: float
    created: int
    # The same file again:
    reimport_parse_s: float
    reimport_stored_s: float
    reimport_rows_s: float
    reimport_save_s: float
    reimport_s: float
    unchanged: int
    # Beyond the contract:
    write_s: float
    parse_errors: int
    warnings: int  # rows the engine cannot price yet (no bounds in an export)
    fba_rows: int
    b2b_rows: int
    store_mb: float
    peak_rss_mb: float


def export_rows(n: int, seed: int = 1) -> list[ExportRow]:
    """``n`` listings of one German seller, varied the way a real catalog is (reproducible from ``seed``)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        fba = rng.random() < 0.4
        price = None if rng.random() < 0.03 else round(math.exp(rng.uniform(5.3, 10.8)))  # 2 to 490 euros
        quantity = None if fba else rng.choice((0, 1, 2, 5, 12, 40, 150))
        ean = rng.random() < 0.7
        asin = f"B0{rng.getrandbits(40):010X}"[:10]
        attributes = [("listing-id", f"{rng.getrandbits(36):011X}"), ("item-is-marketplace", "y")]
        if not fba and rng.random() < 0.2:
            attributes.append(("pending-quantity", str(rng.randint(1, 3))))
        if price is not None and rng.random() < 1 / 3:
            business = price * 95 // 100
            attributes += [
                ("Business Price", format_minor(business, CURRENCY, decimal_mark=",")),
                ("Quantity Price Type", "percent" if rng.random() < 0.5 else "fixed"),
                ("Quantity Lower Bound 1", "5"),
                ("Quantity Price 1", format_minor(business * 97 // 100, CURRENCY, decimal_mark=",")),
                ("Quantity Lower Bound 2", "20"),
                ("Quantity Price 2", format_minor(business * 93 // 100, CURRENCY, decimal_mark=",")),
            ]
        title = " ".join(rng.choices(_WORDS, k=rng.randint(4, 14)))
        rows.append(
            ExportRow(
                line=0,
                sku=f"{'FBA' if fba else 'MFN'}-{i:07d}-{rng.choice('ABCDEFGH')}",
                asin=asin,
                product_id=f"40{rng.getrandbits(36):011d}"[:13] if ean else asin,
                product_id_type=ProductIdType.EAN if ean else ProductIdType.ASIN,
                price=price,
                quantity=quantity,
                condition=Condition.NEW if rng.random() < 0.9 else CONDITION_CODES[rng.choice(_USED)],
                fulfilment=Fulfilment.AMAZON if fba else Fulfilment.MERCHANT,
                fulfilment_channel="AMAZON_EU" if fba else "DEFAULT",
                status="Active" if price is not None and quantity != 0 else "Inactive",
                item_name=title,
                open_date=f"20{rng.randint(15, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 10:15:00 MEST",
                shipping_group=None if fba else rng.choice(_GROUPS),
                attributes=tuple(attributes),
            )
        )
    return rows


class _Phases(msgspec.Struct):
    parse_s: float = 0.0
    stored_s: float = 0.0
    rows_s: float = 0.0
    save_s: float = 0.0


async def _import(store: SqliteStore, data: bytes) -> tuple[_Phases, ImportReport]:
    """`repricer import`'s steps after opening the store, each timed."""
    phases = _Phases()
    t0 = time.perf_counter()
    parsed = parse_export(data, currency=CURRENCY)
    t1 = time.perf_counter()
    errors = [Problem(error.line, error.sku, error.reason) for error in parsed.errors]
    stored = await stored_rows(store, [(SELLER, MARKETPLACE)])
    t2 = time.perf_counter()
    rows: list[CatalogRow] = []
    warnings: list[Problem] = []
    for listing in parsed.rows:
        key = OfferKey(SELLER, MARKETPLACE, listing.sku)
        row = merge_listing(listing, key, stored.get(key))
        rows.append(row)
        if (reason := repricing_problem(row)) is not None:
            warnings.append(Problem(listing.line, listing.sku, reason))
    t3 = time.perf_counter()
    report = await save_rows(store, rows, stored, errors, warnings=warnings)
    t4 = time.perf_counter()
    phases.parse_s, phases.stored_s, phases.rows_s, phases.save_s = t1 - t0, t2 - t1, t3 - t2, t4 - t3
    return phases, report


async def _measure(plan: ImportPlan, directory: Path) -> ImportRun:
    t0 = time.perf_counter()
    rows = export_rows(plan.rows, plan.seed)
    data = write_export(rows, currency=CURRENCY, encoding=plan.encoding, decimal_mark=",")
    write_s = time.perf_counter() - t0
    path = str(directory / "store.db")

    started = time.perf_counter()
    async with SqliteStore.open(path, clock=Clock()) as store:
        open_s = time.perf_counter() - started
        first, report = await _import(store, data)
    import_s = time.perf_counter() - started

    started = time.perf_counter()
    async with SqliteStore.open(path, clock=Clock()) as store:
        again, again_report = await _import(store, data)
    again_s = time.perf_counter() - started
    if again_report.unchanged != plan.rows - report.rejected or again_report.created or again_report.updated:
        raise RuntimeError(f"the re-import changed rows: {again_report}")
    store_bytes = await trio.to_thread.run_sync(directory_bytes, directory)
    return ImportRun(
        rows=plan.rows,
        file_mb=round(len(data) / 2**20, 2),
        encoding=plan.encoding,
        open_s=round(open_s, 3),
        parse_s=round(first.parse_s, 3),
        stored_s=round(first.stored_s, 3),
        rows_s=round(first.rows_s, 3),
        save_s=round(first.save_s, 3),
        import_s=round(import_s, 3),
        created=report.created,
        reimport_parse_s=round(again.parse_s, 3),
        reimport_stored_s=round(again.stored_s, 3),
        reimport_rows_s=round(again.rows_s, 3),
        reimport_save_s=round(again.save_s, 3),
        reimport_s=round(again_s, 3),
        unchanged=again_report.unchanged,
        write_s=round(write_s, 3),
        parse_errors=report.rejected,
        warnings=len(report.warnings),
        fba_rows=sum(row.fulfilment is Fulfilment.AMAZON for row in rows),
        b2b_rows=sum(any(name == "Business Price" for name, _ in row.attributes) for row in rows),
        store_mb=round(store_bytes / 2**20, 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )


def directory_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir())


def run_import(plan: ImportPlan) -> ImportRun:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as directory:
        return trio.run(_measure, plan, Path(directory))


def import_json(run: ImportRun, plan: ImportPlan) -> dict[str, Any]:
    return {"run": asdict(run), "plan": asdict(plan)}


def import_table(run: ImportRun) -> str:
    phases: Sequence[tuple[str, float, float | None]] = (
        ("open store", run.open_s, None),
        ("parse_export", run.parse_s, run.reimport_parse_s),
        ("stored rows", run.stored_s, run.reimport_stored_s),
        ("merge rows", run.rows_s, run.reimport_rows_s),
        ("save_catalog", run.save_s, run.reimport_save_s),
        ("wall, in all", run.import_s, run.reimport_s),
    )
    lines = [
        f"{run.rows:,} rows, {run.file_mb:.1f} MB {run.encoding} ({run.fba_rows:,} FBA, {run.b2b_rows:,} with B2B "
        f"prices, {run.parse_errors} errors); written in {run.write_s:.2f} s",
        f"{'phase':<14} {'import s':>9} {'again s':>9}",
    ]
    for name, first, again in phases:
        lines.append(f"{name:<14} {first:>9.2f} {'' if again is None else f'{again:.2f}':>9}")
    lines.append(
        f"created {run.created:,}; again unchanged {run.unchanged:,}; {run.warnings:,} rows not yet priceable "
        f"(no bounds); store {run.store_mb:.1f} MB; peak RSS {run.peak_rss_mb:,.0f} MB"
    )
    return "\n".join(lines)
