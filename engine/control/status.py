"""`status`: every seller's marketplaces at a glance, with rates per real minute and the quota each spends."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import msgspec

from engine.actors.pacing import Pacers
from engine.control.rates import Rates
from engine.control.results import ControlCounters, MarketLine, QuotaLine, ServiceLine, StatusResult
from engine.control.views import definitions
from engine.daemon.daemon import Daemon
from engine.daemon.market import MarketRuntime
from engine.daemon.status import MarketStatus
from engine.marketplaces import by_code

__all__ = ["Survey", "counts", "status", "survey"]


def counts(daemon: Daemon, states: Mapping[int, MarketStatus] | None = None) -> dict[Hashable, int]:
    """The counters the rates follow: decisions and updates per marketplace, quota spent per operation. One pass
    over the offer actors (a few milliseconds at 100,000), or none where ``states`` (`MarketRuntime.status` by
    ``id`` of the market) already summed the decisions."""
    found: dict[Hashable, int] = {}
    for market in daemon.markets:
        place = (market.seller, market.code)
        state = None if states is None else states.get(id(market))
        found[("decisions", *place)] = (
            state.decisions if state is not None else sum(actor.decisions for actor in market.actors.values())
        )
        found[("updates", *place)] = market.batcher.counters.updates_sent
    for seller in daemon.sellers:
        for codes, pacers in _pacer_groups(seller.markets):
            for operation, pacer in pacers.made():
                found[("quota", seller.seller, codes, operation)] = int(pacer.spent)
    return found


class Survey(msgspec.Struct, frozen=True):
    """The part of a status that passes over every offer actor (a tenth of a second at 100,000 offers): made at
    most once a second and shared by every client (`engine.control.commands`), so no client can keep the daemon's
    loop busy asking for it."""

    at: float  # real time it was made
    markets: tuple[MarketLine, ...]
    quotas: tuple[QuotaLine, ...]


def survey(daemon: Daemon, rates: Rates, now: float, time_scale: float) -> Survey:
    """Every marketplace's line and every quota's, at real time ``now``: one pass over the actors for
    `MarketRuntime.status`, one more for the paused offers it does not count."""
    states = {id(market): market.status() for market in daemon.markets}
    current = counts(daemon, states)
    markets = []
    for market in daemon.markets:
        state = states[id(market)]
        place = (market.seller, market.code)
        markets.append(
            MarketLine(
                seller=market.seller,
                marketplace=market.code,
                currency=by_code(market.code).currency_code,
                offers=state.offers,
                live=state.live,
                holding=state.holding,
                share_of_views=state.share_of_views,
                converged=state.converged,
                paused=state.paused,
                paused_offers=sum(actor.paused for actor in market.actors.values()),
                quarantined=state.quarantined,
                decisions=state.decisions,
                decisions_per_min=rates.per_minute(now, current, ("decisions", *place)),
                updates_per_min=rates.per_minute(now, current, ("updates", *place)),
                queued=state.queued,
                awaiting=state.awaiting,
                sent=state.updates_sent,
                failed=state.failed,
                unapplied=state.unapplied,
                rejected=state.rejected,
                throttled=state.throttled,
                last_observation_age_s=state.last_observation_age_s,
                stopped=state.stopped,
            )
        )
    return Survey(now, tuple(markets), tuple(_quotas(daemon, rates, now, current, time_scale)))


def status(daemon: Daemon, surveyed: Survey, rates: Rates, time_scale: float, control: ControlCounters) -> StatusResult:
    """The status from ``surveyed`` (at most a second old) and what is cheap to read afresh: the switches, the
    services and the control socket's counters, so a pause shows at once."""
    switches = {(market.seller, market.code): market.switch.paused for market in daemon.markets}
    markets = tuple(
        msgspec.structs.replace(line, paused=switches.get((line.seller, line.marketplace), line.paused))
        for line in surveyed.markets
    )
    return StatusResult(
        kill_switch=daemon.switch.on,
        paused_sellers=tuple(s.seller for s in daemon.sellers if s.switch.on),
        markets=markets,
        quotas=surveyed.quotas,
        services=tuple(
            ServiceLine(name=s.name, running=s.running, restarts=s.restarts, last_error=s.last_error)
            for s in daemon.service_states
        ),
        control=msgspec.structs.replace(control, errors=dict(control.errors)),
        rate_window_s=rates.window_s,
        time_scale=time_scale,
        definitions=definitions(rates.window_s, MarketRuntime.settled_reasons()),
    )


def _quotas(
    daemon: Daemon, rates: Rates, now: float, current: dict[Hashable, int], time_scale: float
) -> list[QuotaLine]:
    """One line per operation per set of pacers: a seller's marketplaces in one region share Amazon's buckets, and
    the pacer counts every token taken from its bucket (calls, or items where a call costs one per item)."""
    lines = []
    for seller in daemon.sellers:
        for codes, pacers in _pacer_groups(seller.markets):
            for operation, pacer in pacers.made():
                used = rates.per_minute(now, current, ("quota", seller.seller, codes, operation))
                limit = pacer.rate * 60.0 * time_scale
                lines.append(
                    QuotaLine(
                        seller=seller.seller,
                        marketplaces=codes,
                        operation=operation,
                        unit=_UNITS.get(operation, "calls"),
                        used_per_min=used,
                        limit_per_min=limit,
                        burst=int(pacer.burst),
                        use=None if used is None or limit <= 0 else used / limit,
                    )
                )
    return lines


# Operations whose calls take a token per item (a batch of 10 updates costs 10); the others a token per call.
_UNITS = {"submit": "items", "read_back": "items"}


def _pacer_groups(markets: Sequence[MarketRuntime]) -> list[tuple[tuple[str, ...], Pacers]]:
    """A seller's marketplaces grouped by the pacers they share, each group with its marketplaces' codes."""
    groups: dict[int, tuple[list[str], Pacers]] = {}
    for market in markets:
        groups.setdefault(id(market.pacers), ([], market.pacers))[0].append(market.code)
    return [(tuple(codes), pacers) for codes, pacers in groups.values()]
