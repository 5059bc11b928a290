"""The seller's catalog as a file: CSV or JSON Lines, one flat record per offer.

`read_catalog` turns a file's bytes into `CatalogRow`s plus a report of every record it could not read (line,
SKU, reason), and never raises on what the file holds; `write_catalog` writes rows so that reading them back gives
the same rows. `check_row` says, as a warning, why the engine could not yet price a row that was read.

`files` frames records (encodings, the CSV header, JSONL lines, repeated SKUs); `record` turns one record into a
row and back; `fields` reads each value.
"""

from adapters.catalog.files import CatalogFile, Format, RowError, check_row, detect_format, read_catalog, write_catalog
from adapters.catalog.record import COLUMNS

__all__ = [
    "COLUMNS",
    "CatalogFile",
    "Format",
    "RowError",
    "check_row",
    "detect_format",
    "read_catalog",
    "write_catalog",
]
