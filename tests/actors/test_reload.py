"""Reloading the catalog into a running daemon: offers added, removed and changed live; a bad row changes nothing
for its SKU; a marketplace with no rows keeps its offers."""

from __future__ import annotations

import msgspec
import trio
import trio.testing

from engine.actors.batcher import UpdateIds
from engine.actors.recorder import Recorder
from engine.catalog import CatalogRow, from_settings
from engine.daemon import MarketRuntime
from engine.daemon.reload import Rejected, apply_catalog, reload_catalog
from engine.model import ChannelSettings, OfferBounds, OfferKey
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace, daemon_of, settings


def _runtime(
    store: MemoryStore, recorder: Recorder, code: str, skus: tuple[str, ...], ids: UpdateIds | None = None
) -> MarketRuntime:
    return MarketRuntime(
        ScriptedMarketplace(code),
        [settings(sku, code) for sku in skus],
        ChannelSettings(),
        store,
        recorder,
        EngineSearch(),
        tick=1,
        ids=ids,
    )


def _row(sku: str, code: str = "DE", **fields: object) -> CatalogRow:
    return msgspec.structs.replace(from_settings(settings(sku, code)), **fields)


async def test_reload_adds_removes_and_changes_offers_live(autojump_clock: trio.testing.MockClock) -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    ids = UpdateIds()  # one sequence for both, as `compose` shares it: the outbox is keyed by update id
    de = _runtime(store, recorder, "DE", ("A", "B", "C", "D"), ids)
    fr = _runtime(store, recorder, "FR", ("F",), ids)
    daemon = daemon_of([de, fr], recorder)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(60)
        actor_a = de.offer("A")
        rows = [
            _row("A", max_price=2500),  # changed bounds
            _row("B"),  # as it runs
            _row("C", min_price=2800, max_price=2700),  # a typo: min above max
            _row("E"),  # new
            _row("X", "IT"),  # a marketplace this daemon does not run
        ]  # D is gone from the catalog; FR has no rows at all
        report = apply_catalog(daemon, rows)
        await trio.sleep(60)
        new_decisions = de.offer("E").decisions
        daemon.stop.set()
    assert (report.added, report.removed, report.changed, report.unchanged) == (1, 1, 1, 1)
    assert report.rejected == (Rejected("SELLER", "DE", "C", "min price 28.00 EUR must be below max price 27.00 EUR"),)
    assert report.kept == ("SELLER/FR",) and report.elsewhere == 1
    assert sorted(key.sku for key in de.catalog) == ["A", "B", "C", "E"]
    assert de.offer("A").settings.bounds == OfferBounds(1000, 2500)
    assert de.catalog[OfferKey("SELLER", "DE", "A")].bounds == OfferBounds(1000, 2500)  # the guard's copy too
    assert de.offer("A") is actor_a  # the same actor: its search goes on
    assert de.offer("C").settings.bounds == OfferBounds(1000, 3000)  # the old bounds stay
    assert new_decisions > 0  # the new offer was polled and priced
    assert [key.sku for key in fr.catalog] == ["F"]
    assert report.describe() == (
        "reloaded the catalog: 1 added, 1 removed, 1 changed, 1 unchanged; 1 row rejected (those offers run on as "
        "before); no catalog rows for SELLER/FR: the offers there run on; 1 row for marketplaces this daemon does "
        "not run"
    )


async def test_reload_reads_the_stored_catalog(autojump_clock: trio.testing.MockClock) -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    de = _runtime(store, recorder, "DE", ("A", "B"))
    daemon = daemon_of([de], recorder)
    await store.save_catalog([_row("A", repricing=False), _row("B")])
    report = await reload_catalog(daemon, store)
    assert (report.added, report.removed, report.changed, report.unchanged) == (0, 0, 1, 1)
    assert not de.offer("A").settings.repricing


async def test_reload_of_an_empty_catalog_keeps_every_offer(autojump_clock: trio.testing.MockClock) -> None:
    """A database that holds no catalog for a running marketplace (`run --sim` without --db stores none) is not an
    order to stop repricing there."""
    store = MemoryStore()
    recorder = Recorder(store)
    de = _runtime(store, recorder, "DE", ("A", "B"))
    report = await reload_catalog(daemon_of([de], recorder), store)
    assert report.kept == ("SELLER/DE",) and report.removed == 0
    assert len(de.catalog) == 2


class _BrokenStore(MemoryStore):
    """A store whose catalog cannot be read: it fails, or it never answers."""

    def __init__(self, *, hang: bool) -> None:
        super().__init__()
        self.hang = hang

    async def load_catalog(self, seller: str, marketplace: str) -> list[CatalogRow]:
        if self.hang:
            await trio.sleep_forever()
        raise OSError("disk I/O error")


async def test_a_reload_the_store_fails_changes_nothing(autojump_clock: trio.testing.MockClock) -> None:
    """A store that raises, or hangs past the deadline, is a reload that did not happen: said so, nothing changed,
    and no exception for the caller (SIGHUP's handler runs beside the daemon: one raising would stop it)."""
    for hang, why in (
        (False, "the catalog could not be read (OSError: disk I/O error)"),
        (True, "the store did not answer within 30s"),
    ):
        store = _BrokenStore(hang=hang)
        recorder = Recorder(store)
        de = _runtime(store, recorder, "DE", ("A", "B"))
        before = dict(de.catalog)
        started = trio.current_time()
        report = await reload_catalog(daemon_of([de], recorder), store, timeout_s=30.0)
        assert report.failed == why and report.describe().startswith(f"reload failed: {why}; nothing changed")
        assert (report.added, report.removed, report.changed) == (0, 0, 0)
        assert de.catalog == before
        assert trio.current_time() - started <= 30.0
