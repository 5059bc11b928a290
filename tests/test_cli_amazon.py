"""`repricer amazon authorize`: what it refuses before asking for anything (each a one-line error, exit 2, nothing
written). The authorization itself, against the SP-API fake, is in tests/adapters/spapi/test_authorize.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from tests.config.files import SELLER, write


def authorize(tmp_path: Path, config: Path, *extra: str) -> int:
    env = tmp_path / "credentials"
    code = main(["amazon", "authorize", "--config", str(config), "--env-file", str(env), *extra])
    assert not env.exists()
    return code


def test_a_seller_whose_token_is_written_in_the_configuration_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CLIENT_SECRET", "x")
    config = write(tmp_path, SELLER.replace('refresh_token_env = "TEST_REFRESH_TOKEN"', 'refresh_token = "Atzr|lit"'))
    assert authorize(tmp_path, config, "--seller", "acme-eu") == 2
    err = capsys.readouterr().err
    assert "refresh_token is written in" in err and "refresh_token_env" in err and "Atzr|lit" not in err


def test_an_unknown_seller_is_refused_naming_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CLIENT_SECRET", "x")
    monkeypatch.delenv("TEST_REFRESH_TOKEN", raising=False)  # not set yet: that is what authorizing is for
    assert authorize(tmp_path, write(tmp_path, SELLER), "--seller", "acme-na") == 2
    assert "has no seller 'acme-na'; its sellers: acme-eu" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--listen", "8080"], "--listen only go with --consent"),
        (["--consent"], "--consent needs --application-id"),
        (["--consent", "--application-id", "amzn1.sp.solution.x"], "--consent needs --redirect-uri"),
    ],
)
def test_website_workflow_options_are_checked_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], said: str
) -> None:
    assert authorize(tmp_path, write(tmp_path, SELLER), "--seller", "acme-eu", *extra) == 2
    assert said in capsys.readouterr().err
