"""`SpApiFake`: an ASGI application that answers as Amazon's SP-API and Login with Amazon would, over the simulated
markets of one or more marketplaces.

Every SP-API call goes through the simulator's API (`sim.api.MarketApi`): it is charged to the seller's token
bucket and held to the operation's batch limit there, as in-process, and a refused call is Amazon's 429
``QuotaExceeded`` that changes nothing. Time is trio's clock: the app must run inside the trio run that owns the
markets (an in-process `httpx.ASGITransport`, or an ASGI server on trio, `sim.fake.serve`), and under `MockClock`
a test's hours pass at once.

A request is checked in the order a client meets Amazon's refusals: the route (404), the access token (403
``Unauthorized``), the faults in force (`sim.fake.Faults`: a token expired early, a 429 storm, a 5xx burst), the
body and parameters (400 ``InvalidInput``, no quota charged), the batch size (400, no quota charged), the seller's
quota (429). A call taken is answered ``latency_s`` later (plus a slow-reply fault's delay), as of that time; a
malformed-JSON fault then cuts its reply short.

Routes (each SP-API one answered in its model's shape; the modules beside this one say how):

- ``POST /auth/o2/token``: Login with Amazon's token exchange (``grant_type=refresh_token``).
- ``POST /batches/products/pricing/v0/itemOffers`` and ``.../listingOffers``: getItemOffersBatch,
  getListingOffersBatch (`sim.fake._offers`).
- ``POST /batches/products/pricing/2022-05-01/offer/featuredOfferExpectedPrice`` and
  ``.../items/competitiveSummary``: FOEP and getCompetitiveSummary (`sim.fake._pricing`).
- ``GET`` and ``PATCH /listings/2021-08-01/items/{sellerId}/{sku}``: getListingsItem, patchListingsItem
  (`sim.fake._listings`).
- ``/feeds/2021-06-30/...``: createFeedDocument, createFeed, getFeed, getFeedDocument, and the documents' presigned
  URLs (`sim.fake._feeds`).
- ``/notifications/v1/destinations...`` and ``/notifications/v1/subscriptions/...``: the Notifications API's
  destinations (grantless: the application's token) and subscriptions (the seller's) (`sim.fake._subscriptions`).
- ``POST /`` with ``X-Amz-Target: AmazonSQS.*``: the SQS queues the notifications are delivered to, SigV4-signed
  (`sim.fake._sqs`); the markets' notifications reach the queues of the sellers that subscribed to them.
- ``GET /_sim/stats``: the fake's counters (`FakeStats`); ``GET /_sim/updates``: every update accepted, oldest
  first (`AcceptedUpdate`s); ``GET``, ``POST``, ``DELETE /_sim/faults``: the faults in force (`Faults` as JSON). Not
  Amazon's, and they need no token.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, NamedTuple
from urllib.parse import parse_qs, unquote, urlencode

import msgspec
import trio

from sim.api import MarketApi, QuotaExceeded
from sim.fake._asgi import BodyTooLarge, Receive, Scope, Send, read_body, reply
from sim.fake._backend import AcceptedUpdate, Answer, Backend, Call, FakeStats
from sim.fake._errors import DENIED, ENCODER, EXPIRED, INVALID_TOKEN, QUOTA_EXCEEDED, Refusal, errors_body
from sim.fake._faults import FaultDice, Faults
from sim.fake._feeds import (
    CREATE_FEED,
    CREATE_FEED_DOCUMENT,
    DOCUMENTS_PATH,
    GET_FEED,
    GET_FEED_DOCUMENT,
    FeedDesk,
    FeedTiming,
)
from sim.fake._listings import GET_LISTINGS_ITEM, PATCH_LISTINGS_ITEM, get_listings_item, patch_listings_item
from sim.fake._lwa import DEFAULT_LIFETIME_S, GRANTLESS, LwaError, TokenBook
from sim.fake._offers import ITEM_OFFERS, LISTING_OFFERS, offers_batch
from sim.fake._pricing import COMPETITIVE_SUMMARY, FOEP, competitive_summary, featured_offer_expected_price
from sim.fake._sqs import (
    QUEUE_OPERATIONS,
    SIM_AWS_ACCESS_KEY_ID,
    SIM_AWS_SECRET_ACCESS_KEY,
    SIM_QUEUE,
    SIM_REGION,
    FakeQueue,
    SqsEndpoint,
)
from sim.fake._subscriptions import (
    CREATE_DESTINATION,
    CREATE_SUBSCRIPTION,
    DELETE_DESTINATION,
    DELETE_SUBSCRIPTION,
    GET_DESTINATION,
    GET_DESTINATIONS,
    GET_SUBSCRIPTION,
    GET_SUBSCRIPTION_BY_ID,
    NOTIFICATION_OPERATIONS,
    NotificationDesk,
)
from sim.fake._subscriptions import GRANTLESS as GRANTLESS_OPERATIONS
from sim.ids import our_seller_id

__all__ = [
    "CONSENT_PATH",
    "DEFAULT_WALL_ORIGIN",
    "FAULTS_PATH",
    "LWA_TOKEN_PATH",
    "OPERATIONS",
    "STATS_PATH",
    "UPDATES_PATH",
    "SpApiFake",
]

LWA_TOKEN_PATH: Final = "/auth/o2/token"
CONSENT_PATH: Final = "/apps/authorize/consent"  # Seller Central's, for the website authorization workflow
STATS_PATH: Final = "/_sim/stats"
UPDATES_PATH: Final = "/_sim/updates"
FAULTS_PATH: Final = "/_sim/faults"
# What trio time 0 is on the wall, for the timestamps Amazon writes (a feed's createdTime): fixed, so a run replays.
DEFAULT_WALL_ORIGIN: Final = datetime(2025, 1, 1, tzinfo=UTC)

Handler = Callable[[Backend, Call], Awaitable[Answer]]


class _Route(NamedTuple):
    method: str
    segments: tuple[str | None, ...]  # None: a path parameter
    operation: str
    handler: Handler
    grantless: bool  # takes the application's token, not a seller's


def _route(method: str, path: str, operation: str, handler: Handler) -> _Route:
    segments = tuple(None if part.startswith("{") else part for part in path.split("/"))
    return _Route(method, segments, operation, handler, operation in GRANTLESS_OPERATIONS)


class SpApiFake:
    """The ASGI app over the markets of ``apis`` (one per marketplace, sharing one quota book: seller ``i`` of each
    market is one seller account). ``sellers`` maps each refresh token the fake accepts to the seller (an index of
    the markets' sellers) whose calls it authorizes; access tokens live ``token_lifetime_s``.

    ``faults`` are in force from the start, drawn from ``seed`` (`Faults`; ``POST /_sim/faults`` changes them).
    ``time_scale`` says how much faster the fake's clock runs than its clients' (`repricer sim serve`): an access
    token then lives ``token_lifetime_s`` of the client's time, and a presigned URL five of its minutes.
    ``wall_origin`` is the UTC time of trio time 0, for the timestamps in replies. ``feed_timing`` is how long
    feeds wait and take.

    ``queues`` are the SQS queues the fake hosts (their names, in account `SIM_AWS_ACCOUNT` and region
    ``aws_region``), ``aws_credentials`` the secret of each AWS access key id a queue's requests may be signed with.
    """

    def __init__(
        self,
        apis: MarketApi | Sequence[MarketApi],
        sellers: Mapping[str, int],
        *,
        token_lifetime_s: float = DEFAULT_LIFETIME_S,
        latency_s: float = 0.0,
        faults: Faults | None = None,
        seed: int = 0,
        time_scale: float = 1.0,
        wall_origin: datetime = DEFAULT_WALL_ORIGIN,
        feed_timing: FeedTiming | None = None,
        queues: Sequence[str] = (SIM_QUEUE,),
        aws_region: str = SIM_REGION,
        aws_credentials: Mapping[str, str] | None = None,
    ) -> None:
        markets = (apis,) if isinstance(apis, MarketApi) else tuple(apis)
        if not markets:
            raise ValueError("the fake needs at least one market")
        if any(api.quotas is not markets[0].quotas for api in markets):
            raise ValueError("the markets must share one quota book: a seller account has one quota everywhere")
        n_sellers = max(api.market.spec.n_sellers for api in markets)
        if unknown := sorted(seller for seller in sellers.values() if not 0 <= seller < n_sellers):
            raise ValueError(f"sellers {unknown} are not among the markets' {n_sellers}")
        if latency_s < 0:
            raise ValueError(f"latency_s must not be negative, not {latency_s}")
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, not {time_scale}")
        self.apis = markets
        self.stats = FakeStats()
        self._sellers = sorted(set(sellers.values()))
        self._tokens = TokenBook(sellers, lifetime_s=token_lifetime_s * time_scale, expires_in=round(token_lifetime_s))
        self._dice = FaultDice(faults or Faults(), seed=seed, set_at=_now(markets))
        self._check_faults(self._dice.faults)
        self._backend = Backend(
            markets,
            latency_s=latency_s,
            dice=self._dice,
            stats=self.stats,
            wall_origin=wall_origin,
            time_scale=time_scale,
        )
        self._feeds = FeedDesk(self._backend, timing=feed_timing or FeedTiming(), seed=seed)
        self._notifications = NotificationDesk(
            self._backend, [FakeQueue(name, region=aws_region) for name in dict.fromkeys(queues)]
        )
        self._sqs = SqsEndpoint(
            queues={queue.path: queue for queue in self._notifications.queues.values()},
            credentials=dict(
                {SIM_AWS_ACCESS_KEY_ID: SIM_AWS_SECRET_ACCESS_KEY} if aws_credentials is None else aws_credentials
            ),
            region=aws_region,
            pump=self._notifications.deliver,
            next_due=self._notifications.next_due,
            dice=self._dice,
        )
        desk = self._notifications
        self._routes = (
            _route("POST", "/batches/products/pricing/v0/itemOffers", ITEM_OFFERS, offers_batch),
            _route("POST", "/batches/products/pricing/v0/listingOffers", LISTING_OFFERS, offers_batch),
            _route(
                "POST",
                "/batches/products/pricing/2022-05-01/offer/featuredOfferExpectedPrice",
                FOEP,
                featured_offer_expected_price,
            ),
            _route(
                "POST",
                "/batches/products/pricing/2022-05-01/items/competitiveSummary",
                COMPETITIVE_SUMMARY,
                competitive_summary,
            ),
            _route("GET", "/listings/2021-08-01/items/{sellerId}/{sku}", GET_LISTINGS_ITEM, get_listings_item),
            _route("PATCH", "/listings/2021-08-01/items/{sellerId}/{sku}", PATCH_LISTINGS_ITEM, patch_listings_item),
            _route("POST", "/feeds/2021-06-30/documents", CREATE_FEED_DOCUMENT, self._feeds.create_document),
            _route("POST", "/feeds/2021-06-30/feeds", CREATE_FEED, self._feeds.create_feed),
            _route("GET", "/feeds/2021-06-30/feeds/{feedId}", GET_FEED, self._feeds.get_feed),
            _route("GET", "/feeds/2021-06-30/documents/{feedDocumentId}", GET_FEED_DOCUMENT, self._feeds.get_document),
            _route("POST", "/notifications/v1/destinations", CREATE_DESTINATION, desk.create_destination),
            _route("GET", "/notifications/v1/destinations", GET_DESTINATIONS, desk.get_destinations),
            _route("GET", "/notifications/v1/destinations/{destinationId}", GET_DESTINATION, desk.get_destination),
            _route(
                "DELETE", "/notifications/v1/destinations/{destinationId}", DELETE_DESTINATION, desk.delete_destination
            ),
            _route("POST", "/notifications/v1/subscriptions/{type}", CREATE_SUBSCRIPTION, desk.create_subscription),
            _route("GET", "/notifications/v1/subscriptions/{type}", GET_SUBSCRIPTION, desk.get_subscription),
            _route(
                "GET",
                "/notifications/v1/subscriptions/{type}/{id}",
                GET_SUBSCRIPTION_BY_ID,
                desk.get_subscription_by_id,
            ),
            _route(
                "DELETE", "/notifications/v1/subscriptions/{type}/{id}", DELETE_SUBSCRIPTION, desk.delete_subscription
            ),
        )
        self._request_ids = itertools.count(1)

    # --- for the fake's owner ------------------------------------------------------------------------------------

    @property
    def latency_s(self) -> float:
        """How long after a call is taken it is answered (seconds of the fake's clock)."""
        return self._backend.latency_s

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._dice.faults

    def set_faults(self, faults: Faults) -> None:
        """Put ``faults`` in force from now (their windows count from now); the ones before end."""
        self._check_faults(faults)
        self._dice.set(faults, trio.current_time())

    def read_stats(self) -> FakeStats:
        """The counters, with the Buy Box share as of now (trio's time, inside a run), and the notifications
        delivered by now sent to their queues."""
        now = _now(self.apis)
        for api in self.apis:
            if now > api.market.now:
                api.market.advance_to(now)
        self._notifications.deliver(now)
        self.stats.faults = dict(self._dice.hits)
        self.stats.buybox_share = self._backend.buybox_share(self._sellers)
        self.stats.buybox_held = self._backend.buybox_held(self._sellers)
        delivery = self._notifications.stats
        self.stats.notifications_sent = delivery.sent
        self.stats.notifications_unsubscribed = delivery.unsubscribed
        self.stats.queue_answered = dict(self._sqs.answered)
        self.stats.queue_refused_signatures = self._sqs.refused_signatures
        self.stats.queue_redelivered = sum(queue.stats.redelivered for queue in self.queues.values())
        self.stats.queue_deleted = sum(queue.stats.deleted for queue in self.queues.values())
        return self.stats

    @property
    def queues(self) -> Mapping[str, FakeQueue]:
        """The SQS queues the fake hosts, by ARN."""
        return self._notifications.queues

    @property
    def accepted_updates(self) -> list[AcceptedUpdate]:
        """Every update accepted (by a patch or a feed message), oldest first: the latest `ACCEPTED_KEPT` of them
        (`sim.fake._backend`)."""
        return list(self._backend.accepted)

    async def run(self, *, step_s: float = 1.0, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Until cancelled: bring the markets to trio's time every ``step_s``, process the feeds that are due and
        send the notifications delivered to the queues.

        Optional: without it the markets advance when a call reads them, a feed is processed when the next request
        comes after its time, and notifications reach a queue when it is read; with it, all happen on time whatever
        the traffic."""
        if not step_s > 0:
            raise ValueError(f"step_s must be positive, not {step_s}")
        task_status.started()
        while True:
            now = trio.current_time()
            for api in self.apis:
                api.market.advance_to(now)
            self._feeds.settle(now)
            self._notifications.deliver(now)
            await trio.sleep(step_s)

    @staticmethod
    def _check_faults(faults: Faults) -> None:
        if unknown := sorted(faults.operations - set(OPERATIONS)):
            raise ValueError(f"unknown operation {', '.join(unknown)}; known: {', '.join(OPERATIONS)}")

    # --- ASGI ----------------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"the SP-API fake speaks HTTP only, not {scope['type']!r}")
        self._feeds.settle(trio.current_time())
        path = scope["path"]
        target = _header(scope, b"x-amz-target")
        if target is not None:
            await self._sqs(scope, receive, send, target)
        elif path.startswith("/_sim/"):
            await self._control(scope, receive, send)
        elif path == LWA_TOKEN_PATH:
            await self._token(scope["method"], receive, send)
        elif path == CONSENT_PATH:
            await self._consent(scope, send)
        else:
            await self._sp_api(scope, receive, send)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if (method, path) == ("GET", STATS_PATH):
            await reply(send, 200, ENCODER.encode(self.read_stats()))
        elif (method, path) == ("GET", UPDATES_PATH):
            await reply(send, 200, ENCODER.encode(self.accepted_updates))
        elif path == FAULTS_PATH and method in ("GET", "POST", "DELETE"):
            if method == "POST":
                try:
                    self.set_faults(_FAULTS.decode(await read_body(receive)))
                except (msgspec.ValidationError, msgspec.DecodeError, ValueError, BodyTooLarge) as error:
                    await reply(send, 400, errors_body("InvalidInput", "Invalid faults", str(error)))
                    return
            elif method == "DELETE":
                self.set_faults(Faults())
            await reply(send, 200, ENCODER.encode(self.faults))
        elif path.startswith(DOCUMENTS_PATH):
            status, body, content_type = await self._feeds.document_url(method, path, receive)
            await reply(send, status, body, content_type=content_type)
        else:
            await reply(send, 404, errors_body("NotFound", "Resource not found", f"{method} {path}"))

    async def _consent(self, scope: Scope, send: Send) -> None:
        """Seller Central's consent page, consenting at once for the first seller the fake knows: a redirect to
        ``redirect_uri`` with ``state``, ``selling_partner_id`` and ``spapi_oauth_code``. Amazon's errors where
        they apply: no ``application_id`` (MD1000 stands in for the draft-app case too), no ``redirect_uri`` (the
        fake has no registered URI to fall back on: MD5101)."""
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("utf-8", "replace")).items()}
        if scope["method"] != "GET":
            await reply(send, 405, b"consent is a page: GET it", content_type=b"text/plain")
            return
        if not query.get("application_id"):
            await reply(send, 400, b"MD1000: no application_id", content_type=b"text/plain")
            return
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            await reply(send, 400, b"MD5101: the redirect_uri is not registered", content_type=b"text/plain")
            return
        refresh_token, seller = next(iter(self._tokens.sellers.items()))
        code = self._tokens.consent(refresh_token, redirect_uri, trio.current_time())
        answer = {
            "state": query.get("state", ""),
            "selling_partner_id": our_seller_id(seller),
            "spapi_oauth_code": code,
        }
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(answer)}"
        await reply(send, 302, b"", content_type=b"text/plain", headers=((b"location", location.encode()),))

    async def _token(self, method: str, receive: Receive, send: Send) -> None:
        if method != "POST":
            await reply(send, 405, ENCODER.encode(LwaError("invalid_request", "The token endpoint takes POST")))
            return
        try:
            form = await read_body(receive)
        except BodyTooLarge:
            form = b""
        answer = self._tokens.exchange(form, trio.current_time())
        if isinstance(answer, LwaError):
            self.stats.token_refusals += 1
            await reply(send, 400, ENCODER.encode(answer))
        else:
            self.stats.token_exchanges += 1
            await reply(send, 200, ENCODER.encode(answer), headers=((b"cache-control", b"no-store"),))

    async def _sp_api(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.stats.requests += 1
        request_id = f"sim-{next(self._request_ids):08d}"
        headers = ((b"x-amzn-requestid", request_id.encode()),)
        found = self._match(scope)
        if found is None:
            self.stats.not_found += 1
            details = f"{scope['method']} {scope['path']}"
            await reply(send, 404, errors_body("NotFound", "Resource not found", details), headers=headers)
            return
        route, params = found
        answer = await self._answer(route, params, scope, receive, request_id)
        if 200 <= answer.status < 300:
            self.stats.answered[route.operation] = self.stats.answered.get(route.operation, 0) + 1
            if self._dice.strikes("malformed_json", route.operation, trio.current_time()):
                answer = answer._replace(body=answer.body[: len(answer.body) // 2])
        await reply(send, answer.status, answer.body, content_type=answer.content_type, headers=headers)

    async def _answer(
        self, route: _Route, params: tuple[str, ...], scope: Scope, receive: Receive, request_id: str
    ) -> Answer:
        """The route's answer, or the refusal a token, a fault, the body or the quota makes of the request."""
        operation, now = route.operation, trio.current_time()
        token = _header(scope, b"x-amz-access-token")
        seller = None if token is None else self._tokens.seller(token, now)
        if token is not None and seller is not None and self._dice.strikes("expire_token", operation, now):
            self._tokens.expire(token, now)
            seller = None
        if seller is not None and (seller == GRANTLESS) != route.grantless:
            # A seller's token on a grantless operation, or the application's on a seller's: Amazon denies both.
            self.stats.unauthorized += 1
            return Answer(403, errors_body("Unauthorized", DENIED))
        if seller is None:
            self.stats.unauthorized += 1
            details = "" if token is None else EXPIRED if self._tokens.expired(token, now) else INVALID_TOKEN
            return Answer(403, errors_body("Unauthorized", DENIED, details))
        if self._dice.strikes("throttle", operation, now):
            self.stats.throttled += 1
            return Answer(429, errors_body("QuotaExceeded", QUOTA_EXCEEDED))
        burst = self.faults.server_error
        if burst is not None and self._dice.strikes("server_error", operation, now):
            self.stats.server_errors += 1
            return _server_error(burst.status)
        try:
            body = await read_body(receive)
        except BodyTooLarge:
            self.stats.bad_requests += 1
            return Answer(413, errors_body("RequestEntityTooLarge", "The request body is too large"))
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"), keep_blank_values=True)
        call = Call(operation, seller, now, params, query, body, request_id, _origin(scope))
        try:
            answer = await route.handler(self._backend, call)
        except Refusal as refusal:
            self._count_refusal(refusal.status)
            return Answer(refusal.status, refusal.body)
        except QuotaExceeded:
            self.stats.throttled += 1
            self.stats.over_quota += 1
            by_operation = self.stats.over_quota_by_operation
            by_operation[operation] = by_operation.get(operation, 0) + 1
            return Answer(429, errors_body("QuotaExceeded", QUOTA_EXCEEDED))
        slow = self.faults.slow
        if slow is not None and self._dice.strikes("slow", operation, call.received_at):
            await trio.sleep(slow.delay_s)
        return answer

    def _count_refusal(self, status: int) -> None:
        if status == 403:
            self.stats.unauthorized += 1
        elif status == 404:
            self.stats.not_found += 1
        else:
            self.stats.bad_requests += 1

    def _match(self, scope: Scope) -> tuple[_Route, tuple[str, ...]] | None:
        """The route of the request's method and path, and the path's parameters (percent-decoded: a SKU may hold
        a slash, which travels as %2F)."""
        raw = bytes(scope.get("raw_path") or scope["path"].encode()).split(b"?")[0].decode("latin-1")
        parts = raw.split("/")
        for route in self._routes:
            if route.method != scope["method"] or len(route.segments) != len(parts):
                continue
            params = []
            for want, got in zip(route.segments, parts, strict=True):
                if want is None:
                    if not got:
                        break
                    params.append(unquote(got))
                elif want != got:
                    break
            else:
                return route, tuple(params)
        return None


OPERATIONS: Final = (
    ITEM_OFFERS,
    LISTING_OFFERS,
    FOEP,
    COMPETITIVE_SUMMARY,
    GET_LISTINGS_ITEM,
    PATCH_LISTINGS_ITEM,
    CREATE_FEED_DOCUMENT,
    CREATE_FEED,
    GET_FEED,
    GET_FEED_DOCUMENT,
    *NOTIFICATION_OPERATIONS,
    *QUEUE_OPERATIONS,
)
_FAULTS: Final = msgspec.json.Decoder(Faults)
_SERVER_ERRORS: Final = {
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service temporarily unavailable. Please try again."),
}


def _now(apis: Sequence[MarketApi]) -> float:
    """Trio's time when the fake is built inside a run (as it must be to serve), else its markets'."""
    try:
        return trio.current_time()
    except RuntimeError:
        return max(api.market.now for api in apis)


def _server_error(status: int) -> Answer:
    code, message = _SERVER_ERRORS.get(status, ("InternalFailure", "We encountered an internal error."))
    return Answer(status, errors_body(code, message))


def _header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (ASGI gives names in lower case), or None when it was not sent."""
    for key, value in scope.get("headers", ()):
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _origin(scope: Scope) -> str:
    """``scheme://host`` the request was sent to, from its Host header (else the server's address)."""
    scheme = scope.get("scheme", "http")
    host = _header(scope, b"host")
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    return f"{scheme}://{host}"


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: the markets belong to whoever built the app."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
