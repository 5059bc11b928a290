"""A JSON_LISTINGS_FEED's processing report becomes one `SubmissionResult` per update sent, Amazon's issues kept
with the message they name; the Feeds API's calls around it are read and written in the model's shapes."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from adapters.spapi import (
    FINISHED,
    WireError,
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
from engine.model import OfferKey, OfferUpdate, SubmissionResult
from tests.adapters.spapi.replies import encode, example, payload

AT = 600.0
SKUS = ["My-SKU-A", "My-SKU-X", "My-SKU-Y", "My-SKU-B", "My-SKU-C"]  # messages 4 and 5 are the example's


def updates(skus: list[str] = SKUS) -> list[OfferUpdate]:
    """Update ids 1 to 5: the example report's messages 4 and 5 are the fourth and fifth updates'."""
    return [OfferUpdate(OfferKey("acme", "US", sku), 1 + n, "USD", 1000 + n, 500, 5000) for n, sku in enumerate(skus)]


def report(**changes: Any) -> bytes:
    reply = example("feed_report.json")
    for name, value in changes.items():
        if name == "processed":
            reply["summary"]["messagesProcessed"] = value
        else:
            reply[name] = value
    return encode(reply)


def test_messages_with_errors_are_invalid_with_their_issues_and_the_others_accepted() -> None:
    sent = updates()
    results = feed_results(payload("feed_report.json"), sent, at=AT, feed_id="1234567890")
    assert [r.status for r in results] == ["accepted", "accepted", "accepted", "invalid", "invalid"]
    assert results[0] == SubmissionResult(sent[0].key, 1, "accepted", AT, 1000, (), "1234567890")
    assert results[3].issues == (
        "ERROR 90220: '[batteries_required]' is required but not supplied.",
        "ERROR 90220: '[supplier_declared_dg_hz_regulation]' is required but not supplied.",
    )
    assert results[4].issues == (
        "ERROR 99022: The field '\"prices\"' for the attribute 'purchasable_offer.our_price' does not have enough"
        " values. The required minimum is '1' value(s). [purchasable_offer.our_price]",
    )


def test_after_a_fatal_end_only_messages_with_their_own_errors_are_settled() -> None:
    results = feed_results(payload("feed_report.json"), updates(), at=AT, feed_id="1234567890", fatal=True)
    assert [r.status for r in results] == ["failed", "failed", "failed", "invalid", "invalid"]


def test_a_report_that_processed_nothing_fails_every_message_with_the_feeds_issue() -> None:
    feed_issue = {"severity": "ERROR", "code": "100001", "message": "The feed is not valid JSON."}
    results = feed_results(report(processed=0, issues=[feed_issue]), updates(), at=AT, feed_id="F")
    assert {r.status for r in results} == {"failed"}
    assert {r.issues for r in results} == {("ERROR 100001: The feed is not valid JSON.",)}


def test_an_issue_naming_a_sku_but_no_message_goes_to_that_sku() -> None:
    issues = [
        {"sku": "My-SKU-X", "severity": "ERROR", "code": "8541", "message": "Conflicting price"},
        {"sku": "My-SKU-Y", "severity": "WARNING", "message": "Check the sale price"},
    ]
    results = feed_results(report(issues=issues), updates(), at=AT, feed_id="F")
    assert [r.status for r in results] == ["accepted", "invalid", "accepted", "accepted", "accepted"]
    assert results[1].issues == ("ERROR 8541: Conflicting price",)
    assert results[2].issues == ("WARNING: Check the sale price",)  # accepted, the warning kept


def test_a_report_read_for_some_of_its_messages_keeps_their_issues_and_no_others() -> None:
    """After a restart only the updates still waiting for a feed are read against its report (one of the others
    went again meanwhile, superseded): each gets its own message's issues, whatever its place in the feed."""
    fourth, fifth = updates()[3:]
    results = feed_results(payload("feed_report.json"), [fifth], at=AT, feed_id="1234567890")
    assert [(r.key, r.status) for r in results] == [(fifth.key, "invalid")]
    assert all("batteries_required" not in issue for issue in results[0].issues)
    assert feed_results(payload("feed_report.json"), [fourth], at=AT, feed_id="F")[0].status == "invalid"


def test_a_feed_that_went_nowhere_fails_every_update() -> None:
    results = feed_failed(updates()[:2], at=AT, feed_id="F", why="processing CANCELLED")
    assert [(r.status, r.issues, r.submission_id) for r in results] == [("failed", ("processing CANCELLED",), "F")] * 2


def test_a_report_that_is_not_one_raises_naming_it() -> None:
    with pytest.raises(WireError, match="processing report: Object missing required field `summary`"):
        feed_results(b'{"issues": []}', updates(), at=AT, feed_id="F")


# --- the Feeds API ---------------------------------------------------------------------------------------------------


def test_the_feeds_api_calls() -> None:
    calls = example("feeds_api.json")
    assert json.loads(create_feed_document_request()) == {"contentType": "application/json; charset=UTF-8"}
    upload = feed_upload(encode(calls["createFeedDocument"]))
    assert upload.feed_document_id == "3d4e42b5-1d6e-44e8-a89c-2abfca0625bb"
    assert upload.url.startswith("https://")
    assert json.loads(create_feed_request("doc-1", ["A1PA6795UKMFR9"])) == {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": ["A1PA6795UKMFR9"],
        "inputFeedDocumentId": "doc-1",
    }
    assert created_feed(encode(calls["createFeed"])) == "3485934"
    feed = feed_status(encode(calls["getFeed"]))
    assert (feed.feed_id, feed.processing_status, feed.result_feed_document_id) == ("FeedId1", "CANCELLED", None)
    assert feed.processing_status in FINISHED
    location = report_document(encode(calls["getFeedDocument"]))
    assert (location.feed_document_id, location.compression_algorithm) == ("0356cf79-b8b0-4226-b4b9-0ee058ea5760", None)
    with pytest.raises(WireError, match="createFeed: Object missing required field `feedId`"):
        created_feed(encode(calls["error"]))


def test_a_gzipped_report_is_unpacked() -> None:
    document = payload("feed_report.json")
    assert unpack(gzip.compress(document), "GZIP") == document
    assert unpack(document, None) == document
    with pytest.raises(ValueError, match="unknown compression 'ZSTD'"):
        unpack(document, "ZSTD")
