"""What went over the wire between the SP-API adapter and the fake, for `bench spapi`: an ASGI middleware in front
of `sim.fake.SpApiFake` that counts each SP-API request by operation and answer, and keeps every update the fake
answered ACCEPTED.

The fake's own counters (`sim.fake.FakeStats`) say how many requests it refused for quota and how many updates it
took; the tap says which operation each answer went to (a 429 of a storm, a 503 of a burst), and which submission
id the fake gave which SKU's price, so the benchmark can check the daemon's outbox against what Amazon accepted. It
only reads: every message passes through unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs, unquote

import trio

from adapters.spapi.marketplace import PATHS
from engine.marketplaces import MARKETPLACES
from engine.money import MoneyError, parse_minor

__all__ = ["Accepted", "OperationTally", "Wiretap", "operation_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_BATCHES: Final = {path: operation for operation, path in PATHS.items()}
_LISTINGS: Final = "/listings/2021-08-01/items/"
_FEEDS: Final = "/feeds/2021-06-30/"
_CURRENCY: Final = {info.marketplace_id: info.currency_code for info in MARKETPLACES.values()}


def operation_of(method: str, path: str) -> str:
    """The SP-API operation of a request the adapter makes ("other" for anything else)."""
    if method == "POST" and path in _BATCHES:
        return _BATCHES[path]
    if path.startswith(_LISTINGS):
        return {"GET": "getListingsItem", "PATCH": "patchListingsItem"}.get(method, "other")
    if path.startswith(_FEEDS):
        rest = path[len(_FEEDS) :]
        if rest == "documents" and method == "POST":
            return "createFeedDocument"
        if rest == "feeds" and method == "POST":
            return "createFeed"
        if rest.startswith("feeds/") and method == "GET":
            return "getFeed"
        if rest.startswith("documents/") and method == "GET":
            return "getFeedDocument"
    return "other"


@dataclass(slots=True)
class OperationTally:
    """One operation's requests, by the fake's answer."""

    requests: int = 0
    ok: int = 0  # 2xx
    throttled: int = 0  # 429, for quota or a storm
    server_errors: int = 0  # 5xx
    unauthorized: int = 0  # 401, 403
    other: int = 0  # any other 4xx


@dataclass(frozen=True, slots=True)
class Accepted:
    """A patchListingsItem the fake answered ACCEPTED: which SKU, in which marketplace, at which price (minor
    units; None when the body held none that could be read), when, under which submission id."""

    sku: str
    marketplace_id: str
    price: int | None
    submission_id: str
    at: float


@dataclass(slots=True)
class Wiretap:
    """The middleware over ``app``. ``tallies`` by SP-API operation; ``accepted`` by submission id; ``unreadable``
    counts the patches answered 2xx whose reply could not be read (a malformed-JSON fault: the fake took them, the
    adapter could not know)."""

    app: App
    tallies: dict[str, OperationTally] = field(default_factory=dict)
    accepted: dict[str, Accepted] = field(default_factory=dict)
    unreadable: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(("/_sim/", "/auth/")):
            await self.app(scope, receive, send)
            return
        method = str(scope["method"])
        operation = operation_of(method, path)
        patch = operation == "patchListingsItem"
        request: list[bytes] = []
        reply: list[bytes] = []
        status = 0

        async def tapped_receive() -> Message:
            message = await receive()
            if patch and message["type"] == "http.request":
                request.append(bytes(message.get("body", b"")))
            return message

        async def tapped_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif patch and message["type"] == "http.response.body":
                reply.append(bytes(message.get("body", b"")))
            await send(message)

        await self.app(scope, tapped_receive, tapped_send)
        self._count(operation, status)
        if patch and 200 <= status < 300:
            self._keep(scope, b"".join(request), b"".join(reply))

    def _count(self, operation: str, status: int) -> None:
        tally = self.tallies.get(operation)
        if tally is None:
            tally = self.tallies[operation] = OperationTally()
        tally.requests += 1
        if 200 <= status < 300:
            tally.ok += 1
        elif status == 429:
            tally.throttled += 1
        elif status >= 500:
            tally.server_errors += 1
        elif status in (401, 403):
            tally.unauthorized += 1
        else:
            tally.other += 1

    def _keep(self, scope: Scope, body: bytes, reply: bytes) -> None:
        try:
            answer = json.loads(reply)
        except ValueError:
            self.unreadable += 1
            return
        if not isinstance(answer, dict) or answer.get("status") != "ACCEPTED":
            return
        # The raw path: a SKU may hold a slash, which travels as %2F.
        raw = scope.get("raw_path")
        path = bytes(raw).split(b"?")[0].decode("latin-1") if raw else str(scope["path"])
        sku = unquote(path.rsplit("/", 1)[-1])
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        marketplace_id = query.get("marketplaceIds", [""])[0].split(",")[0]
        submission = str(answer.get("submissionId", ""))
        price = _price(body, _CURRENCY.get(marketplace_id))
        self.accepted[submission] = Accepted(sku, marketplace_id, price, submission, trio.current_time())


def _price(body: bytes, currency: str | None) -> int | None:
    """The ``our_price`` a patch body sets for every audience, in minor units (None when there is none to read)."""
    if currency is None:
        return None
    try:
        request = json.loads(body, parse_float=Decimal)
    except ValueError:
        return None
    price = None
    for patch in request.get("patches", ()) if isinstance(request, dict) else ():
        if not isinstance(patch, dict) or patch.get("path") != "/attributes/purchasable_offer":
            continue
        for offer in patch.get("value") or ():
            try:
                value = offer["our_price"][0]["schedule"][0]["value_with_tax"]
                if offer.get("audience", "ALL") == "ALL":
                    price = parse_minor(value, currency)
            except (KeyError, IndexError, TypeError, MoneyError):
                continue
    return price
