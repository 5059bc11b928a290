"""The simulated marketplace: numpy state over many rows and an event loop that advances it in batches.

One row is one (marketplace, ASIN) on which we have exactly one offer (slot 0) and up to K competitors (slots
1..K, padded). Everything that happens is an event on a row with an exact timestamp: a Buy Box recompute, one of
our submits going live, our listing going live, Amazon refreshing its FOEP estimate, a page view, a competitor's
check, a competitor's price going live. Each row keeps its next time per event channel (``_next_at[row, ch]``).

`advance_to` works in rounds: every row whose next event is due takes its single earliest event, the round's
events are handled channel by channel as vectorised batches, and the derived state (p*, notifications, records)
is brought up to date once for all rows touched. Rows never interact (quotas are charged by the caller's API
layer, not by events), so handling each row's events in time order is all that causality needs; and because no
event depends on how the caller stepped time, a run is the same whether advanced in 1 s steps or in one call.

Events that cannot change anything are skipped: a Buy Box recompute that kept the holder without a draw is a
fixed point, and so is the check of a competitor whose rule reads only the live offers (its target is live or on
its way). Until one of the row's offers changes, the next such event would find the same, so it sleeps; when the
row changes, it resumes its schedule where a market that skipped nothing would be, with the same draw counters
(`Market._wake`).
The cost of a round is mostly numpy's per-call overhead, not the number of rows in it, so the loop never goes
per event, and the few rows left with a second due event after a round may wait for the next one (see
`Market.advance_to`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from engine.model import OurListing
from sim.buybox import (
    NO_HOLDER,
    BuyBoxParams,
    Coefficients,
    draw_coefficients,
    draw_featured,
    incumbency_bonus,
    segment_bonus,
    static_bonus,
)
from sim.competitors import StrategyTable, check_interval, decide, reads_only_offers
from sim.latency import LatencyParams
from sim.notifications import (
    AOC,
    CHANGE_EXTERNAL,
    CHANGE_FEATURED,
    CHANGE_INTERNAL,
    HEALTH,
    FaultCounts,
    NotificationQueue,
)
from sim.orders import OrderBook, OrderParams
from sim.rng import Purpose, exponential, normal_from, stream_base, uniform_from
from sim.rotation import RotationTables
from sim.segments import (
    ALL_VIEWS,
    SegmentLayout,
    hidden_normals,
    layout,
    segment_weights,
    winners,
)
from sim.snapshot import FoepResult, FoepStatus, Notification, Snapshot
from sim.spec import CatalogRow, MarketSpec
from sim.summary import CompetitiveSummaryResponseBody
from sim.threshold import (
    PRICE_CEILING,
    SegmentedView,
    p_star_from_threshold,
    segmented_threshold,
)
from sim.trajectory import NOT_LIVE, Recorder, Trajectory
from sim.views import OfferViews

__all__ = ["DEFER_AT_MOST", "Channel", "Market"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Idx = npt.NDArray[np.intp]

_INT_MAX: Final = np.iinfo(np.int64).max
_QUEUE_START: Final = 4  # pending submits per row before the queue grows
_WAKE_CHUNK: Final = 64  # skipped events a waking schedule catches up on per vectorised step
DEFER_AT_MOST: Final = 64  # rows with an event still due that `advance_to` may leave for the next round
_FOEP_CODES: Final = (
    FoepStatus.VALID,
    FoepStatus.NO_COMPETING_OFFER,
    FoepStatus.OFFER_NOT_ELIGIBLE,
    FoepStatus.ASIN_NOT_ELIGIBLE,
)
_ROW_STREAMS: Final = (
    Purpose.RECOMPUTE,
    Purpose.ROTATION,
    Purpose.SUBMIT_LATENCY,
    Purpose.NEVER_APPLY,
    Purpose.FOEP_REFRESH,
    Purpose.FOEP_NOISE,
    Purpose.PAGE_VIEWS,
    Purpose.SALE,
    Purpose.LISTING_LAG,
)
_SLOT_STREAMS: Final = (Purpose.COMPETITOR_CADENCE, Purpose.COMPETITOR_LATENCY, Purpose.COMPETITOR_PRICE)


class Channel(enum.IntEnum):
    """Event channels of a row. Competitor ``j`` (1..K) checks on ``COMPETITOR + j - 1`` and its price goes
    live on ``COMPETITOR + K + j - 1``."""

    RECOMPUTE = 0
    OUR_LIVE = 1
    OUR_LISTING = 2
    FOEP = 3
    VIEW = 4
    COMPETITOR = 5


# The channels as plain ints for the event loop: an enum member lookup costs a Python call, and rounds are hot.
_RECOMPUTE, _OUR_LIVE, _OUR_LISTING, _FOEP, _VIEW, _COMPETITOR = (int(ch) for ch in Channel)
_N_CHANNELS: Final = len(Channel)
_FIRST: Final = np.zeros(1, np.intp)  # the positions of a one-row round (read-only: shared by every round)
_FIRST.flags.writeable = False


@dataclass(slots=True)
class _Flags:
    """What changed on each row of a round (indexed like the round's rows)."""

    our: B  # our buyable offer changed (price, listing, stock status)
    our_available: B  # our offer became buyable or stopped being buyable
    comp: B  # a competitor's live offer changed
    holder: B  # the featured offer changed

    @classmethod
    def empty(cls, n: int) -> _Flags:
        return cls(*np.zeros((4, n), np.bool_))


class Market:
    """A simulated marketplace of ``spec.n_rows`` rows, advanced by the caller's clock.

    Arrays named without an underscore (``price``, ``holder``, ``our_share``, ``p_star``, ...) are the live
    state, public for reading; change the market only through its methods. Every method that takes a time first
    advances the market to it, and time never goes backwards.
    """

    def __init__(
        self,
        spec: MarketSpec,
        *,
        seed: int | None = None,
        latency: LatencyParams | None = None,
        buybox: BuyBoxParams | None = None,
        orders: OrderParams | None = None,
        notifications: bool = True,
        start_at: float = 0.0,
        skip_idle_events: bool = True,
        track_threshold: bool = True,
    ) -> None:
        """``seed`` gives every row that seed; without it each row keeps the spec's (`MarketSpec.seed`).
        ``track_threshold=False`` keeps no p* (recorded as unwinnable) and no FOEP: for the oracle's
        constant-price replicas, which read only prices and shares; nothing else in the run changes."""
        spec = spec if seed is None else spec.with_seed(seed)
        self.spec = spec
        self.skip_idle_events = skip_idle_events
        self.track_threshold = track_threshold
        self._seeds = spec.seed
        self.latency = latency or LatencyParams()
        params = buybox or BuyBoxParams()
        self._buybox = params
        self._layout = layout(params)
        self._prime_segment = self._layout.prime
        self._coefficients = {s: draw_coefficients(s, params) for s in spec.seeds}
        self.tau, self.kappa = params.tau, params.kappa
        self.tick = spec.tick
        self.now = start_at
        self.start_at = start_at
        self._events = 0
        self._init_offers(spec)
        self._init_streams(spec)
        self._init_schedule(spec)
        self.notifications_enabled = notifications
        self._queue = NotificationQueue(self._seeds, spec.stream_key, self.latency)
        self._orders = OrderBook(
            seed=self._seeds,
            stream_key=spec.stream_key,
            handling_days=spec.our_handling_days,
            sku=spec.sku,
            asin=spec.asin,
            marketplace=spec.marketplace,
            currency=spec.currency,
            params=orders or OrderParams(),
        )
        self._recorder = Recorder(
            start=start_at,
            min_price=spec.min_price,
            max_price=spec.max_price,
            unit_cost=spec.unit_cost,
            views_per_s=spec.views_per_s,
        )
        self._row_of_sku = {sku: i for i, sku in enumerate(spec.sku)}
        self._handlers: dict[int, Callable[[Idx, F64, Idx, _Flags], None]] = {
            Channel.RECOMPUTE: self._recompute,
            Channel.OUR_LIVE: self._our_live,
            Channel.OUR_LISTING: self._our_listing,
            Channel.VIEW: self._view,
        }
        self._views = OfferViews(
            seed=self._seeds,
            seller=spec.seller,
            stream_key=spec.stream_key,
            ref_price=spec.ref_price,
            cap_landed=self.cap_landed,
            fba=self.fba,
            amz=self.amz,
            feedback=self.feedback,
            feedback_count=self.feedback_count,
            handling_days=self.handling_days,
            asin=spec.asin,
            marketplace=spec.marketplace,
            currency=spec.currency,
            membership=self._layout.membership,
        )
        self._start()

    # --- construction -------------------------------------------------------------------------------------------

    def _init_offers(self, spec: MarketSpec) -> None:
        comp = spec.competitors
        self.n_rows, self.k = spec.n_rows, comp.k

        def with_ours(ours: npt.ArrayLike, theirs: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return np.concatenate([np.asarray(ours)[:, None].astype(theirs.dtype), theirs], axis=1)

        self._price: I64 = with_ours(spec.start_price, comp.price).astype(np.int64)
        self.ship: I64 = with_ours(spec.our_ship, comp.ship).astype(np.int64)
        self.fba: B = with_ours(spec.our_fba, comp.fba).astype(np.bool_)
        self.amz: B = with_ours(np.zeros(self.n_rows, np.bool_), comp.amz).astype(np.bool_)
        self.feedback: F64 = with_ours(spec.our_feedback, comp.feedback).astype(np.float64)
        self.feedback_count: I64 = with_ours(spec.our_feedback_count, comp.feedback_count).astype(np.int64)
        self.handling_days: I64 = with_ours(spec.our_handling_days, comp.handling_days).astype(np.int64)
        self._listed: B = with_ours(spec.our_live_at <= 0, comp.active).astype(np.bool_)
        self._in_stock: B = with_ours(spec.our_stock > 0, comp.in_stock & comp.active).astype(np.bool_)
        self.healthy: B = np.ones_like(self._listed)
        self._available: B = self._listed & self._in_stock & self.healthy
        self._our_stock: I64 = spec.our_stock.astype(np.int64).copy()
        self._sold: I64 = np.zeros(self.n_rows, np.int64)  # units sold per row so far (a submitted quantity's base)
        # Each row is scored by its own seed's coefficients (one set in a scenario's market).
        self.static_bonus: F64 = np.zeros(self.fba.shape)
        self._incumbency: F64 = np.zeros(self.fba.shape)
        for seed, coef in self._coefficients.items():
            rows = self._seeds == seed
            bonus = static_bonus(coef, self.fba[rows], self.amz[rows], self.feedback[rows], self.handling_days[rows])
            self.static_bonus[rows] = bonus
            self._incumbency[rows] = incumbency_bonus(coef, self.amz[rows])
        # Each item's traffic segments, and every offer's score terms in each (the hidden ones included).
        segments = self._layout.n_segments
        self.segment_weight: I64 = segment_weights(self._seeds, spec.stream_key, self._buybox)
        quality, regional = hidden_normals(self._seeds, spec.stream_key, self.amz, segments)
        prime = self.fba | self.amz
        self.segment_bonus: F64 = np.zeros((self.n_rows, segments, self.fba.shape[1]))
        for seed, coef in self._coefficients.items():
            rows = self._seeds == seed
            self.segment_bonus[rows] = segment_bonus(
                coef, self.static_bonus[rows], prime[rows], quality[rows], regional[rows], self._layout.prime
            )
        has_ref = spec.ref_price > 0
        capped = np.floor(self.kappa * np.where(has_ref, spec.ref_price, 0)).astype(np.int64)
        self.cap_landed: I64 = np.where(has_ref, capped, _INT_MAX)
        self._segment_holder: I64 = np.full((self.n_rows, segments), NO_HOLDER, np.int64)
        self._holder: I64 = np.full(self.n_rows, NO_HOLDER, np.int64)  # featured for the most glance views
        self._membership_winner: I64 = np.full((self.n_rows, 2), NO_HOLDER, np.int64)  # Prime's, non-Prime's
        self._segment_share: F64 = np.zeros((self.n_rows, segments))  # our expected share in each segment
        self._rotation = RotationTables(self.segment_bonus, self._incumbency, self.tau)
        self._our_share: F64 = np.zeros(self.n_rows)
        self._scored_price: I64 = self._price.copy()  # the listing prices of the last recompute
        self._threshold: I64 = np.full(self.n_rows, -1, np.int64)
        self._p_star: I64 = np.full(self.n_rows, -1, np.int64)
        self._our_disqualified: B = np.zeros(self.n_rows, np.bool_)
        self._rec: tuple[I64, I64, F64, B] = (
            np.full(self.n_rows, -2, np.int64),
            np.full(self.n_rows, -2, np.int64),
            np.full(self.n_rows, -1.0),
            np.zeros(self.n_rows, np.bool_),
        )

    def _init_streams(self, spec: MarketSpec) -> None:
        key = spec.stream_key
        self._row_streams = {p: stream_base(self._seeds, key, p) for p in _ROW_STREAMS}
        # Each segment draws its own rotation (segment 0's stream is the row's rotation stream).
        segment = np.arange(self._layout.n_segments)[None, :]
        self._segment_rotation = stream_base(self._seeds[:, None], key[:, None], Purpose.ROTATION, segment)
        slots = np.arange(1, self.k + 1)[None, :]
        self._slot_streams = {p: stream_base(self._seeds[:, None], key[:, None], p, slots) for p in _SLOT_STREAMS}
        n, k = self.n_rows, self.k
        self._recomputes = np.zeros(n, np.int64)
        # Events that would find nothing to do until one of the row's offers changes sleep instead: a recompute
        # that changed nothing and drew nothing, and the check of a competitor whose rule reads only the live
        # offers. These hold when each such event was next due (inf = awake): column 0 the recompute, 1..K the
        # competitors' checks.
        self._idle_from = np.full((n, 1 + k), np.inf)
        self._submits = np.zeros(n, np.int64)
        self._live_seq = np.zeros(n, np.int64)
        self._view_count = np.zeros(n, np.int64)
        self._foep_refreshes = np.zeros(n, np.int64)
        self._checks = np.zeros((n, k), np.int64)
        self._comp_submits = np.zeros((n, k), np.int64)
        self._comp_pending = np.full((n, k), -1, np.int64)
        self._strategies = StrategyTable(spec.competitors)
        self._reads_only_offers: B = reads_only_offers(spec.competitors.kind, spec.competitors.period_s)

    def _init_schedule(self, spec: MarketSpec) -> None:
        n, k = self.n_rows, self.k
        self._next_at = np.full((n, Channel.COMPETITOR + 2 * k), np.inf)
        self._pend_at = np.full((n, _QUEUE_START), np.inf)
        self._pend_price = np.zeros((n, _QUEUE_START), np.int64)
        self._pend_seq = np.zeros((n, _QUEUE_START), np.int64)
        self._pend_qty = np.full((n, _QUEUE_START), -1, np.int64)
        self._pend_sold = np.zeros((n, _QUEUE_START), np.int64)  # units sold by the submit
        self._view_mean = np.where(spec.views_per_s > 0, 1.0 / np.maximum(spec.views_per_s, 1e-300), np.inf)
        self._foep_price: I64 = np.full(n, -1, np.int64)
        self._foep_status = np.full(n, _FOEP_CODES.index(FoepStatus.ASIN_NOT_ELIGIBLE), np.int8)
        self._foep_as_of: F64 = np.full(n, self.start_at)
        self._foep_ours: B = np.zeros(n, np.bool_)
        # Amazon's estimate of an item is off by the same bias at every refresh (one draw per item), plus noise.
        bias_z = normal_from(stream_base(self._seeds, spec.stream_key, Purpose.FOEP_BIAS), np.zeros(n, np.int64))
        self._foep_bias: F64 = self.latency.foep_bias(bias_z)
        # The listings view (read-back): the price it shows, and the newer live price it will show from ``_at``.
        self._listing_price: I64 = self._price[:, 0].copy()
        self._listing_next: I64 = self._listing_price.copy()
        self._listing_next_at: F64 = np.full(n, np.inf)

    def _start(self) -> None:
        """The initial state: one recompute without an incumbent, first draws of every schedule, first records."""
        spec, t0 = self.spec, self.start_at
        rows = np.arange(self.n_rows)
        at = np.full(self.n_rows, t0)
        self._recompute(rows, at, rows, _Flags.empty(self.n_rows))
        self._next_at[:, Channel.OUR_LISTING] = np.where(spec.our_live_at > 0, t0 + spec.our_live_at, np.inf)
        self._next_at[:, Channel.VIEW] = t0 + exponential(
            self._view_mean, uniform_from(self._row_streams[Purpose.PAGE_VIEWS], 0)
        )
        u = uniform_from(self._slot_streams[Purpose.COMPETITOR_CADENCE], np.zeros((self.n_rows, self.k), np.int64))
        # The first check comes at a uniform phase of the cadence, so competitors do not all start together.
        first_check = check_interval(spec.competitors.kind, spec.competitors.cadence_s, np.full_like(u, 0.5)) * u
        self._next_at[:, Channel.COMPETITOR : Channel.COMPETITOR + self.k] = t0 + first_check
        self._update_thresholds(rows)
        self._our_disqualified[:] = self._price[:, 0] + self.ship[:, 0] > self.cap_landed
        foep_rows = np.flatnonzero(spec.foep_available)
        self._foep_refresh(foep_rows, at[foep_rows])
        self._row_next = self._next_at.min(axis=1)
        self._first_next = float(self._row_next.min()) if self.n_rows else np.inf
        self._record(rows, at, np.zeros(self.n_rows, np.bool_))

    @property
    def coef(self) -> Coefficients:
        """The Buy Box coefficients of a market of one seed."""
        if len(self._coefficients) != 1:
            raise ValueError(f"a market of {len(self._coefficients)} seeds has one set of coefficients per seed")
        return next(iter(self._coefficients.values()))

    # --- the live state, for reading (each read first settles events deferred by `advance_to`) -------------------

    @property
    def price(self) -> I64:
        """Live listing prices, shape ``(rows, 1 + K)``; slot 0 is ours."""
        self._settle()
        return self._price

    @property
    def listed(self) -> B:
        """Which offers are listed (ours may not be live yet)."""
        self._settle()
        return self._listed

    @property
    def in_stock(self) -> B:
        self._settle()
        return self._in_stock

    @property
    def available(self) -> B:
        """Which offers can be bought now: listed, in stock, account healthy."""
        self._settle()
        return self._available

    @property
    def our_stock(self) -> I64:
        self._settle()
        return self._our_stock

    @property
    def holder(self) -> I64:
        """The slot per row of the offer featured for the most glance views (0 = us, -1 = nobody)."""
        self._settle()
        return self._holder

    @property
    def our_share(self) -> F64:
        """Our expected share of each row's glance views as of its last recompute: each segment's weight times our
        share of it (page views buy from us in that proportion; reference/buybox.md's metrics use it). The
        competitive summary reports the lumpier realised share: the weight of the segments featuring us."""
        self._settle()
        return self._our_share

    @property
    def segment_holder(self) -> I64:
        """Each traffic segment's featured offer, shape ``(rows, segments)`` (`NO_HOLDER`: nobody)."""
        self._settle()
        return self._segment_holder

    @property
    def segments(self) -> SegmentLayout:
        """The traffic segments of every item (their weights per row: ``segment_weight``, basis points)."""
        return self._layout

    @property
    def threshold(self) -> I64:
        """Our unclamped winning threshold per row (what FOEP estimates); -1 when no price wins."""
        self._settle()
        return self._threshold

    @property
    def p_star(self) -> I64:
        """p* per row: the threshold within [min, max] on the tick grid; `UNWINNABLE` (-1) when none."""
        self._settle()
        return self._p_star

    @property
    def our_disqualified(self) -> B:
        """Whether our offer is above the reference-price cap (PRICING_HEALTH)."""
        self._settle()
        return self._our_disqualified

    @property
    def orders(self) -> OrderBook:
        """Every order so far (a read: deferred page views are handled first)."""
        self._settle()
        return self._orders

    @property
    def events(self) -> int:
        """Market events handled so far (a recompute skipped because it could not change anything is not one)."""
        self._settle()
        return self._events

    # --- the event loop -----------------------------------------------------------------------------------------

    def next_event_time(self) -> float:
        """The earliest pending market event (notifications not included; see `next_notification_time`)."""
        self._settle()
        return self._first_next

    def next_notification_time(self) -> float:
        """When the earliest notification already in flight is delivered."""
        self._settle()
        return self._queue.next_delivery

    def advance_to(self, t: float) -> None:
        """Bring the market to ``t``: every event due by then is handled, each row's in time order.

        Rounds run until at most `DEFER_AT_MOST` rows still have an event due (rows with two events in one
        step); those few wait for the next call's first round or for the next read of the state, whichever
        comes first. Every read (the methods below and the public arrays) settles them first, and each row's
        events keep their order and exact times, so nothing observable changes; a caller stepping by a second
        just does not pay a near-empty round every step.
        """
        if t < self.now:
            raise ValueError(f"time goes forward only: now {self.now}, asked for {t}")
        self.now = t
        while self._round(t, DEFER_AT_MOST):
            pass

    def _read_at(self, t: float | None) -> None:
        """Advance to ``t`` (when given) and settle, before anything is read or changed at once.

        The same rounds as `advance_to` then `_settle`, minus the deferral check that the settle would undo.
        """
        if t is not None:
            if t < self.now:
                raise ValueError(f"time goes forward only: now {self.now}, asked for {t}")
            self.now = t
        self._settle()

    def _settle(self) -> None:
        """Handle the events `advance_to` left for later (all due by ``now``)."""
        while self._round(self.now, 0):
            pass

    def _round(self, t: float, defer_at_most: int) -> bool:
        # Most calls (every read settles first) find nothing due: answer those without touching the arrays.
        if self._first_next > t:
            return False
        due = np.flatnonzero(self._row_next <= t)
        if due.size <= defer_at_most:
            return False
        times = self._next_at[due]
        channel = times.argmin(axis=1)
        flags = _Flags.empty(len(due))
        k = self.k
        if due.size == 1:
            # The usual round when the caller steps from event to event: one row, one channel, no grouping.
            at = times[0, channel]
            ch = int(channel[0])
            if ch == _FOEP:
                self._foep_refresh(due, at)
            elif ch < _COMPETITOR:
                self._handlers[ch](due, at, _FIRST, flags)
            elif ch < _COMPETITOR + k:
                self._competitor_check(due, channel - (_COMPETITOR - 1), at)
            else:
                self._competitor_live(due, channel - (_COMPETITOR - 1 + k), at, _FIRST, flags)
            self._finish(due, at, flags)
            self._row_next[due] = self._next_at[due].min(axis=1)
            self._first_next = float(self._row_next.min())
            self._events += 1
            return True
        at = times[np.arange(len(due)), channel]
        present = np.flatnonzero(np.bincount(channel, minlength=_N_CHANNELS))
        for ch in present[present < _COMPETITOR].tolist():
            pos = np.flatnonzero(channel == ch)
            if ch == _FOEP:
                self._foep_refresh(due[pos], at[pos])
            else:
                self._handlers[ch](due[pos], at[pos], pos, flags)
        if present[-1] >= _COMPETITOR:
            slot = channel - (_COMPETITOR - 1)
            pos = np.flatnonzero((slot >= 1) & (slot <= k))
            if pos.size:
                self._competitor_check(due[pos], slot[pos], at[pos])
            pos = np.flatnonzero(slot > k)
            if pos.size:
                self._competitor_live(due[pos], slot[pos] - k, at[pos], pos, flags)
        self._finish(due, at, flags)
        self._row_next[due] = self._next_at[due].min(axis=1)
        self._first_next = float(self._row_next.min())
        self._events += len(due)
        return True

    # --- event handlers (rows are distinct within a call) --------------------------------------------------------

    def _recompute(self, rows: Idx, at: F64, pos: Idx, flags: _Flags) -> None:
        """Amazon re-scores the live offers and picks the featured offer of every traffic segment, each with its
        own scores and incumbent (`sim.buybox.choose_featured` on one (row, segment) pair a line; worked out ahead
        of the draw by `sim.rotation.RotationTables`). Our expected share (τ > 0) is the rotation's long-run one at
        the prices scored (`sim.threshold.stationary_share`): what no draw moves, the same p* is taken with, so a
        price at or under p* holds at least half the views."""
        segments = self._layout.n_segments
        landed = self._price[rows] + self.ship[rows]
        eligible = self._available[rows] & (landed <= self.cap_landed[rows, None])
        self._rotation.update(rows, landed, eligible)
        old = self._segment_holder[rows]
        choices = self._rotation.choices(rows, old, landed, eligible)
        count = self._recomputes[rows]
        # Every segment's rotation draw and the wait to the next recompute in one call (a draw is a pure function
        # of its stream and counter, so drawing those the choices do not need changes nothing).
        streams = np.concatenate([self._segment_rotation[rows].reshape(-1), self._row_streams[Purpose.RECOMPUTE][rows]])
        u = uniform_from(streams, np.concatenate([np.repeat(count, segments), count]))
        new = draw_featured(choices, lambda pos: u[pos]).reshape(len(rows), segments)
        moved = (new != old).any(axis=1)
        self._segment_holder[rows] = new
        self._segment_share[rows] = self._rotation.long_run(rows) if self.tau > 0 else choices.share.reshape(new.shape)
        self._settle_holders(rows, moved)
        self._scored_price[rows] = self._price[rows]
        flags.holder[pos] |= moved
        self._recomputes[rows] = count + 1
        due = at + self.latency.recompute_interval(u[len(rows) * segments :])
        if self.skip_idle_events:
            idle = ~moved & ~choices.needs_draw.reshape(len(rows), segments).any(axis=1)
            self._idle_from[rows, 0] = np.where(idle, due, np.inf)
            due = np.where(idle, np.inf, due)
        self._next_at[rows, _RECOMPUTE] = due

    def _settle_holders(self, rows: Idx, moved: B | None = None) -> None:
        """Our expected share (each segment's weight times our share of it), the item's one holder (featured for
        the most views, from the segments' featured offers) and its Prime and non-Prime winners: the winners only
        on the rows ``moved`` says had a segment's featured offer change, when given (the others' are the same
        function of the same featured offers)."""
        weight = self.segment_weight[rows]
        self._our_share[rows] = (weight * self._segment_share[rows]).sum(axis=1) / ALL_VIEWS
        if moved is not None:
            if not moved.any():
                return
            rows, weight = rows[moved], weight[moved]
        holder, prime, non_prime = winners(self._segment_holder[rows], weight, self._prime_segment, self.k + 1)
        self._holder[rows] = holder
        self._membership_winner[rows] = np.stack([prime, non_prime], axis=1)

    def _wake(self, rows: Idx, at: F64) -> None:
        """Rows whose offers changed at ``at`` take their sleeping events again: each the first one after ``at``
        on its own schedule, so times and draw counters are those of a market that never skipped one (an event
        at ``at`` itself comes before the change, as the event loop orders channels). The sleeping checks of all
        competitors are caught up together, one (row, competitor) pair a line."""
        sleeping = np.isfinite(self._idle_from[rows])
        if not sleeping.any():
            return
        pick = sleeping[:, 0]
        if pick.any():
            r = rows[pick]
            due, count = self._catch_up(self._idle_from[r, 0], at[pick], self._recomputes[r], self._recompute_waits(r))
            self._recomputes[r] = count
            self._idle_from[r, 0] = np.inf
            self._next_at[r, _RECOMPUTE] = due
            self._row_next[r] = np.minimum(self._row_next[r], due)
            self._first_next = min(self._first_next, float(due.min()))
        line, j = np.nonzero(sleeping[:, 1:])
        if line.size:
            r = rows[line]
            # A check's counter is its own draw of the competitor's price; the wait after it is the next draw.
            waits = self._check_waits(r, j)
            due, count = self._catch_up(self._idle_from[r, j + 1], at[line], self._checks[r, j], waits)
            self._checks[r, j] = count
            self._idle_from[r, j + 1] = np.inf
            self._next_at[r, _COMPETITOR + j] = due
            np.minimum.at(self._row_next, r, due)  # a row may have several
            self._first_next = min(self._first_next, float(due.min()))

    def _recompute_waits(self, rows: Idx) -> Callable[[Idx, I64], F64]:
        base = self._row_streams[Purpose.RECOMPUTE][rows]
        return lambda pos, counters: self.latency.recompute_interval(uniform_from(base[pos, None], counters))

    def _check_waits(self, rows: Idx, j: Idx) -> Callable[[Idx, I64], F64]:
        base = self._slot_streams[Purpose.COMPETITOR_CADENCE][rows, j]
        kind = self.spec.competitors.kind[rows, j]
        cadence = self.spec.competitors.cadence_s[rows, j]

        def waits(pos: Idx, counters: I64) -> F64:
            u = uniform_from(base[pos, None], counters + 1)
            return check_interval(kind[pos, None], cadence[pos, None], u)

        return waits

    @staticmethod
    def _catch_up(due: F64, at: F64, count: I64, waits: Callable[[Idx, I64], F64]) -> tuple[F64, I64]:
        """Walk sleeping schedules past ``at``: each event skipped at ``due`` counts one and waits ``waits(pos,
        counters)`` for the next, a chunk at a time, summed one after the other as the event loop would have."""
        due, count = due.copy(), count.copy()
        late = np.flatnonzero(due <= at)
        while late.size:
            counters = count[late, None] + np.arange(_WAKE_CHUNK)
            times = np.cumsum(np.concatenate([due[late, None], waits(late, counters)], axis=1), axis=1)
            after = times > at[late, None]
            found = after.any(axis=1)
            step = np.where(found, after.argmax(axis=1), _WAKE_CHUNK)
            due[late] = times[np.arange(len(late)), step]
            count[late] += step
            late = late[~found]
        return due, count

    def _our_live(self, rows: Idx, at: F64, pos: Idx, flags: _Flags) -> None:
        """One of our submits reaches Amazon's live listing; an older one than the live one is ignored."""
        col = self._pend_at[rows].argmin(axis=1)
        seq = self._pend_seq[rows, col]
        newer = seq > self._live_seq[rows]
        new_price = self._pend_price[rows, col]
        qty = self._pend_qty[rows, col]
        sold_since = self._sold[rows] - self._pend_sold[rows, col]
        changed = newer & (new_price != self._price[rows, 0])
        apply = rows[newer]
        self._price[apply, 0] = new_price[newer]
        self._live_seq[apply] = seq[newer]
        if changed.any():
            self._lag_listing(rows[changed], at[changed], new_price[changed], seq[changed])
        self._pend_at[rows, col] = np.inf
        self._next_at[rows, _OUR_LIVE] = self._pend_at[rows].min(axis=1)
        flags.our[pos] |= changed & self._available[rows, 0]
        with_qty = newer & (qty >= 0)
        if with_qty.any():
            stock = np.maximum(qty[with_qty] - sold_since[with_qty], 0)
            self._set_stock(rows[with_qty], stock, pos[with_qty], flags)

    def _lag_listing(self, rows: Idx, at: F64, price: I64, seq: I64) -> None:
        """A new live price reaches the listings view after its own lag. A newer price that goes live before the
        view showed the last one replaces it: the view then jumps straight to the newest (it never shows a price
        older than the one it shows)."""
        shown = self._listing_next_at[rows] <= at
        self._listing_price[rows[shown]] = self._listing_next[rows[shown]]
        lag = self.latency.listing_lag(normal_from(self._row_streams[Purpose.LISTING_LAG][rows], seq))
        self._listing_next[rows] = price
        self._listing_next_at[rows] = at + lag

    def _our_listing(self, rows: Idx, at: F64, pos: Idx, flags: _Flags) -> None:
        """Our offer, not live at the start, becomes live."""
        self._next_at[rows, Channel.OUR_LISTING] = np.inf
        self._set_listed(rows, np.ones(len(rows), np.bool_), pos, flags)

    def _view(self, rows: Idx, at: F64, pos: Idx, flags: _Flags) -> None:
        """A page view; it buys from us with probability conversion × our expected share."""
        count = self._view_count[rows]
        self._view_count[rows] = count + 1
        sale_u = uniform_from(self._row_streams[Purpose.SALE][rows], count)
        conversion = self._orders.params.conversion
        buys = self._available[rows, 0] & (sale_u < conversion * self._our_share[rows])
        if buys.any():
            buyers = rows[buys]
            two = uniform_from(self._row_streams[Purpose.SALE][buyers], count[buys], 1) < self._orders.params.two_units
            qty = np.minimum(np.where(two, 2, 1), self._our_stock[buyers])
            self._orders.create(
                buyers,
                at[buys],
                qty,
                self._price[buyers, 0],
                self.ship[buyers, 0],
                self.fba[buyers, 0],
                self.spec.seller[buyers],
            )
            self._sold[buyers] += qty
            self._set_stock(buyers, self._our_stock[buyers] - qty, pos[buys], flags)
        wait = exponential(self._view_mean[rows], uniform_from(self._row_streams[Purpose.PAGE_VIEWS][rows], count + 1))
        self._next_at[rows, _VIEW] = at + wait

    def _foep_refresh(self, rows: Idx, at: F64) -> None:
        """Amazon re-estimates the featured offer expected price from the threshold now, with its own error."""
        count = self._foep_refreshes[rows]
        self._foep_refreshes[rows] = count + 1
        thr = self._threshold[rows]
        noise = normal_from(self._row_streams[Purpose.FOEP_NOISE][rows], count)
        factor = self.latency.foep_factor(self._foep_bias[rows], noise)
        value = np.maximum(np.round(thr * factor / self.tick).astype(np.int64) * self.tick, self.tick)
        competing = self._available[rows, 1:].any(axis=1)
        # No FOEP while Amazon features no offer (buybox.md): there is no featured offer to expect a price of.
        featured = self._holder[rows] != NO_HOLDER
        status = np.where(~competing, 1, np.where(thr < 0, 2, np.where(featured, 0, 3))).astype(np.int8)
        self._foep_price[rows] = np.where(status == 0, value, -1)
        self._foep_status[rows] = status
        self._foep_as_of[rows] = at
        self._foep_ours[rows] = self._holder[rows] == 0
        wait = self.latency.foep_refresh_interval(uniform_from(self._row_streams[Purpose.FOEP_REFRESH][rows], count))
        self._next_at[rows, _FOEP] = at + wait

    def _competitor_check(self, rows: Idx, slot: Idx, at: F64) -> None:
        """A competitor looks at the live offers and, if its rule says so, submits a new price."""
        j = slot - 1
        count = self._checks[rows, j]
        self._checks[rows, j] = count + 1
        pairs = self._strategies.pairs(rows, slot)
        u = uniform_from(self._slot_streams[Purpose.COMPETITOR_PRICE][rows, j], count)
        target = decide(
            pairs, self._price[rows], self.ship[rows], self._available[rows], self._holder[rows], at, u, self.tick
        )
        live = self._price[rows, slot]
        pending = self._comp_pending[rows, j]
        send = (target != live) & (target != pending)
        cancel = (target == live) & (pending >= 0)
        self._competitor_submit(rows[send], j[send], target[send], at[send], pairs.latency_s[send])
        self._comp_pending[rows[cancel], j[cancel]] = -1
        self._next_at[rows[cancel], _COMPETITOR + self.k + j[cancel]] = np.inf
        u_next = uniform_from(self._slot_streams[Purpose.COMPETITOR_CADENCE][rows, j], count + 1)
        due = at + check_interval(pairs.kind, pairs.cadence_s, u_next)
        if self.skip_idle_events:
            # The same live offers give the same target, which is now live or on its way: nothing to do again.
            idle = self._reads_only_offers[rows, j]
            self._idle_from[rows, slot] = np.where(idle, due, np.inf)
            due = np.where(idle, np.inf, due)
        self._next_at[rows, _COMPETITOR + j] = due

    def _competitor_submit(self, rows: Idx, j: Idx, target: I64, at: F64, latency_s: F64) -> None:
        count = self._comp_submits[rows, j]
        self._comp_submits[rows, j] = count + 1
        z = normal_from(self._slot_streams[Purpose.COMPETITOR_LATENCY][rows, j], count)
        delay = self.latency.competitor_delay(latency_s, z)
        self._comp_pending[rows, j] = target
        self._next_at[rows, _COMPETITOR + self.k + j] = at + delay

    def _competitor_live(self, rows: Idx, slot: Idx, at: F64, pos: Idx, flags: _Flags) -> None:
        """A competitor's submitted price goes live."""
        j = slot - 1
        new = self._comp_pending[rows, j]
        flags.comp[pos] |= new != self._price[rows, slot]
        self._price[rows, slot] = new
        self._comp_pending[rows, j] = -1
        self._next_at[rows, _COMPETITOR + self.k + j] = np.inf

    # --- state changes shared by handlers and by the seller's calls ----------------------------------------------

    def _set_stock(self, rows: Idx, stock: I64, pos: Idx, flags: _Flags) -> None:
        self._our_stock[rows] = stock
        in_stock = stock > 0
        flipped = in_stock != self._in_stock[rows, 0]
        self._in_stock[rows, 0] = in_stock
        self._refresh_available(rows, pos, flipped, flags)

    def _set_listed(self, rows: Idx, listed: B, pos: Idx, flags: _Flags) -> None:
        flipped = listed != self._listed[rows, 0]
        self._listed[rows, 0] = listed
        self._refresh_available(rows, pos, flipped, flags)

    def _refresh_available(self, rows: Idx, pos: Idx, flipped: B, flags: _Flags) -> None:
        before = self._available[rows, 0]
        after = self._listed[rows, 0] & self._in_stock[rows, 0] & self.healthy[rows, 0]
        self._available[rows, 0] = after
        moved = flipped & (before != after)
        flags.our_available[pos] |= moved
        flags.our[pos] |= moved

    def _finish(self, rows: Idx, at: F64, flags: _Flags) -> None:
        """Bring derived state up to date for the rows a round touched: p*, health, notifications, records."""
        self._drop_unbuyable(rows, flags)
        # p* is the long-run share's at τ > 0, which the featured offers do not move; at τ = 0 the incumbent is part
        # of the argmax.
        moved = flags.comp | flags.our_available
        dirty = moved | flags.holder if self.tau <= 0 else moved
        if dirty.any():
            self._update_thresholds(rows[dirty])
        changed = moved | flags.holder | flags.our  # what a sleeping event may now react to (a matcher: the holder)
        if changed.any():  # most rounds (a recompute that kept every featured offer) change none of it
            self._wake(rows[changed], at[changed])
            if flags.our.any():
                self._check_health(rows[flags.our], at[flags.our])
            if self.notifications_enabled:
                self._notify_offer_changes(rows, at, flags)
        self._record(rows, at, flags.comp)

    def _drop_unbuyable(self, rows: Idx, flags: _Flags) -> None:
        """An offer that cannot be bought holds no Buy Box and no share, from the moment it stops being buyable:
        the segments it was featured in feature nobody until Amazon's next recompute."""
        unbuyable = ~self._available[rows, 0]
        if not unbuyable.any():
            return
        held = self._segment_holder[rows] == 0
        gone = unbuyable & (held.any(axis=1) | (self._segment_share[rows] > 0).any(axis=1))
        if not gone.any():
            return
        lost = rows[gone]
        self._segment_holder[lost] = np.where(held[gone], NO_HOLDER, self._segment_holder[lost])
        self._segment_share[lost] = 0.0
        self._settle_holders(lost)
        flags.holder |= gone & held.any(axis=1)

    def _update_thresholds(self, rows: Idx) -> None:
        if not self.track_threshold:
            return
        lo = np.full(len(rows), self.tick, np.int64)
        hi = np.full(len(rows), PRICE_CEILING, np.int64)
        thr = segmented_threshold(self._segmented_view(rows), self.tau, self.tick, lo, hi)
        self._threshold[rows] = thr
        self._p_star[rows] = p_star_from_threshold(thr, self.spec.min_price[rows], self.spec.max_price[rows], self.tick)

    def segmented_view(self, rows: npt.ArrayLike) -> SegmentedView:
        """What our threshold on ``rows`` depends on now (the oracle's input; see `sim.threshold`)."""
        self._settle()
        return self._segmented_view(np.atleast_1d(np.asarray(rows, np.intp)))

    def _segmented_view(self, r: Idx) -> SegmentedView:
        return SegmentedView(
            price=self._price[r],
            ship=self.ship[r],
            available=self._available[r],
            bonus=self.segment_bonus[r],
            incumbency=self._incumbency[r],
            holder=self._segment_holder[r],
            weight=self.segment_weight[r],
            cap_landed=self.cap_landed[r],
            our_can_win=self._in_stock[r, 0] & self.healthy[r, 0],
        )

    def _check_health(self, rows: Idx, at: F64) -> None:
        """PRICING_HEALTH when our offer goes above the reference-price cap; Amazon says nothing when it comes
        back under (buybox.md), so a seller learns that from the offers it polls."""
        disqualified = self._price[rows, 0] + self.ship[rows, 0] > self.cap_landed[rows]
        changed = disqualified != self._our_disqualified[rows]
        self._our_disqualified[rows] = disqualified
        send = changed & disqualified & self._listed[rows, 0]
        if self.notifications_enabled and send.any():
            r = rows[send]
            payload = self._payload(r, np.full(len(r), CHANGE_INTERNAL, np.int8))
            self._queue.push(HEALTH, r, at[send], payload)

    def _notify_offer_changes(self, rows: Idx, at: F64, flags: _Flags) -> None:
        send = self._available[rows, 0] & (flags.our | flags.comp | flags.holder)
        if not send.any():
            return
        change = np.where(
            flags.holder[send], CHANGE_FEATURED, np.where(flags.our[send], CHANGE_INTERNAL, CHANGE_EXTERNAL)
        ).astype(np.int8)
        self._queue.push(AOC, rows[send], at[send], self._payload(rows[send], change))

    def _payload(self, rows: Idx, change: npt.NDArray[np.int8]) -> dict[str, npt.NDArray[Any]]:
        return {
            "price": self._price[rows],
            "ship": self.ship[rows],
            "available": self._available[rows],
            "holder": self._holder[rows],
            "winners": self._winners(rows),
            "disqualified": self._our_disqualified[rows],
            "change": change,
        }

    def _winners(self, rows: Idx) -> I64:
        """The Prime and the non-Prime Buy Box winner of each row, shape ``(rows, 2)`` (`sim.segments`; a copy)."""
        both: I64 = self._membership_winner[rows]
        return both

    def _record(self, rows: Idx, at: F64, comp_move: B) -> None:
        price = np.where(self._available[rows, 0], self._price[rows, 0], NOT_LIVE)
        p_star = self._p_star[rows]
        share = self._our_share[rows]
        hold = self._holder[rows] == 0
        rec_price, rec_p_star, rec_share, rec_hold = self._rec
        diff = (
            (price != rec_price[rows])
            | (p_star != rec_p_star[rows])
            | (share != rec_share[rows])
            | (hold != rec_hold[rows])
        )
        if not diff.any():
            return
        r = rows[diff]
        self._recorder.record(at[diff], r, price[diff], p_star[diff], share[diff], hold[diff], comp_move[diff])
        rec_price[r], rec_p_star[r], rec_share[r], rec_hold[r] = price[diff], p_star[diff], share[diff], hold[diff]

    # --- what the seller does ------------------------------------------------------------------------------------

    def submit(self, rows: npt.ArrayLike, prices: npt.ArrayLike, t: float, quantity: npt.ArrayLike | None = None) -> B:
        """Submit new listing prices (and optionally quantities) for our offers at ``t``; which were accepted.

        A price that is not a positive multiple of the tick is rejected. An accepted submit goes live after
        the submit→live latency, unless it is one of the share that never applies; when it goes live it
        replaces the live price only if it is newer than the submit that set it. Quantity -1 means unchanged.

        A quantity is what the seller offered at ``t``: the units sold between the submit and going live come off
        it (never below 0), as Amazon takes its own orders off the quantity a listing was given, so a sold unit
        never comes back into stock.
        """
        self._read_at(t)  # every sale by ``t`` counted (none deferred) before the submits remember them
        row_arr = np.atleast_1d(np.asarray(rows, np.intp))
        price_arr = np.broadcast_to(np.asarray(prices, np.int64), row_arr.shape)
        qty_arr = np.broadcast_to(np.asarray(-1 if quantity is None else quantity, np.int64), row_arr.shape)
        if len(np.unique(row_arr)) < len(row_arr):
            each: B = np.concatenate(
                [self.submit(r, p, t, q) for r, p, q in zip(row_arr, price_arr, qty_arr, strict=True)]
            )
            return each
        accepted: B = (price_arr > 0) & (price_arr % self.tick == 0)
        r = row_arr[accepted]
        seq = self._submits[r] + 1
        self._submits[r] = seq
        applies = uniform_from(self._row_streams[Purpose.NEVER_APPLY][r], seq) >= self.latency.never_apply
        latency_stream = self._row_streams[Purpose.SUBMIT_LATENCY][r]
        delay = self.latency.submit_delay(normal_from(latency_stream, seq), uniform_from(latency_stream, seq, 1))
        self._enqueue(
            r[applies], t + delay[applies], price_arr[accepted][applies], seq[applies], qty_arr[accepted][applies]
        )
        return accepted

    def _enqueue(self, rows: Idx, live_at: F64, price: I64, seq: I64, qty: I64) -> None:
        """Queue submits to go live (rows distinct), each remembering the units sold so far on its row."""
        free = np.isinf(self._pend_at[rows])
        if not free.any(axis=1).all():
            self._grow_queue()
            free = np.isinf(self._pend_at[rows])
        col = free.argmax(axis=1)
        self._pend_at[rows, col] = live_at
        self._pend_price[rows, col] = price
        self._pend_seq[rows, col] = seq
        self._pend_qty[rows, col] = qty
        self._pend_sold[rows, col] = self._sold[rows]
        self._next_at[rows, _OUR_LIVE] = np.minimum(self._next_at[rows, _OUR_LIVE], live_at)
        self._row_next[rows] = np.minimum(self._row_next[rows], live_at)
        if rows.size:
            self._first_next = min(self._first_next, float(live_at.min()))

    def _grow_queue(self) -> None:
        def wider(a: npt.NDArray[Any], fill: float) -> npt.NDArray[Any]:
            return np.concatenate([a, np.full_like(a, fill)], axis=1)

        self._pend_at = wider(self._pend_at, np.inf)
        self._pend_price = wider(self._pend_price, 0)
        self._pend_seq = wider(self._pend_seq, 0)
        self._pend_qty = wider(self._pend_qty, -1)
        self._pend_sold = wider(self._pend_sold, 0)

    def set_listed(self, rows: npt.ArrayLike, listed: npt.ArrayLike, t: float) -> None:
        """Switch our offers live or not live at ``t`` (a listing activated or closed), effective at once."""
        self._read_at(t)
        row_arr = np.atleast_1d(np.asarray(rows, np.intp))
        flags = _Flags.empty(len(row_arr))
        pos = np.arange(len(row_arr))
        self._set_listed(row_arr, np.broadcast_to(np.asarray(listed, np.bool_), row_arr.shape), pos, flags)
        self._finish(row_arr, np.full(len(row_arr), t), flags)

    def set_stock(self, rows: npt.ArrayLike, quantity: npt.ArrayLike, t: float) -> None:
        """Set our stock at ``t`` (an FBA inbound received, a stock correction), effective at once."""
        self._read_at(t)
        row_arr = np.atleast_1d(np.asarray(rows, np.intp))
        flags = _Flags.empty(len(row_arr))
        pos = np.arange(len(row_arr))
        self._set_stock(row_arr, np.broadcast_to(np.asarray(quantity, np.int64), row_arr.shape).copy(), pos, flags)
        self._finish(row_arr, np.full(len(row_arr), t), flags)

    # --- what the seller sees ------------------------------------------------------------------------------------

    def snapshot(self, row: int, t: float | None = None) -> Snapshot:
        """The offers on ``row``'s item now (after advancing to ``t`` when given)."""
        self._read_at(t)
        row = int(row)
        return self._views.snapshot(
            row,
            self.now,
            self._price[row],
            self.ship[row],
            self._available[row],
            int(self._holder[row]),
            bool(self._our_disqualified[row]),
            self._winners(np.array([row]))[0],
        )

    def our_listing(self, row: int, t: float | None = None) -> OurListing:
        """Our offer as the listings API reads it back: the live price even when the offer is not buyable, as the
        listings view shows it, a lag behind the offers view (`LatencyParams.listing_lag`)."""
        self._read_at(t)
        if self._listing_next_at[row] <= self.now:
            self._listing_price[row] = self._listing_next[row]
            self._listing_next_at[row] = np.inf
        return OurListing(
            listing_price=int(self._listing_price[row]),
            shipping=int(self.ship[row, 0]),
            live=bool(self._available[row, 0]),
            prime=bool(self.fba[row, 0]),
            is_buybox_winner=bool(self._holder[row] == 0),
        )

    def foep(self, rows: npt.ArrayLike, t: float) -> list[FoepResult]:
        """Amazon's featured offer expected price for our offer on each row, as of its last refresh."""
        self._read_at(t)
        out = []
        for row in np.atleast_1d(np.asarray(rows, np.intp)).tolist():
            status = _FOEP_CODES[int(self._foep_status[row])]
            price = int(self._foep_price[row]) if status is FoepStatus.VALID else None
            as_of, ours = float(self._foep_as_of[row]), bool(self._foep_ours[row])
            out.append(FoepResult(row=row, price=price, status=status, as_of=as_of, ours_featured=ours))
        return out

    def competitive_summary(self, rows: npt.ArrayLike, t: float) -> list[CompetitiveSummaryResponseBody]:
        """getCompetitiveSummary's body for each row as of Amazon's last recompute: every featured offer, at the
        price it was featured at, with the segments it is featured in and their glance-view weights; an offer
        featured nowhere (ours included) is not listed (`sim.summary`)."""
        self._read_at(t)
        return [
            self._views.competitive_summary(
                row, self._segment_holder[row], self.segment_weight[row], self._scored_price[row], self.ship[row]
            )
            for row in np.atleast_1d(np.asarray(rows, np.intp)).tolist()
        ]

    def pop_notifications(self, t: float) -> list[Notification]:
        """The notifications delivered by ``t``, in delivery order (each payload is the state at its change)."""
        self._read_at(t)
        cols = self._queue.pop(t)
        return [] if cols is None else self._views.notifications(cols)

    @property
    def competitor_checks(self) -> I64:
        """How many times each competitor slot has checked the market so far, shape ``(rows, K)``."""
        self._settle()
        # Sleeping checks count too: wake them (harmless: a woken check that finds nothing to do sleeps again).
        rows = np.arange(self.n_rows)
        self._wake(rows, np.full(self.n_rows, self.now))
        return self._checks

    @property
    def notification_faults(self) -> FaultCounts:
        """Counts of generated, dropped, duplicated and reordered notifications so far."""
        self._settle()
        return self._queue.faults

    def seller_id(self, row: int, slot: int) -> str:
        """The merchant id of an offer: ours is our account's, Amazon retail's is `ids.AMAZON_SELLER_ID`."""
        return self._views.seller_id(row, slot)

    # --- catalog and the run's record ------------------------------------------------------------------------------

    def catalog(self, row: int) -> CatalogRow:
        """Our offer on ``row`` as the engine's catalog needs it."""
        return self.spec.catalog_row(row)

    def catalog_rows(self) -> list[CatalogRow]:
        return [self.spec.catalog_row(i) for i in range(self.n_rows)]

    def row_of(self, sku: str) -> int:
        """The row of one of our SKUs (KeyError for an unknown SKU)."""
        return self._row_of_sku[sku]

    def finish(self, end: float) -> Trajectory:
        """Advance to ``end`` and return the run's records."""
        self._read_at(end)
        return self._recorder.finish(end)
