"""Feeds 2021-06-30 (``feeds_2021-06-30.json``) and the JSON_LISTINGS_FEED document and processing report
(``listings-feed-schema-v2.json``, ``listings-feed-processing-report-schema-v2.json``).

A feed goes in three calls: createFeedDocument gives an upload URL, the document is PUT there, createFeed names
the document; getFeed then says how processing goes, and once it is done (or fatal) getFeedDocument gives where to
fetch the processing report. The report's issues name the message they concern by ``messageId``.
"""

from __future__ import annotations

import msgspec

from adapters.spapi.wire.listings import PatchOperation

__all__ = [
    "CreateFeedDocumentResponse",
    "CreateFeedDocumentSpecification",
    "CreateFeedResponse",
    "CreateFeedSpecification",
    "Feed",
    "FeedDocument",
    "FeedHeader",
    "FeedMessage",
    "ProcessingReport",
    "ReportDocument",
    "ReportIssue",
    "ReportSummary",
]


class _Model(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """camelCase on the wire; unset optional fields left out."""


# --- the feed document -------------------------------------------------------------------------------------------


class FeedHeader(_Model, frozen=True, kw_only=True):
    seller_id: str
    version: str
    issue_locale: str | None = None


class FeedMessage(_Model, frozen=True, kw_only=True):
    """One message: a PATCH of one SKU, with the same operations a patchListingsItem call would carry."""

    message_id: int
    sku: str
    operation_type: str
    product_type: str
    patches: tuple[PatchOperation, ...]


class FeedDocument(_Model, frozen=True):
    header: FeedHeader
    messages: tuple[FeedMessage, ...]


# --- the Feeds API -----------------------------------------------------------------------------------------------


class CreateFeedDocumentSpecification(_Model, frozen=True):
    content_type: str


class CreateFeedDocumentResponse(_Model, frozen=True):
    feed_document_id: str
    url: str


class CreateFeedSpecification(_Model, frozen=True, kw_only=True):
    feed_type: str
    marketplace_ids: tuple[str, ...]
    input_feed_document_id: str


class CreateFeedResponse(_Model, frozen=True):
    feed_id: str


class Feed(_Model, frozen=True):
    """getFeed: ``processingStatus`` is IN_QUEUE, IN_PROGRESS, DONE, CANCELLED or FATAL; a result document comes
    with DONE (and may come with FATAL)."""

    feed_id: str
    processing_status: str
    result_feed_document_id: str | None = None


class ReportDocument(_Model, frozen=True):
    """getFeedDocument: where to fetch a document, and whether it is compressed (``GZIP``)."""

    feed_document_id: str
    url: str
    compression_algorithm: str | None = None


# --- the processing report -----------------------------------------------------------------------------------------


class ReportIssue(_Model, frozen=True):
    """An issue of one message (``messageId``), or of the feed as a whole (no ``messageId``)."""

    severity: str
    message: str
    message_id: int | None = None
    sku: str | None = None
    code: str | None = None
    attribute_name: str | None = None

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        where = f" [{self.attribute_name}]" if self.attribute_name else ""
        return f"{self.severity}{code}: {self.message}{where}"


class ReportSummary(_Model, frozen=True):
    messages_processed: int
    messages_accepted: int
    messages_invalid: int


class ProcessingReport(_Model, frozen=True):
    summary: ReportSummary
    issues: tuple[ReportIssue, ...] = ()
