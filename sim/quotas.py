"""Amazon's rate limits: one token bucket per (seller, operation), as reference/spapi.md's table gives them.

The simulated marketplace charges every call it serves against the calling seller's bucket, in-process too, so
an engine that would be throttled by Amazon is throttled by the benchmark. Buckets are arrays over sellers: a
benchmark seller with 10,000 SKUs shares one bucket per operation, as a real seller does, while the "per-sku"
mode gives every row its own. Amazon's buckets are per seller and application, whatever the marketplace, so one
book may serve the markets of several marketplaces: seller ``i`` of each is then one account.

A bucket holds up to ``burst`` tokens, refills at ``rate`` tokens per second, and starts full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["OPERATIONS", "Operation", "QuotaBook", "QuotaExceeded"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One SP-API operation's limit: ``rate`` calls per second, ``burst`` at once, ``batch`` items per call."""

    rate: float
    burst: int
    batch: int = 1


OPERATIONS: Final[dict[str, Operation]] = {
    "getItemOffers": Operation(0.5, 1),
    "getListingOffers": Operation(1.0, 2),
    "getItemOffersBatch": Operation(0.1, 1, 20),
    "getListingOffersBatch": Operation(0.5, 1, 20),
    "getFeaturedOfferExpectedPriceBatch": Operation(0.033, 1, 40),
    "getCompetitiveSummary": Operation(0.033, 1, 20),
    "getListingsItem": Operation(5.0, 10),
    "putListingsItem": Operation(5.0, 10),
    "patchListingsItem": Operation(5.0, 5),
    "deleteListingsItem": Operation(5.0, 5),
    "createFeedDocument": Operation(0.5, 15),
    "createFeed": Operation(0.0083, 15, 25_000),
    "getFeed": Operation(2.0, 15),
    "getFeedDocument": Operation(0.0222, 10),
    "getOrders": Operation(0.0167, 20, 100),
    "getOrderItems": Operation(0.5, 30),
    "confirmShipment": Operation(2.0, 10),
    "getInventorySummaries": Operation(2.0, 2, 50),
    "createReport": Operation(0.0167, 15),
    "getReport": Operation(2.0, 15),
    "getReportDocument": Operation(0.0167, 15),
    "createSubscription": Operation(1.0, 5),
}


class QuotaExceeded(Exception):
    """A call was refused for quota (Amazon's HTTP 429 ``QuotaExceeded``).

    Amazon sends no Retry-After; ``retry_after`` is the simulator's exact wait, for tests and for an adapter
    that chooses to use it as a hint.
    """

    def __init__(self, operation: str, seller: int, retry_after: float) -> None:
        super().__init__(f"{operation} throttled for seller {seller}; a token in {retry_after:.2f}s")
        self.operation = operation
        self.seller = seller
        self.retry_after = retry_after


class QuotaBook:
    """Token buckets for ``n_sellers`` sellers × every operation in ``operations``."""

    def __init__(self, n_sellers: int, operations: dict[str, Operation] | None = None, *, start: float = 0.0) -> None:
        self._ops = dict(OPERATIONS if operations is None else operations)
        self._index = {name: i for i, name in enumerate(self._ops)}
        specs = list(self._ops.values())
        self._rate = np.array([op.rate for op in specs])
        self._burst = np.array([float(op.burst) for op in specs])
        self._tokens = np.tile(self._burst, (n_sellers, 1))
        self._last = np.full((n_sellers, len(specs)), start)

    @property
    def n_sellers(self) -> int:
        """How many seller accounts have buckets here (sellers 0 .. n_sellers - 1)."""
        return len(self._tokens)

    def operation(self, name: str) -> Operation:
        """The limit of an operation; a name Amazon does not have is an error, not a free call."""
        try:
            return self._ops[name]
        except KeyError:
            raise KeyError(f"unknown SP-API operation {name!r}") from None

    def _refill(self, seller: npt.ArrayLike, op: int, t: float) -> npt.NDArray[np.float64]:
        sellers = np.asarray(seller)
        elapsed = np.maximum(t - self._last[sellers, op], 0.0)
        tokens = np.minimum(self._burst[op], self._tokens[sellers, op] + elapsed * self._rate[op])
        self._tokens[sellers, op] = tokens
        self._last[sellers, op] = np.maximum(self._last[sellers, op], t)
        return np.asarray(tokens, np.float64)

    def _refill_one(self, seller: int, op: int, t: float) -> float:
        """`_refill` for one seller, in plain floats (the same arithmetic): every simulated call comes here."""
        last = float(self._last[seller, op])
        refilled = float(self._tokens[seller, op]) + max(t - last, 0.0) * float(self._rate[op])
        tokens = min(float(self._burst[op]), refilled)
        self._tokens[seller, op] = tokens
        self._last[seller, op] = max(last, t)
        return tokens

    def try_acquire(self, seller: int, operation: str, t: float, n: int = 1) -> bool:
        """Take ``n`` tokens at time ``t`` if the bucket has them; False (and nothing taken) otherwise."""
        self.operation(operation)
        op = self._index[operation]
        tokens = self._refill_one(seller, op, t)
        if tokens + 1e-9 < n:
            return False
        self._tokens[seller, op] = tokens - n
        return True

    def try_acquire_many(self, sellers: npt.ArrayLike, operation: str, t: float) -> npt.NDArray[np.bool_]:
        """One token for each listed seller (distinct sellers), vectorised; which of them got one."""
        self.operation(operation)
        op = self._index[operation]
        sellers_arr = np.asarray(sellers, np.int64)
        tokens = self._refill(sellers_arr, op, t)
        ok = tokens + 1e-9 >= 1.0
        self._tokens[sellers_arr[ok], op] = tokens[ok] - 1.0
        return ok

    def wait_time(self, seller: int, operation: str, t: float, n: int = 1) -> float:
        """Seconds from ``t`` until ``n`` tokens are there (0 when they are now)."""
        self.operation(operation)
        op = self._index[operation]
        tokens = self._refill_one(seller, op, t)
        if tokens + 1e-9 >= n:  # the same tolerance as `try_acquire`: 0.8 s × 5/s is 3.9999999999 tokens
            return 0.0
        return (n - tokens) / float(self._rate[op])

    def acquire(self, seller: int, operation: str, t: float, n: int = 1) -> None:
        """`try_acquire` or raise `QuotaExceeded` with the wait: the form the market's served calls use."""
        if not self.try_acquire(seller, operation, t, n):
            raise QuotaExceeded(operation, seller, self.wait_time(seller, operation, t, n))
