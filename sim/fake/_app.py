"""`SpApiFake`: an ASGI application that answers as Amazon's SP-API and Login with Amazon would, over one simulated
market.

Every SP-API call goes the simulator's one API path (`sim.api.MarketApi`), so it meets the same per-seller token
buckets and batch limits as the in-process adapter: a refused call is Amazon's 429 ``QuotaExceeded`` and changes
nothing. Time is trio's clock: the app must run inside the trio run that owns the market (an in-process
`httpx.ASGITransport`, or an ASGI server on trio), and under `MockClock` a test's hours pass at once.

A request is checked in the order a client meets Amazon's refusals: the route (404), the access token (403
``Unauthorized``), the body (400 ``InvalidInput``, no quota charged), the batch size (400, no quota charged), the
seller's quota (429). A call taken is answered ``latency_s`` later, as of that time.

Routes:

- ``POST /auth/o2/token`` — Login with Amazon's token exchange (``grant_type=refresh_token``).
- ``POST /batches/products/pricing/2022-05-01/items/competitiveSummary`` — getCompetitiveSummary.
- ``GET /_sim/stats`` — the fake's counters (`FakeStats`) as JSON; not Amazon's, and needs no token.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Final

import msgspec
import trio

from sim.api import MarketApi, QuotaExceeded
from sim.fake._asgi import BodyTooLarge, Receive, Scope, Send, read_body, reply
from sim.fake._lwa import DEFAULT_LIFETIME_S, LwaError, TokenBook
from sim.fake._pricing import (
    COMPETITIVE_SUMMARY,
    CompetitiveSummaryBatchRequest,
    RowIndex,
    batch_reply,
    check_summary_request,
    not_found_item,
)

__all__ = ["LWA_TOKEN_PATH", "STATS_PATH", "FakeStats", "SpApiFake"]

LWA_TOKEN_PATH: Final = "/auth/o2/token"
STATS_PATH: Final = "/_sim/stats"
_ROUTES: Final[dict[tuple[str, str], str]] = {
    ("POST", "/batches/products/pricing/2022-05-01/items/competitiveSummary"): COMPETITIVE_SUMMARY,
}

# Amazon's words, as its replies carry them (reference/spapi.md; the client's tests quote the same).
_DENIED: Final = "Access to requested resource is denied."
_EXPIRED: Final = "The access token you provided has expired."
_INVALID: Final = "The access token you provided is revoked, malformed or invalid."
_QUOTA_EXCEEDED: Final = "You exceeded your quota for the requested resource."


class FakeStats(msgspec.Struct, gc=False):
    """What the fake has seen, for ``GET /_sim/stats``.

    ``requests`` counts every request to an SP-API path (known or not), the token exchange and the stats excluded;
    ``answered`` the calls answered per operation; ``throttled`` the 429s sent; ``over_quota`` the same 429s by
    operation (the calls that found the seller's bucket empty); ``unauthorized`` the 403s; ``bad_requests`` the
    400s (a body that does not fit the model, a batch over its limit); ``not_found`` requests to no route.
    ``token_exchanges`` are the access tokens issued, ``token_refusals`` the exchanges refused."""

    requests: int = 0
    answered: dict[str, int] = msgspec.field(default_factory=dict)
    throttled: int = 0
    over_quota: dict[str, int] = msgspec.field(default_factory=dict)
    unauthorized: int = 0
    bad_requests: int = 0
    not_found: int = 0
    token_exchanges: int = 0
    token_refusals: int = 0


class _Error(msgspec.Struct, frozen=True, gc=False):
    code: str
    message: str
    details: str = ""


class _Errors(msgspec.Struct, frozen=True, gc=False):
    errors: tuple[_Error, ...]


_ENCODER: Final = msgspec.json.Encoder()
_SUMMARY_REQUEST: Final = msgspec.json.Decoder(CompetitiveSummaryBatchRequest)


def _errors(code: str, message: str, details: str = "") -> bytes:
    return _ENCODER.encode(_Errors((_Error(code, message, details),)))


class SpApiFake:
    """The ASGI app over ``api``'s market. ``sellers`` maps each refresh token the fake accepts to the seller (an
    index of the market's sellers) whose calls it authorizes; access tokens live ``token_lifetime_s``."""

    def __init__(
        self,
        api: MarketApi,
        sellers: Mapping[str, int],
        *,
        token_lifetime_s: float = DEFAULT_LIFETIME_S,
        latency_s: float = 0.0,
    ) -> None:
        n_sellers = api.market.spec.n_sellers
        if unknown := sorted(seller for seller in sellers.values() if not 0 <= seller < n_sellers):
            raise ValueError(f"sellers {unknown} are not among the market's {n_sellers}")
        if latency_s < 0:
            raise ValueError(f"latency_s must not be negative, not {latency_s}")
        self.api = api
        self.stats = FakeStats()
        self.latency_s = latency_s
        self._tokens = TokenBook(sellers, lifetime_s=token_lifetime_s)
        self._rows = RowIndex(api.market)
        self._request_ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"the SP-API fake speaks HTTP only, not {scope['type']!r}")
        method, path = scope["method"], scope["path"]
        if (method, path) == ("GET", STATS_PATH):
            await reply(send, 200, _ENCODER.encode(self.stats))
        elif path == LWA_TOKEN_PATH:
            await self._token(method, receive, send)
        else:
            await self._sp_api(scope, receive, send)

    async def _token(self, method: str, receive: Receive, send: Send) -> None:
        if method != "POST":
            await reply(send, 405, _ENCODER.encode(LwaError("invalid_request", "The token endpoint takes POST")))
            return
        try:
            form = await read_body(receive)
        except BodyTooLarge:
            form = b""
        answer = self._tokens.exchange(form, trio.current_time())
        if isinstance(answer, LwaError):
            self.stats.token_refusals += 1
            await reply(send, 400, _ENCODER.encode(answer))
        else:
            self.stats.token_exchanges += 1
            await reply(send, 200, _ENCODER.encode(answer), headers=((b"cache-control", b"no-store"),))

    async def _sp_api(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.stats.requests += 1
        request_id = f"sim-{next(self._request_ids):08d}".encode()

        async def answer(status: int, body: bytes) -> None:
            await reply(send, status, body, headers=((b"x-amzn-requestid", request_id),))

        operation = _ROUTES.get((scope["method"], scope["path"]))
        if operation is None:
            self.stats.not_found += 1
            await answer(404, _errors("NotFound", "Resource not found", f"{scope['method']} {scope['path']}"))
            return
        now = trio.current_time()
        token = _header(scope, b"x-amz-access-token")
        seller = None if token is None else self._tokens.seller(token, now)
        if seller is None:
            self.stats.unauthorized += 1
            details = "" if token is None else _EXPIRED if self._tokens.expired(token, now) else _INVALID
            await answer(403, _errors("Unauthorized", _DENIED, details))
            return
        try:
            body = await read_body(receive)
        except BodyTooLarge:
            self.stats.bad_requests += 1
            await answer(413, _errors("RequestEntityTooLarge", "The request body is too large"))
            return
        status, content = await self._competitive_summary(seller, body)
        await answer(status, content)

    async def _competitive_summary(self, seller: int, body: bytes) -> tuple[int, bytes]:
        operation = COMPETITIVE_SUMMARY
        try:
            batch = _SUMMARY_REQUEST.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            return self._bad_request(str(error))
        for index, item in enumerate(batch.requests):
            if (fault := check_summary_request(item)) is not None:
                return self._bad_request(f"requests[{index}]: {fault}")
        rows = [self._rows.row(seller, item.marketplace_id, item.asin) for item in batch.requests]
        known = [row for row in rows if row is not None]
        now = trio.current_time()
        taken = None
        try:
            if known:
                taken = self.api.competitive_summary(seller, known, now)
            else:  # nothing to read, but the call is taken and charged all the same
                self.api.charge(seller, operation, now, len(rows))
        except ValueError as error:  # more items than the operation takes
            return self._bad_request(str(error))
        except QuotaExceeded:
            self.stats.throttled += 1
            self.stats.over_quota[operation] = self.stats.over_quota.get(operation, 0) + 1
            return 429, _errors("QuotaExceeded", _QUOTA_EXCEEDED)
        if self.latency_s:
            await trio.sleep(self.latency_s)
        found = iter(() if taken is None else taken.answer(trio.current_time()))
        items = [
            next(found) if row is not None else not_found_item(item.asin, item.marketplace_id)
            for item, row in zip(batch.requests, rows, strict=True)
        ]
        self.stats.answered[operation] = self.stats.answered.get(operation, 0) + 1
        return 200, batch_reply(items)

    def _bad_request(self, detail: str) -> tuple[int, bytes]:
        self.stats.bad_requests += 1
        return 400, _errors("InvalidInput", "Invalid input", detail)


def _header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (ASGI gives names in lower case), or None when it was not sent."""
    for key, value in scope.get("headers", ()):
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: the market belongs to whoever built the app."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
