"""The pricing batches the fake answers, from the requests' JSON to the replies' bytes.

getCompetitiveSummary: the simulator already writes each item's response in the model's shape (`sim.summary`);
here the batch is read, each request matched to the calling seller's row of that ASIN in that marketplace, and the
item responses joined in the order asked. An ASIN the seller has no row of is that item's 404, with the request's
ASIN and marketplace in its body (the model requires both), while the other items answer.

The request Structs are the fake's own reading of the model (productPricing_2022-05-01.json's
``CompetitiveSummaryBatchRequest``): every field the model requires is required here, so a request the real
adapter sends is accepted and one Amazon would refuse is a 400. The simulator may not import the adapter's wire
Structs (docs/architecture.md), and a reader written from the model alone also checks the adapter's writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from engine.marketplaces import MARKETPLACES
from sim.market import Market

__all__ = [
    "COMPETITIVE_SUMMARY",
    "CompetitiveSummaryBatchRequest",
    "CompetitiveSummaryRequest",
    "RowIndex",
    "batch_reply",
    "check_summary_request",
    "not_found_item",
]

COMPETITIVE_SUMMARY: Final = "getCompetitiveSummary"
SUMMARY_URI: Final = "/products/pricing/2022-05-01/items/competitiveSummary"


class CompetitiveSummaryRequest(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """One item of the batch: the model requires all five fields."""

    asin: str
    marketplace_id: str
    included_data: tuple[str, ...]
    method: str
    uri: str


class CompetitiveSummaryBatchRequest(msgspec.Struct, frozen=True, gc=False):
    requests: tuple[CompetitiveSummaryRequest, ...]


class _Error(msgspec.Struct, frozen=True, gc=False):
    code: str
    message: str


class _Status(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    status_code: int
    reason_phrase: str


class _ErrorBody(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    asin: str
    marketplace_id: str
    errors: tuple[_Error, ...]


class _ErrorItem(msgspec.Struct, frozen=True, gc=False):
    status: _Status
    body: _ErrorBody


_ENCODER: Final = msgspec.json.Encoder()


class RowIndex:
    """Which row of the market is a seller's offer of an ASIN in a marketplace (by Amazon's marketplace id).

    A seller with two rows of one ASIN in one marketplace (two SKUs) is answered from the first: the summary is the
    item's, not the SKU's."""

    def __init__(self, market: Market) -> None:
        self._rows: dict[tuple[int, str, str], int] = {}
        for row in market.catalog_rows():
            code = row.marketplace
            marketplace_id = MARKETPLACES[code].marketplace_id if code in MARKETPLACES else code
            self._rows.setdefault((row.seller, marketplace_id, row.asin), row.row)

    def row(self, seller: int, marketplace_id: str, asin: str) -> int | None:
        return self._rows.get((seller, marketplace_id, asin))


def check_summary_request(request: CompetitiveSummaryRequest) -> str | None:
    """What Amazon would refuse in one item (as a 400 of the whole batch), or None."""
    if request.method != "GET":
        return f"method {request.method!r}: the competitive summary is read with GET"
    if request.uri != SUMMARY_URI:
        return f"uri {request.uri!r}: expected {SUMMARY_URI}"
    if not request.included_data:
        return "includedData must list at least one kind of data"
    return None


def not_found_item(asin: str, marketplace_id: str) -> bytes:
    """One item's 404: the seller has no offer of this ASIN in this marketplace, as far as the simulator knows."""
    error = _Error("NOT_FOUND", f"No offer of {asin} in marketplace {marketplace_id} for this seller")
    return _ENCODER.encode(_ErrorItem(_Status(404, "Not Found"), _ErrorBody(asin, marketplace_id, (error,))))


def batch_reply(items: Sequence[bytes]) -> bytes:
    """``{"responses": [...]}`` from the items' JSON, in order."""
    return b'{"responses":[' + b",".join(items) + b"]}"
