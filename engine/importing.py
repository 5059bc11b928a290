"""Bringing rows into the stored catalog: what `repricer catalog import` and `repricer import` share.

Two sources feed the catalog. A catalog file (`adapters.catalog`) is the seller's own word on whole rows. Amazon's
listings export (`adapters.listings`) knows only what Amazon knows about each listing, so `merge_listing` lays it
over the stored row: Amazon's facts (identifiers, title, condition, fulfilment, listed price and stock) replace the
stored ones, and what only the seller can say (cost, fees, VAT rate, margins, bounds, sale price, lead time,
whether to reprice) is kept. A listing is read through the `Listing` protocol, which the export's rows satisfy as
they are, so this module stays on the engine's side of the layers.

`save_rows` then writes the good rows in one `Store.save_catalog` call, one transaction: a file with bad lines
either commits its good rows together or, ``strict``, nothing at all. A dry run counts what the call would change
by comparing with the stored rows exactly as the SQLite store does, by their encoded bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import msgspec

from engine.catalog import CatalogRow, settings
from engine.model import Condition, Fulfilment, OfferKey
from engine.ports import CatalogChange, Store
from engine.pricing.bounds import BoundsError

__all__ = [
    "ImportReport",
    "Listing",
    "Problem",
    "merge_listing",
    "preview",
    "repricing_problem",
    "save_rows",
    "stored_rows",
]


class Listing(Protocol):
    """What Amazon's listings export says about one listing (`adapters.listings.ExportRow` is one)."""

    @property
    def sku(self) -> str: ...
    @property
    def asin(self) -> str | None: ...
    @property
    def product_id(self) -> str | None: ...
    @property
    def product_id_type(self) -> str | None: ...
    @property
    def item_name(self) -> str | None: ...
    @property
    def condition(self) -> Condition: ...
    @property
    def fulfilment(self) -> Fulfilment: ...
    @property
    def price(self) -> int | None: ...
    @property
    def quantity(self) -> int | None: ...
    @property
    def shipping_group(self) -> str | None: ...
    @property
    def attributes(self) -> tuple[tuple[str, str], ...]: ...


class Problem(msgspec.Struct, frozen=True, gc=False):
    """A line that was rejected, or a row saved with a warning: its line when known, its SKU when readable."""

    line: int | None
    sku: str | None
    reason: str


class ImportReport(msgspec.Struct, frozen=True):
    """What an import read and did. ``read`` counts every record of the file, good or rejected, so
    ``read == created + updated + unchanged + rejected``. Without a commit (a dry run, or ``strict`` with a rejected
    line) the three changes are what the commit would have made.

    ``warnings`` are rows saved that the engine cannot price yet (no bounds, say): valid catalog rows, still to
    be completed by the seller."""

    read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[Problem]
    warnings: list[Problem]
    dry_run: bool
    committed: bool


def merge_listing(listing: Listing, key: OfferKey, stored: CatalogRow | None) -> CatalogRow:
    """The catalog row for ``key`` after Amazon's export said ``listing`` about it.

    The export sets what Amazon knows; everything else comes from the stored row (or the defaults for a new one).
    An FBA listing has no stock of ours: Amazon counts its own, so ``stock`` is None whatever the export's quantity.
    """
    if stored is not None and stored.key != key:
        raise ValueError(f"the stored row is {stored.key}, not {key}")
    base = stored if stored is not None else CatalogRow(key=key)
    return msgspec.structs.replace(
        base,
        asin=listing.asin,
        product_id=listing.product_id,
        # The export's type is an enum of strings; the catalog keeps the plain text, as a catalog file gives it.
        product_id_type=None if listing.product_id_type is None else str(listing.product_id_type),
        title=listing.item_name,
        condition=listing.condition,
        fulfilment=listing.fulfilment,
        price=listing.price,
        stock=None if listing.fulfilment is Fulfilment.AMAZON else listing.quantity,
        shipping_group=listing.shipping_group,
        attributes=tuple(listing.attributes),
    )


def repricing_problem(row: CatalogRow) -> str | None:
    """Why the engine cannot price ``row`` yet (`engine.catalog.settings`'s reason), or None when it can."""
    try:
        settings(row)
    except BoundsError as exc:
        return exc.reason
    return None


async def stored_rows(store: Store, markets: Iterable[tuple[str, str]]) -> dict[OfferKey, CatalogRow]:
    """The stored rows of each (seller, marketplace), by key."""
    found: dict[OfferKey, CatalogRow] = {}
    for seller, marketplace in sorted(set(markets)):
        found.update((row.key, row) for row in await store.load_catalog(seller, marketplace))
    return found


def preview(rows: Sequence[CatalogRow], stored: Mapping[OfferKey, CatalogRow]) -> CatalogChange:
    """What `Store.save_catalog` of ``rows`` would change, given the ``stored`` rows of their markets."""
    created = updated = unchanged = 0
    for row in {row.key: row for row in rows}.values():  # a key given twice: the later row wins, as in the store
        old = stored.get(row.key)
        if old is None:
            created += 1
        elif _ENCODER.encode(old) == _ENCODER.encode(row):
            unchanged += 1
        else:
            updated += 1
    return CatalogChange(created, updated, unchanged)


async def save_rows(
    store: Store | None,
    rows: Sequence[CatalogRow],
    stored: Mapping[OfferKey, CatalogRow],
    errors: Sequence[Problem],
    *,
    warnings: Sequence[Problem] = (),
    strict: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Save ``rows`` in one transaction, unless this is a dry run or ``strict`` and a line was rejected.

    ``stored`` is what the store held for the rows' markets, to count against when nothing is committed (the
    store counts a commit itself); ``store`` may be None when nothing is to be saved: a dry run against a store
    that does not exist yet, or no good rows.
    """
    commit = not dry_run and not (strict and errors)
    if commit and rows:
        if store is None:
            raise ValueError("saving rows needs a store")
        change = await store.save_catalog(rows)
    else:
        change = preview(rows, stored)
    return ImportReport(
        read=len(rows) + len(errors),
        created=change.created,
        updated=change.updated,
        unchanged=change.unchanged,
        rejected=len(errors),
        errors=list(errors),
        warnings=list(warnings),
        dry_run=dry_run,
        committed=commit,
    )


_ENCODER = msgspec.msgpack.Encoder()
