"""Merging Amazon's listings export into the catalog, and saving an import: the promises `engine.importing` keeps."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.listings import ExportRow, ProductIdType
from engine.catalog import CatalogRow
from engine.importing import Problem, merge_listing, preview, repricing_problem, save_rows, stored_rows
from engine.model import Condition, Fees, Fulfilment, MarginLevel, OfferKey
from engine.store import MemoryStore

KEY = OfferKey("default", "DE", "A-1")

SELLER_SET = CatalogRow(
    key=KEY,
    asin="B0OLD00000",
    title="old title",
    cost=500,
    fees=Fees(variable_fee=Decimal("0.15"), fixed_fee=30),
    vat_rate=Decimal("0.07"),
    margins=MarginLevel(Decimal("0.05"), Decimal("0.30")),
    min_price=900,
    max_price=2500,
    price=1500,
    sale_price=1400,
    stock=3,
    lead_time_days=2,
    shipping_group="old group",
    repricing=False,
    attributes=(("note", "kept?"),),
)

LISTING = ExportRow(
    line=2,
    sku="A-1",
    asin="B000000001",
    product_id="4006381333931",
    product_id_type=ProductIdType.EAN,
    price=1299,
    quantity=7,
    condition=Condition.USED_GOOD,
    fulfilment=Fulfilment.MERCHANT,
    fulfilment_channel="DEFAULT",
    item_name="Thing one",
    shipping_group="Standard",
    attributes=(("Business Price", "11.99"),),
)


def test_the_export_sets_what_amazon_knows() -> None:
    row = merge_listing(LISTING, KEY, SELLER_SET)
    assert (row.asin, row.product_id, row.product_id_type, row.title) == (
        "B000000001",
        "4006381333931",
        "EAN",
        "Thing one",
    )
    assert type(row.product_id_type) is str  # the enum's text, as a catalog file gives it
    assert (row.condition, row.fulfilment, row.price, row.stock) == (Condition.USED_GOOD, Fulfilment.MERCHANT, 1299, 7)
    assert row.shipping_group == "Standard"
    assert row.attributes == (("Business Price", "11.99"),)


def test_the_export_keeps_everything_the_seller_set() -> None:
    row = merge_listing(LISTING, KEY, SELLER_SET)
    for name in ("cost", "fees", "vat_rate", "margins", "min_price", "max_price", "sale_price", "lead_time_days"):
        assert getattr(row, name) == getattr(SELLER_SET, name), name
    assert row.repricing is False
    assert row.key == KEY


def test_an_fba_listing_has_no_stock_of_ours() -> None:
    fba = msgspec.structs.replace(LISTING, fulfilment=Fulfilment.AMAZON, fulfilment_channel="AMAZON_EU", quantity=40)
    assert merge_listing(fba, KEY, SELLER_SET).stock is None
    assert merge_listing(fba, KEY, None).stock is None


def test_a_new_listing_is_a_row_with_the_catalog_defaults_that_cannot_be_priced_yet() -> None:
    row = merge_listing(LISTING, KEY, None)
    assert row.cost is None and row.min_price is None and row.repricing is True
    assert repricing_problem(row) is not None
    assert repricing_problem(merge_listing(LISTING, KEY, SELLER_SET)) is None


def test_an_empty_export_cell_clears_what_amazon_no_longer_says() -> None:
    bare = ExportRow(line=2, sku="A-1")
    row = merge_listing(bare, KEY, SELLER_SET)
    assert (row.asin, row.title, row.price, row.stock, row.shipping_group, row.attributes) == (
        None,
        None,
        None,
        None,
        None,
        (),
    )
    assert row.min_price == SELLER_SET.min_price


def test_a_row_stored_under_another_key_is_refused() -> None:
    with pytest.raises(ValueError, match="not"):
        merge_listing(LISTING, OfferKey("default", "FR", "A-1"), SELLER_SET)


@given(
    price=st.none() | st.integers(0, 10**9),
    quantity=st.none() | st.integers(0, 10**6),
    fulfilment=st.sampled_from(Fulfilment),
)
def test_merging_the_same_listing_again_changes_nothing(
    price: int | None, quantity: int | None, fulfilment: Fulfilment
) -> None:
    listing = msgspec.structs.replace(LISTING, price=price, quantity=quantity, fulfilment=fulfilment)
    once = merge_listing(listing, KEY, SELLER_SET)
    assert merge_listing(listing, KEY, once) == once
    assert preview([once], {KEY: once}).unchanged == 1


async def test_a_commit_counts_what_the_store_changed_and_a_dry_run_what_it_would() -> None:
    async with MemoryStore() as store:
        await store.save_catalog([SELLER_SET])
        stored = await stored_rows(store, [("default", "DE")])
        changed = merge_listing(LISTING, KEY, stored[KEY])
        new = CatalogRow(key=OfferKey("default", "DE", "B-2"), asin="B000000002")
        bad = [Problem(4, "C-3", "not a price: 'abc'")]

        dry = await save_rows(store, [changed, new], stored, bad, dry_run=True)
        assert (dry.read, dry.created, dry.updated, dry.unchanged, dry.rejected) == (3, 1, 1, 0, 1)
        assert (dry.dry_run, dry.committed) == (True, False)
        assert await store.load_catalog("default", "DE") == [SELLER_SET]

        strict = await save_rows(store, [changed, new], stored, bad, strict=True)
        assert (strict.created, strict.updated, strict.committed) == (1, 1, False)
        assert await store.load_catalog("default", "DE") == [SELLER_SET]

        saved = await save_rows(store, [changed, new], stored, bad)
        assert (saved.created, saved.updated, saved.unchanged, saved.committed) == (1, 1, 0, True)
        assert await store.load_catalog("default", "DE") == [changed, new]
