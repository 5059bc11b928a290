"""The one place that sends a Selling Partner API request for one seller account, and sorts its failures.

`SpApiClient.request` sends a request with the seller's access token and Amazon's headers, at most
``max_in_flight`` at a time per account, each attempt under its own deadline in trio's clock: a server that never
answers holds the caller ``timeout_s`` at most (plus, on an expired token, one more attempt). What an answer means
to the caller (`engine.ports`):

- 2xx and the 4xx an operation answers for itself (400 a bad request, 404 an unknown SKU, 409, 413, 422...) come
  back as the `httpx.Response`: the operation's decoder reads Amazon's errors there, as it reads a batch item's.
- 429 is `Throttled`, with the wait Amazon hints at: ``Retry-After`` when sent (Amazon documents none), else one
  token's refill time from ``x-amzn-RateLimit-Limit`` (the rate, in calls a second), else None.
- 5xx, 408, a timeout (httpx's or our deadline), a refused or dropped connection and any other `httpx.RequestError`
  are `TransientError`: time may cure them.
- 403 ``Unauthorized`` (Amazon's answer to an access token that expired early, was revoked or is malformed, and to
  an application that lacks the role) forgets the token used and tries once more with a fresh one; a 403 again, a
  403 that is not about the token, or a 401 is `AccountError`: no retry cures it, someone must authorize again.

`SpApiClient.transfer` sends to a presigned document URL (a feed document's upload, a processing report's
download) under the same bound and deadline, without the access token: the URL carries its own signature.

No access token appears in a log line or an exception: error details quote Amazon's first error (code and
message, truncated and scrubbed of anything shaped like a credential) and the request id Amazon's support asks for.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx
import trio

from adapters.spapi.auth import USER_AGENT, AccessTokens
from adapters.spapi.wire.common import errors_of
from engine.config.resolved import SellerAccount
from engine.logs import redact
from engine.ports import AccountError, Throttled, TransientError

__all__ = ["MAX_IN_FLIGHT", "TIMEOUT_S", "SpApiClient", "retry_after"]

log = logging.getLogger(__name__)

# Amazon's quotas allow a handful of calls a second per seller at most (reference/spapi.md), and the pacers keep
# under them; this bound only stops a burst of work from opening a connection per call.
MAX_IN_FLIGHT: Final = 8
# One attempt, connect to last byte. Amazon answers in well under a second; a batch of twenty offers in a few.
TIMEOUT_S: Final = 30.0

_QUOTED_MAX: Final = 200  # characters of Amazon's error text kept in an exception
_TOKEN_WORDS: Final = ("access token", "security token")


class SpApiClient:
    """One seller account's SP-API requests; see the module's docstring.

    ``http`` may be shared with `AccessTokens` and other accounts (tests pass one over `httpx.MockTransport`); its
    own timeouts may stay generous, as each attempt has its deadline here. Create it inside `trio.run`.
    """

    __slots__ = ("_base", "_http", "_seller", "_slots", "_timeout_s", "_tokens")

    def __init__(
        self,
        account: SellerAccount,
        http: httpx.AsyncClient,
        tokens: AccessTokens,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s}")
        self._seller = account.id
        self._base = account.endpoints.sp_api.rstrip("/")
        self._http = http
        self._tokens = tokens
        self._slots = trio.Semaphore(max_in_flight)
        self._timeout_s = timeout_s

    @property
    def seller(self) -> str:
        return self._seller

    def __repr__(self) -> str:
        return f"SpApiClient(seller={self._seller!r}, base={self._base!r})"

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | Sequence[str]] | None = None,
        json_body: bytes | None = None,
    ) -> httpx.Response:
        """Send ``method path`` (``path`` from the host on, e.g. ``/listings/2021-08-01/items/...``) as the SP-API
        ``operation`` (which names it in errors), with ``json_body`` as the JSON body if given.

        Returns the response of a 2xx or of a 4xx the operation decodes (its body read). Raises `Throttled`,
        `TransientError` or `AccountError` as the module's docstring says; the token's own failures come from
        `AccessTokens.token`."""
        if not path.startswith("/"):
            raise ValueError(f"{operation}: the path must start with '/', not {path!r}")
        url = self._base + path
        token = await self._tokens.token()
        response = await self._attempt(operation, method, url, token, params, json_body)
        if response.status_code == 403 and _about_the_token(response):
            # Amazon may end a token before its time: forget this one (not one another task fetched meanwhile).
            log.info(
                "seller %s: %s refused the access token (HTTP 403); retrying with a new one", self._seller, operation
            )
            self._tokens.invalidate(token)
            token = await self._tokens.token()
            response = await self._attempt(operation, method, url, token, params, json_body)
        status = response.status_code
        if status in (401, 403):
            raise AccountError(
                self._seller,
                f"{operation} was refused access ({self._said(response, token)}): authorize the application again, "
                "or check that it has the role this call needs",
            )
        if status == 429:
            raise Throttled(operation, retry_after(response.headers))
        if status >= 500 or status == 408:
            raise TransientError(operation, f"seller {self._seller}: {self._said(response, token)}")
        return response

    async def transfer(
        self, operation: str, method: str, url: str, *, content: bytes | None = None, content_type: str | None = None
    ) -> httpx.Response:
        """Send ``method`` to a presigned document URL (a feed document's upload, a processing report's download),
        which carries its own signature: without the access token, which must not leave for another host, and
        with ``content`` as the body, of ``content_type`` (the one given when the document was created, as the
        signature covers it). In a slot and under the deadline like any request.

        Returns any answer but a 5xx, 408 or 429, which are `TransientError` (the storage behind the URL says
        "slow down" that way, not with Amazon's quota), as is a failure to get a reply. Neither the URL nor
        the answer is quoted in an error, as the URL's query is a credential for the document."""
        headers = {"User-Agent": USER_AGENT}
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = await self._send(operation, method, url, headers, None, content)
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise TransientError(operation, f"seller {self._seller}: the document's storage answered HTTP {status}")
        return response

    async def _attempt(
        self,
        operation: str,
        method: str,
        url: str,
        token: str,
        params: Mapping[str, str | Sequence[str]] | None,
        json_body: bytes | None,
    ) -> httpx.Response:
        headers = {"x-amz-access-token": token, "User-Agent": USER_AGENT, "Accept": "application/json"}
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        return await self._send(operation, method, url, headers, params, json_body)

    async def _send(
        self,
        operation: str,
        method: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str | Sequence[str]] | None,
        content: bytes | None,
    ) -> httpx.Response:
        """One attempt in a slot, under its deadline; a failure to get a reply is a `TransientError`."""
        async with self._slots:
            with trio.move_on_after(self._timeout_s):
                try:
                    return await self._http.request(method, url, params=params, content=content, headers=headers)
                except httpx.TimeoutException as error:
                    raise self._transient(operation, f"timed out ({type(error).__name__})") from None
                except httpx.TransportError as error:
                    raise self._transient(operation, f"no connection ({type(error).__name__})") from None
                except httpx.RequestError as error:  # a reply that could not be read: a broken encoding, redirects
                    raise self._transient(operation, f"no usable reply ({type(error).__name__})") from None
        raise self._transient(operation, f"no reply within {self._timeout_s:g} s")

    def _transient(self, operation: str, detail: str) -> TransientError:
        # httpx's message may hold the URL, which holds SKUs but no credential; the type alone says enough.
        return TransientError(operation, f"seller {self._seller}: {detail}")

    def _said(self, response: httpx.Response, token: str) -> str:
        """The status, Amazon's first error and the request id, safe to quote."""
        text = f"HTTP {response.status_code}"
        errors = errors_of(response.content)
        if errors:
            quoted = redact(str(errors[0]).replace(token, "***"))
            text += " " + (quoted if len(quoted) <= _QUOTED_MAX else quoted[: _QUOTED_MAX - 1] + "…")
        if request_id := response.headers.get("x-amzn-RequestId"):
            text += f", request id {redact(request_id[:100])}"
        return text


def _about_the_token(response: httpx.Response) -> bool:
    """Whether a 403 may be cured by a fresh token: Amazon's ``Unauthorized`` ("Access to requested resource is
    denied.", with details such as "The access token you provided has expired." or "... is revoked, malformed or
    invalid."), or any error text that names the token. The generic message says the same for a missing role; one
    retry tells the two apart."""
    for error in errors_of(response.content):
        text = f"{error.message} {error.details or ''}".lower()
        if error.code == "Unauthorized" or any(words in text for words in _TOKEN_WORDS):
            return True
    return False


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` (seconds or an HTTP date) if sent, else the time one call's
    token takes to refill at the ``x-amzn-RateLimit-Limit`` rate, else None (the pacer's own rate then rules)."""
    if (value := headers.get("Retry-After")) is not None:
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
        else:
            if math.isfinite(seconds) and seconds >= 0:
                return seconds
    if (limit := headers.get("x-amzn-RateLimit-Limit")) is not None:
        try:
            rate = float(limit)
        except ValueError:
            return None
        if math.isfinite(rate) and rate > 0:
            return 1.0 / rate
    return None
