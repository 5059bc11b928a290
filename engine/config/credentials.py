"""A seller's Login with Amazon credentials: where each comes from, and how a secret stays one.

Each of ``client_id``, ``client_secret`` and ``refresh_token`` is given either literally or as ``<name>_env``, the
name of an environment variable that holds it (a systemd ``EnvironmentFile``, a container's secrets): exactly one
of the two. The client id identifies the application and is no secret; the client secret and the refresh token
are, so they are held as `Secret`, whose repr and str are masked: printing a `Config`, logging it or putting it in
an exception shows ``***``, and encoding it with msgspec fails rather than writing the value. The code that calls
Amazon asks for the value by name (`Secret.reveal`).

A file holding a secret literally must be readable by its owner alone: one with any permission bit for group or
others is refused (`check_private`), whoever runs the command, since it is the mode, not this process's access,
that says who else can read it.
"""

from __future__ import annotations

import hmac
import re
import stat
from collections.abc import Mapping
from typing import Final

import msgspec

from engine.config.decode import Source
from engine.config.errors import dotted
from engine.config.locate import KeyPath
from engine.config.schema import CredentialsTable

__all__ = [
    "CredentialSources",
    "Credentials",
    "Secret",
    "check_private",
    "literal_secrets",
    "resolve_credentials",
    "resolve_value",
]

_SECRETS = ("client_secret", "refresh_token")


class Secret:
    """A credential's value, masked wherever it is shown; `reveal` gives it to the code that sends it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))


class CredentialSources(msgspec.Struct, frozen=True):
    """Where each credential came from: ``"literal"`` (the file) or ``"env NAME"``; never a value."""

    client_id: str
    client_secret: str
    refresh_token: str


class Credentials(msgspec.Struct, frozen=True):
    """What Login with Amazon needs to give this seller's calls an access token."""

    client_id: str
    client_secret: Secret
    refresh_token: Secret
    sources: CredentialSources


def resolve_credentials(
    source: Source, table: CredentialsTable, at: KeyPath, environ: Mapping[str, str], *, refresh_token: bool = True
) -> Credentials:
    """The credentials of the ``[seller.credentials]`` table at ``at``, environment variables read. With
    ``refresh_token`` False an unset refresh token variable is no error (its value is then empty): the seller is
    about to be authorized (`repricer amazon authorize`), which is what puts the token there."""
    client_id, client_id_from = resolve_value(source, table, "client_id", at, environ)
    client_secret, client_secret_from = resolve_value(source, table, "client_secret", at, environ)
    token, refresh_token_from = resolve_value(source, table, "refresh_token", at, environ, required=refresh_token)
    return Credentials(
        client_id,
        Secret(client_secret),
        Secret(token),
        CredentialSources(client_id_from, client_secret_from, refresh_token_from),
    )


def literal_secrets(table: CredentialsTable) -> list[str]:
    """The names of the secrets ``table`` gives literally."""
    return [name for name in _SECRETS if getattr(table, name) is not None]


_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_private(source: Source, mode: int, secrets: list[KeyPath]) -> None:
    """Refuse a file that group or others may write (whoever can write it can point the endpoints at a host of
    theirs and receive the credentials, wherever those are kept), and one that holds ``secrets`` literally while
    group or others have any permission on it."""
    permissions = stat.S_IMODE(mode)
    if permissions & 0o022:
        raise source.error(
            (),
            f"{source.file} may be written by group or others (mode {permissions:04o}), and it says where the "
            f"credentials are sent: `chmod go-w {source.file}`",
        )
    if not secrets or not permissions & 0o077:
        return
    names = ", ".join(dotted(path) for path in secrets)
    raise source.error(
        secrets[0],
        f"{source.file} holds secrets ({names}) and is open to group or others (mode {permissions:04o}): "
        f"make it private with `chmod 600 {source.file}`, or move the secrets into environment variables "
        "(client_secret_env, refresh_token_env, aws_secret_access_key_env)",
    )


def resolve_value(
    source: Source,
    table: msgspec.Struct,
    name: str,
    at: KeyPath,
    environ: Mapping[str, str],
    *,
    required: bool = True,
) -> tuple[str, str]:
    """One credential's value in ``table`` (the table at ``at``, with fields ``name`` and ``<name>_env``), and where
    it came from (``"env NAME"`` for a variable, even one not set when the value is not ``required``, which then is
    empty)."""
    literal: str | None = getattr(table, name)
    variable: str | None = getattr(table, f"{name}_env")
    if literal is not None and variable is not None:
        raise source.error(
            (*at, f"{name}_env"), f"{name} is given both literally and as {name}_env: keep one of the two"
        )
    if literal is not None:
        if not literal.strip():
            raise source.error((*at, name), "is empty")
        return literal, "literal"
    if variable is None:
        raise source.error(
            (*at, name),
            f'missing: give it literally ({name} = "…") or name the environment variable that holds it '
            f'({name}_env = "VARIABLE")',
        )
    where = (*at, f"{name}_env")
    if not _VARIABLE.fullmatch(variable):
        # Not echoed: a secret pasted here by mistake must not reach a log or a terminal.
        raise source.error(
            where,
            "is not the name of an environment variable (letters, digits and _, not starting with a digit): "
            f"is it the {name} itself? Put the value in the environment and its name here",
        )
    value = environ.get(variable)
    if not required and not (value or "").strip():
        return "", f"env {variable}"
    if value is None:
        raise source.error(where, f"the environment variable {variable} is not set")
    if not value.strip():
        raise source.error(where, f"the environment variable {variable} is empty")
    return value, f"env {variable}"
