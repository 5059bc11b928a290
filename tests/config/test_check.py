"""`repricer config check FILE`: a summary without secrets and exit 0, or the located error and exit 1; the
examples pass it."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from engine.cli import main
from engine.config import ConfigSummary, FeedSettings
from sim import ids
from sim.fake import SIM_AWS_ACCOUNT, SIM_QUEUE, SIM_REGION
from tests.config.files import CLIENT_SECRET, ENVIRON, MERCHANT_ID, REFRESH_TOKEN, SELLER, write

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
AMAZON_ENV = {
    "REPRICER_LWA_CLIENT_ID": "amzn1.application-oa2-client.example",
    "REPRICER_LWA_CLIENT_SECRET": CLIENT_SECRET,
    "REPRICER_REFRESH_TOKEN": REFRESH_TOKEN,
    "REPRICER_AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "REPRICER_AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
SIM_ENV = {
    "REPRICER_SIM_CLIENT_SECRET": CLIENT_SECRET,
    "REPRICER_SIM_REFRESH_TOKEN": REFRESH_TOKEN,
    "REPRICER_SIM_AWS_SECRET_ACCESS_KEY": "sim-aws-secret-access-key",
}

CONFIGURED = f"""{SELLER.replace('client_secret_env = "TEST_CLIENT_SECRET"', f'client_secret = "{CLIENT_SECRET}"')}
[seller.channel.FR]
buybox_unavailable_action = "compete_lowest"
competitors.include_amazon = false

[seller.channel.FR.offers.A]
step_cap = 0.02

[seller.channel.FR.offers.B]
dry_run = true
"""


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    for name, value in {**ENVIRON, **AMAZON_ENV, **SIM_ENV}.items():
        monkeypatch.setenv(name, value)


def _check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["config", "check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_valid_file_is_summarised_without_its_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, CONFIGURED)
    code, out, err = _check([str(path)], capsys)
    assert (code, err) == (0, "")
    assert f"{path}: valid, 1 seller account" in out
    assert "seller acme-eu: region eu, marketplaces DE, FR" in out
    assert f"merchant id: {MERCHANT_ID}" in out  # no secret: it is in every Listings API path
    assert "client_id in the file, client_secret in the file, refresh_token from environment variable " in out
    assert "TEST_REFRESH_TOKEN" in out
    assert "DE: default settings" in out
    assert "feeds (default): 250 to 10,000 updates a feed (fewer go as patches), polled every 30 s" in out
    assert "FR: buybox_unavailable_action=compete_lowest, competitors.include_amazon=false; 2 offers" in out
    assert f"database: {tmp_path / 'data-home' / 'repricer' / 'repricer.db'} (default)" in out
    assert CLIENT_SECRET not in out and REFRESH_TOKEN not in out


def test_json_is_the_summary_as_one_object_without_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _check([str(write(tmp_path, CONFIGURED)), "--json"], capsys)
    assert code == 0
    assert CLIENT_SECRET not in out and REFRESH_TOKEN not in out
    summary = msgspec.json.decode(out, type=ConfigSummary)
    [seller] = summary.sellers
    assert (seller.id, seller.merchant_id) == ("acme-eu", MERCHANT_ID)
    assert msgspec.structs.asdict(seller.credentials) == {
        "client_id": "literal",
        "client_secret": "literal",
        "refresh_token": "env TEST_REFRESH_TOKEN",
    }
    de, fr = seller.markets
    assert (de.settings, de.offer_overrides) == ({}, 0)
    assert fr.settings == {"buybox_unavailable_action": "compete_lowest", "competitors.include_amazon": False}
    assert fr.offer_overrides == 2
    assert seller.feeds == FeedSettings()


def test_feed_settings_are_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, f"{CONFIGURED}\n[seller.feeds]\nleast = 1000\ngive_up_after_s = 1800\n")
    code, out, _ = _check([str(path)], capsys)
    assert code == 0
    assert (
        "feeds: 1,000 to 10,000 updates a feed (fewer go as patches), polled every 30 s, given up after 1800 s" in out
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_an_invalid_file_is_one_located_line_on_stderr_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    path = write(tmp_path, f"{SELLER}\n[seller.channel.DE]\nstep_cap = 2\n")
    code, out, err = _check([str(path), *(["--json"] if as_json else [])], capsys)
    line = SELLER.count("\n") + 3
    assert (code, out) == (1, "")
    assert err == f"{path}:{line}: seller[0].channel.DE.step_cap: 2 is not a share above 0 and at most 1 (0.10 = 10%)\n"


def test_a_refusal_for_the_files_mode_shows_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _check([str(write(tmp_path, CONFIGURED, mode=0o644))], capsys)
    assert code == 1 and "mode 0644" in err and "chmod 600" in err
    assert CLIENT_SECRET not in out + err


def test_a_missing_environment_variable_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_REFRESH_TOKEN")
    code, _, err = _check([str(write(tmp_path, SELLER))], capsys)
    assert code == 1 and "the environment variable TEST_REFRESH_TOKEN is not set" in err


@pytest.mark.parametrize("example", ["amazon.toml", "sim.toml"])
def test_the_examples_pass_with_their_environment_and_hold_no_secret(
    example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _check([str(EXAMPLES / example), "--json"], capsys)
    assert (code, err) == (0, "")
    assert CLIENT_SECRET not in out and REFRESH_TOKEN not in out
    [seller] = msgspec.json.decode(out, type=ConfigSummary).sellers
    # No literal secret: the examples may be readable by others, as a checkout leaves them.
    assert seller.credentials.client_secret.startswith("env ") and seller.credentials.refresh_token.startswith("env ")
    assert seller.region == "eu"
    assert seller.notifications is not None and seller.notifications.secret_access_key.startswith("env ")
    assert "wJalrXUtnFEMI" not in out and "sim-aws-secret-access-key" not in out


def test_the_sim_example_points_at_the_fake_on_its_default_port(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _check([str(EXAMPLES / "sim.toml"), "--json"], capsys)
    [seller] = msgspec.json.decode(out, type=ConfigSummary).sellers
    assert seller.marketplaces == ["DE", "FR", "IT"]
    assert seller.endpoints.sp_api == "http://127.0.0.1:8765"
    assert seller.endpoints.lwa_token == "http://127.0.0.1:8765/auth/o2/token"
    assert seller.notifications is not None
    assert seller.notifications.queue_url == f"http://127.0.0.1:8765/{SIM_AWS_ACCOUNT}/{SIM_QUEUE}"
    assert seller.notifications.arn == f"arn:aws:sqs:{SIM_REGION}:{SIM_AWS_ACCOUNT}:{SIM_QUEUE}"


def test_the_sim_example_is_the_simulated_sellers_merchant_id(capsys: pytest.CaptureFixture[str]) -> None:
    # The id the simulator gives its one seller account: our offers carry it in the fake's replies.
    _, out, _ = _check([str(EXAMPLES / "sim.toml"), "--json"], capsys)
    [seller] = msgspec.json.decode(out, type=ConfigSummary).sellers
    assert seller.merchant_id == ids.our_seller_id(0)


def test_the_examples_fail_without_their_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REPRICER_SIM_REFRESH_TOKEN")
    code, _, err = _check([str(EXAMPLES / "sim.toml")], capsys)
    assert code == 1 and "REPRICER_SIM_REFRESH_TOKEN is not set" in err


def test_run_config_checks_the_file_as_config_check_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, f"{SELLER}\nbogus = 1\n")
    assert main(["config", "check", str(file)]) == 1
    checked = capsys.readouterr().err
    assert main(["run", "--config", str(file)]) == 1
    assert capsys.readouterr().err == checked and "bogus: unknown key" in checked
