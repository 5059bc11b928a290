"""The commands that keep the catalog and read the traces in the SQLite database, as a user runs them: real files
in a temporary directory, the real store (with its thread, so on trio's real clock, never an autojump one)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from adapters.catalog import Format, read_catalog, write_catalog
from adapters.listings import ExportRow, ProductIdType, write_export
from engine.catalog import CatalogRow
from engine.cli import main
from engine.model import Condition, Fees, Fulfilment, MarginLevel, OfferKey


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's data directory (where the default database lives) inside the test's directory."""
    home = tmp_path / "data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str, str]:
    try:
        code: int | str | None = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def _key(sku: str, marketplace: str = "DE", seller: str = "default") -> OfferKey:
    return OfferKey(seller, marketplace, sku)


CATALOG = [
    CatalogRow(key=_key("A-1"), asin="B000000001", min_price=1000, max_price=2000, stock=4, lead_time_days=2),
    CatalogRow(
        key=_key("A-2"),
        asin="B000000002",
        title='Mug "Käse", 0,3 l',
        condition=Condition.USED_GOOD,
        fulfilment=Fulfilment.AMAZON,
        cost=450,
        fees=Fees(variable_fee=Decimal("0.15"), fixed_fee=0, fulfilment_fee_amazon=310),
        vat_rate=Decimal("0.07"),
        margins=MarginLevel(Decimal("0.05"), Decimal("0.25")),
        sale_price=1299,
        shipping_group="Standard",
        repricing=False,
        attributes=(("color", "red"),),
    ),
    CatalogRow(key=_key("A-1", "FR"), asin="B000000001", min_price=1100, max_price=2100),
    CatalogRow(key=_key("X-9", seller="other-account"), asin="B000000009"),  # no bounds yet
]


def _listings(count: int) -> list[ExportRow]:
    return [
        ExportRow(
            line=0,
            sku=f"L-{i}",
            asin=f"B0000001{i:02d}",
            product_id=f"B0000001{i:02d}",
            product_id_type=ProductIdType.ASIN,
            price=1000 + i,
            quantity=None if i % 3 == 0 else i,
            fulfilment=Fulfilment.AMAZON if i % 3 == 0 else Fulfilment.MERCHANT,
            fulfilment_channel="AMAZON_EU" if i % 3 == 0 else "DEFAULT",
            item_name=f"Item {i}",
            status="Active",
        )
        for i in range(count)
    ]


def _export(db: Path, capsys: pytest.CaptureFixture[str], *options: str) -> list[CatalogRow]:
    """The rows in the database, as `catalog export` writes them."""
    out = db.parent / "exported.jsonl"
    code, _, err = _cli(["catalog", "export", "--db", str(db), "-o", str(out), *options], capsys)
    assert code == 0, err
    parsed = read_catalog(out.read_bytes(), format="jsonl")
    assert parsed.errors == []
    return parsed.rows


# --- catalog import and export ---------------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_a_catalog_imported_then_exported_gives_the_same_rows(
    format: Format, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    source = tmp_path / f"catalog.{format}"
    source.write_bytes(write_catalog(CATALOG, format=format))
    code, out, _ = _cli(["catalog", "import", str(source), "--db", str(db)], capsys)
    assert code == 0, out
    assert f"{source}: read 4, created 4, updated 0, unchanged 0, rejected 0" in out
    # The row without bounds is saved, and named as one the engine cannot price yet.
    assert f"warning: {source}: X-9: no bounds" in out
    assert sorted(_export(db, capsys), key=lambda r: r.key) == sorted(CATALOG, key=lambda r: r.key)

    exported = tmp_path / f"again.{format}"
    assert _cli(["catalog", "export", "--db", str(db), "-o", str(exported)], capsys)[0] == 0
    code, out, _ = _cli(["catalog", "import", str(exported), "--db", str(db)], capsys)
    assert (code, "read 4, created 0, updated 0, unchanged 4, rejected 0" in out) == (0, True), out


def test_catalog_export_filters_by_seller_and_marketplace_and_writes_csv_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    source = tmp_path / "catalog.jsonl"
    source.write_bytes(write_catalog(CATALOG, format="jsonl"))
    assert _cli(["catalog", "import", str(source), "--db", str(db)], capsys)[0] == 0
    assert [r.key for r in _export(db, capsys, "--seller", "default", "--marketplace", "DE")] == [
        _key("A-1"),
        _key("A-2"),
    ]
    assert [r.key for r in _export(db, capsys, "--marketplace", "fr")] == [_key("A-1", "FR")]
    code, out, _ = _cli(["catalog", "export", "--db", str(db), "--seller", "other-account"], capsys)
    assert code == 0
    assert read_catalog(out.encode(), format="csv").rows == [CATALOG[3]]


def test_catalog_export_replaces_its_file_whole_and_leaves_nothing_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "db" / "repricer.db"
    db.parent.mkdir()
    source = tmp_path / "catalog.csv"
    source.write_bytes(write_catalog(CATALOG[:1], format="csv"))
    assert _cli(["catalog", "import", str(source), "--db", str(db)], capsys)[0] == 0
    target = tmp_path / "out" / "catalog.csv"
    target.parent.mkdir()
    target.write_text("an older, longer file\n" * 100)
    target.chmod(0o640)
    code, _, err = _cli(["catalog", "export", "--db", str(db), "-o", str(target)], capsys)
    assert code == 0 and "1 row written" in err
    assert target.read_bytes() == write_catalog(CATALOG[:1], format="csv")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file's permissions survive its replacement
    assert os.listdir(target.parent) == ["catalog.csv"]


def test_catalog_import_saves_the_good_rows_lists_the_bad_lines_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    source = tmp_path / "catalog.csv"
    source.write_text(
        "sku,asin,min_price,max_price\nA-1,B000000001,10.00,20.00\nA-2,B000000002,abc,20.00\n,B000000003,1,2\n"
    )
    code, out, _ = _cli(["catalog", "import", str(source), "--marketplace", "DE", "--db", str(db)], capsys)
    assert code == 1
    assert "read 3, created 1, updated 0, unchanged 0, rejected 2" in out
    assert f"{source}:3: A-2: min_price 'abc'" in out
    assert f"{source}:4: no sku" in out
    assert [r.key for r in _export(db, capsys)] == [_key("A-1")]


def test_catalog_import_dry_run_counts_against_the_store_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    source = tmp_path / "catalog.jsonl"
    source.write_bytes(write_catalog(CATALOG[:2], format="jsonl"))
    code, out, _ = _cli(["catalog", "import", str(source), "--db", str(db), "--dry-run"], capsys)
    assert (code, "created 2" in out, "dry run: nothing written" in out) == (0, True, True)
    assert not db.exists()  # a dry run creates no database

    assert _cli(["catalog", "import", str(source), "--db", str(db)], capsys)[0] == 0
    changed = [msgspec.structs.replace(CATALOG[0], stock=9), CATALOG[1], CATALOG[2]]
    source.write_bytes(write_catalog(changed, format="jsonl"))
    code, out, _ = _cli(["catalog", "import", str(source), "--db", str(db), "--dry-run", "--json"], capsys)
    report = json.loads(out)
    assert (code, report["created"], report["updated"], report["unchanged"]) == (0, 1, 1, 1)
    assert (report["dry_run"], report["committed"]) == (True, False)
    assert sorted(_export(db, capsys), key=lambda r: r.key) == sorted(CATALOG[:2], key=lambda r: r.key)


# --- the listings export ------------------------------------------------------------------------------------------


def _write_listings(path: Path, rows: list[ExportRow], extra: bytes = b"") -> Path:
    path.write_bytes(write_export(rows, currency="EUR") + extra)
    return path


def test_importing_a_listings_export_creates_its_rows_and_reimporting_it_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    export = _write_listings(tmp_path / "listings.txt", _listings(12))
    argv = ["import", str(export), "--marketplace", "DE", "--db", str(db)]
    code, out, _ = _cli(argv, capsys)
    assert code == 0, out
    assert f"{export}: read 12, created 12, updated 0, unchanged 0, rejected 0" in out
    code, out, _ = _cli([*argv, "--json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert report["unchanged"] == report["read"] == 12
    assert report["created"] == report["updated"] == report["rejected"] == 0

    rows = {row.key.sku: row for row in _export(db, capsys)}
    assert len(rows) == 12
    assert rows["L-1"].key == _key("L-1")  # the default seller
    assert (rows["L-1"].price, rows["L-1"].stock, rows["L-1"].product_id_type) == (1001, 1, "ASIN")
    assert (rows["L-3"].fulfilment, rows["L-3"].stock) == (Fulfilment.AMAZON, None)


def test_a_listings_import_keeps_what_the_seller_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "repricer.db"
    seller_set = CatalogRow(
        key=_key("L-1", seller="acme"),
        asin="B0OLD00000",
        cost=400,
        margins=MarginLevel(Decimal("0.05"), Decimal("0.2")),
        fees=Fees(variable_fee=Decimal("0.15")),
        min_price=900,
        max_price=1900,
        sale_price=1500,
        lead_time_days=3,
        repricing=False,
    )
    source = tmp_path / "catalog.csv"
    source.write_bytes(write_catalog([seller_set], format="csv"))
    assert _cli(["catalog", "import", str(source), "--db", str(db)], capsys)[0] == 0
    export = _write_listings(tmp_path / "listings.txt", _listings(2))
    code, out, _ = _cli(["import", str(export), "--marketplace", "DE", "--seller", "acme", "--db", str(db)], capsys)
    assert code == 0
    assert "created 1, updated 1" in out
    [merged] = [row for row in _export(db, capsys, "--seller", "acme") if row.key.sku == "L-1"]
    assert (merged.asin, merged.title, merged.price, merged.stock) == ("B000000101", "Item 1", 1001, 1)
    for name in ("cost", "margins", "fees", "min_price", "max_price", "sale_price", "lead_time_days", "repricing"):
        assert getattr(merged, name) == getattr(seller_set, name), name


BAD_LINE = b"Broken\t\t\tL-99\tnot-a-price" + b"\t" * 24 + b"\n"  # line 14 of a 12-row export


def test_a_listings_import_saves_the_good_rows_and_lists_the_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    export = _write_listings(tmp_path / "listings.txt", _listings(12), BAD_LINE)
    code, out, _ = _cli(["import", str(export), "--marketplace", "DE", "--db", str(db)], capsys)
    assert code == 1
    assert "read 13, created 12, updated 0, unchanged 0, rejected 1" in out
    assert f"{export}:14: L-99: not a price: 'not-a-price'" in out
    assert len(_export(db, capsys)) == 12


def test_a_strict_listings_import_with_one_bad_line_commits_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    first = _write_listings(tmp_path / "first.txt", _listings(2))
    assert _cli(["import", str(first), "--marketplace", "DE", "--db", str(db)], capsys)[0] == 0
    before = _export(db, capsys)

    changed = [msgspec.structs.replace(row, price=5000) for row in _listings(12)]
    export = _write_listings(tmp_path / "listings.txt", changed, BAD_LINE)
    code, out, _ = _cli(["import", str(export), "--marketplace", "DE", "--strict", "--db", str(db)], capsys)
    assert code == 1
    assert "read 13, created 10, updated 2, unchanged 0, rejected 1" in out  # what it would have done
    assert "nothing written" in out
    assert _export(db, capsys) == before


def test_listings_import_json_is_one_object_of_exactly_these_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    export = _write_listings(tmp_path / "listings.txt", _listings(3), BAD_LINE.replace(b"L-99", b"L-3"))
    code, out, _ = _cli(["import", str(export), "--marketplace", "DE", "--json", "--db", str(db)], capsys)
    assert code == 1
    report = json.loads(out)  # one object, nothing else on stdout
    assert list(report) == [
        "read",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "errors",
        "warnings",
        "dry_run",
        "committed",
    ]
    assert (report["read"], report["created"], report["updated"], report["unchanged"], report["rejected"]) == (
        4,
        3,
        0,
        0,
        1,
    )
    assert report["errors"] == [{"line": 5, "sku": "L-3", "reason": "not a price: 'not-a-price'"}]
    assert {"line": 2, "sku": "L-0", "reason": "no bounds: give min and max price, or cost and a margin level"} in (
        report["warnings"]
    )
    assert (report["dry_run"], report["committed"]) == (False, True)


def test_a_listings_import_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "repricer.db"
    export = _write_listings(tmp_path / "listings.txt", _listings(4))
    argv = ["import", str(export), "--marketplace", "DE", "--db", str(db)]
    code, out, _ = _cli([*argv, "--dry-run"], capsys)
    assert (code, "created 4" in out, "dry run: nothing written" in out) == (0, True, True)
    assert not db.exists()
    assert _cli([*argv[:-2], "--db", str(db), "--seller", "x"], capsys)[0] == 0  # the database exists now
    code, out, _ = _cli([*argv, "--dry-run", "--json"], capsys)
    assert json.loads(out)["created"] == 4
    assert _export(db, capsys, "--seller", "default") == []


# --- the database ------------------------------------------------------------------------------------------------


def test_without_db_the_default_database_is_in_the_users_data_directory_readable_by_its_owner_only(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = _write_listings(tmp_path / "listings.txt", _listings(2))
    assert _cli(["import", str(export), "--marketplace", "DE"], capsys)[0] == 0
    directory = data_home / "repricer"
    assert (directory / "repricer.db").is_file()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    code, out, _ = _cli(["catalog", "export"], capsys)
    assert code == 0 and "L-1" in out


def test_a_read_without_a_database_says_so_and_creates_none(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["catalog", "export"], ["history", "A-1", "--marketplace", "DE"]):
        code, _, err = _cli(argv, capsys)
        assert code == 2
        assert "no database at" in err and str(data_home / "repricer" / "repricer.db") in err
    assert not data_home.exists()


def _other_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.close()


def _newer_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_other_database, "not a repricer store"),
        (_newer_database, "newer than this repricer"),
        (lambda path: path.write_text("just some text\n"), "not a database"),
    ],
    ids=["another-programs-database", "newer-schema", "not-sqlite"],
)
def test_a_database_that_cannot_be_used_is_one_line_naming_it_and_exit_2(
    make: Callable[[Path], object], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "elsewhere.db"
    make(db)
    export = _write_listings(tmp_path / "listings.txt", _listings(1))
    for argv in (
        ["import", str(export), "--marketplace", "DE"],
        ["catalog", "export"],
        ["history", "L-0", "--marketplace", "DE"],
        ["run", "--sim", "--skus", "1", "--marketplaces", "DE", "--hours", "0.01"],
    ):
        code, out, err = _cli([*argv, "--db", str(db)], capsys)
        assert code == 2, (argv, out, err)
        [line] = err.splitlines()
        assert str(db) in line and says in line, line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any directory")
def test_a_database_in_a_directory_it_cannot_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        export = _write_listings(tmp_path / "listings.txt", _listings(1))
        code, _, err = _cli(["import", str(export), "--marketplace", "DE", "--db", str(locked / "r.db")], capsys)
    finally:
        locked.chmod(0o700)
    assert code == 2
    assert str(locked / "r.db") in err and "not writable" in err


def test_an_unreadable_input_file_is_exit_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "repricer.db"
    for path, argv in (
        (tmp_path / "missing.csv", ["catalog", "import"]),
        (tmp_path, ["catalog", "import", "--format", "csv"]),  # a directory
        (tmp_path / "missing.txt", ["import", "--marketplace", "DE"]),
    ):
        code, _, err = _cli([*argv, str(path), "--db", str(db)], capsys)
        assert code == 2 and f"cannot read {path}" in err, err
    assert not db.exists()


# --- run --sim --db and history ------------------------------------------------------------------------------------


def test_history_shows_the_decisions_and_prices_of_a_simulated_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "sim.db"
    started = datetime.now().astimezone()
    run = ["run", "--sim", "--db", str(db), "--hours", "0.05", "--speed", "600", "--skus", "3", "--marketplaces", "DE"]
    code, _, err = _cli(run, capsys)
    assert code == 0, err
    assert "saved" in err and "nothing persisted" not in err
    with sqlite3.connect(db) as conn:
        [(sku,)] = conn.execute("SELECT sku FROM price ORDER BY id LIMIT 1").fetchall()
    conn.close()

    code, out, _ = _cli(["history", sku, "--marketplace", "DE", "--seller", "SIM", "--db", str(db)], capsys)
    assert code == 0
    assert f"{sku} of seller SIM on DE (prices in EUR)" in out
    assert "decisions (0)" not in out and "prices that went live (0)" not in out

    code, out, _ = _cli(["history", sku, "--marketplace", "DE", "--seller", "SIM", "--json", "--db", str(db)], capsys)
    trace = json.loads(out)
    assert (code, trace["sku"], trace["currency"]) == (0, sku, "EUR")
    assert trace["decisions"] and trace["prices"]
    # Local wall time with its offset, around when the run was (not trio's seconds, not 1970). The daemon's clock
    # runs 600 times faster than the wall's, so a second's stall of a loaded machine is ten simulated minutes
    # between the times stamped and the wall clock: the window is a day, which no error of unit or epoch fits.
    for entry in trace["decisions"] + trace["prices"]:
        at = datetime.fromisoformat(entry["at"])
        assert at.utcoffset() == started.utcoffset()
        assert started - timedelta(days=1) <= at <= datetime.now().astimezone() + timedelta(days=1)
    assert all(p["price"].count(".") == 1 for p in trace["prices"])  # "76.22", in the currency's minor digits

    code, out, _ = _cli(
        ["history", sku, "--marketplace", "DE", "--seller", "SIM", "--limit", "1", "--json", "--db", str(db)], capsys
    )
    assert len(json.loads(out)["decisions"]) == 1


def test_history_of_an_offer_the_database_does_not_know_says_so_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "repricer.db"
    source = tmp_path / "catalog.csv"
    source.write_bytes(write_catalog(CATALOG[:1], format="csv"))
    assert _cli(["catalog", "import", str(source), "--db", str(db)], capsys)[0] == 0
    code, out, err = _cli(["history", "NOPE", "--marketplace", "DE", "--db", str(db)], capsys)
    assert (code, out) == (1, "")
    assert "no offer 'NOPE'" in err
    # In the catalog but never decided on: known, with empty traces.
    code, out, _ = _cli(["history", "A-1", "--marketplace", "DE", "--db", str(db)], capsys)
    assert code == 0
    assert "min 10.00, max 20.00" in out and "decisions (0)" in out


def test_an_export_piped_into_a_reader_that_went_away_ends_quietly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`repricer catalog export | head`: the reader is gone; no traceback, exit 141 as for SIGPIPE."""
    db = tmp_path / "repricer.db"
    source = tmp_path / "catalog.csv"
    source.write_bytes(write_catalog(CATALOG, format="csv"))
    assert _cli(["catalog", "import", str(source), "--db", str(db)], capsys)[0] == 0
    reader, writer = os.pipe()
    os.close(reader)  # gone before the first write, so every write fails, however much a pipe may hold
    try:
        process = subprocess.run(
            [sys.executable, "-m", "engine.cli", "catalog", "export", "--db", str(db)],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert process.returncode == 141, process.stderr
    assert process.stderr == ""


def _ctl(socket: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine.cli", "ctl", "--socket", str(socket), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _bounds(socket: Path, sku: str) -> tuple[str, str]:
    answer = _ctl(socket, "offer", sku, "--json")
    assert answer.returncode == 0, answer.stderr
    offer = json.loads(answer.stdout)
    return offer["min_price"], offer["max_price"]


async def _edit_catalog(db: Path, edit: Callable[[CatalogRow], CatalogRow | None]) -> None:
    """Rewrite the stored catalog row by row, as another process would while the daemon runs (WAL lets both)."""
    from engine.store.sqlite import SqliteStore

    async with SqliteStore.open(str(db)) as store:
        rows = await store.load_catalog("SIM", "DE")
        await store.save_catalog([new for row in rows if (new := edit(row)) is not None])


def test_sighup_reload(tmp_path: Path) -> None:
    """SIGHUP reads the catalog again: a valid change goes live in the running daemon; an invalid row is logged
    naming its SKU, and that offer keeps the settings it runs with."""
    import trio

    db = tmp_path / "sim.db"
    socket = Path(os.environ["XDG_RUNTIME_DIR"]) / "c.sock"
    argv = ["--log-level", "info", "run", "--sim", "--db", str(db), "--skus", "3", "--marketplaces", "DE"]
    argv += ["--speed", "60", "--control-socket", str(socket)]
    daemon = subprocess.Popen([sys.executable, "-m", "engine.cli", *argv], stderr=subprocess.PIPE, text=True)
    try:
        assert daemon.stderr is not None
        for line in daemon.stderr:  # up once it says so; the catalog is stored before that
            if "started: offers 3" in line:
                break
        good, bad = "SKU-000001", "SKU-000002"
        before_bad = _bounds(socket, bad)
        min_good, max_good = _bounds(socket, good)

        def edit(row: CatalogRow) -> CatalogRow:
            assert row.max_price is not None
            if row.key.sku == good:
                return msgspec.structs.replace(row, max_price=row.max_price + 100)
            if row.key.sku == bad:
                return msgspec.structs.replace(row, min_price=row.max_price + 100)  # min above max
            return row

        trio.run(_edit_catalog, db, edit)
        daemon.send_signal(signal.SIGHUP)
        said = []
        for line in daemon.stderr:
            said.append(line)
            if "reloaded the catalog" in line:
                break
        assert "1 changed, 1 unchanged; 1 row rejected" in said[-1]
        assert any(f"reload: SIM/DE SKU '{bad}' not changed: min price" in line for line in said)
        assert _bounds(socket, bad) == before_bad
        assert _bounds(socket, good) == (min_good, str(Decimal(max_good) + 1))  # 100 minor units more
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
