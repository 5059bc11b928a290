"""What the live view shows, as data: a `Board` made from a running daemon, rendered elsewhere.

`board` runs in the daemon every couple of seconds (and for every `repricer ctl top` refresh, sent over the
control socket as JSON), so it does bounded work: one status pass per marketplace (`MarketRuntime.status`) and one
more pass over the offer actors that reads a few attributes of each and keeps the few rows worth showing in
heaps of fixed size. At 100,000 offers both passes take about a tenth of a second on a quiet machine (the
package's docstring says how to measure it).

Prices are minor units of the offer's currency, never floats; ages are seconds on the daemon's clock, which
under ``run --sim`` is simulated time.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec

from engine.daemon.status import MarketStatus
from engine.marketplaces import by_code
from engine.model import OfferKey
from engine.pricing.policy import segment_winner

if TYPE_CHECKING:
    from engine.daemon import Daemon, MarketRuntime

__all__ = ["AtMin", "Board", "MarketBoard", "Move", "Phase", "board"]

ROWS = 8  # offers kept per list: more than a terminal shows beside the marketplaces and the legend

Phase = Literal["running", "stopping", "stopped"]
_Ranked = TypeVar("_Ranked", bound=tuple[Any, ...])


class MarketBoard(msgspec.Struct, frozen=True):
    """One marketplace of one seller: its status and how many of its offers sit at their min."""

    status: MarketStatus
    currency: str
    # Live offers whose listing price is at their min.
    at_min: int = 0
    # Live offers whose Buy Box another seller wins at a landed price below ours at our min: winning it would mean
    # selling under the min the seller set ("losing money"). At their min or not: the search parks such an offer
    # at its max until the market moves (`Reason.UNWINNABLE`).
    below_min: int = 0


class Move(msgspec.Struct, frozen=True):
    """An offer's latest price change the engine asked for: from ``was`` (live when it decided) to ``now``."""

    seller: str
    marketplace: str
    sku: str
    currency: str
    was: int | None
    now: int
    # The Buy Box winner's landed price the decision saw, less our shipping: the listing price of ours that would
    # match it, so it compares with ``was`` and ``now`` (shoppers and the Buy Box compare landed prices).
    buybox: int | None
    ours: bool  # ... and whether the winner was us
    reason: str  # `engine.model.Reason` value
    age_s: float  # since the decision, on the daemon's clock


class AtMin(msgspec.Struct, frozen=True):
    """A live offer at its min, or beaten below it (see `MarketBoard.below_min`)."""

    seller: str
    marketplace: str
    sku: str
    currency: str
    price: int  # our listing price, live
    min_price: int
    buybox: int | None  # the Buy Box winner's landed price less our shipping, as in `Move`
    ours: bool  # we hold the Buy Box
    below_min: bool
    age_s: float  # since the observation, on the daemon's clock


class Board(msgspec.Struct, frozen=True):
    """Everything a screen shows, at one moment; `repricer ctl top` receives it as JSON."""

    title: str
    phase: Phase
    uptime_s: float | None  # on the daemon's clock; None when the caller did not say when it started
    clock_rate: float  # daemon seconds per real second: 1 for real, ``--speed`` under ``run --sim``
    markets: tuple[MarketBoard, ...]
    moves: tuple[Move, ...] = ()  # newest first
    at_min: tuple[AtMin, ...] = ()  # beaten below min first (widest gap first), then at min


def board(
    daemon: Daemon,
    now: float,
    *,
    title: str | None = None,
    started_at: float | None = None,
    clock_rate: float = 1.0,
    rows: int = ROWS,
) -> Board:
    """The board of ``daemon`` at trio time ``now``, with at most ``rows`` offers in each list."""
    statuses = {(s.seller, s.marketplace): s for s in daemon.status()}
    markets: list[MarketBoard] = []
    # Heaps of the best ``rows`` candidates so far (smallest first); the offer's key breaks ties (each offer is in
    # each heap at most once), so the rows themselves are never compared.
    moves: list[tuple[float, OfferKey, Move]] = []
    floor: list[tuple[tuple[bool, float], OfferKey, AtMin]] = []
    for runtime in daemon.markets:
        status = statuses.get((runtime.seller, runtime.code))
        if status is None:
            continue
        at_min, below_min = _scan(runtime, now, rows, moves, floor)
        markets.append(MarketBoard(status, by_code(runtime.code).currency_code, at_min, below_min))
    if daemon.stop_report is not None:
        phase: Phase = "stopped"
    elif daemon.stop.is_set():
        phase = "stopping"
    else:
        phase = "running"
    if title is None:
        offers = sum(m.status.offers for m in markets)
        title = f"repricer: {len(daemon.sellers)} seller(s), {len(markets)} marketplace(s), {offers} offers"
    return Board(
        title=title,
        phase=phase,
        uptime_s=None if started_at is None else now - started_at,
        clock_rate=clock_rate,
        markets=tuple(markets),
        moves=tuple(move for _, _, move in sorted(moves, reverse=True)),
        at_min=tuple(row for _, _, row in sorted(floor, reverse=True)),
    )


def _scan(
    runtime: MarketRuntime,
    now: float,
    rows: int,
    moves: list[tuple[float, OfferKey, Move]],
    floor: list[tuple[tuple[bool, float], OfferKey, AtMin]],
) -> tuple[int, int]:
    """One pass over the runtime's actors: its counts at and below min; the newest moves and the offers at or
    below min go into the heaps. Most actors cost a handful of attribute reads: a trace is read further only when
    its newest entry is newer than the oldest move kept, and the Buy Box winner only for live offers not holding."""
    seller, code = runtime.seller, runtime.code
    currency = by_code(code).currency_code
    at_min = below_min = 0
    oldest_kept = moves[0][0] if len(moves) >= rows else float("-inf")
    for actor in runtime.actors.values():
        trace = actor.trace
        snapshot = actor.snapshot
        if trace and trace[0].at > oldest_kept:
            for decision in trace:
                if decision.target is not None:
                    if decision.at > oldest_kept:
                        seen = decision.inputs
                        shipping = 0 if snapshot is None or snapshot.our is None else snapshot.our.shipping
                        move = Move(
                            seller,
                            code,
                            decision.key.sku,
                            currency,
                            seen.our_price,
                            decision.target,
                            None if seen.winner_landed is None else seen.winner_landed - shipping,
                            seen.we_win,
                            decision.reason.value,
                            now - decision.at,
                        )
                        _keep(moves, (decision.at, actor.key, move), rows)
                        oldest_kept = moves[0][0] if len(moves) >= rows else oldest_kept
                    break
        if snapshot is None:
            continue
        our = snapshot.our
        if our is None or not our.live:
            continue
        min_price = actor.settings.bounds.min_price
        price = our.listing_price
        ours = our.is_buybox_winner
        winner = None if ours else segment_winner(snapshot.buybox, our)
        # Compared landed to landed: shipping is part of what the shopper (and the Buy Box) compares.
        beaten = winner is not None and winner.landed_price < min_price + our.shipping
        if price > min_price and not beaten:
            continue
        at_min += price <= min_price
        below_min += beaten
        gap = 0.0 if winner is None or not beaten else 1.0 - winner.landed_price / (min_price + our.shipping)
        row = AtMin(
            seller,
            code,
            actor.key.sku,
            currency,
            price,
            min_price,
            price if ours else None if winner is None else winner.landed_price - our.shipping,
            ours,
            beaten,
            now - snapshot.as_of,
        )
        _keep(floor, ((beaten, gap), actor.key, row), rows)
    return at_min, below_min


def _keep(heap: list[_Ranked], item: _Ranked, size: int) -> None:
    """Keep the ``size`` largest items in ``heap``."""
    if len(heap) < size:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)
