"""The Feeds API around a JSON_LISTINGS_FEED: the requests that create a feed, the replies that say how it went,
and its processing report as one `SubmissionResult` per update sent.

A message with an ``ERROR`` issue of its own is ``invalid``, with Amazon's issues kept. A message without one is
``accepted`` (not applied: verified by reading back, as a patch is), unless processing was FATAL (some, none or
all messages may have been applied) or processed no message at all: it then ``failed`` and is sent again, which
does no harm as the latest price of a SKU wins. Issues of the feed as a whole (no message id, no SKU of ours) go
with every result.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from typing import Final

import msgspec

from adapters.spapi.encode import message_id
from adapters.spapi.wire.common import decode
from adapters.spapi.wire.feeds import (
    CreateFeedDocumentResponse,
    CreateFeedDocumentSpecification,
    CreateFeedResponse,
    CreateFeedSpecification,
    Feed,
    ProcessingReport,
    ReportDocument,
    ReportIssue,
)
from engine.model import OfferUpdate, SubmissionResult, SubmissionStatus

__all__ = [
    "CONTENT_TYPE",
    "FEED_TYPE",
    "FINISHED",
    "create_feed_document_request",
    "create_feed_request",
    "created_feed",
    "feed_failed",
    "feed_results",
    "feed_status",
    "feed_upload",
    "report_document",
    "unpack",
]

FEED_TYPE: Final = "JSON_LISTINGS_FEED"
CONTENT_TYPE: Final = "application/json; charset=UTF-8"
# Processing states after which nothing changes any more.
FINISHED: Final = frozenset({"DONE", "CANCELLED", "FATAL"})

_ENCODER: Final = msgspec.json.Encoder()
_UPLOAD: Final = msgspec.json.Decoder(CreateFeedDocumentResponse)
_CREATED: Final = msgspec.json.Decoder(CreateFeedResponse)
_FEED: Final = msgspec.json.Decoder(Feed)
_DOCUMENT: Final = msgspec.json.Decoder(ReportDocument)
_REPORT: Final = msgspec.json.Decoder(ProcessingReport)


def create_feed_document_request() -> bytes:
    """createFeedDocument's body: a place to upload a JSON document to."""
    return _ENCODER.encode(CreateFeedDocumentSpecification(CONTENT_TYPE))


def feed_upload(reply: bytes) -> CreateFeedDocumentResponse:
    """createFeedDocument's reply: the document's id and the URL to PUT it to (valid for five minutes)."""
    return decode(_UPLOAD, reply, "createFeedDocument")


def create_feed_request(document_id: str, marketplace_ids: Sequence[str]) -> bytes:
    """createFeed's body for an uploaded JSON_LISTINGS_FEED document."""
    spec = CreateFeedSpecification(
        feed_type=FEED_TYPE, marketplace_ids=tuple(marketplace_ids), input_feed_document_id=document_id
    )
    return _ENCODER.encode(spec)


def created_feed(reply: bytes) -> str:
    """createFeed's reply: the feed's id."""
    return decode(_CREATED, reply, "createFeed").feed_id


def feed_status(reply: bytes) -> Feed:
    """getFeed's reply: how processing goes (`FINISHED` when it will not change) and the report's document id."""
    return decode(_FEED, reply, "getFeed")


def report_document(reply: bytes) -> ReportDocument:
    """getFeedDocument's reply: where to fetch the processing report, and its compression."""
    return decode(_DOCUMENT, reply, "getFeedDocument")


def unpack(document: bytes, compression: str | None) -> bytes:
    """A fetched document's bytes as JSON: gunzipped when getFeedDocument said ``GZIP``."""
    if compression is None:
        return document
    if compression == "GZIP":
        return gzip.decompress(document)
    raise ValueError(f"unknown compression {compression!r} of a feed document")


def feed_results(
    report: bytes, updates: Sequence[OfferUpdate], *, at: float, feed_id: str, fatal: bool = False
) -> list[SubmissionResult]:
    """The processing report of the feed that carried ``updates`` (all of its messages, or those still waiting for
    it: each is known by `adapters.spapi.encode.message_id`): one result per update, in order. ``fatal``:
    processing ended FATAL (see the module docstring). An issue that names another message of the feed is not
    ours to keep; one that names no message but a SKU of ours goes to that SKU's update."""
    parsed = decode(_REPORT, report, "JSON_LISTINGS_FEED processing report")
    ours = {message_id(update) for update in updates}
    by_sku = {update.key.sku: message_id(update) for update in updates}
    own: dict[int, list[ReportIssue]] = {}
    general: list[ReportIssue] = []
    for issue in parsed.issues:
        message = issue.message_id
        if message is None and issue.sku is not None:
            message = by_sku.get(issue.sku)
        if message is None:
            general.append(issue)
        elif message in ours:
            own.setdefault(message, []).append(issue)
    unprocessed = fatal or parsed.summary.messages_processed == 0
    results = []
    for update in updates:
        mine = own.get(message_id(update), [])
        issues = [*mine, *general]
        status: SubmissionStatus
        if any(issue.severity == "ERROR" for issue in mine):
            status = "invalid"
        else:
            status = "failed" if unprocessed else "accepted"
        results.append(_result(update, at, status, tuple(str(issue) for issue in issues), feed_id))
    return results


def feed_failed(updates: Sequence[OfferUpdate], *, at: float, feed_id: str | None, why: str) -> list[SubmissionResult]:
    """Every update of a feed that went nowhere (CANCELLED, FATAL without a report, an upload that failed): each
    ``failed``, to be sent again, with ``why``."""
    return [_result(update, at, "failed", (why,), feed_id) for update in updates]


def _result(
    update: OfferUpdate, at: float, status: SubmissionStatus, issues: tuple[str, ...], feed_id: str | None
) -> SubmissionResult:
    return SubmissionResult(update.key, update.update_id, status, at, update.price, issues, feed_id)
