"""A fake Amazon that plays the Feeds API for JSON_LISTINGS_FEEDs, in the shapes of ``feeds_2021-06-30.json`` and
the listings feed's processing report (``listings-feed-processing-report-schema-v2.json``), and answers patches.

createFeedDocument (201) gives a presigned upload URL on another host; the document is PUT there; createFeed (202)
names it; getFeed says IN_QUEUE, then IN_PROGRESS, then DONE with the report's document id, ``queue_s`` and
``processing_s`` after the feed was made; getFeedDocument gives a download URL for the report, which comes gzipped.
Each message is accepted unless its SKU is in ``invalid`` (then an ERROR issue names its message id and SKU). A feed
may be told (``endings``) to end FATAL (with or without a report) or CANCELLED, or to never finish (``STUCK``); a
feed id Amazon never gave is a 404. ``script`` holds whole replies (a status and a body) for the next SP-API
requests, ``scripted`` for the next requests of one call ("POST /feeds/2021-06-30/feeds"), each taken before
answering normally. Every request is kept.
"""

from __future__ import annotations

import gzip
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

import httpx
import trio

from adapters.spapi.encode import feed_document
from engine.model import OfferUpdate
from tests.adapters.spapi.replies import payload

UPLOADS = "uploads.example.com"
DOWNLOADS = "downloads.example.com"
DOCUMENT_TYPE = "application/json; charset=UTF-8"

Ending = Literal["DONE", "FATAL", "FATAL_WITH_REPORT", "CANCELLED", "STUCK"]


@dataclass
class FakeFeed:
    feed_id: str
    document: bytes
    created_at: float
    ending: Ending = "DONE"
    polls: int = 0

    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = json.loads(self.document)["messages"]
        return messages


@dataclass
class FeedsAmazon:
    seller_id: str = "A1OURS"
    queue_s: float = 20.0
    processing_s: float = 60.0
    latency_s: float = 0.2
    invalid: set[str] = field(default_factory=set)
    endings: dict[str, Ending] = field(default_factory=dict)  # by feed id: how it ends, if not DONE
    script: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    scripted: dict[str, deque[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    documents: dict[str, bytes | None] = field(default_factory=dict)
    feeds: dict[str, FakeFeed] = field(default_factory=dict)
    upload_headers: list[httpx.Headers] = field(default_factory=list)
    next_feed: int = 1

    # --- what the tests read -----------------------------------------------------------------------------------

    def calls(self) -> list[str]:
        """Each request as "METHOD path" (a presigned URL's as "METHOD host")."""
        return [f"{r.method} {r.url.host if r.url.host in (UPLOADS, DOWNLOADS) else r.url.path}" for r in self.requests]

    def count(self, call: str) -> int:
        return sum(c.startswith(call) for c in self.calls())

    def seed(self, feed_id: str, updates: list[OfferUpdate], *, created_at: float, ending: Ending = "DONE") -> None:
        """A feed made by an earlier process, for a test of a restart."""
        self.feeds[feed_id] = FakeFeed(feed_id, feed_document(updates, seller_id=self.seller_id), created_at, ending)

    # --- the fake ----------------------------------------------------------------------------------------------

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await trio.sleep(self.latency_s)
        host, path = request.url.host, unquote(request.url.path)
        if host == UPLOADS:
            return self._upload(request, path.strip("/"))
        if host == DOWNLOADS:
            return self._download(path.strip("/"))
        assert "x-amz-access-token" in request.headers
        own = self.scripted.get(f"{request.method} {path}")
        if own:
            status, body = own.popleft()
            return httpx.Response(status, json=body)
        if self.script:
            status, body = self.script.popleft()
            return httpx.Response(status, json=body)
        if request.method == "PATCH" and path.startswith("/listings/2021-08-01/items/"):
            return httpx.Response(200, content=payload("patch_accepted.json"))
        if request.method == "POST" and path == "/feeds/2021-06-30/documents":
            return self._create_document(json.loads(request.content))
        if request.method == "POST" and path == "/feeds/2021-06-30/feeds":
            return self._create_feed(json.loads(request.content))
        if request.method == "GET" and path.startswith("/feeds/2021-06-30/feeds/"):
            return self._get_feed(path.rsplit("/", 1)[1])
        if request.method == "GET" and path.startswith("/feeds/2021-06-30/documents/"):
            return self._get_document(path.rsplit("/", 1)[1])
        return _error(400, "InvalidInput", f"not a request this fake knows: {request.method} {path}")

    def _create_document(self, body: dict[str, Any]) -> httpx.Response:
        assert body == {"contentType": DOCUMENT_TYPE}
        document_id = f"doc-{len(self.documents) + 1}"
        self.documents[document_id] = None
        url = f"https://{UPLOADS}/{document_id}?X-Amz-Expires=300&X-Amz-Signature=0badc0de"
        return httpx.Response(201, json={"feedDocumentId": document_id, "url": url})

    def _upload(self, request: httpx.Request, document_id: str) -> httpx.Response:
        assert request.method == "PUT" and document_id in self.documents
        assert "x-amz-access-token" not in request.headers  # the token never leaves for another host
        self.upload_headers.append(request.headers)
        self.documents[document_id] = request.content
        return httpx.Response(200)

    def _create_feed(self, body: dict[str, Any]) -> httpx.Response:
        assert body["feedType"] == "JSON_LISTINGS_FEED"
        document = self.documents.get(body["inputFeedDocumentId"])
        if document is None:
            return _error(400, "InvalidInput", "the feed document was not uploaded")
        feed_id = f"F{self.next_feed}"
        self.next_feed += 1
        ending = self.endings.get(feed_id, "DONE")
        self.feeds[feed_id] = FakeFeed(feed_id, document, trio.current_time(), ending)
        return httpx.Response(202, json={"feedId": feed_id})

    def _get_feed(self, feed_id: str) -> httpx.Response:
        feed = self.feeds.get(feed_id)
        if feed is None:
            return _error(404, "NotFound", "The requested feed was not found")
        feed.polls += 1
        age = trio.current_time() - feed.created_at
        reply: dict[str, Any] = {
            "feedId": feed_id,
            "feedType": "JSON_LISTINGS_FEED",
            "createdTime": "2024-03-11T13:16:24.630Z",
            "marketplaceIds": ["A1PA6795UKMFR9"],
        }
        if age < self.queue_s:
            return httpx.Response(200, json={**reply, "processingStatus": "IN_QUEUE"})
        if age < self.queue_s + self.processing_s or feed.ending == "STUCK":
            return httpx.Response(200, json={**reply, "processingStatus": "IN_PROGRESS"})
        status = feed.ending.removesuffix("_WITH_REPORT")
        reply["processingStatus"] = status
        if feed.ending in ("DONE", "FATAL_WITH_REPORT"):
            reply["resultFeedDocumentId"] = f"report-{feed_id}"
        return httpx.Response(200, json=reply)

    def _get_document(self, document_id: str) -> httpx.Response:
        if not document_id.startswith("report-") or document_id.removeprefix("report-") not in self.feeds:
            return _error(404, "NotFound", "The requested feed document was not found")
        url = f"https://{DOWNLOADS}/{document_id}?X-Amz-Signature=0badc0de"
        return httpx.Response(200, json={"feedDocumentId": document_id, "url": url, "compressionAlgorithm": "GZIP"})

    def _download(self, document_id: str) -> httpx.Response:
        feed = self.feeds[document_id.removeprefix("report-")]
        messages = feed.messages()
        issues: list[dict[str, Any]] = []
        if feed.ending == "FATAL_WITH_REPORT":
            issues.append({"code": "4000003", "severity": "ERROR", "message": "Amazon could not process the feed."})
        for message in messages:
            if message["sku"] in self.invalid:
                issue = {
                    "messageId": message["messageId"],
                    "sku": message["sku"],
                    "code": "90220",
                    "severity": "ERROR",
                    "message": "'[batteries_required]' is required but not supplied.",
                    "attributeName": "batteries_required",
                }
                issues.append(issue)
        invalid = len({i["messageId"] for i in issues if "messageId" in i})
        processed = len(messages) if feed.ending == "DONE" else invalid
        report = {
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": issues,
            "summary": {
                "errors": len(issues),
                "warnings": 0,
                "messagesProcessed": processed,
                "messagesAccepted": processed - invalid,
                "messagesInvalid": invalid,
            },
        }
        return httpx.Response(200, content=gzip.compress(json.dumps(report).encode()))


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message}]})
