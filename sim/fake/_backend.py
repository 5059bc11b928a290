"""What every route of the fake shares: the markets and their index, the listings' attributes, the faults, the
counters, and how a call is taken and answered.

A call is taken when it reaches Amazon: it is charged to the calling seller's token bucket there and then
(`sim.api.MarketApi.charge`, which also holds the operation's batch limit), or refused with `QuotaExceeded` and
nothing done. It is answered ``latency_s`` later, as of that time: the route reads the markets then, so the answer
is the market as Amazon answered, as `sim.api.Reply` answers in-process. One seller account is seller ``i`` of
every market, with one quota book for all of them, so a call is charged once whichever marketplaces it names.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, NamedTuple

import msgspec
import numpy as np
import trio

from sim.api import MarketApi
from sim.fake._errors import bad_request
from sim.fake._faults import FaultDice
from sim.fake._index import PlaceIndex
from sim.fake._patches import ListingBook

__all__ = ["ACCEPTED_KEPT", "JSON", "AcceptedUpdate", "Answer", "Backend", "Call", "FakeStats"]

JSON: Final = b"application/json"
# The accepted updates `GET /_sim/updates` lists: the latest this many (a fake serving for days forgets the oldest).
ACCEPTED_KEPT: Final = 100_000


class FakeStats(msgspec.Struct, gc=False):
    """What the fake has seen, for ``GET /_sim/stats``.

    ``requests`` counts every request to an SP-API path (known or not; the token exchange, the uploads and the
    ``/_sim`` routes excluded); ``answered`` the calls answered 2xx per operation. ``throttled`` counts every 429
    sent, ``over_quota`` those sent because the seller's bucket was empty (by operation in
    ``over_quota_by_operation``); the rest were a fault's (a 429 storm). ``unauthorized`` counts the 403s,
    ``bad_requests`` the 400s and 413s, ``server_errors`` the 5xx (all of them injected), ``not_found`` the 404s
    (requests to no route, a SKU, feed or document the seller does not have). ``token_exchanges`` are the access
    tokens issued, ``token_refusals`` the exchanges refused.

    Updates (each offer a patchListingsItem call or a feed message changes): ``updates_accepted`` were accepted,
    ``updates_applied`` of those were handed to the simulator's submit path, where they go live after its latency
    (or, for its own small never-apply share, not at all); the rest were a never-apply fault's. ``updates_invalid``
    counts the submissions refused with issues. ``prices_outside_bounds`` counts the prices received outside their
    offer's catalog bounds, accepted or not. ``faults`` counts the requests each kind of fault hit;
    ``buybox_share`` is the mean Buy Box share (of the glance views) of the served sellers' offers when the stats
    were read, ``buybox_held`` the number of those offers featured for the most glance views (the offers that hold
    the Buy Box).

    Notifications: ``notifications_sent`` to a subscribed seller's queue, ``notifications_unsubscribed`` dropped as
    nobody subscribed to them; the queues' requests answered per operation (``queue_answered``; not counted in
    ``requests``), refused for their signature or key (``queue_refused_signatures``), messages received again after
    their visibility timeout (``queue_redelivered``) and deleted (``queue_deleted``).
    """

    requests: int = 0
    answered: dict[str, int] = msgspec.field(default_factory=dict)
    throttled: int = 0
    over_quota: int = 0
    over_quota_by_operation: dict[str, int] = msgspec.field(default_factory=dict)
    unauthorized: int = 0
    bad_requests: int = 0
    server_errors: int = 0
    not_found: int = 0
    token_exchanges: int = 0
    token_refusals: int = 0
    updates_accepted: int = 0
    updates_applied: int = 0
    updates_invalid: int = 0
    prices_outside_bounds: int = 0
    faults: dict[str, int] = msgspec.field(default_factory=dict)
    buybox_share: float = 0.0
    buybox_held: int = 0
    notifications_sent: int = 0
    notifications_unsubscribed: int = 0
    queue_answered: dict[str, int] = msgspec.field(default_factory=dict)
    queue_refused_signatures: int = 0
    queue_redelivered: int = 0
    queue_deleted: int = 0


class AcceptedUpdate(msgspec.Struct, frozen=True, gc=False):
    """One offer's update the fake accepted, for ``GET /_sim/updates``: what a client that lost the answer (it was
    killed with the call in flight) can be checked against. ``submission_id`` is the patch's, or the feed's id for
    a feed message; ``price`` is in minor units of ``currency``; ``at`` is Amazon's timestamp of the acceptance;
    ``applied`` is false when a never-apply fault kept it from the simulator (whose own latency model may still
    never apply a small share of what it is handed: `FakeStats.updates_applied` counts what it took)."""

    marketplace: str
    sku: str
    submission_id: str
    price: int
    currency: str
    at: str
    applied: bool


@dataclass(frozen=True, slots=True)
class Call:
    """One SP-API request that passed the route and the token: who asks what, and when it arrived."""

    operation: str
    seller: int
    received_at: float
    params: tuple[str, ...]  # the path's parameters, percent-decoded
    query: Mapping[str, Sequence[str]]
    body: bytes
    request_id: str
    origin: str  # scheme://host the request was sent to: where the fake's own URLs point


class Answer(NamedTuple):
    status: int
    body: bytes
    content_type: bytes = JSON


class Backend:
    """The markets behind the fake (one per marketplace, one quota book) and what the routes share."""

    def __init__(
        self,
        apis: Sequence[MarketApi],
        *,
        latency_s: float,
        dice: FaultDice,
        stats: FakeStats,
        wall_origin: datetime,
        time_scale: float,
    ) -> None:
        self.apis = tuple(apis)
        self.index = PlaceIndex(self.apis)
        self.listings = ListingBook()
        self.latency_s = latency_s
        self.dice = dice
        self.stats = stats
        self.wall_origin = wall_origin
        self.time_scale = time_scale
        self.accepted: deque[AcceptedUpdate] = deque(maxlen=ACCEPTED_KEPT)
        self._submissions = 0

    def take(self, call: Call, items: int = 1) -> None:
        """Charge the call to its seller's bucket at its arrival (`QuotaExceeded` when empty; then nothing is
        done); more items than the operation takes is a 400."""
        try:
            self.apis[0].charge(call.seller, call.operation, call.received_at, items)
        except ValueError as error:
            raise bad_request(str(error)) from None

    async def answered(self) -> float:
        """Wait out the API's latency; the time the answer is as of."""
        if self.latency_s:
            await trio.sleep(self.latency_s)
        return trio.current_time()

    def wall_time(self, at: float) -> str:
        """Trio time ``at`` as Amazon writes a timestamp (ISO 8601, UTC, milliseconds)."""
        when = self.wall_origin + timedelta(seconds=at)
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def submission_id(self) -> str:
        self._submissions += 1
        return f"sim-submission-{self._submissions:08d}"

    def buybox_share(self, sellers: Sequence[int]) -> float:
        """The mean share of the glance views featuring the offers of ``sellers``, over all their rows."""
        total, rows = 0.0, 0
        for api in self.apis:
            mine = np.isin(api.market.spec.seller, np.asarray(sellers, np.int64))
            total += float(api.market.our_share[mine].sum())
            rows += int(mine.sum())
        return total / rows if rows else 0.0

    def buybox_held(self, sellers: Sequence[int]) -> int:
        """How many offers of ``sellers`` are featured for the most glance views (slot 0 of a row is its seller's)."""
        held = 0
        for api in self.apis:
            mine = np.isin(api.market.spec.seller, np.asarray(sellers, np.int64))
            held += int((mine & (api.market.holder == 0)).sum())
        return held
