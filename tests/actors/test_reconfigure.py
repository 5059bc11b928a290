"""Reloading the configuration file into a running daemon: log settings, the control socket and channel settings
(per marketplace and per offer) are taken in live; a change that needs a restart, or a file that no longer loads,
is refused whole, naming the key and its line, and the daemon runs on as configured before."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
import trio
import trio.testing

from engine.catalog import CatalogRow
from engine.config import Config, load
from engine.control import ControlSocketError
from engine.daemon import Daemon, MarketRuntime, compose
from engine.daemon.configured import plan_daemon
from engine.daemon.reconfigure import CommandLine, Reconfigure, config_changes
from engine.model import BuyBoxAction, ChannelSettings, OfferKey
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace
from tests.config.files import CLIENT_SECRET, ENVIRON, REFRESH_TOKEN, write

SELLER = """\
[[seller]]
id = "acme-eu"
merchant_id = "A2EUQ1WTGCTBG2"
region = "eu"
marketplaces = ["DE", "FR"]

[seller.credentials]
client_id = "amzn1.application-oa2-client.test"
client_secret_env = "TEST_CLIENT_SECRET"
refresh_token_env = "TEST_REFRESH_TOKEN"
"""
BASE = f"""\
[log]
level = "info"

{SELLER}
[seller.channel.DE]
step_cap = 0.05

[seller.channel.DE.offers."SKU-2"]
step_cap = 0.02
"""


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The credentials' variables set, and the logging set-up as it was after each test (a reload reconfigures it)."""
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


async def _daemon(config: Config) -> tuple[Daemon, dict[str, MarketRuntime]]:
    store = MemoryStore()
    await store.save_catalog(
        [
            CatalogRow(OfferKey("acme-eu", "DE", sku), asin=f"B00000000{n}", min_price=1000, max_price=3000)
            for n, sku in enumerate(("SKU-1", "SKU-2"))
        ]
    )
    planned = await plan_daemon(config, store, database=config.database)

    def market(seller: str, code: str) -> ScriptedMarketplace:
        return ScriptedMarketplace(code, seller)

    daemon = compose(planned.plan, market, store, EngineSearch())
    return daemon, {runtime.code: runtime for runtime in daemon.markets}


def _key(sku: str) -> OfferKey:
    return OfferKey("acme-eu", "DE", sku)


async def test_log_channel_and_offer_settings_are_taken_in_live(tmp_path: Path) -> None:
    config = load(write(tmp_path, BASE))
    daemon, markets = await _daemon(config)
    reconfigure = Reconfigure(daemon, config)
    write(
        tmp_path,
        BASE.replace('level = "info"', 'level = "debug"\nformat = "json"')
        .replace("step_cap = 0.05", "step_cap = 0.04")
        .replace("step_cap = 0.02", "dry_run = true")
        + '\n[seller.channel.FR]\nbuybox_unavailable_action = "use_max"\n',
    )
    done = reconfigure.reload()
    assert not done.refused
    assert done.applied == (
        "log.level",
        "log.format",
        "seller[0].channel.DE",
        "seller[0].channel.DE.offers.SKU-2",
        "seller[0].channel.FR",
    )
    assert logging.getLogger().level == logging.DEBUG
    de, fr = markets["DE"], markets["FR"]
    assert de.channel.step_cap == Decimal("0.04")
    # An offer's own table is merged over its marketplace's as the file now has it.
    assert de.actors[_key("SKU-2")].channel == ChannelSettings(step_cap=Decimal("0.04"), dry_run=True)
    assert de.batcher.overrides[_key("SKU-2")].dry_run
    assert de.actors[_key("SKU-1")].channel is de.channel
    assert fr.channel.buybox_unavailable_action is BuyBoxAction.USE_MAX
    assert reconfigure.config.log.level == "debug"
    assert reconfigure.reload().applied == ()  # read again unchanged: nothing to take in


async def test_an_offer_s_table_removed_puts_it_back_on_its_marketplace_s_settings(tmp_path: Path) -> None:
    config = load(write(tmp_path, BASE))
    daemon, markets = await _daemon(config)
    write(tmp_path, BASE.split("[seller.channel.DE.offers")[0])
    assert Reconfigure(daemon, config).reload().applied == ("seller[0].channel.DE.offers.SKU-2",)
    de = markets["DE"]
    assert de.actors[_key("SKU-2")].channel is de.channel and not de.overrides


async def test_a_marketplace_whose_table_did_not_change_keeps_what_ctl_settings_set(tmp_path: Path) -> None:
    config = load(write(tmp_path, BASE))
    daemon, markets = await _daemon(config)
    live = ChannelSettings(step_cap=Decimal("0.05"), dry_run=True)
    markets["DE"].set_channel(live)  # as `repricer ctl settings --set dry_run=true` does
    write(tmp_path, BASE + "\n[seller.channel.FR]\ndry_run = true\n")
    assert Reconfigure(daemon, config).reload().applied == ("seller[0].channel.FR",)
    assert markets["DE"].channel is live


RESTARTS = [
    ('marketplaces = ["DE", "FR"]', 'marketplaces = ["DE", "FR", "IT"]', "seller[0].marketplaces", 8),
    ('merchant_id = "A2EUQ1WTGCTBG2"', 'merchant_id = "A9OTHER"', "seller[0].merchant_id", 6),
    (
        'refresh_token_env = "TEST_REFRESH_TOKEN"',
        'refresh_token = "Atzr|another-refresh-token"',
        "seller[0].credentials.refresh_token",
        13,
    ),
    (
        "[seller.credentials]",
        '[seller.endpoints]\nsp_api = "http://127.0.0.1:8765"\n\n[seller.credentials]',
        "seller[0].endpoints.sp_api",
        11,
    ),
    ("[log]", 'database = "elsewhere.db"\n[log]', "database", 1),
    ("[seller.credentials]", "[seller.feeds]\nleast = 100\n\n[seller.credentials]", "seller[0].feeds.least", 11),
    (
        "[seller.credentials]",
        "[seller.notifications]\n"
        'queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/repricer"\n'
        'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"\n'
        'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n\n[seller.credentials]',
        "seller[0].notifications",
        10,
    ),
    ('id = "acme-eu"', 'id = "acme-de"', "seller[0].id", 5),
]


@pytest.mark.parametrize(("before", "after", "key", "line"), RESTARTS, ids=[case[2] for case in RESTARTS])
async def test_a_change_that_needs_a_restart_is_refused_whole_naming_the_key_and_its_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, before: str, after: str, key: str, line: int
) -> None:
    config = load(write(tmp_path, BASE))
    daemon, markets = await _daemon(config)
    reconfigure = Reconfigure(daemon, config)
    # With a change that could be taken in alone: it is not, as nothing of a refused file is.
    file = write(tmp_path, BASE.replace(before, after).replace("step_cap = 0.05", "step_cap = 0.04"))
    with caplog.at_level(logging.ERROR):
        done = reconfigure.reload()
    assert done.refused and done.applied == ()
    assert done.restart[0].startswith(f"{file}:{line}: {key}: ")
    assert markets["DE"].channel.step_cap == Decimal("0.05")
    assert reconfigure.config is config
    [said] = [r.getMessage() for r in caplog.records if r.name == "engine.daemon.reconfigure"]
    assert said.startswith(f"configuration not reloaded: {file}:{line}: {key}: ")
    assert "the daemon runs on as configured before" in said
    assert CLIENT_SECRET not in said and REFRESH_TOKEN not in said and "another-refresh-token" not in said


async def test_a_seller_added_or_removed_needs_a_restart(tmp_path: Path) -> None:
    config = load(write(tmp_path, BASE))
    two = load(
        write(
            tmp_path,
            BASE + SELLER.replace("acme-eu", "acme-na").replace('"eu"', '"na"').replace('["DE", "FR"]', '["US"]'),
            name="two.toml",
        )
    )
    _, restart, _ = config_changes(config, two)
    assert restart == [(("seller", 1, "id"), "seller acme-na is new")]
    _, restart, _ = config_changes(two, config)
    assert restart == [(("seller",), "seller acme-na was removed")]


async def test_a_file_that_no_longer_loads_is_refused_with_its_error_and_line(tmp_path: Path) -> None:
    config = load(write(tmp_path, BASE))
    daemon, markets = await _daemon(config)
    reconfigure = Reconfigure(daemon, config)
    file = write(tmp_path, BASE.replace('level = "info"', 'level = "loud"').replace("0.05", "0.04"))
    done = reconfigure.reload()
    assert done.failed is not None and done.failed.startswith(f"{file}:2: log.level: ")
    assert done.describe().endswith("the daemon runs on as configured before")
    assert markets["DE"].channel.step_cap == Decimal("0.05") and reconfigure.config is config
    file.unlink()
    assert reconfigure.reload().failed == f"{file}: cannot read it: No such file or directory"


async def test_the_control_socket_moves_and_a_move_refused_changes_nothing(tmp_path: Path) -> None:
    config = load(write(tmp_path, BASE))
    daemon, markets = await _daemon(config)
    moved: list[Path | None] = []

    def move(path: Path | None) -> None:
        if path is not None and path.name == "taken.sock":
            raise ControlSocketError(f"a daemon listens on {path} already")
        moved.append(path)

    reconfigure = Reconfigure(daemon, config, move_control=move)
    level = logging.getLogger().level
    write(tmp_path, 'control_socket = "taken.sock"\n' + BASE.replace('"info"', '"error"').replace("0.05", "0.04"))
    done = reconfigure.reload()
    assert done.failed == f"control_socket: a daemon listens on {tmp_path / 'taken.sock'} already"
    assert (moved, logging.getLogger().level, markets["DE"].channel.step_cap) == ([], level, Decimal("0.05"))
    write(tmp_path, 'control_socket = "ctl/c.sock"\n' + BASE)
    assert reconfigure.reload().applied == ("control_socket",)
    write(tmp_path, BASE)
    assert reconfigure.reload().applied == ("control_socket",)
    assert moved == [tmp_path / "ctl" / "c.sock", None]  # None: back to the default


async def test_what_the_command_line_sets_wins_over_the_file(tmp_path: Path) -> None:
    config = load(write(tmp_path, BASE))
    daemon, _ = await _daemon(config)
    moved: list[Path | None] = []
    command_line = CommandLine(log_level="error", database=tmp_path / "mine.db", control_socket=tmp_path / "c.sock")
    reconfigure = Reconfigure(daemon, config, command_line=command_line, move_control=moved.append)
    write(tmp_path, 'database = "other.db"\ncontrol_socket = "x.sock"\n' + BASE.replace('"info"', '"debug"'))
    done = reconfigure.reload()
    assert (done.refused, done.applied, moved) == (False, (), [])
    assert done.kept == ("log.level", "control_socket", "database")
    assert "the command line overrides log.level, control_socket, database" in done.describe()


async def test_a_reloaded_setting_takes_effect_on_the_running_daemon(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    config = load(write(tmp_path, BASE))
    daemon, markets = await _daemon(config)
    scripted = markets["DE"].marketplace
    assert isinstance(scripted, ScriptedMarketplace)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        await trio.sleep(600)
        assert scripted.submitted  # every offer sits above a rival: the engine sends prices
        write(tmp_path, BASE.replace("step_cap = 0.05", "step_cap = 0.05\ndry_run = true"))
        assert Reconfigure(daemon, config).reload().applied == (
            "seller[0].channel.DE",
            "seller[0].channel.DE.offers.SKU-2",
        )
        sent = len(scripted.submitted)
        await trio.sleep(3600)
        daemon.stop.set()
    assert len(scripted.submitted) == sent
    assert msgspec.structs.asdict(markets["DE"].channel)["dry_run"]
