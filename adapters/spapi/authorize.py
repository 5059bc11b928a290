"""Connecting a seller account: getting its refresh token from Login with Amazon and keeping it safe.

reference/spapi.md names two ways. A seller running the daemon for their own account self-authorizes a private
application in Seller Central, which shows a refresh token: the seller pastes it. An application serving other
sellers sends each one to Seller Central's consent page (`consent_url`); after consent Amazon sends the browser to a
redirect URI registered for the application, with ``state``, ``selling_partner_id`` and ``spapi_oauth_code``
(`read_redirect`), and the code is exchanged within minutes for the refresh token (`exchange_code`). The redirect is
either received here, on a loopback listener (`receive_redirect`, for a redirect URI that reaches this machine), or
pasted by the seller from the browser's address bar.

Either way the token is tried once (`check_refresh_token`, an exchange for an access token) before it is kept, in
the environment file the daemon is started with (`store_in_env_file`: ``NAME='value'`` lines, as systemd's
``EnvironmentFile`` and a shell's ``set -a; . FILE`` both read them), written whole to a new file of mode 0600 and
renamed over the old one, so a crash leaves the old file or the new one, never half of either. No token, code or
secret is ever printed or logged: they are held as `Secret` and Amazon's error text is scrubbed before it is quoted.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import msgspec
import trio

from adapters.spapi.auth import EXCHANGE_TIMEOUT_S, USER_AGENT
from engine.config.credentials import Secret
from engine.logs import redact

__all__ = [
    "CODE_PARAMETER",
    "SELLER_CENTRAL",
    "AuthorizationError",
    "Redirected",
    "check_refresh_token",
    "consent_url",
    "exchange_code",
    "new_state",
    "read_redirect",
    "receive_redirect",
    "store_in_env_file",
]

# Seller Central of each marketplace: where its sellers sign in and consent.
SELLER_CENTRAL: Final[Mapping[str, str]] = {
    "US": "https://sellercentral.amazon.com",
    "CA": "https://sellercentral.amazon.ca",
    "MX": "https://sellercentral.amazon.com.mx",
    "GB": "https://sellercentral.amazon.co.uk",
    "DE": "https://sellercentral.amazon.de",
    "FR": "https://sellercentral.amazon.fr",
    "IT": "https://sellercentral.amazon.it",
    "ES": "https://sellercentral.amazon.es",
    "NL": "https://sellercentral.amazon.nl",
    "BE": "https://sellercentral.amazon.com.be",
    "IE": "https://sellercentral.amazon.ie",
    "PL": "https://sellercentral.amazon.pl",
    "SE": "https://sellercentral.amazon.se",
    "TR": "https://sellercentral.amazon.com.tr",
}
CONSENT_PATH: Final = "/apps/authorize/consent"
CODE_PARAMETER: Final = "spapi_oauth_code"
_REQUEST_HEAD_MAX: Final = 16 * 1024  # bytes of a browser's request line and headers the listener reads
_CONNECTION_TIMEOUT_S: Final = 10.0  # a connection to the listener that says nothing is dropped after this
_QUOTED_MAX: Final = 300
_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class AuthorizationError(Exception):
    """The authorization did not give a usable refresh token; the message says why and what to do."""


class Redirected(msgspec.Struct, frozen=True):
    """What Amazon's redirect after consent carries (the code is a `Secret`: it is worth a refresh token)."""

    code: Secret
    selling_partner_id: str


def new_state() -> str:
    """An unguessable ``state`` for one authorization: the redirect must bring it back."""
    return secrets.token_urlsafe(24)


def consent_url(
    seller_central: str, application_id: str, state: str, *, redirect_uri: str | None = None, beta: bool = False
) -> str:
    """Seller Central's consent page for ``application_id``. ``beta`` while the application is in draft (without
    it Amazon answers MD1000); ``redirect_uri`` one of those registered for the application (else Amazon uses the
    first registered one; one not registered is MD5101)."""
    query = {"application_id": application_id, "state": state}
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri
    if beta:
        query["version"] = "beta"
    return f"{seller_central.rstrip('/')}{CONSENT_PATH}?{urlencode(query)}"


def read_redirect(url: str, state: str) -> Redirected:
    """The code and selling partner of the URL Amazon redirected the browser to (pasted, or as the listener got it:
    a path with its query). Refused: an error Amazon sent instead, another authorization's ``state``, no code."""
    query = {name: values[0] for name, values in parse_qs(urlsplit(url.strip()).query).items()}
    if "error" in query:
        said = _quote(" ".join(filter(None, (query["error"], query.get("error_description", "")))))
        raise AuthorizationError(f"Amazon did not authorize the application: {said}")
    if query.get("state") != state:
        raise AuthorizationError(
            "that URL belongs to another authorization (its state differs): use the URL of the redirect that followed "
            "the consent page this command printed, or start again"
        )
    code, partner = query.get(CODE_PARAMETER, ""), query.get("selling_partner_id", "")
    if not code or not partner:
        missing = [name for name, value in ((CODE_PARAMETER, code), ("selling_partner_id", partner)) if not value]
        raise AuthorizationError(f"the redirect has no {' and no '.join(missing)}: paste the whole address")
    return Redirected(Secret(code), partner)


async def receive_redirect(
    state: str, *, host: str = "127.0.0.1", port: int = 0, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
) -> Redirected:
    """Listen on ``host:port`` (a loopback address) for the browser's redirect, and answer it with a page saying
    what happened. Reports the bound port through ``task_status``. Requests without this authorization's state
    (a favicon, a stray tab) get a 404 and the listener goes on, as it does past a connection reset or a client
    that says nothing; one connection at a time, each bounded in size and time."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    try:
        task_status.started(listeners[0].socket.getsockname()[1])
        while True:
            stream = await listeners[0].accept()
            async with stream:
                target = None
                with trio.move_on_after(_CONNECTION_TIMEOUT_S):
                    try:
                        target = await _request_target(stream)
                    except trio.BrokenResourceError:  # the client reset the connection: wait for the next
                        continue
                if target is None:
                    continue
                query = parse_qs(urlsplit(target).query)
                if query.get("state", [""])[0] != state:
                    await _answer(stream, 404, "Not the page this authorization waits for.")
                    continue
                try:
                    redirected = read_redirect(target, state)
                except AuthorizationError as error:
                    await _answer(stream, 400, f"Not authorized: {error}. Go back to the terminal.")
                    raise
                await _answer(stream, 200, "Authorized. You can close this window and go back to the terminal.")
                return redirected
    finally:
        for listener in listeners:
            await listener.aclose()


async def _request_target(stream: trio.SocketStream) -> str | None:
    """The target of an HTTP GET's request line, once the whole head has arrived; None for anything else."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < _REQUEST_HEAD_MAX:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        head += chunk
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET":
        return None
    return parts[1].decode("ascii", "replace")


async def _answer(stream: trio.SocketStream, status: int, text: str) -> None:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    body = f"<!doctype html><title>repricer</title><p>{text}</p>\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n"
    )
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_all(head.encode() + body)


class _TokenReply(msgspec.Struct):
    refresh_token: str | None = None
    access_token: str | None = None


class _ErrorReply(msgspec.Struct):
    error: str = ""
    error_description: str = ""


async def exchange_code(
    client: httpx.AsyncClient,
    token_url: str,
    *,
    client_id: str,
    client_secret: Secret,
    code: Secret,
    redirect_uri: str,
) -> Secret:
    """The refresh token for an authorization code (``grant_type=authorization_code``, the same ``redirect_uri``
    as the consent's)."""
    form = {
        "grant_type": "authorization_code",
        "code": code.reveal(),
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret.reveal(),
    }
    reply = await _post(client, token_url, form, (client_secret, code))
    if not reply.refresh_token:
        raise AuthorizationError("Login with Amazon answered without a refresh token")
    return Secret(reply.refresh_token)


async def check_refresh_token(
    client: httpx.AsyncClient, token_url: str, *, client_id: str, client_secret: Secret, refresh_token: Secret
) -> None:
    """Exchange ``refresh_token`` for an access token once: a token Amazon refuses is never kept."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token.reveal(),
        "client_id": client_id,
        "client_secret": client_secret.reveal(),
    }
    reply = await _post(client, token_url, form, (client_secret, refresh_token))
    if not reply.access_token:
        raise AuthorizationError("Login with Amazon answered without an access token")


async def _post(
    client: httpx.AsyncClient, token_url: str, form: dict[str, str], hidden: tuple[Secret, ...]
) -> _TokenReply:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
    }
    response = None
    with trio.move_on_after(EXCHANGE_TIMEOUT_S):
        try:
            response = await client.post(token_url, data=form, headers=headers)
        except httpx.RequestError as error:
            raise AuthorizationError(
                f"no answer from Login with Amazon at {token_url} ({type(error).__name__}): nothing stored, try again"
            ) from None
    if response is None:
        raise AuthorizationError(f"no answer from Login with Amazon within {EXCHANGE_TIMEOUT_S:g} s: try again")
    if not response.is_success:
        try:
            refused = msgspec.json.decode(response.content, type=_ErrorReply)
        except msgspec.DecodeError:
            refused = _ErrorReply()
        said = " ".join(filter(None, (refused.error, refused.error_description)))
        for secret in hidden:
            said = said.replace(secret.reveal(), "***") if secret.reveal() else said
        raise AuthorizationError(
            f"Login with Amazon refused (HTTP {response.status_code}{': ' + _quote(said) if said else ''})"
            + (": check the client id and secret" if refused.error == "invalid_client" else "")
            + (": the token or code is wrong, used or expired" if refused.error == "invalid_grant" else "")
        )
    try:
        return msgspec.json.decode(response.content, type=_TokenReply)
    except msgspec.DecodeError as error:
        raise AuthorizationError(f"Login with Amazon answered something else than a token ({error})") from None


def store_in_env_file(path: Path, name: str, value: Secret) -> None:
    """Set ``name='value'`` in the environment file ``path``, keeping its other lines (a line of ``name`` already
    there is replaced, one ``export`` prefix kept), as a new file of mode 0600 renamed over the old: never half
    written, never readable by anyone else, even for a moment."""
    if not _VARIABLE.fullmatch(name):
        raise AuthorizationError(f"{name!r} is not the name of an environment variable")
    secret = value.reveal()
    if not secret or any(char in secret for char in "'\n\r\0"):
        raise AuthorizationError("the token has characters an environment file cannot hold: nothing stored")
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    except (OSError, UnicodeDecodeError) as error:
        raise AuthorizationError(f"cannot read {path}: {error}") from None
    pattern = re.compile(rf"^(\s*export\s+)?{re.escape(name)}\s*=")
    line = f"{name}='{secret}'"
    kept: list[str] = []
    replaced = False
    for old in lines:
        match = pattern.match(old)
        if match is None:
            kept.append(old)
        elif not replaced:  # the first line of the name takes the new value; any later one would override it
            kept.append(f"{match.group(1) or ''}{line}")
            replaced = True
    if not replaced:
        kept.append(line)
    directory = path.parent
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)  # mode 0600 already
    except OSError as error:
        raise AuthorizationError(f"cannot write beside {path}: {error}") from None
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write("\n".join(kept) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise AuthorizationError(f"cannot write {path}: {error}; it is unchanged") from None
    with contextlib.suppress(OSError):  # the rename itself survives a crash once the directory is synced
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


def _quote(text: str) -> str:
    text = redact(text)
    return text if len(text) <= _QUOTED_MAX else text[: _QUOTED_MAX - 1] + "…"
