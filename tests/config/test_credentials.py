"""Credentials: from the file or the environment, never shown, and never in a file that others may read."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from engine.config import ConfigError, Secret, load
from tests.config.files import CLIENT_SECRET, ENVIRON, REFRESH_TOKEN, SELLER, write

LITERAL = SELLER.replace('client_secret_env = "TEST_CLIENT_SECRET"', f'client_secret = "{CLIENT_SECRET}"').replace(
    'refresh_token_env = "TEST_REFRESH_TOKEN"', f'refresh_token = "{REFRESH_TOKEN}"'
)

# The first literal secret's line: where the refusal points.
SECRET_LINE = LITERAL.splitlines().index(f'client_secret = "{CLIENT_SECRET}"') + 1


def test_credentials_come_from_the_environment_or_the_file(tmp_path: Path) -> None:
    from_env = load(write(tmp_path, SELLER, name="env.toml"), environ=ENVIRON).sellers[0].credentials
    literal = load(write(tmp_path, LITERAL, name="literal.toml"), environ={}).sellers[0].credentials
    for credentials in (from_env, literal):
        assert credentials.client_id == "amzn1.application-oa2-client.test"
        assert credentials.client_secret.reveal() == CLIENT_SECRET
        assert credentials.refresh_token.reveal() == REFRESH_TOKEN
    assert from_env.sources.client_secret == "env TEST_CLIENT_SECRET"
    assert from_env.sources.refresh_token == "env TEST_REFRESH_TOKEN"
    assert (literal.sources.client_id, literal.sources.client_secret) == ("literal", "literal")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o610, 0o601, 0o650, 0o605])
def test_a_file_holding_secrets_is_refused_while_group_or_others_have_any_permission(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path, LITERAL, mode=mode)
    with pytest.raises(ConfigError) as raised:
        load(path, environ={})
    message = str(raised.value)
    # The file, its mode, which secrets, both remedies; never a value.
    assert message.startswith(f"{path}:{SECRET_LINE}: seller[0].credentials.client_secret: ")
    assert f"mode {mode:04o}" in message
    assert "seller[0].credentials.client_secret" in message and "seller[0].credentials.refresh_token" in message
    assert f"chmod 600 {path}" in message and "client_secret_env" in message and "refresh_token_env" in message
    assert CLIENT_SECRET not in message and REFRESH_TOKEN not in message


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666, 0o660, 0o622])
def test_a_file_others_may_write_is_refused_secrets_or_not(tmp_path: Path, mode: int) -> None:
    """Whoever may write the file may point the endpoints at a host of theirs and receive the credentials."""
    path = write(tmp_path, SELLER, mode=mode)
    with pytest.raises(ConfigError) as raised:
        load(path, environ=ENVIRON)
    message = str(raised.value)
    assert f"mode {mode:04o}" in message and f"chmod go-w {path}" in message


def test_a_secret_pasted_as_a_variable_name_is_refused_and_not_shown(tmp_path: Path) -> None:
    path = write(tmp_path, SELLER.replace('"TEST_CLIENT_SECRET"', f'"{CLIENT_SECRET}"'), mode=0o644)
    with pytest.raises(ConfigError) as raised:
        load(path, environ=ENVIRON)
    message = str(raised.value)
    assert "seller[0].credentials.client_secret_env" in message and "is it the client_secret itself" in message
    assert CLIENT_SECRET not in message


def test_the_mode_is_checked_not_the_access_of_whoever_reads(tmp_path: Path) -> None:
    # A file of the reader's own, that the reader can read either way: only its mode decides.
    assert load(write(tmp_path, LITERAL, mode=0o600, name="private.toml"), environ={})
    assert load(write(tmp_path, LITERAL, mode=0o400, name="read-only.toml"), environ={})
    with pytest.raises(ConfigError):
        load(write(tmp_path, LITERAL, mode=0o440, name="group.toml"), environ={})


def test_a_file_without_literal_secrets_may_be_readable_by_others(tmp_path: Path) -> None:
    # The client id is no secret: a literal one does not make the file private.
    config = load(write(tmp_path, SELLER, mode=0o644), environ=ENVIRON)
    assert config.sellers[0].credentials.sources.client_id == "literal"


def test_one_literal_secret_is_enough_to_refuse_and_only_it_is_named(tmp_path: Path) -> None:
    text = SELLER.replace('refresh_token_env = "TEST_REFRESH_TOKEN"', f'refresh_token = "{REFRESH_TOKEN}"')
    with pytest.raises(ConfigError) as raised:
        load(write(tmp_path, text, mode=0o644), environ=ENVIRON)
    assert raised.value.key == ("seller", 0, "credentials", "refresh_token")
    assert "client_secret," not in raised.value.problem and REFRESH_TOKEN not in str(raised.value)


def test_no_secret_shows_in_the_repr_of_a_config(tmp_path: Path) -> None:
    config = load(write(tmp_path, LITERAL), environ={})
    for shown in (repr(config), str(config), repr(config.sellers[0]), f"{config.sellers[0].credentials}"):
        assert CLIENT_SECRET not in shown and REFRESH_TOKEN not in shown
        assert "Secret('***')" in shown


def test_a_secret_is_masked_everywhere_and_refuses_to_be_encoded() -> None:
    secret = Secret(REFRESH_TOKEN)
    assert (repr(secret), str(secret), f"{secret}", f"{secret!r}") == ("Secret('***')", "***", "***", "Secret('***')")
    assert secret == Secret(REFRESH_TOKEN) and secret != Secret("other")
    assert hash(secret) == hash(Secret(REFRESH_TOKEN))
    with pytest.raises(TypeError):
        msgspec.json.encode(secret)


def test_a_config_cannot_be_encoded_with_its_secrets(tmp_path: Path) -> None:
    config = load(write(tmp_path, SELLER), environ=ENVIRON)
    with pytest.raises(TypeError):
        msgspec.json.encode(config)


def test_an_error_about_a_credential_never_holds_its_value(tmp_path: Path) -> None:
    text = LITERAL.replace(
        f'client_secret = "{CLIENT_SECRET}"', f'client_secret = "{CLIENT_SECRET}"\nclient_secret_env = "X"'
    )
    with pytest.raises(ConfigError) as raised:
        load(write(tmp_path, text), environ={})
    assert "both literally" in str(raised.value) and CLIENT_SECRET not in str(raised.value)
