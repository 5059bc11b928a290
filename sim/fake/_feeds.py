"""Feeds 2021-06-30 for JSON_LISTINGS_FEED: documents, feeds, their processing, and the processing report.

A feed goes as on Amazon: createFeedDocument (201) gives a document id and a presigned URL, which the fake serves
under ``/_sim/documents/`` (a PUT of the document there, no access token, within five minutes of the client's
time, else S3's 403 "Request has expired"); createFeed (202) names the uploaded document and the marketplaces;
getFeed says IN_QUEUE, then IN_PROGRESS, then DONE (or FATAL) with the id of the processing report, which
getFeedDocument gives a URL to fetch. Each call is charged to its operation's bucket (`sim.quotas`), and a
JSON_LISTINGS_FEED also to the feed type's own limit, five submissions per five minutes per seller.

How long a feed waits and takes is drawn per feed from the fake's seed (`FeedTiming`). Its messages are carried
out when its processing is over and the fake next looks (at any request, or on time under `SpApiFake.run`): each
PATCH (or PARTIAL_UPDATE, taken as a replace of each attribute given) is checked and applied to each marketplace
of the feed exactly as a patchListingsItem call would be (`sim.fake._patches`), without the per-SKU quota; a message
Amazon would refuse is reported with its issues, and UPDATE and DELETE (which create, replace or delete listings,
which the simulator's catalog does not) are refused with an issue that says so. A document that is not a listings
feed, or is another seller's, ends the feed FATAL with a report that says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

import msgspec
import numpy as np
import trio

from sim.fake._asgi import BodyTooLarge, Receive, read_body
from sim.fake._backend import JSON, Answer, Backend, Call
from sim.fake._errors import ENCODER, Refusal, bad_request
from sim.fake._index import Place, merchant_id
from sim.fake._listings import accept_plans
from sim.fake._patches import PatchOperation, Plan, plan_patch, price_sent
from sim.quotas import Operation, QuotaBook, QuotaExceeded

__all__ = [
    "CREATE_FEED",
    "CREATE_FEED_DOCUMENT",
    "DOCUMENTS_PATH",
    "FEED_TYPE",
    "GET_FEED",
    "GET_FEED_DOCUMENT",
    "FeedDesk",
    "FeedTiming",
]

CREATE_FEED_DOCUMENT: Final = "createFeedDocument"
CREATE_FEED: Final = "createFeed"
GET_FEED: Final = "getFeed"
GET_FEED_DOCUMENT: Final = "getFeedDocument"
FEED_TYPE: Final = "JSON_LISTINGS_FEED"
DOCUMENTS_PATH: Final = "/_sim/documents/"
MAX_DOCUMENT: Final = 64 << 20  # 25,000 messages of a few hundred bytes each, with room to spare
MAX_MESSAGES: Final = 25_000
URL_LIFETIME_S: Final = 300.0  # "This URL expires after 5 minutes."
# JSON_LISTINGS_FEED: 5 submissions per 5 minutes (reference/spapi.md), on top of createFeed's own bucket.
FEED_TYPE_LIMIT: Final = Operation(5 / 300, 5, MAX_MESSAGES)
_XML: Final = b"application/xml"


@dataclass(frozen=True, slots=True)
class FeedTiming:
    """How long a feed waits in the queue and then takes to process: uniform within each range (seconds)."""

    queue_s: tuple[float, float] = (10.0, 60.0)
    processing_s: tuple[float, float] = (30.0, 120.0)

    def __post_init__(self) -> None:
        for name, (low, high) in (("queue_s", self.queue_s), ("processing_s", self.processing_s)):
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be a range 0 <= low <= high, not {(low, high)}")


# --- the API's shapes (feeds_2021-06-30.json) ----------------------------------------------------------------------


class _DocumentSpec(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    content_type: str


class _FeedSpec(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    feed_type: str
    marketplace_ids: tuple[str, ...]
    input_feed_document_id: str
    feed_options: dict[str, str] | None = None


class _DocumentCreated(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    feed_document_id: str
    url: str


class _FeedCreated(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    feed_id: str


class _FeedReply(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    feed_id: str
    feed_type: str
    created_time: str
    processing_status: Literal["CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"]
    marketplace_ids: tuple[str, ...] = ()
    processing_start_time: str | None = None
    processing_end_time: str | None = None
    result_feed_document_id: str | None = None


class _DocumentReply(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    feed_document_id: str
    url: str


# --- the feed document and its processing report (listings-feed-schema-v2, ...-processing-report-schema-v2) ---------


class _Header(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    seller_id: str
    version: str
    issue_locale: str | None = None


class _Message(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    message_id: int
    sku: str
    operation_type: Literal["UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE"]
    product_type: str | None = None
    requirements: str | None = None
    attributes: dict[str, Any] | None = None
    patches: tuple[PatchOperation, ...] | None = None


class _Document(msgspec.Struct, frozen=True, gc=False):
    header: _Header
    messages: tuple[_Message, ...]


class _ReportHeader(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    seller_id: str
    version: str
    feed_id: str


class _ReportIssue(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    severity: str
    message: str
    message_id: int | None = None
    sku: str | None = None
    code: str | None = None
    attribute_name: str | None = None


class _ReportSummary(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    errors: int
    warnings: int
    messages_processed: int
    messages_accepted: int
    messages_invalid: int


class _Report(msgspec.Struct, frozen=True, gc=False):
    header: _ReportHeader
    issues: tuple[_ReportIssue, ...]
    summary: _ReportSummary


_DOCUMENT_SPEC: Final = msgspec.json.Decoder(_DocumentSpec)
_FEED_SPEC: Final = msgspec.json.Decoder(_FeedSpec)
_FEED_DOCUMENT: Final = msgspec.json.Decoder(_Document, float_hook=Decimal)


# --- the desk ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _StoredDocument:
    """A document and its presigned URLs: an upload's (PUT, from createFeedDocument) and a download's (GET, from
    getFeedDocument), each until the time given (None: there is none)."""

    id: str
    seller: int
    content_type: str
    content: bytes | None = None
    is_report: bool = False
    upload_until: float | None = None
    download_until: float | None = None


@dataclass(slots=True)
class _Feed:
    id: str
    seller: int
    marketplace_ids: tuple[str, ...]
    document: _StoredDocument
    created_at: float
    starts_at: float
    ends_at: float
    status: Literal["IN_QUEUE", "DONE", "FATAL"] = "IN_QUEUE"
    processed_at: float | None = None
    report: str | None = None
    messages: int = field(default=0)


class FeedDesk:
    """The documents and feeds of every seller the fake serves, and their processing."""

    def __init__(self, backend: Backend, *, timing: FeedTiming, seed: int) -> None:
        self._backend = backend
        self._timing = timing
        self._rng = np.random.default_rng([seed, 0xFEED])
        self._documents: dict[str, _StoredDocument] = {}
        self._feeds: dict[str, _Feed] = {}
        self._pending: list[_Feed] = []
        n_sellers = max(api.market.spec.n_sellers for api in backend.apis)
        start = max(api.market.now for api in backend.apis)
        self._type_quota = QuotaBook(max(n_sellers, 1), {FEED_TYPE: FEED_TYPE_LIMIT}, start=start)
        self._next_document = 1
        self._next_feed = 50_000_001

    # --- the routes ----------------------------------------------------------------------------------------------

    async def create_document(self, backend: Backend, call: Call) -> Answer:
        try:
            spec = _DOCUMENT_SPEC.decode(call.body)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise bad_request(str(error)) from None
        if not spec.content_type.strip():
            raise bad_request("contentType must not be empty")
        backend.take(call)
        at = await backend.answered()
        document = self._store(call.seller, spec.content_type)
        document.upload_until = at + URL_LIFETIME_S * backend.time_scale
        return Answer(201, ENCODER.encode(_DocumentCreated(document.id, self._url(call, document))))

    async def create_feed(self, backend: Backend, call: Call) -> Answer:
        try:
            spec = _FEED_SPEC.decode(call.body)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise bad_request(str(error)) from None
        if spec.feed_type != FEED_TYPE:
            raise bad_request(f"feedType {spec.feed_type!r}: the simulator processes {FEED_TYPE} feeds only")
        if not 1 <= len(spec.marketplace_ids) <= 25:
            raise bad_request(f"marketplaceIds must hold 1 to 25 identifiers, not {len(spec.marketplace_ids)}")
        known = backend.index.marketplaces
        if unknown := [mid for mid in spec.marketplace_ids if mid not in known]:
            raise bad_request(f"marketplaceIds: {', '.join(unknown)} is not a marketplace of this account")
        document = self._documents.get(spec.input_feed_document_id)
        if document is None or document.seller != call.seller or document.is_report:
            raise bad_request(f"inputFeedDocumentId {spec.input_feed_document_id!r} is not a feed document of yours")
        if document.content is None:
            raise bad_request(f"feed document {document.id} has not been uploaded")
        # The feed type's limit is checked first, so a feed it refuses leaves createFeed's bucket as it was.
        if (wait := self._type_quota.wait_time(call.seller, FEED_TYPE, call.received_at)) > 0:
            raise QuotaExceeded(FEED_TYPE, call.seller, wait)
        backend.take(call)
        self._type_quota.acquire(call.seller, FEED_TYPE, call.received_at)
        at = await backend.answered()
        feed = self._queue(call.seller, tuple(dict.fromkeys(spec.marketplace_ids)), document, at)
        return Answer(202, ENCODER.encode(_FeedCreated(feed.id)))

    async def get_feed(self, backend: Backend, call: Call) -> Answer:
        (feed_id,) = call.params
        feed = self._feeds.get(feed_id)
        if feed is None or feed.seller != call.seller:
            raise Refusal(404, "NotFound", "The requested feed was not found", f"feedId {feed_id}")
        backend.take(call)
        at = await backend.answered()
        self.settle(at)
        status: Literal["DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"] = feed.status
        if status == "IN_QUEUE" and at >= feed.starts_at:
            status = "IN_PROGRESS"
        started = feed.processed_at is not None or at >= feed.starts_at
        reply = _FeedReply(
            feed_id=feed.id,
            feed_type=FEED_TYPE,
            created_time=backend.wall_time(feed.created_at),
            processing_status=status,
            marketplace_ids=feed.marketplace_ids,
            processing_start_time=backend.wall_time(feed.starts_at) if started else None,
            processing_end_time=None if feed.processed_at is None else backend.wall_time(feed.processed_at),
            result_feed_document_id=feed.report,
        )
        return Answer(200, ENCODER.encode(reply))

    async def get_document(self, backend: Backend, call: Call) -> Answer:
        (document_id,) = call.params
        document = self._documents.get(document_id)
        if document is None or document.seller != call.seller:
            raise Refusal(404, "NotFound", "The requested feed document was not found", f"feedDocumentId {document_id}")
        backend.take(call)
        at = await backend.answered()
        document.download_until = at + URL_LIFETIME_S * backend.time_scale
        return Answer(200, ENCODER.encode(_DocumentReply(document.id, self._url(call, document))))

    async def document_url(self, method: str, path: str, receive: Receive) -> tuple[int, bytes, bytes]:
        """A presigned URL: PUT uploads a feed document, GET fetches one (S3's errors, in XML): each only while the
        URL given for it lasts, and a method no URL was given for is S3's signature mismatch."""
        document = self._documents.get(path.removeprefix(DOCUMENTS_PATH))
        if document is None:
            return 404, _s3_error("NoSuchKey", "The specified key does not exist."), _XML
        until = {"PUT": document.upload_until, "GET": document.download_until}.get(method)
        if until is None:
            message = "The request signature we calculated does not match the signature you provided."
            return 403, _s3_error("SignatureDoesNotMatch", message), _XML
        if trio.current_time() >= until:
            return 403, _s3_error("AccessDenied", "Request has expired"), _XML
        if method == "PUT":
            try:
                document.content = await read_body(receive, MAX_DOCUMENT)
            except BodyTooLarge:
                return 400, _s3_error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"), _XML
            return 200, b"", _XML
        if document.content is None:
            return 404, _s3_error("NoSuchKey", "The specified key does not exist."), _XML
        return 200, document.content, JSON

    # --- processing ----------------------------------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Process the feeds whose time is up, in the order they come due."""
        due = sorted((feed for feed in self._pending if feed.ends_at <= now), key=lambda feed: feed.ends_at)
        for feed in due:
            self._pending.remove(feed)
            self._process(feed, now)

    def _queue(self, seller: int, marketplace_ids: tuple[str, ...], document: _StoredDocument, at: float) -> _Feed:
        timing = self._timing
        waits = float(self._rng.uniform(*timing.queue_s))
        takes = float(self._rng.uniform(*timing.processing_s))
        feed_id = str(self._next_feed)
        self._next_feed += 1
        feed = _Feed(feed_id, seller, marketplace_ids, document, at, at + waits, at + waits + takes)
        self._feeds[feed_id] = feed
        self._pending.append(feed)
        return feed

    def _process(self, feed: _Feed, now: float) -> None:
        """Carry out a feed's messages as of ``now`` and write its report."""
        seller_id = merchant_id(feed.seller)
        fatal = None
        parsed = None
        try:
            parsed = _FEED_DOCUMENT.decode(feed.document.content or b"")
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            fatal = f"The feed document is not a JSON_LISTINGS_FEED document: {error}"
        if parsed is not None:
            if parsed.header.seller_id != seller_id:
                fatal = f"The feed's sellerId {parsed.header.seller_id!r} is not the submitter's ({seller_id})."
            elif parsed.header.version != "2.0":
                fatal = f"Feed version {parsed.header.version!r} is not supported; use 2.0."
            elif not 1 <= len(parsed.messages) <= MAX_MESSAGES:
                fatal = f"A feed holds 1 to {MAX_MESSAGES} messages, not {len(parsed.messages)}."
        issues: list[_ReportIssue] = []
        accepted = invalid = 0
        if fatal is not None or parsed is None:
            feed.status = "FATAL"
            issues.append(_ReportIssue("ERROR", fatal or "The feed document could not be read.", code="FATAL"))
            processed = 0
        else:
            feed.status = "DONE"
            processed = len(parsed.messages)
            seen: set[int] = set()
            for message in parsed.messages:
                problems = self._message(feed, message, seen, now)
                seen.add(message.message_id)
                issues.extend(problems)
                if problems:
                    invalid += 1
                else:
                    accepted += 1
        feed.processed_at = now
        feed.messages = processed
        summary = _ReportSummary(
            errors=sum(issue.severity == "ERROR" for issue in issues),
            warnings=sum(issue.severity == "WARNING" for issue in issues),
            messages_processed=processed,
            messages_accepted=accepted,
            messages_invalid=invalid,
        )
        report = _Report(_ReportHeader(seller_id, "2.0", feed.id), tuple(issues), summary)
        document = self._store(feed.seller, "application/json; charset=UTF-8")
        document.is_report = True
        document.content = ENCODER.encode(report)
        feed.report = document.id

    def _message(self, feed: _Feed, message: _Message, seen: set[int], now: float) -> list[_ReportIssue]:
        """One message carried out in each of the feed's marketplaces, or its issues (then nothing is done)."""
        backend = self._backend

        def issue(code: str, text: str, attribute: str | None = None) -> _ReportIssue:
            return _ReportIssue("ERROR", text, message.message_id, message.sku, code, attribute)

        if message.message_id < 1 or message.message_id in seen:
            return [issue("90000900", f"messageId {message.message_id} must be a positive number unique in the feed.")]
        patches = _patches_of(message)
        if isinstance(patches, str):
            return [issue("90000900", patches)]
        plans: list[tuple[Place, Plan]] = []
        problems: list[_ReportIssue] = []
        for mid in feed.marketplace_ids:
            place = backend.index.by_sku(feed.seller, mid, message.sku)
            if place is None:
                problems.append(issue("NOT_FOUND", f"SKU '{message.sku}' does not exist in marketplace {mid}."))
                continue
            spec, row = place.market.spec, place.row
            sent = price_sent(patches, mid, spec.currency[row])
            if sent is not None and not int(spec.min_price[row]) <= sent <= int(spec.max_price[row]):
                backend.stats.prices_outside_bounds += 1
            plan = plan_patch(patches, place, mid, backend.listings.attributes(place, mid))
            if isinstance(plan, Plan):
                plans.append((place, plan))
            else:
                problems.extend(
                    issue(found.code, found.message, found.attribute_names[0] if found.attribute_names else None)
                    for found in plan
                )
        if problems:
            backend.stats.updates_invalid += 1
            return problems
        accept_plans(backend, plans, feed.id, applies=not backend.dice.strikes("never_apply", CREATE_FEED, now), at=now)
        return []

    # --- documents -----------------------------------------------------------------------------------------------

    def _store(self, seller: int, content_type: str) -> _StoredDocument:
        document_id = f"amzn1.tortuga.sim.{self._next_document:08d}"
        self._next_document += 1
        document = _StoredDocument(document_id, seller, content_type)
        self._documents[document_id] = document
        return document

    def _url(self, call: Call, document: _StoredDocument) -> str:
        return f"{call.origin}{DOCUMENTS_PATH}{document.id}?X-Amz-Expires={round(URL_LIFETIME_S)}"


def _patches_of(message: _Message) -> tuple[PatchOperation, ...] | str:
    """A message's patches, or why it cannot be carried out."""
    if message.operation_type in ("UPDATE", "DELETE"):
        return (
            f"operationType {message.operation_type} creates, replaces or deletes a listing, which the simulator's "
            "catalog does not; use PATCH or PARTIAL_UPDATE."
        )
    if not message.product_type:
        return f"productType is required for {message.operation_type}."
    if message.operation_type == "PATCH":
        if not message.patches or message.attributes is not None:
            return "A PATCH message takes patches (at least one) and no attributes."
        return message.patches
    if not message.attributes or message.patches is not None:
        return "A PARTIAL_UPDATE message takes attributes (at least one) and no patches."
    patches = []
    for name, value in message.attributes.items():
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            return f"attributes.{name} must be an array of objects."
        patches.append(PatchOperation("replace", f"/attributes/{name}", value))
    return tuple(patches)


def _s3_error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ).encode()
