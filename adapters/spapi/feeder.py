"""Large submissions as JSON_LISTINGS_FEEDs, followed to each update's outcome (`engine.ports.FollowsSubmissions`).

A feed is made in three calls while the submit that asked for it waits: createFeedDocument (an upload URL), the
document PUT to that presigned URL (`SpApiClient.transfer`, without the access token), createFeed. Each update is
then answered ``submitted`` with the feed's id and the submit returns: Amazon takes minutes to process a feed, and
the caller's submit slot is not held that long. What comes after runs in `Feeder.follow`, the task the caller runs
for as long as it submits: getFeed every ``poll_every_s`` until processing is over (DONE, FATAL or CANCELLED), then
getFeedDocument and the processing report's download (gzipped when Amazon says so), read into one result per
update by `adapters.spapi.feeds.feed_results`, with Amazon's issues kept per SKU.

Quota: the Feeds API's buckets are the seller's, shared by the account's marketplaces, and the engine does not
know them (it paces ``quota('submit')``, the patches), so the feeder paces them itself on ``pacers`` (one set per
account, `adapters.spapi.quotas.quota`: 95% of Amazon's). A feed is offered (`reserve`) only when createFeedDocument,
createFeed and the feed type's own limit (five feeds per five minutes) all have a token now, and those tokens are
taken then, for the submit that follows: the caller never waits for one while it holds a submit slot, and another
marketplace of the account cannot spend them meanwhile. Without a reservation a submit goes as patches; when Amazon
refuses either creating call for quota (or with a 4xx of its own), `submit` answers None and the adapter sends the
updates as patches too. getFeed and getFeedDocument wait in line for their tokens, in the background.

Faults: a transient failure while the feed is made raises `TransientError` (nothing was submitted, or at worst a
feed of the same prices, which the updates sent again override harmlessly). While following, a 429 or a transient
failure is asked again at the next poll; a feed Amazon does not know (a 404: another account's id, or long gone),
one that ended without a report (CANCELLED, FATAL before processing), and one not over ``give_up_after_s`` after
its following began all fail every update they carry, to be sent again (the latest price of a SKU wins, so a
resend is harmless). A feed is forgotten only once its outcome is handed over, so an outcome cut off by a
cancellation is given again by the next `follow`. `AccountError` ends `follow`, as it ends any call.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar
from urllib.parse import quote

import httpx
import msgspec
import trio

from adapters.spapi.client import SpApiClient
from adapters.spapi.encode import feed_document
from adapters.spapi.feeds import (
    CONTENT_TYPE,
    FINISHED,
    create_feed_document_request,
    create_feed_request,
    created_feed,
    feed_failed,
    feed_results,
    feed_status,
    feed_upload,
    report_document,
    unpack,
)
from adapters.spapi.quotas import LISTINGS_FEED
from adapters.spapi.wire.common import WireError, errors_of
from engine.actors.pacing import Pacers
from engine.config.feeds import FeedSettings
from engine.model import OfferUpdate, SubmissionResult
from engine.ports import Throttled, TransientError

__all__ = ["DOCUMENTS_PATH", "FEEDS_PATH", "FEED_OPERATIONS", "Feeder"]

log = logging.getLogger(__name__)

T = TypeVar("T")

DOCUMENTS_PATH: Final = "/feeds/2021-06-30/documents"
FEEDS_PATH: Final = "/feeds/2021-06-30/feeds"
# The SP-API operations a feed is made and followed with.
FEED_OPERATIONS: Final = ("createFeedDocument", "createFeed", "getFeed", "getFeedDocument")
# What making one feed takes of the seller's quotas, all at once.
_BUDGET: Final = ("createFeedDocument", "createFeed", LISTINGS_FEED)
_UPLOAD: Final = "uploadFeedDocument"  # not an SP-API operation: the PUT to the presigned URL, named in errors
_DOWNLOAD: Final = "downloadFeedDocument"


class _Followed(msgspec.Struct, gc=False):
    """A feed being followed: its updates (by update id), since when, and when to ask about it next."""

    feed_id: str
    updates: dict[int, OfferUpdate]
    since: float
    due: float


class Feeder:
    """See the module docstring. One per adapter (seller account and marketplace); ``pacers`` are the account's.

    ``calls`` counts the Feeds API requests Amazon answered, ``throttled`` those it refused for quota; ``feeds`` the
    feeds made, ``fallbacks`` the bulk submits that went as patches after all, ``given_up`` the feeds not over in
    time."""

    def __init__(
        self,
        client: SpApiClient,
        *,
        merchant_id: str,
        marketplace_id: str,
        pacers: Pacers,
        config: FeedSettings | None = None,
    ) -> None:
        self._client = client
        self._merchant_id = merchant_id
        self._marketplace_id = marketplace_id
        self._pacers = pacers
        self.config = config or FeedSettings()
        self._followed: dict[str, _Followed] = {}
        self._following = 0  # `follow` tasks running: a feed is made only while its outcome will be heard
        self._reserved = False  # a feed's quota is taken for the next submit of enough updates
        self._changed = trio.Event()
        self.calls: dict[str, int] = dict.fromkeys(FEED_OPERATIONS, 0)
        self.throttled: dict[str, int] = dict.fromkeys(FEED_OPERATIONS, 0)
        self.feeds = 0
        self.fallbacks = 0
        self.given_up = 0

    @property
    def followed(self) -> int:
        """Feeds being followed now."""
        return len(self._followed)

    def reserve(self, waiting: int) -> int | None:
        """`engine.ports.FollowsSubmissions.reserve_bulk`: the most a feed carries, once the quota of one feed is
        taken for the next `submit` (or was, and is not used yet); None when ``waiting`` is too few for a feed, the
        quota has no room now, or nobody follows the outcomes."""
        if not self._following or waiting < self.config.least:
            return None
        if not self._reserved:
            if not all(self._pacers[op].ready() for op in _BUDGET):
                return None
            for op in _BUDGET:  # all or none: nothing between the check and here lets another caller in
                self._pacers[op].try_acquire()
            self._reserved = True
        return self.config.most

    def carries(self, count: int) -> bool:
        """Whether ``count`` updates go as a feed: a feed's quota is set aside, and they are enough for one."""
        return self._reserved and self.config.least <= count <= self.config.most

    # --- making a feed -----------------------------------------------------------------------------------------

    async def submit(self, updates: Sequence[OfferUpdate]) -> list[SubmissionResult] | None:
        """``updates`` as one feed, on the quota `reserve` set aside: each answered ``submitted`` with the feed's
        id, and followed from now on. None when Amazon refused a creating call for quota or with a 4xx of its own:
        the caller sends them as patches instead. Raises `TransientError` as the module docstring says."""
        if not self.carries(len(updates)):
            raise ValueError(f"{len(updates)} updates are not a feed's worth, or no feed's quota is set aside")
        self._reserved = False
        document = feed_document(updates, seller_id=self._merchant_id)
        created = await self._create("createFeedDocument", DOCUMENTS_PATH, create_feed_document_request())
        if created is None:
            return None
        upload = self._read("createFeedDocument", feed_upload, created)
        put = await self._client.transfer(_UPLOAD, "PUT", upload.url, content=document, content_type=CONTENT_TYPE)
        if not put.is_success:  # an expired or refused URL: a new document next time
            why = f"seller {self._client.seller}: the upload was refused (HTTP {put.status_code})"
            raise TransientError(_UPLOAD, why)
        spec = create_feed_request(upload.feed_document_id, [self._marketplace_id])
        made = await self._create("createFeed", FEEDS_PATH, spec)
        if made is None:
            return None
        feed_id = self._read("createFeed", created_feed, made)
        at = trio.current_time()
        self.feeds += 1
        self._watch(feed_id, updates, since=at, due=at + self.config.poll_every_s)
        log.info("seller %s: %d updates sent as feed %s", self._client.seller, len(updates), feed_id)
        return [SubmissionResult(u.key, u.update_id, "submitted", at, u.price, (), feed_id) for u in updates]

    async def _create(self, operation: str, path: str, body: bytes) -> httpx.Response | None:
        """POST one of the creating calls; None when Amazon refused it for quota or with a 4xx of its own."""
        try:
            response = await self._client.request(operation, "POST", path, json_body=body)
        except Throttled as throttled:
            self.throttled[operation] += 1
            self._pacers[operation].penalise(throttled.retry_after)
            if operation == "createFeed":  # which of the two limits Amazon applied, it does not say
                self._pacers[LISTINGS_FEED].penalise(throttled.retry_after)
            self.fallbacks += 1
            return None
        self.calls[operation] += 1
        if not response.is_success:
            errors = "; ".join(str(error) for error in errors_of(response.content)[:2])
            log.warning(
                "seller %s: %s refused (HTTP %d %s); sending as patches",
                self._client.seller,
                operation,
                response.status_code,
                errors,
            )
            self.fallbacks += 1
            return None
        return response

    def _read(self, operation: str, read: Callable[[bytes], T], response: httpx.Response) -> T:
        try:
            return read(response.content)
        except WireError as error:
            raise TransientError(operation, f"seller {self._client.seller}: unreadable reply ({error})") from None

    def _watch(self, feed_id: str, updates: Sequence[OfferUpdate], *, since: float, due: float) -> None:
        followed = self._followed.get(feed_id)
        if followed is None:
            followed = self._followed[feed_id] = _Followed(feed_id, {}, since, due)
        followed.updates.update((update.update_id, update) for update in updates)
        self._changed.set()

    # --- following ---------------------------------------------------------------------------------------------

    async def follow(
        self,
        send: trio.MemorySendChannel[Sequence[SubmissionResult]],
        submitted: Mapping[str, Sequence[OfferUpdate]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """`engine.ports.FollowsSubmissions.follow_submissions`: the feeds of ``submitted`` are asked about at once,
        those `submit` makes from now on after ``poll_every_s``; one at a time, each outcome handed over whole."""
        async with send:
            now = trio.current_time()
            for feed_id, updates in submitted.items():
                if updates:
                    self._watch(feed_id, updates, since=now, due=now)
            self._following += 1
            try:
                task_status.started()
                while True:
                    now = trio.current_time()
                    due = [feed for feed in self._followed.values() if feed.due <= now]
                    if not due:
                        next_due = min((feed.due for feed in self._followed.values()), default=float("inf"))
                        with trio.move_on_at(next_due):
                            await self._changed.wait()
                        self._changed = trio.Event()
                        continue
                    for feed in sorted(due, key=lambda f: f.due):
                        outcome = await self._check(feed)
                        if outcome is not None:
                            await send.send(outcome)
                            if self._followed.get(feed.feed_id) is feed:
                                del self._followed[feed.feed_id]
            finally:
                self._following -= 1

    async def _check(self, feed: _Followed) -> list[SubmissionResult] | None:
        """The outcome of ``feed`` when its processing is over or it is given up; else None, its next poll set."""
        feed_id = feed.feed_id
        updates = list(feed.updates.values())
        now = trio.current_time()
        if now - feed.since >= self.config.give_up_after_s:
            self.given_up += 1
            why = f"feed {feed_id} not processed after {self.config.give_up_after_s:g} s"
            log.warning("seller %s: %s; its updates are sent again", self._client.seller, why)
            return feed_failed(updates, at=now, feed_id=feed_id, why=why)
        feed.due = now + self.config.poll_every_s
        response = await self._get("getFeed", f"{FEEDS_PATH}/{quote(feed_id, safe='')}")
        if response is None:
            return None
        at = trio.current_time()
        if not response.is_success:  # 404: Amazon does not know it (400: not an id it could know)
            why = f"feed {feed_id} unknown to Amazon (HTTP {response.status_code})"
            log.warning("seller %s: %s; its updates are sent again", self._client.seller, why)
            return feed_failed(updates, at=at, feed_id=feed_id, why=why)
        try:
            state = feed_status(response.content)
        except WireError as error:
            log.warning("seller %s: getFeed %s unreadable (%s); asking again", self._client.seller, feed_id, error)
            return None
        status = state.processing_status
        if status not in FINISHED:
            return None
        if status == "CANCELLED" or state.result_feed_document_id is None:
            why = f"feed {feed_id} ended {status} without a processing report"
            return feed_failed(updates, at=at, feed_id=feed_id, why=why)
        report = await self._report(state.result_feed_document_id)
        if report is None:
            return None
        at = trio.current_time()
        if isinstance(report, str):
            return feed_failed(updates, at=at, feed_id=feed_id, why=f"feed {feed_id}: {report}")
        try:
            return feed_results(report, updates, at=at, feed_id=feed_id, fatal=status == "FATAL")
        except WireError as error:
            return feed_failed(updates, at=at, feed_id=feed_id, why=f"feed {feed_id}: {error}")

    async def _report(self, document_id: str) -> bytes | str | None:
        """A processing report's JSON; a string saying why there is none to read; None to ask again later."""
        response = await self._get("getFeedDocument", f"{DOCUMENTS_PATH}/{quote(document_id, safe='')}")
        if response is None:
            return None
        if not response.is_success:
            return f"processing report {document_id} refused (HTTP {response.status_code})"
        try:
            location = report_document(response.content)
        except WireError as error:
            log.warning("seller %s: getFeedDocument unreadable (%s); asking again", self._client.seller, error)
            return None
        try:
            download = await self._client.transfer(_DOWNLOAD, "GET", location.url)
        except TransientError as error:
            log.warning("seller %s: %s; asking again", self._client.seller, error)
            return None
        if not download.is_success:  # the URL expired meanwhile: getFeedDocument gives a new one
            return None
        try:
            return unpack(download.content, location.compression_algorithm)
        except (ValueError, OSError, EOFError, zlib.error) as error:
            return f"processing report unreadable ({error})"

    async def _get(self, operation: str, path: str) -> httpx.Response | None:
        """A paced GET of the Feeds API; None after a 429 or a transient failure (asked again at the next poll)."""
        pacer = self._pacers[operation]
        await pacer.acquire()
        try:
            response = await self._client.request(operation, "GET", path)
        except Throttled as throttled:
            self.throttled[operation] += 1
            pacer.penalise(throttled.retry_after)
            return None
        except TransientError as error:
            log.warning("seller %s: %s; asking again", self._client.seller, error)
            return None
        self.calls[operation] += 1
        return response
