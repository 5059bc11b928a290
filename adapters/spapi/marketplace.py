"""The `Marketplace` port onto Amazon's Selling Partner API, for one seller account on one marketplace.

It mirrors `adapters.simulated.marketplace.SimulatedMarketplace`: the batch reads (getListingOffersBatch,
getFeaturedOfferExpectedPriceBatch, getCompetitiveSummary) carry at most Amazon's batch limit of keys a call, and
each item that failed on its own is that key's `ItemFailure`; patchListingsItem and getListingsItem take one SKU a
call, so a `submit` or `read_back` of N offers is N calls. Requests go through `SpApiClient`, which sorts a whole
call's failures onto the port's `Throttled`, `TransientError` and `AccountError`; the wire modules build the
bodies and decode the replies.

A call of several requests (a read of more keys than one batch holds, a submit, a read-back) goes out one request at
a time and is refused whole only when its first request is (as the simulator refuses a call whole only when not one
SKU got a token): once Amazon has answered some keys, a later 429 or transient failure is the failure of that key
and of every key not yet sent (``throttled`` or ``failed`` in `submit`, a transient `ItemFailure` in a read), and
nothing more is sent, so answers already had are never thrown away and a throttled bucket is not hammered. The
adapter does not pace: the engine's pacers keep one bucket per (seller, region, operation), from `quota`.

A batch read that Amazon refuses with a 4xx of its own (a body it does not take) fails every key of it, not
transiently; a 2xx whose envelope cannot be read is a `TransientError` (the next poll asks again).

Submissions choose their way per call. A few updates go as patchListingsItem calls, paced by the engine on
``quota('submit')`` and answered at once. A large batch goes as one JSON_LISTINGS_FEED (`adapters.spapi.feeder`)
when the seller's feed quota has room now and the caller follows the outcomes (`follow_submissions`, the port's
`FollowsSubmissions`): each update is answered ``submitted`` with the feed's id, and its outcome arrives minutes
later; the caller takes a large batch only when `reserve_bulk` has set a feed's quota aside for it. A feed that
Amazon refuses for quota goes as patches.

Notifications (ANY_OFFER_CHANGED, PRICING_HEALTH) arrive through SQS, read by the queue's `adapters.spapi.inbox.Inbox`
(one reader per queue, a daemon service), which hands each notice to the route of the seller and marketplace it
names: this adapter's ``notices``. `stream_observations` drains them into the engine, one observation per offer of
ours on the notice's item (`adapters.spapi.notices.observations`), as of the change on the engine's clock; a notice
that cannot be read is logged naming its message and skipped. Without a queue (none configured), it pushes
nothing, and the engine's intake learns the market from its polls.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Final, TypeVar
from urllib.parse import quote

import httpx
import trio

from adapters.spapi.client import SpApiClient
from adapters.spapi.encode import patch_request
from adapters.spapi.featured import featured_offer_prices, featured_shares
from adapters.spapi.feeder import Feeder
from adapters.spapi.items import failure
from adapters.spapi.listings import listings_item, patch_failure, patch_result
from adapters.spapi.notices import Notice, Unreadable, observations
from adapters.spapi.offers import listing_offers
from adapters.spapi.quotas import ENGINE_OPERATIONS, engine_quota, quota
from adapters.spapi.requests import competitive_summary_request, featured_offer_price_request, listing_offers_request
from adapters.spapi.wire.common import WireError, errors_of
from engine.actors.pacing import Pacers
from engine.config.feeds import FeedSettings
from engine.config.resolved import SellerAccount
from engine.marketplaces import by_code
from engine.model import (
    FoepReading,
    ListingState,
    Observation,
    OfferKey,
    OfferSettings,
    OfferSnapshot,
    OfferUpdate,
    ShareReading,
    SubmissionResult,
    SubmissionStatus,
)
from engine.ports import Clock, ItemFailure, MarketplaceError, Quota, Throttled, TransientError

__all__ = ["LISTINGS_DATA", "PATHS", "QUOTA_EXCEEDED", "SpApiMarketplace", "listings_item_path"]

log = logging.getLogger(__name__)

A = TypeVar("A")
T = TypeVar("T")

# Where each batch read is sent (reference/spapi.md).
PATHS: Final[dict[str, str]] = {
    "getListingOffersBatch": "/batches/products/pricing/v0/listingOffers",
    "getFeaturedOfferExpectedPriceBatch": "/batches/products/pricing/2022-05-01/offer/featuredOfferExpectedPrice",
    "getCompetitiveSummary": "/batches/products/pricing/2022-05-01/items/competitiveSummary",
}
# What a read-back asks getListingsItem for: all that `adapters.spapi.listings.listings_item` reads.
LISTINGS_DATA: Final = "summaries,attributes,issues,offers,fulfillmentAvailability"
QUOTA_EXCEEDED: Final = "QuotaExceeded"
_NOT_SENT: Final = "not sent: an earlier request of this call was refused"


def listings_item_path(selling_partner_id: str, sku: str) -> str:
    """getListingsItem's and patchListingsItem's path; a SKU may hold a slash, so it travels percent-encoded."""
    return f"/listings/2021-08-01/items/{quote(selling_partner_id, safe='')}/{quote(sku, safe='')}"


class SpApiMarketplace:
    """See the module docstring. ``offers`` are the offers this adapter serves (each key the account's, on
    ``code``): their ASINs and fulfilment are what Amazon's replies are read against. The account's
    ``merchant_id`` (Amazon's merchant token, the selling partner id; the account's ``id`` is our name for it) is in
    the Listings API's paths, and how our offer is told from the others in Amazon's replies. ``amazon_seller_ids``
    are the ids Amazon sells under as a retailer here.

    ``feed_pacers`` pace the Feeds API calls: the account's, shared by its marketplaces as Amazon's buckets are
    (default: this adapter's own); ``feeds`` sizes and times its feeds. ``notices`` are this seller's notices on
    this marketplace, from the queue's reader (None: no queue); ``clock`` reads Amazon's wall times onto trio's.

    ``calls`` counts the requests Amazon answered per engine operation, ``throttled`` the calls refused whole for
    quota, ``throttled_items`` the keys answered throttled (or not sent) after a later request was refused; the
    feeds' own counts are the ``feeder``'s. ``notified`` counts the observations notices made, ``unreadable_notices``
    the notices skipped.
    """

    def __init__(
        self,
        account: SellerAccount,
        code: str,
        client: SpApiClient,
        offers: Iterable[OfferSettings],
        *,
        amazon_seller_ids: Collection[str] = frozenset(),
        feed_pacers: Pacers | None = None,
        feeds: FeedSettings | None = None,
        notices: trio.MemoryReceiveChannel[Notice] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if client.seller != account.id:
            raise ValueError(f"the client acts for seller {client.seller!r}, not {account.id!r}")
        info = by_code(code)
        self._code = info.code
        self._marketplace_id = info.marketplace_id
        self._currency = info.currency_code
        self._account = account
        self._client = client
        self._amazon_seller_ids = frozenset(amazon_seller_ids)
        served: dict[OfferKey, OfferSettings] = {}
        for offer in offers:
            if offer.key.seller != account.id or offer.key.marketplace != self._code:
                raise ValueError(f"{offer.key} is not an offer of seller {account.id!r} on {self._code}")
            if offer.currency != self._currency:
                raise ValueError(f"{offer.key} is priced in {offer.currency}, {self._code} in {self._currency}")
            served[offer.key] = offer
        self._offers: Mapping[OfferKey, OfferSettings] = served
        self._notices = notices
        self._clock = clock  # made at the first notice when not given: the adapter may be built outside trio
        self._by_asin: dict[str, list[OfferKey]] = {}
        self._indexed = (0, -1)  # the catalog the index was made of: its id and size
        self.notified = 0
        self.unreadable_notices = 0
        self.calls: dict[str, int] = dict.fromkeys(ENGINE_OPERATIONS, 0)
        self.throttled: dict[str, int] = dict.fromkeys(ENGINE_OPERATIONS, 0)
        self.throttled_items: dict[str, int] = dict.fromkeys(ENGINE_OPERATIONS, 0)
        self.feeder = Feeder(
            client,
            merchant_id=account.merchant_id,
            marketplace_id=self._marketplace_id,
            pacers=feed_pacers if feed_pacers is not None else Pacers(quota),
            config=feeds,
        )

    @property
    def code(self) -> str:
        return self._code

    @property
    def seller(self) -> str:
        return self._account.id

    def quota(self, operation: str) -> Quota:
        """One seller's pace of ``operation``, 95% of Amazon's (`adapters.spapi.quotas.engine_quota`)."""
        return engine_quota(operation)

    def offer(self, key: OfferKey) -> OfferSettings:
        try:
            return self._offers[key]
        except KeyError:
            raise KeyError(f"{key} is not an offer this adapter serves") from None

    def follow(self, catalog: Mapping[OfferKey, OfferSettings]) -> None:
        """Serve the offers of ``catalog`` from now on, as it changes: the runtime's own map of offers
        (`engine.daemon.MarketRuntime.catalog`, which checks each offer it takes), so an offer a catalog reload
        adds is read and updated at once, with the ASIN, condition and fulfilment it has now."""
        self._offers = catalog

    async def stream_observations(
        self,
        send: trio.MemorySendChannel[Observation],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Until cancelled, the observations of the notices the queue's reader hands this adapter (see the module
        docstring); without a queue, nothing (a stream that is up and quiet). Closes ``send`` when it ends, as the
        simulated adapter does. The notices that arrive while it is not running wait in the route."""
        async with send:
            task_status.started()
            notices = self._notices
            if notices is None:
                await trio.sleep_forever()  # returns only by raising
            while True:
                notice = await notices.receive()
                for observation in self._observed(notice):
                    await send.send(observation)
                    self.notified += 1

    def _observed(self, notice: Notice) -> list[Observation]:
        offers = [self._offers[key] for key in self._offers_of(notice.asin)]
        if not offers:
            return []  # an item we do not reprice here (any more): nothing to observe
        if self._clock is None:
            self._clock = Clock()
        try:
            return observations(
                notice,
                offers,
                clock=self._clock,
                currency=self._currency,
                seller_id=self._account.merchant_id,
                amazon_seller_ids=self._amazon_seller_ids,
            )
        except Unreadable as error:
            self.unreadable_notices += 1
            log.warning("%s/%s: notification skipped: %s", self.seller, self._code, error)
            return []

    def _offers_of(self, asin: str) -> list[OfferKey]:
        """Our offers of ``asin`` here, from an index of the catalog followed, made again when the catalog is
        another or has grown or shrunk since, or holds an offer the index does not know as it is."""
        indexed = self._by_asin.get(asin, [])
        current = [key for key in indexed if (offer := self._offers.get(key)) is not None and offer.asin == asin]
        if len(current) == len(indexed) and self._indexed == (id(self._offers), len(self._offers)):
            return current
        self._by_asin = {}
        for key, offer in self._offers.items():
            self._by_asin.setdefault(offer.asin, []).append(key)
        self._indexed = (id(self._offers), len(self._offers))
        return list(self._by_asin.get(asin, ()))

    # --- the batch reads ---------------------------------------------------------------------------------------

    async def poll_offers(self, keys: Sequence[OfferKey]) -> list[OfferSnapshot | ItemFailure]:
        def read(reply: bytes, chunk: Sequence[OfferKey], at: float) -> list[OfferSnapshot | ItemFailure]:
            return listing_offers(
                reply,
                chunk,
                at=at,
                currency=self._currency,
                seller_id=self._account.merchant_id,
                amazon_seller_ids=self._amazon_seller_ids,
            )

        return await self._batches(
            "poll_offers", keys, lambda chunk: listing_offers_request([self.offer(k) for k in chunk]), read
        )

    async def featured_offer_prices(self, keys: Sequence[OfferKey]) -> list[FoepReading | ItemFailure]:
        def read(reply: bytes, chunk: Sequence[OfferKey], at: float) -> list[FoepReading | ItemFailure]:
            return featured_offer_prices(
                reply, chunk, at=at, currency=self._currency, seller_id=self._account.merchant_id
            )

        for key in keys:
            self.offer(key)
        return await self._batches("featured_offer_prices", keys, featured_offer_price_request, read)

    async def featured_shares(self, keys: Sequence[OfferKey]) -> list[ShareReading | ItemFailure]:
        # Taken before anything is sent: an offer removed while the call is out is still read against what it was.
        offers = {key: self.offer(key) for key in keys}

        def read(reply: bytes, chunk: Sequence[OfferKey], at: float) -> list[ShareReading | ItemFailure]:
            asked = [offers[k] for k in chunk]
            return featured_shares(reply, asked, at=at, currency=self._currency, seller_id=self._account.merchant_id)

        return await self._batches(
            "featured_shares", keys, lambda chunk: competitive_summary_request([offers[k] for k in chunk]), read
        )

    async def _batches(
        self,
        operation: str,
        keys: Sequence[OfferKey],
        body: Callable[[Sequence[OfferKey]], bytes],
        read: Callable[[bytes, Sequence[OfferKey], float], list[A | ItemFailure]],
    ) -> list[A | ItemFailure]:
        """``keys`` in batches of Amazon's limit, one request each, one answer per key in order."""
        name = ENGINE_OPERATIONS[operation]
        limit = engine_quota(operation).batch
        chunks = [keys[start : start + limit] for start in range(0, len(keys), limit)]
        bodies = [body(chunk) for chunk in chunks]  # an unknown key fails before anything is sent
        answers: list[A | ItemFailure] = []
        for chunk, json_body in zip(chunks, bodies, strict=True):
            try:
                response = await self._client.request(name, "POST", PATHS[name], json_body=json_body)
            except (Throttled, TransientError) as error:
                if not answers:
                    self._refused(operation, error)
                    raise
                answers.extend(self._cut_short(operation, keys[len(answers) :], error))
                return answers
            at = trio.current_time()
            self.calls[operation] += 1
            if not response.is_success:
                answers.extend(self._refused_batch(chunk, at, response))
                continue
            try:
                answers.extend(read(response.content, chunk, at))
            except WireError as error:
                # Answers already had stay; this batch's keys are asked again at the next poll.
                if not answers:
                    raise TransientError(name, f"seller {self.seller}: unreadable reply ({error})") from None
                answers.extend(self._cut_short(operation, keys[len(answers) :], TransientError(name, str(error))))
                return answers
        return answers

    @staticmethod
    def _refused_batch(chunk: Sequence[OfferKey], at: float, response: httpx.Response) -> list[ItemFailure]:
        """A batch Amazon refused with a 4xx of its own: each of its keys fails with Amazon's errors."""
        errors = errors_of(response.content)
        return [failure(key, at, response.status_code, response.reason_phrase, errors) for key in chunk]

    def _refused(self, operation: str, error: MarketplaceError) -> None:
        if isinstance(error, Throttled):
            self.throttled[operation] += 1

    def _cut_short(self, operation: str, keys: Sequence[OfferKey], error: MarketplaceError) -> list[ItemFailure]:
        """The keys of a call not answered because one of its later requests was refused: transient failures."""
        at = trio.current_time()
        if isinstance(error, Throttled):
            self.throttled_items[operation] += len(keys)
            return [ItemFailure(key, at, QUOTA_EXCEEDED, str(error), transient=True) for key in keys]
        return [ItemFailure(key, at, "TransientError", str(error), transient=True) for key in keys]

    # --- one SKU a call ------------------------------------------------------------------------------------------

    async def read_back(self, keys: Sequence[OfferKey]) -> list[ListingState | ItemFailure]:
        for key in keys:
            self.offer(key)

        async def get(key: OfferKey) -> ListingState | ItemFailure:
            response = await self._client.request(
                "getListingsItem",
                "GET",
                listings_item_path(self._account.merchant_id, key.sku),
                params={"marketplaceIds": self._marketplace_id, "includedData": LISTINGS_DATA},
            )
            at = trio.current_time()
            if not response.is_success:  # a 404: Amazon does not know the SKU here
                return failure(key, at, response.status_code, response.reason_phrase, errors_of(response.content))
            answer = listings_item(
                response.content, key, at=at, marketplace_id=self._marketplace_id, currency=self._currency
            )
            return answer if isinstance(answer, ItemFailure) else answer.state

        return await self._per_sku("read_back", keys, get, self._cut_short)

    def reserve_bulk(self, waiting: int) -> int | None:
        """A feed's size, its quota set aside, when ``waiting`` updates are enough for one and the account's feed
        quota has room (`engine.ports.FollowsSubmissions`)."""
        return self.feeder.reserve(waiting)

    async def follow_submissions(
        self,
        send: trio.MemorySendChannel[Sequence[SubmissionResult]],
        submitted: Mapping[str, Sequence[OfferUpdate]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """The outcomes of the feeds `submit` makes while this runs, and of the feeds of ``submitted`` (by feed
        id), once Amazon has processed them (`adapters.spapi.feeder.Feeder.follow`)."""
        await self.feeder.follow(send, submitted, task_status=task_status)

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult]:
        """One feed for a large batch when the feed quota allows (each update answered ``submitted``), else
        patchListingsItem for each update, in order; see the module docstring for a call refused part way."""
        for update in updates:
            self.offer(update.key)
        if self.feeder.carries(len(updates)):
            submitted = await self.feeder.submit(updates)
            if submitted is not None:
                return submitted

        async def patch(update: OfferUpdate) -> SubmissionResult:
            key = update.key
            response = await self._client.request(
                "patchListingsItem",
                "PATCH",
                listings_item_path(self._account.merchant_id, key.sku),
                params={"marketplaceIds": self._marketplace_id},
                json_body=patch_request(update),
            )
            at = trio.current_time()
            if response.is_success:
                return patch_result(response.content, update, at=at)
            return patch_failure(update, at=at, status=response.status_code, reply=response.content)

        def cut_short(operation: str, unsent: Sequence[OfferUpdate], error: MarketplaceError) -> list[SubmissionResult]:
            at = trio.current_time()
            status: SubmissionStatus
            if isinstance(error, Throttled):
                self.throttled_items[operation] += len(unsent)
                status, first = "throttled", QUOTA_EXCEEDED
            else:
                status, first = "failed", str(error)
            results = []
            for n, u in enumerate(unsent):
                issue = first if n == 0 or status == "throttled" else _NOT_SENT
                results.append(SubmissionResult(u.key, u.update_id, status, at, u.price, (issue,)))
            return results

        return await self._per_sku("submit", updates, patch, cut_short)

    async def _per_sku(
        self,
        operation: str,
        items: Sequence[T],
        ask: Callable[[T], Awaitable[A]],
        cut_short: Callable[[str, Sequence[T], MarketplaceError], Sequence[A]],
    ) -> list[A]:
        """One request per item (a key, an update), in order; refused whole only when the first request is."""
        answers: list[A] = []
        for n, item in enumerate(items):
            try:
                answers.append(await ask(item))
            except (Throttled, TransientError) as error:
                if n == 0:
                    self._refused(operation, error)
                    raise
                answers.extend(cut_short(operation, items[n:], error))
                return answers
            self.calls[operation] += 1
        return answers
