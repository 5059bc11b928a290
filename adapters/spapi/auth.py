"""Login with Amazon: one seller account's access token, exchanged for its refresh token and kept until shortly
before it expires.

Every SP-API call carries an access token (``x-amz-access-token``), which lives an hour. `AccessTokens` holds one
seller account's: ``await tokens.token()`` answers from the cache, and exchanges the refresh token when the cached
one is missing or near its end. However many tasks ask at once, one exchange is in flight; the others wait for it
and share its outcome. Its failure is theirs too. A renewal that fails for a reason time may cure while the
cached token has not expired yet answers with the cached token, and is tried again no sooner than `RETRY_AFTER_S`
later (or the back-off below, when longer).

What a failure means to the caller (`engine.ports`): Amazon refusing the credentials (``invalid_grant``: the
authorization was revoked; ``invalid_client``: a wrong client id or secret) is an `AccountError`, which stops the
seller until someone authorizes again; anything time may cure (a 429, a 5xx, a timeout, a dropped connection, a
reply without a token) is a `TransientError`. An `AccountError` is not remembered: the next call asks Amazon
again. A cancelled exchange leaves nothing behind: a waiting task starts its own.

An exchange that failed for a reason time may cure holds the next one back: while no cached token serves, calls
fail at once with the last failure's reason until `BACKOFF_FIRST_S` has passed, twice that after a second failure
in a row, and so on up to `BACKOFF_MAX_S` (a success starts over). Every task of the seller asks for the token
before each call, so without it a token endpoint that is down would get an exchange as fast as they come.

The Notifications API's destinations are grantless: they take the application's own token, which `AccessTokens`
made with a ``scope`` (`NOTIFICATIONS_SCOPE`) gets the same way with ``grant_type=client_credentials`` and the
scope instead of the refresh token.

The refresh token, the client secret and access tokens appear in no log line, repr or exception: the cache holds
the token as a `Secret`, and Amazon's error text is scrubbed before it is quoted.
"""

from __future__ import annotations

import logging
import platform
from importlib import metadata
from typing import Final

import httpx
import msgspec
import trio

from engine.config.credentials import Secret
from engine.config.resolved import SellerAccount
from engine.logs import redact
from engine.ports import AccountError, TransientError

__all__ = [
    "BACKOFF_FIRST_S",
    "BACKOFF_MAX_S",
    "EXCHANGE_TIMEOUT_S",
    "NOTIFICATIONS_SCOPE",
    "REFRESH_AHEAD_S",
    "USER_AGENT",
    "AccessTokens",
]

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("repricer")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


# Amazon asks every caller to name itself: "AppName/AppVersion (Language=LanguageName/LanguageVersion)". Every
# request of the adapter carries it.
USER_AGENT: Final = f"repricer/{_version()} (Language=Python/{platform.python_version()})"

EXCHANGE_TIMEOUT_S: Final = 30.0  # the whole exchange, connect to last byte
REFRESH_AHEAD_S: Final = 300.0  # or a tenth of the token's life, when that is shorter
# A token is used until this long before it expires (or a twentieth of its life), a failed renewal meanwhile
# retried no sooner than RETRY_AFTER_S later.
EXPIRY_MARGIN_S: Final = 30.0
RETRY_AFTER_S: Final = 30.0
# With no token to serve calls, a failed exchange is tried again no sooner than this, doubled at each failure in a
# row up to the most.
BACKOFF_FIRST_S: Final = 1.0
BACKOFF_MAX_S: Final = 60.0
OPERATION: Final = "Login with Amazon"
NOTIFICATIONS_SCOPE: Final = "sellingpartnerapi::notifications"  # the grantless scope of the Notifications API

# Amazon's OAuth errors that no retry cures, with what the seller does about them.
_ACCOUNT_ERRORS: Final = {
    "invalid_grant": "the refresh token was revoked, has expired or is wrong: authorize the application again",
    "invalid_client": "the client id or client secret is wrong (was the secret rotated?)",
    "unauthorized_client": "the application may not use this refresh token",
}
_QUOTED_MAX: Final = 300  # characters of Amazon's error text kept in an exception


class _TokenReply(msgspec.Struct):
    access_token: Secret | None = None
    expires_in: float | None = None


class _ErrorReply(msgspec.Struct):
    error: str = ""
    error_description: str = ""


def _secret(kind: type, value: object) -> object:
    """Decode hook: an access token becomes a `Secret` as it is read, so no decoded reply ever shows it."""
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    raise ValueError("expected a string")


_token_reply = msgspec.json.Decoder(_TokenReply, dec_hook=_secret)
_error_reply = msgspec.json.Decoder(_ErrorReply)


class _Exchange:
    """One exchange in flight; the tasks waiting for it read its outcome when ``done`` is set (neither token nor
    error: it was cancelled)."""

    __slots__ = ("done", "error", "token")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.token: Secret | None = None
        self.error: AccountError | TransientError | None = None


class AccessTokens:
    """One seller account's access token, cached; see the module's docstring.

    ``client`` is shared with the rest of the adapter (tests pass one over `httpx.MockTransport`); its own
    timeouts may stay generous, as the exchange has its deadline here. With ``scope``, the token is the
    application's for that grantless scope, not the seller's. Create it inside `trio.run`.
    """

    __slots__ = (
        "_client",
        "_credentials",
        "_exchange",
        "_expires_at",
        "_failed",
        "_failures",
        "_refresh_at",
        "_retry_at",
        "_scope",
        "_seller",
        "_token",
        "_token_url",
    )

    def __init__(self, account: SellerAccount, client: httpx.AsyncClient, *, scope: str | None = None) -> None:
        self._seller = account.id
        self._scope = scope
        self._credentials = account.credentials
        self._token_url = account.endpoints.lwa_token
        self._client = client
        self._token: Secret | None = None
        self._refresh_at = 0.0  # trio time from which the cached token is renewed before use
        self._expires_at = 0.0  # trio time from which the cached token is no longer used at all
        self._exchange: _Exchange | None = None
        self._failures = 0  # transient failures in a row
        self._retry_at = 0.0  # trio time before which no exchange starts (after a transient failure)
        self._failed: TransientError | None = None  # the last transient failure, said again until then

    @property
    def seller(self) -> str:
        return self._seller

    def __repr__(self) -> str:
        state = "none" if self._token is None else f"cached, renewed from t={self._refresh_at:.0f}"
        return f"AccessTokens(seller={self._seller!r}, token={state})"

    async def token(self) -> str:
        """An access token for this seller's calls: the cached one, or a new one when it is missing or due.

        Raises `AccountError` when Amazon refuses the credentials, `TransientError` when the exchange failed for
        a reason time may cure."""
        while True:
            if self._token is not None and trio.current_time() < self._refresh_at:
                return self._token.reveal()
            exchange = self._exchange
            if exchange is None:
                if self._failed is not None and trio.current_time() < self._retry_at:
                    if (cached := self._still_valid()) is not None:
                        return cached
                    raise _again(self._failed)
                try:
                    return (await self._refresh()).reveal()
                except TransientError:
                    if (cached := self._still_valid()) is None:
                        raise
                    return cached
            await exchange.done.wait()
            if exchange.error is not None:
                if isinstance(exchange.error, TransientError) and (cached := self._still_valid()) is not None:
                    return cached
                raise _again(exchange.error)
            if exchange.token is not None:
                return exchange.token.reveal()
            # The exchange was cancelled with the task that ran it: look again, and start one if still needed.

    def _still_valid(self) -> str | None:
        """The cached token while it has not expired: a renewal that failed for a reason time may cure (Amazon's
        token endpoint down for a minute) does not stop calls the old token still serves. The renewal is tried
        again no sooner than `RETRY_AFTER_S` later, not at every call."""
        now = trio.current_time()
        if self._token is None or now >= self._expires_at:
            return None
        self._refresh_at = max(self._refresh_at, min(now + RETRY_AFTER_S, self._expires_at))
        return self._token.reveal()

    def invalidate(self, rejected: str | None = None) -> None:
        """Forget the cached token: Amazon said it expired early (HTTP 403), so the next `token` exchanges anew.

        Given the token Amazon rejected, only that one is forgotten: when twenty calls meet the same expired token
        and each invalidates it, the token another task has fetched meanwhile stays, and there is one exchange."""
        if rejected is None or (self._token is not None and self._token == Secret(rejected)):
            self._token = None
            self._expires_at = 0.0

    async def _refresh(self) -> Secret:
        """Run the exchange in this task, with every task that asks meanwhile waiting for it."""
        exchange = self._exchange = _Exchange()
        try:
            token = await self._exchange_refresh_token()
        except (AccountError, TransientError) as error:
            exchange.error = error
            if isinstance(error, TransientError):
                self._retry_at = trio.current_time() + self._backoff()
                self._failures += 1
                self._failed = error
            raise
        else:
            exchange.token = token
            self._failures, self._retry_at, self._failed = 0, 0.0, None
        finally:
            self._exchange = None
            exchange.done.set()
        return token

    async def _exchange_refresh_token(self) -> Secret:
        sent_at = trio.current_time()
        form = {
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.reveal(),
        }
        if self._scope is None:
            form |= {"grant_type": "refresh_token", "refresh_token": self._credentials.refresh_token.reveal()}
        else:
            form |= {"grant_type": "client_credentials", "scope": self._scope}
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",  # as Amazon's examples send it
        }
        response: httpx.Response | None = None
        with trio.move_on_after(EXCHANGE_TIMEOUT_S):
            try:
                response = await self._client.post(self._token_url, data=form, headers=headers)
            except httpx.TimeoutException as error:
                raise self._transient(f"timed out ({type(error).__name__})") from None
            except httpx.TransportError as error:
                raise self._transient(f"no connection ({type(error).__name__})") from None
            except httpx.RequestError as error:  # a reply that could not be read: a broken encoding, redirects
                raise self._transient(f"no usable reply ({type(error).__name__})") from None
        if response is None:
            raise self._transient(f"no reply within {EXCHANGE_TIMEOUT_S:g} s")
        if not response.is_success:
            raise self._refused(response)
        return self._accept(response.content, sent_at)

    def _accept(self, body: bytes, sent_at: float) -> Secret:
        """Cache the token of a successful reply. Its life counts from when the request left, to err early."""
        try:
            reply = _token_reply.decode(body)
        except msgspec.DecodeError as error:  # msgspec names the fault and its path, never the value
            raise self._transient(f"the reply is not a token: {error}") from None
        token, life = reply.access_token, reply.expires_in
        if token is None or life is None:
            missing = [name for name, value in (("access_token", token), ("expires_in", life)) if value is None]
            raise self._transient(f"the reply has no {' and no '.join(missing)}")
        if not token.reveal():
            raise self._transient("the reply's access_token is empty")
        if life <= 0:
            raise self._transient(f"the reply's token expires at once (expires_in {life:g})")
        self._token = token
        self._refresh_at = sent_at + life - min(REFRESH_AHEAD_S, life / 10)
        self._expires_at = sent_at + life - min(EXPIRY_MARGIN_S, life / 20)
        log.debug("seller %s: new access token, valid for %g s", self._seller, life)
        return token

    def _refused(self, response: httpx.Response) -> AccountError | TransientError:
        status = response.status_code
        try:
            reply = _error_reply.decode(response.content)
        except msgspec.DecodeError:
            reply = _ErrorReply()
        error, description = self._scrub(reply.error), self._scrub(reply.error_description)
        said = f"{error}: {description}" if description else error
        if status in (400, 401) and error in _ACCOUNT_ERRORS:
            return AccountError(
                self._seller, f"{OPERATION} refused the credentials (HTTP {status} {said}): {_ACCOUNT_ERRORS[error]}"
            )
        return self._transient(f"HTTP {status}" + (f" {said}" if said else ""))

    def _backoff(self) -> float:
        """How long the next exchange waits after a failure now (`BACKOFF_FIRST_S`, doubled at each in a row)."""
        return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** min(self._failures, 32))

    def _transient(self, detail: str) -> TransientError:
        return TransientError(
            OPERATION, f"seller {self._seller}: {detail}; tried again in {self._backoff():g} s at the earliest"
        )

    def _scrub(self, text: str) -> str:
        """Amazon's error text, safe to quote: no credential of ours (should a reply echo one), none by its shape."""
        for secret in (self._credentials.refresh_token, self._credentials.client_secret):
            if secret.reveal():
                text = text.replace(secret.reveal(), "***")
        text = redact(text)
        return text if len(text) <= _QUOTED_MAX else text[: _QUOTED_MAX - 1] + "…"


def _again(error: AccountError | TransientError) -> AccountError | TransientError:
    """The same failure as a new exception for a waiting task: one exception object raised in many tasks would
    gather all their tracebacks."""
    if isinstance(error, AccountError):
        return AccountError(error.seller, error.detail)
    return TransientError(error.operation, error.detail)
