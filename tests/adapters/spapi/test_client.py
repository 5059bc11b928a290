"""One seller's SP-API requests: Amazon's headers, a bounded number in flight, a deadline on each, and every failure
sorted into what the engine's ports promise (throttled, transient, the account's), with no token ever shown."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import httpx
import pytest
import trio
import trio.testing

from adapters.spapi.auth import USER_AGENT, AccessTokens
from adapters.spapi.client import SpApiClient, retry_after
from engine.config import LWA_TOKEN_URL, Credentials, CredentialSources, Endpoints, Secret, SellerAccount
from engine.marketplaces import ENDPOINTS
from engine.ports import AccountError, Throttled, TransientError

ACCOUNT = SellerAccount(
    id="acme",
    merchant_id="A1OURS",
    region="EU",
    credentials=Credentials(
        "amzn1.application-oa2-client.0123",
        Secret("amzn1.oa2-cs.v1.feedface"),
        Secret("Atzr|IwEBIA-refresh"),
        CredentialSources("literal", "literal", "literal"),
    ),
    endpoints=Endpoints(sp_api=ENDPOINTS["EU"], lwa_token=LWA_TOKEN_URL),
    markets=(),
)
PATH = "/listings/2021-08-01/items/A1SELLER/SKU-1"
# No redaction pattern knows this shape: only the client's own care keeps it out of sight.
TOKEN = "plain-token-"

EXPIRED = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided has expired.",
        }
    ]
}
THROTTLED = {
    "errors": [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}
    ]
}

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Lwa:
    """A fake Login with Amazon that grants ``plain-token-<n>`` at the n-th exchange."""

    def __init__(self) -> None:
        self.exchanges = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.exchanges += 1
        await trio.sleep(0.1)
        return httpx.Response(200, json={"access_token": f"{TOKEN}{self.exchanges}", "expires_in": 3600})


class Amazon:
    """A fake SP-API host: answers each request with the next scripted reply (a response, an exception to raise,
    or None to never answer), or 200 ``{}`` when the script has run out; keeps every request."""

    def __init__(self, *replies: httpx.Response | Exception | None, latency_s: float = 0.2) -> None:
        self.replies: deque[httpx.Response | Exception | None] = deque(replies)
        self.latency_s = latency_s
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await trio.sleep(self.latency_s)
        reply = self.replies.popleft() if self.replies else httpx.Response(200, json={})
        if reply is None:
            await trio.sleep_forever()
        if isinstance(reply, Exception):
            raise reply
        assert reply is not None
        return reply


def client_for(amazon: Handler, *, max_in_flight: int = 8, timeout_s: float = 30.0) -> tuple[SpApiClient, Lwa]:
    lwa = Lwa()
    tokens = AccessTokens(ACCOUNT, httpx.AsyncClient(transport=httpx.MockTransport(lwa)))
    http = httpx.AsyncClient(transport=httpx.MockTransport(amazon))
    return SpApiClient(ACCOUNT, http, tokens, max_in_flight=max_in_flight, timeout_s=timeout_s), lwa


def shows_no_token(error: BaseException) -> bool:
    return TOKEN not in f"{error} {error!r} {error.args}"


async def test_a_request_carries_amazon_s_headers_and_the_seller_s_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = Amazon(httpx.Response(200, json={"sku": "SKU-1"}))
    client, _ = client_for(amazon)
    body = b'{"productType":"PRODUCT","patches":[]}'
    response = await client.request(
        "patchListingsItem", "PATCH", PATH, params={"marketplaceIds": "A1PA6795UKMFR9"}, json_body=body
    )
    assert response.status_code == 200
    assert response.json() == {"sku": "SKU-1"}
    [request] = amazon.requests
    assert request.method == "PATCH"
    assert str(request.url) == f"https://sellingpartnerapi-eu.amazon.com{PATH}?marketplaceIds=A1PA6795UKMFR9"
    assert request.headers["x-amz-access-token"] == f"{TOKEN}1"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert request.content == body


async def test_a_request_without_a_body_sends_no_content_type(autojump_clock: trio.testing.MockClock) -> None:
    amazon = Amazon()
    client, _ = client_for(amazon)
    await client.request("getListingsItem", "GET", PATH)
    assert "content-type" not in amazon.requests[0].headers
    assert amazon.requests[0].content == b""


async def test_a_4xx_the_operation_decodes_is_returned(autojump_clock: trio.testing.MockClock) -> None:
    not_found = {"errors": [{"code": "NOT_FOUND", "message": "SKU-1 not found"}]}
    client, _ = client_for(Amazon(httpx.Response(404, json=not_found)))
    response = await client.request("getListingsItem", "GET", PATH)
    assert (response.status_code, response.json()) == (404, not_found)


async def test_a_presigned_document_url_gets_no_access_token(autojump_clock: trio.testing.MockClock) -> None:
    """A feed document goes to (and a report comes from) the URL createFeedDocument gave, on another host: it
    carries its own signature, and the seller's access token must not leave for it."""
    amazon = Amazon(httpx.Response(200), httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>"))
    client, lwa = client_for(amazon)
    url = "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/doc-1?X-Amz-Signature=0badc0de"
    upload = await client.transfer("uploadFeedDocument", "PUT", url, content=b"{}", content_type="application/json")
    expired = await client.transfer("downloadFeedDocument", "GET", url)
    assert (upload.status_code, expired.status_code) == (200, 403)  # the caller's to read: an expired URL
    put, get = amazon.requests
    assert str(put.url) == url and put.content == b"{}" and put.headers["content-type"] == "application/json"
    assert all("x-amz-access-token" not in r.headers for r in (put, get))
    assert "content-type" not in get.headers
    assert lwa.exchanges == 0


@pytest.mark.parametrize("status", [500, 503, 408, 429])
async def test_a_document_storage_that_says_slow_down_is_transient(
    autojump_clock: trio.testing.MockClock, status: int
) -> None:
    client, _ = client_for(Amazon(httpx.Response(status, text="<Error><Code>SlowDown</Code></Error>")))
    url = "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/doc-1?X-Amz-Signature=0badc0de"
    with pytest.raises(TransientError) as caught:
        await client.transfer("uploadFeedDocument", "PUT", url, content=b"{}")
    assert f"HTTP {status}" in caught.value.detail and "0badc0de" not in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"x-amzn-RateLimit-Limit": "0.5"}, 2.0),
        ({"Retry-After": "3", "x-amzn-RateLimit-Limit": "0.5"}, 3.0),
        ({"x-amzn-RateLimit-Limit": "0"}, None),
        ({"x-amzn-RateLimit-Limit": "fast"}, None),
        ({"Retry-After": "soon", "x-amzn-RateLimit-Limit": "0.1"}, 10.0),
    ],
)
async def test_a_429_is_throttled_with_the_wait_amazon_hints_at(
    autojump_clock: trio.testing.MockClock, headers: dict[str, str], expected: float | None
) -> None:
    client, _ = client_for(Amazon(httpx.Response(429, json=THROTTLED, headers=headers)))
    with pytest.raises(Throttled) as caught:
        await client.request("getItemOffersBatch", "POST", "/batches/products/pricing/v0/itemOffers", json_body=b"{}")
    assert caught.value.operation == "getItemOffersBatch"
    assert caught.value.retry_after == (None if expected is None else pytest.approx(expected))
    assert shows_no_token(caught.value)


def test_a_retry_after_date_counts_from_now() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_a_server_error_is_transient(autojump_clock: trio.testing.MockClock, status: int) -> None:
    failing = {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]}
    reply = httpx.Response(status, json=failing, headers={"x-amzn-RequestId": "req-42"})
    client, _ = client_for(Amazon(reply))
    with pytest.raises(TransientError) as caught:
        await client.request("getListingsItem", "GET", PATH)
    assert caught.value.operation == "getListingsItem"
    assert f"HTTP {status} InternalFailure: We encountered an internal error." in caught.value.detail
    assert "req-42" in caught.value.detail
    assert shows_no_token(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.DecodingError("bad gzip"),
    ],
)
async def test_a_request_that_gets_no_reply_is_transient(
    autojump_clock: trio.testing.MockClock, failure: Exception
) -> None:
    client, _ = client_for(Amazon(failure))
    with pytest.raises(TransientError) as caught:
        await client.request("getListingsItem", "GET", PATH)
    assert type(failure).__name__ in caught.value.detail
    assert shows_no_token(caught.value)


async def test_a_server_that_never_answers_is_transient_at_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, _ = client_for(Amazon(None), timeout_s=12.0)
    started = trio.current_time()
    with pytest.raises(TransientError, match="no reply within 12 s"):
        await client.request("getListingsItem", "GET", PATH)
    assert trio.current_time() - started == pytest.approx(12.1)  # the token's exchange, then the deadline


async def test_an_expired_token_is_renewed_once_and_the_request_sent_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    amazon = Amazon(httpx.Response(403, json=EXPIRED))
    client, lwa = client_for(amazon)
    response = await client.request("getListingsItem", "GET", PATH)
    assert response.status_code == 200
    assert [request.headers["x-amz-access-token"] for request in amazon.requests] == [f"{TOKEN}1", f"{TOKEN}2"]
    assert lwa.exchanges == 2


async def test_a_token_refused_twice_is_the_account_s_error(autojump_clock: trio.testing.MockClock) -> None:
    amazon = Amazon(httpx.Response(403, json=EXPIRED), httpx.Response(403, json=EXPIRED))
    client, lwa = client_for(amazon)
    with pytest.raises(AccountError) as caught:
        await client.request("getListingsItem", "GET", PATH)
    assert caught.value.seller == "acme"
    assert "HTTP 403 Unauthorized: Access to requested resource is denied." in caught.value.detail
    assert (len(amazon.requests), lwa.exchanges) == (2, 2)
    assert shows_no_token(caught.value)


async def test_a_403_not_about_the_token_is_the_account_s_error_at_once(autojump_clock: trio.testing.MockClock) -> None:
    forbidden = {"errors": [{"code": "AccessDenied", "message": "The seller account is suspended."}]}
    amazon = Amazon(httpx.Response(403, json=forbidden))
    client, lwa = client_for(amazon)
    with pytest.raises(AccountError, match="AccessDenied"):
        await client.request("getListingsItem", "GET", PATH)
    assert (len(amazon.requests), lwa.exchanges) == (1, 1)


async def test_a_401_is_the_account_s_error(autojump_clock: trio.testing.MockClock) -> None:
    amazon = Amazon(httpx.Response(401, json={"errors": [{"code": "Unauthenticated", "message": "no"}]}))
    client, _ = client_for(amazon)
    with pytest.raises(AccountError, match="HTTP 401"):
        await client.request("getListingsItem", "GET", PATH)
    assert len(amazon.requests) == 1


async def test_an_error_that_echoes_the_token_does_not_show_it(autojump_clock: trio.testing.MockClock) -> None:
    echo = {"errors": [{"code": "InternalFailure", "message": f"bad header x-amz-access-token {TOKEN}1"}]}
    client, _ = client_for(Amazon(httpx.Response(500, json=echo)))
    with pytest.raises(TransientError) as caught:
        await client.request("getListingsItem", "GET", PATH)
    assert shows_no_token(caught.value)


async def test_no_more_than_max_in_flight_requests_are_sent_at_once(autojump_clock: trio.testing.MockClock) -> None:
    in_flight = most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await trio.sleep(1.0)
        in_flight -= 1
        return httpx.Response(200, json={})

    client, lwa = client_for(slow, max_in_flight=3)
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await client.request("getListingsItem", "GET", PATH)).status_code)

    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(one)
    assert statuses == [200] * 10
    assert most == 3
    assert lwa.exchanges == 1
    assert trio.current_time() - started == pytest.approx(0.1 + 4 * 1.0)  # ten in rounds of three


async def test_a_cancelled_request_frees_its_slot(autojump_clock: trio.testing.MockClock) -> None:
    client, _ = client_for(Amazon(None), max_in_flight=1)
    with trio.move_on_after(1.0):
        await client.request("getListingsItem", "GET", PATH)
    with trio.fail_after(1.0):
        response = await client.request("getListingsItem", "GET", PATH)
    assert response.status_code == 200


async def test_the_path_starts_from_the_host(autojump_clock: trio.testing.MockClock) -> None:
    client, _ = client_for(Amazon())
    with pytest.raises(ValueError, match="must start with '/'"):
        await client.request("getListingsItem", "GET", "listings/2021-08-01/items")
