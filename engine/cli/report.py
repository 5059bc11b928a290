"""How `repricer catalog import` and `repricer import` show what an import did (`engine.importing.ImportReport`).

Text for a person: one summary line, every rejected line as ``FILE:LINE: SKU: reason`` (the shape compilers use,
so an editor can jump to it), then the rows saved that cannot be priced yet. ``--json`` prints the report as one
object instead, everything listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from engine.cli.args import EXIT_REJECTED

if TYPE_CHECKING:
    from engine.importing import ImportReport, Problem

__all__ = ["print_report"]

# A first listings import creates thousands of rows without bounds; the text shows a few, --json shows them all.
_WARNINGS_SHOWN = 20


def print_report(report: ImportReport, source: str, *, as_json: bool) -> int:
    """Print ``report`` on stdout; the exit code: 0 when nothing was rejected, 1 when lines were."""
    if as_json:
        print(msgspec.json.encode(report).decode())
    else:
        print(
            f"{source}: read {report.read}, created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged}, rejected {report.rejected}"
        )
        for error in report.errors:
            print(_where(source, error))
        for warning in report.warnings[:_WARNINGS_SHOWN]:
            print(f"warning: {_where(source, warning)}")
        if report.warnings:
            more = len(report.warnings) - _WARNINGS_SHOWN
            listed = f" ({more} more not listed; --json lists them all)" if more > 0 else ""
            saved = "saved, but " if report.committed else ""
            rows = "1 row" if len(report.warnings) == 1 else f"{len(report.warnings)} rows"
            print(f"warning: {rows} {saved}cannot be repriced until fixed{listed}")
        if report.dry_run:
            print("dry run: nothing written")
        elif not report.committed:
            print(f"nothing written: --strict, and {report.rejected} rejected")
    return EXIT_REJECTED if report.rejected else 0


def _where(source: str, problem: Problem) -> str:
    parts = [source if problem.line is None else f"{source}:{problem.line}"]
    if problem.sku is not None:
        parts.append(problem.sku)
    return ": ".join([*parts, problem.reason])
