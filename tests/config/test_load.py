"""What a valid configuration resolves to: defaults filled in, per-offer settings merged and checked."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import LWA_TOKEN_URL, ConfigError, FeedSettings, changed_settings, default_database, load
from engine.logs import LogSettings
from engine.marketplaces import ENDPOINTS
from engine.model import BuyBoxAction, ChannelSettings, CompetitorFilter, Condition, Fulfilment
from tests.config.files import ENVIRON, MERCHANT_ID, SELLER, write


def test_a_minimal_file_takes_every_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = load(write(tmp_path, SELLER), environ=ENVIRON)
    assert config.database == default_database() == tmp_path / "data" / "repricer" / "repricer.db"
    assert config.control_socket is None
    assert config.log == LogSettings()
    [seller] = config.sellers
    assert (seller.id, seller.region, seller.marketplaces) == ("acme-eu", "EU", ("DE", "FR"))
    assert seller.merchant_id == MERCHANT_ID
    assert (seller.endpoints.sp_api, seller.endpoints.lwa_token) == (ENDPOINTS["EU"], LWA_TOKEN_URL)
    assert [market.channel for market in seller.markets] == [ChannelSettings(), ChannelSettings()]
    assert seller.feeds == FeedSettings()


def test_feed_settings_reach_the_seller_account(tmp_path: Path) -> None:
    text = f"{SELLER}\n[seller.feeds]\nleast = 100\nmost = 2000\npoll_every_s = 15\ngive_up_after_s = 1800\n"
    [seller] = load(write(tmp_path, text), environ=ENVIRON).sellers
    assert seller.feeds == FeedSettings(least=100, most=2000, poll_every_s=15.0, give_up_after_s=1800.0)
    assert type(seller.feeds) is FeedSettings  # the resolved settings, not the file's table


def test_relative_paths_are_taken_from_the_files_directory(tmp_path: Path) -> None:
    config = load(write(tmp_path, f'database = "state/r.db"\ncontrol_socket = "/run/r/c.sock"\n{SELLER}'), ENVIRON)
    assert config.database == tmp_path / "state" / "r.db"
    assert config.control_socket == Path("/run/r/c.sock")


def test_an_offer_override_is_merged_over_its_marketplaces_settings(tmp_path: Path) -> None:
    text = f"""{SELLER}
[seller.channel.DE]
step_cap = 0.05
buybox_unavailable_action = "use_max"
competitors = {{ include_amazon = false, min_feedback_pct = 80, conditions = ["new_new", "used_like_new"] }}

[seller.channel.DE.offers."SKU-1"]
step_cap = 0.02
competitors.min_feedback_count = 10
competitors.conditions = ["new_open_box"]
"""
    [seller] = load(write(tmp_path, text), environ=ENVIRON).sellers
    de, fr = seller.markets
    assert de.channel == ChannelSettings(
        buybox_unavailable_action=BuyBoxAction.USE_MAX,
        step_cap=Decimal("0.05"),
        competitors=CompetitorFilter(
            conditions=(Condition.NEW, Condition.USED_LIKE_NEW), include_amazon=False, min_feedback_pct=80
        ),
    )
    merged = de.for_sku("SKU-1")
    # What the offer sets wins; what it leaves out is the marketplace's, competitors key by key; arrays replace.
    assert merged == ChannelSettings(
        buybox_unavailable_action=BuyBoxAction.USE_MAX,
        step_cap=Decimal("0.02"),
        competitors=CompetitorFilter(
            conditions=(Condition.NEW_OPEN_BOX,), include_amazon=False, min_feedback_pct=80, min_feedback_count=10
        ),
    )
    assert type(merged) is ChannelSettings and type(merged.competitors) is CompetitorFilter
    assert de.for_sku("SKU-2") is de.channel
    assert fr.channel == ChannelSettings() and fr.offers == {}


def test_the_merged_settings_of_an_offer_are_checked_whole(tmp_path: Path) -> None:
    text = f"{SELLER}\n[seller.channel.FR]\nstep_cap = 1\n[seller.channel.FR.offers.A]\ndry_run = true\n"
    [seller] = load(write(tmp_path, text), environ=ENVIRON).sellers
    assert seller.markets[1].for_sku("A") == ChannelSettings(step_cap=Decimal(1), dry_run=True)


def test_numbers_are_exact(tmp_path: Path) -> None:
    text = f"{SELLER}\n[seller.channel.DE]\nstep_cap = 0.1\nmax_observation_age_s = 600\n"
    channel = load(write(tmp_path, text), environ=ENVIRON).sellers[0].markets[0].channel
    assert channel.step_cap == Decimal("0.1") and channel.max_observation_age_s == 600.0
    # 0.1 is the default 0.10: not shown as a change.
    assert changed_settings(channel) == {"max_observation_age_s": 600.0}


def test_several_sellers_each_with_their_own_region_and_endpoints(tmp_path: Path) -> None:
    na = (
        SELLER.replace("acme-eu", "acme-na")
        .replace('region = "eu"', 'region = "na"')
        .replace('["DE", "FR"]', '["US", "CA"]')
    )
    text = f'{SELLER}\n[seller.endpoints]\nsp_api = "http://127.0.0.1:8765/"\nlwa_token = "http://localhost:8765/t"\n\n{na}'
    eu, us = load(write(tmp_path, text), environ=ENVIRON).sellers
    assert (eu.endpoints.sp_api, eu.endpoints.lwa_token) == ("http://127.0.0.1:8765", "http://localhost:8765/t")
    assert (us.id, us.region, us.marketplaces, us.endpoints.sp_api) == ("acme-na", "NA", ("US", "CA"), ENDPOINTS["NA"])


def test_an_array_of_sellers_as_inline_tables_is_the_same(tmp_path: Path) -> None:
    credentials = 'client_id = "c", client_secret_env = "TEST_CLIENT_SECRET", refresh_token_env = "TEST_REFRESH_TOKEN"'
    table = (
        f'id = "acme-eu", merchant_id = "{MERCHANT_ID}", region = "eu", marketplaces = ["DE"], '
        f"credentials = {{ {credentials} }}"
    )
    text = f"seller = [\n  {{ {table}, channel = {{ DE = {{ dry_run = true }} }} }},\n]\n"
    [seller] = load(write(tmp_path, text), environ=ENVIRON).sellers
    assert seller.markets[0].channel == ChannelSettings(dry_run=True)
    assert seller.markets[0].channel.competitors.fulfilment == (Fulfilment.MERCHANT, Fulfilment.AMAZON)


def test_a_path_the_system_refuses_is_a_located_error(tmp_path: Path) -> None:
    path = write(tmp_path, f'database = "{"x" * 300}.db"\n' + SELLER)
    with pytest.raises(ConfigError) as raised:
        load(path, environ=ENVIRON)
    assert str(raised.value).startswith(f"{path}:1: database: cannot use ")
