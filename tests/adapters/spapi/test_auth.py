"""A seller's access token: exchanged once, cached, renewed ahead of its expiry by a single exchange however many
tasks ask, and its failures sorted into what a retry cures and what it does not; no credential ever shown."""

from __future__ import annotations

import itertools
import logging
from collections import deque
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import trio
import trio.testing

from adapters.spapi.auth import (
    BACKOFF_FIRST_S,
    BACKOFF_MAX_S,
    EXCHANGE_TIMEOUT_S,
    RETRY_AFTER_S,
    USER_AGENT,
    AccessTokens,
)
from engine.config import LWA_TOKEN_URL, Credentials, CredentialSources, Endpoints, Secret, SellerAccount
from engine.marketplaces import ENDPOINTS
from engine.ports import AccountError, TransientError

CLIENT_ID = "amzn1.application-oa2-client.0123456789abcdef"
CLIENT_SECRET = "amzn1.oa2-cs.v1.feedfacecafebeef0123456789"
REFRESH_TOKEN = "Atzr|IwEBIA-the-refresh-token-0123456789"
# Shapes no redaction pattern knows: only the code's own care keeps them out of sight.
PLAIN_SECRET = "s3cr3t-client-value"
PLAIN_REFRESH = "r3fr3sh-token-value"

ACCOUNT = SellerAccount(
    id="acme",
    merchant_id="A1OURS",
    region="EU",
    credentials=Credentials(
        CLIENT_ID, Secret(CLIENT_SECRET), Secret(REFRESH_TOKEN), CredentialSources("literal", "literal", "literal")
    ),
    endpoints=Endpoints(sp_api=ENDPOINTS["EU"], lwa_token=LWA_TOKEN_URL),
    markets=(),
)
PLAIN_ACCOUNT = SellerAccount(
    id="acme",
    merchant_id="A1OURS",
    region="EU",
    credentials=Credentials(
        CLIENT_ID, Secret(PLAIN_SECRET), Secret(PLAIN_REFRESH), CredentialSources("literal", "literal", "literal")
    ),
    endpoints=ACCOUNT.endpoints,
    markets=(),
)


def granted(n: int, expires_in: float = 3600) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "access_token": f"Atza|access-{n}",
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": REFRESH_TOKEN,
        },
    )


def refused(status: int, error: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "error_description": description})


class Lwa:
    """A fake Login with Amazon: answers each exchange after ``latency_s`` with the next scripted reply (a response,
    or an exception to raise), or grants a fresh token when the script has run out; keeps every request."""

    def __init__(self, *replies: httpx.Response | Exception, latency_s: float = 0.5) -> None:
        self.replies: deque[httpx.Response | Exception] = deque(replies)
        self.latency_s = latency_s
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await trio.sleep(self.latency_s)
        if not self.replies:
            return granted(len(self.requests))
        reply = self.replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        return reply


def tokens_for(lwa: Lwa, account: SellerAccount = ACCOUNT) -> AccessTokens:
    return AccessTokens(account, httpx.AsyncClient(transport=httpx.MockTransport(lwa)))


def shows_no_credential(text: str, account: SellerAccount = ACCOUNT) -> bool:
    credentials = account.credentials
    secrets = [credentials.client_secret.reveal(), credentials.refresh_token.reveal(), "Atza|access", "access-"]
    return not any(secret in text for secret in secrets)


async def test_the_first_call_exchanges_the_refresh_token_and_the_next_is_cached(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lwa = Lwa()
    tokens = tokens_for(lwa)
    assert await tokens.token() == "Atza|access-1"
    assert trio.current_time() == pytest.approx(0.5)
    assert await tokens.token() == "Atza|access-1"
    assert len(lwa.requests) == 1
    assert trio.current_time() == pytest.approx(0.5)  # the cached answer waits for nothing


async def test_the_request_is_the_form_amazon_expects(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa()
    await tokens_for(lwa).token()
    [request] = lwa.requests
    assert (request.method, str(request.url)) == ("POST", "https://api.amazon.com/auth/o2/token")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["accept"] == "application/json"
    assert "x-amz-access-token" not in request.headers
    assert "authorization" not in request.headers
    assert parse_qs(request.content.decode(), strict_parsing=True) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH_TOKEN],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


def test_the_user_agent_names_the_application_as_amazon_recommends() -> None:
    assert USER_AGENT.startswith("repricer/")
    assert "(Language=Python/" in USER_AGENT
    assert USER_AGENT.endswith(")")


async def test_the_token_url_is_the_seller_s_configured_one(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa()
    account = SellerAccount(
        "acme", "A1OURS", "EU", ACCOUNT.credentials, Endpoints(ENDPOINTS["EU"], "https://lwa.example.test/token"), ()
    )
    await tokens_for(lwa, account).token()
    assert str(lwa.requests[0].url) == "https://lwa.example.test/token"


async def test_the_token_is_renewed_five_minutes_before_it_expires(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(latency_s=0.0)
    tokens = tokens_for(lwa)
    assert await tokens.token() == "Atza|access-1"
    await trio.sleep(3600 - 300 - 1)
    assert await tokens.token() == "Atza|access-1"
    await trio.sleep(1)
    assert await tokens.token() == "Atza|access-2"
    assert len(lwa.requests) == 2


async def test_a_short_lived_token_is_renewed_a_tenth_of_its_life_early(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lwa = Lwa(granted(1, expires_in=60), latency_s=0.0)
    tokens = tokens_for(lwa)
    assert await tokens.token() == "Atza|access-1"
    await trio.sleep(53.9)
    assert await tokens.token() == "Atza|access-1"
    await trio.sleep(0.1)
    assert await tokens.token() == "Atza|access-2"


async def test_the_token_s_life_counts_from_when_the_request_left(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(latency_s=10.0)
    tokens = tokens_for(lwa)
    await tokens.token()  # sent at 0, answered at 10: renewed from 3300, not 3310
    await trio.sleep(3300 - 10)
    assert await tokens.token() == "Atza|access-2"


async def test_twenty_concurrent_callers_cause_exactly_one_exchange(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(latency_s=2.0)
    tokens = tokens_for(lwa)
    got: list[str] = []

    async def ask() -> None:
        got.append(await tokens.token())

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(ask)
    assert got == ["Atza|access-1"] * 20
    assert len(lwa.requests) == 1
    assert trio.current_time() == pytest.approx(2.0)


async def test_concurrent_callers_at_renewal_share_one_exchange(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(latency_s=1.0)
    tokens = tokens_for(lwa)
    await tokens.token()
    await trio.sleep(3400)
    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(tokens.token)
    assert len(lwa.requests) == 2
    assert await tokens.token() == "Atza|access-2"


async def test_a_failed_renewal_keeps_the_token_that_has_not_expired(autojump_clock: trio.testing.MockClock) -> None:
    """Amazon's token endpoint down for a while near renewal time: calls go on with the old token until it expires,
    the renewal is tried again every RETRY_AFTER_S, not at every call; an account error is not covered up."""
    lwa = Lwa(granted(1), httpx.Response(503), httpx.Response(503), latency_s=0.0)
    tokens = tokens_for(lwa)
    assert await tokens.token() == "Atza|access-1"
    await trio.sleep(3600 - 300)  # renewal due
    assert await tokens.token() == "Atza|access-1"  # the renewal failed: the old token still serves
    assert await tokens.token() == "Atza|access-1"  # and no new exchange until RETRY_AFTER_S later
    assert len(lwa.requests) == 2
    await trio.sleep(RETRY_AFTER_S)
    assert await tokens.token() == "Atza|access-1"  # the second failure
    await trio.sleep(RETRY_AFTER_S)
    assert await tokens.token() == "Atza|access-4"  # the endpoint is back
    assert len(lwa.requests) == 4


async def test_a_failed_renewal_after_expiry_fails_the_call(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(granted(1), httpx.Response(503), latency_s=0.0)
    tokens = tokens_for(lwa)
    await tokens.token()
    await trio.sleep(3600)
    with pytest.raises(TransientError):
        await tokens.token()
    tokens_for_account_error = tokens_for(Lwa(granted(1), httpx.Response(400, json={"error": "invalid_grant"})))
    await tokens_for_account_error.token()
    await trio.sleep(3600 - 300)
    with pytest.raises(AccountError):
        await tokens_for_account_error.token()


async def test_a_rejected_token_is_not_kept_for_a_failed_renewal(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(granted(1), httpx.Response(503), latency_s=0.0)
    tokens = tokens_for(lwa)
    await tokens.token()
    tokens.invalidate("Atza|access-1")
    with pytest.raises(TransientError):
        await tokens.token()


async def test_a_failed_exchange_fails_its_waiters_and_the_next_call_retries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lwa = Lwa(httpx.Response(503, text="<html>Service Unavailable</html>"), latency_s=1.0)
    tokens = tokens_for(lwa)
    failures: list[Exception] = []

    async def ask() -> None:
        try:
            await tokens.token()
        except TransientError as error:
            failures.append(error)

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(ask)
    assert len(lwa.requests) == 1
    assert len(failures) == 5
    assert len({id(failure) for failure in failures}) == 5  # each task its own exception, one traceback each
    assert all("HTTP 503" in str(failure) and "acme" in str(failure) for failure in failures)
    await trio.sleep(BACKOFF_FIRST_S)
    assert await tokens.token() == "Atza|access-2"
    assert len(lwa.requests) == 2


async def test_a_cancelled_exchange_lets_a_waiting_task_start_its_own(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(latency_s=1.0)
    tokens = tokens_for(lwa)
    got: list[str] = []

    async def impatient() -> None:
        with trio.move_on_after(0.5):
            await tokens.token()

    async def patient() -> None:
        await trio.sleep(0.1)
        got.append(await tokens.token())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(impatient)
        nursery.start_soon(patient)
    assert got == ["Atza|access-2"]
    assert len(lwa.requests) == 2
    assert trio.current_time() == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("status", "error", "description"),
    [
        (
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the "
            "permission.",
        ),
        (401, "invalid_client", "Client authentication failed"),
        (400, "unauthorized_client", "Not authorized for requested operation"),
    ],
)
async def test_refused_credentials_are_an_account_error_naming_the_seller_and_amazon_s_reason(
    status: int, error: str, description: str, autojump_clock: trio.testing.MockClock
) -> None:
    tokens = tokens_for(Lwa(refused(status, error, description)))
    with pytest.raises(AccountError) as caught:
        await tokens.token()
    assert caught.value.seller == "acme"
    assert error in str(caught.value)
    assert description in str(caught.value)
    assert f"HTTP {status}" in str(caught.value)
    assert shows_no_credential(str(caught.value))
    assert shows_no_credential(repr(caught.value))


async def test_an_account_error_does_not_stick_the_next_call_asks_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lwa = Lwa(refused(400, "invalid_grant", "revoked"))
    tokens = tokens_for(lwa)
    with pytest.raises(AccountError):
        await tokens.token()
    assert await tokens.token() == "Atza|access-2"  # the seller authorized again meanwhile


@pytest.mark.parametrize("account", [ACCOUNT, PLAIN_ACCOUNT], ids=["shaped", "plain"])
async def test_amazon_s_error_text_is_quoted_without_our_credentials(
    account: SellerAccount, autojump_clock: trio.testing.MockClock
) -> None:
    secret, refresh = account.credentials.client_secret.reveal(), account.credentials.refresh_token.reveal()
    echo = f"bad grant {refresh} for client secret {secret} (access_token=Atza|access-0)"
    tokens = tokens_for(Lwa(refused(400, "invalid_grant", echo)), account)
    with pytest.raises(AccountError) as caught:
        await tokens.token()
    assert "bad grant" in str(caught.value)
    assert shows_no_credential(str(caught.value), account)


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(502),
        httpx.Response(503, json={"error": "server_error", "error_description": "try later"}),
        httpx.Response(429, json={"error": "slow_down", "error_description": "Too many requests"}),
        refused(400, "invalid_request", "The request is missing a required parameter"),  # not the account's fault
    ],
    ids=["500", "502", "503", "429", "400-other"],
)
async def test_what_time_may_cure_is_transient_and_the_next_call_retries(
    reply: httpx.Response, autojump_clock: trio.testing.MockClock
) -> None:
    lwa = Lwa(reply)
    tokens = tokens_for(lwa)
    with pytest.raises(TransientError) as caught:
        await tokens.token()
    assert f"HTTP {reply.status_code}" in str(caught.value)
    assert "acme" in str(caught.value)
    await trio.sleep(BACKOFF_FIRST_S)
    assert await tokens.token() == "Atza|access-2"


async def test_a_failed_exchange_holds_the_next_one_back_doubling_up_to_a_minute(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """While Amazon's token endpoint is down and no token is cached, the calls of every task of the seller fail at
    once with the last reason, and an exchange goes out only when the back-off has passed: 1 s, 2 s, 4 s ... 60 s."""
    down = 9
    lwa = Lwa(*[httpx.Response(503)] * down, latency_s=0.0)
    tokens = tokens_for(lwa)
    sent_at: list[float] = []
    start = trio.current_time()
    while True:
        before = len(lwa.requests)
        try:
            token = await tokens.token()
        except TransientError as error:
            assert "HTTP 503" in str(error) and "tried again in" in str(error)
            if len(lwa.requests) > before:
                sent_at.append(trio.current_time() - start)
            await trio.sleep(0.25)  # callers keep asking, four times a second
            continue
        break
    assert token == f"Atza|access-{down + 1}"
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    expected = [min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**n) for n in range(down - 1)]
    assert gaps == pytest.approx(expected, abs=0.25)
    assert len(lwa.requests) == down + 1  # not one per call


async def test_the_back_off_starts_over_after_a_success(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa(httpx.Response(503), httpx.Response(503), latency_s=0.0)
    tokens = tokens_for(lwa)
    for wait in (BACKOFF_FIRST_S, 2 * BACKOFF_FIRST_S):
        with pytest.raises(TransientError, match=f"tried again in {wait:g} s"):
            await tokens.token()
        await trio.sleep(wait)
    assert await tokens.token() == "Atza|access-3"
    tokens.invalidate()
    lwa.replies.append(httpx.Response(503))
    with pytest.raises(TransientError, match=f"tried again in {BACKOFF_FIRST_S:g} s"):
        await tokens.token()


async def test_a_cached_token_serves_calls_while_its_renewal_is_held_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lwa = Lwa(granted(1, expires_in=3600), *[httpx.Response(503)] * 10, latency_s=0.0)
    tokens = tokens_for(lwa)
    assert await tokens.token() == "Atza|access-1"
    await trio.sleep(3600 - 300)  # due for renewal; Amazon's endpoint is down
    for _ in range(100):
        assert await tokens.token() == "Atza|access-1"
        await trio.sleep(1.0)
    assert len(lwa.requests) == 1 + 4  # renewals tried every RETRY_AFTER_S (30 s), at 0, 30, 60 and 90 s


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        (httpx.ConnectTimeout("connect timed out"), "timed out"),
        (httpx.ReadTimeout("read timed out"), "timed out"),
        (httpx.ConnectError("connection refused"), "no connection"),
        (httpx.RemoteProtocolError("server disconnected"), "no connection"),
        (httpx.DecodingError("broken gzip from a proxy"), "no usable reply"),
        (httpx.TooManyRedirects("redirect loop"), "no usable reply"),
    ],
)
async def test_a_timeout_or_a_connection_failure_is_transient(
    failure: Exception, says: str, autojump_clock: trio.testing.MockClock
) -> None:
    lwa = Lwa(failure)
    tokens = tokens_for(lwa)
    with pytest.raises(TransientError, match=says):
        await tokens.token()
    await trio.sleep(BACKOFF_FIRST_S)
    assert await tokens.token() == "Atza|access-2"


async def test_an_exchange_that_never_answers_times_out_as_transient(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lwa = Lwa(latency_s=3600.0)
    tokens = tokens_for(lwa)
    with pytest.raises(TransientError, match=f"no reply within {EXCHANGE_TIMEOUT_S:g} s"):
        await tokens.token()
    assert trio.current_time() == pytest.approx(EXCHANGE_TIMEOUT_S)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"token_type": "bearer", "expires_in": 3600}, "no access_token"),
        ({"access_token": "Atza|access-1", "token_type": "bearer"}, "no expires_in"),
        ({"token_type": "bearer"}, "no access_token and no expires_in"),
        ({"access_token": "", "expires_in": 3600}, "access_token is empty"),
        ({"access_token": "Atza|access-1", "expires_in": 0}, "expires at once"),
        ({"access_token": 42, "expires_in": 3600}, r"\$\.access_token"),
    ],
)
async def test_a_reply_without_a_token_is_transient_and_names_what_is_missing(
    body: dict[str, Any], says: str, autojump_clock: trio.testing.MockClock
) -> None:
    tokens = tokens_for(Lwa(httpx.Response(200, json=body)))
    with pytest.raises(TransientError, match=says) as caught:
        await tokens.token()
    assert shows_no_credential(str(caught.value))


async def test_a_reply_that_is_not_json_is_transient(autojump_clock: trio.testing.MockClock) -> None:
    tokens = tokens_for(Lwa(httpx.Response(200, text="<html>captive portal</html>")))
    with pytest.raises(TransientError, match="not a token"):
        await tokens.token()


async def test_invalidate_forces_a_new_exchange(autojump_clock: trio.testing.MockClock) -> None:
    lwa = Lwa()
    tokens = tokens_for(lwa)
    assert await tokens.token() == "Atza|access-1"
    tokens.invalidate()
    assert await tokens.token() == "Atza|access-2"
    assert len(lwa.requests) == 2


async def test_invalidating_a_token_already_replaced_keeps_the_new_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lwa = Lwa()
    tokens = tokens_for(lwa)
    expired = await tokens.token()
    tokens.invalidate(expired)
    fresh = await tokens.token()
    for _ in range(19):  # the other calls that met the expired token report it late
        tokens.invalidate(expired)
    assert await tokens.token() == fresh == "Atza|access-2"
    assert len(lwa.requests) == 2


async def test_no_credential_in_logs_or_reprs(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = tokens_for(Lwa(httpx.Response(503)), PLAIN_ACCOUNT)
    with pytest.raises(TransientError):
        await tokens.token()
    await trio.sleep(BACKOFF_FIRST_S)
    token = await tokens.token()
    assert token == "Atza|access-2"
    assert "new access token" in caplog.text
    shown = [caplog.text, repr(tokens), str(tokens), repr(ACCOUNT), repr(PLAIN_ACCOUNT)]
    assert all(shows_no_credential(text, PLAIN_ACCOUNT) for text in shown)
    assert all(shows_no_credential(text) for text in shown)
    assert "acme" in repr(tokens)
