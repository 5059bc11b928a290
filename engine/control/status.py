"""`status`: every seller's marketplaces at a glance, with rates per real minute and the quota each spends."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import msgspec

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
        for operation, _, spent in _quota_spent(market):
            found[("quota", *place, operation)] = spent
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
    """One line per operation per set of pacers: a seller's marketplaces in one region share Amazon's buckets."""
    lines = []
    for seller in daemon.sellers:
        groups: dict[int, list[MarketRuntime]] = {}
        for market in seller.markets:
            groups.setdefault(id(market.pacers), []).append(market)
        for group in groups.values():
            for operation, unit, _ in _quota_spent(group[0]):
                pacer = group[0].pacers[operation]
                each = [rates.per_minute(now, current, ("quota", m.seller, m.code, operation)) for m in group]
                used = None if any(rate is None for rate in each) else sum(rate or 0.0 for rate in each)
                limit = pacer.rate * 60.0 * time_scale
                lines.append(
                    QuotaLine(
                        seller=seller.seller,
                        marketplaces=tuple(m.code for m in group),
                        operation=operation,
                        unit=unit,
                        used_per_min=used,
                        limit_per_min=limit,
                        burst=int(pacer.burst),
                        use=None if used is None or limit <= 0 else used / limit,
                    )
                )
    return lines


def _quota_spent(market: MarketRuntime) -> list[tuple[str, str, int]]:
    """(operation, unit, tokens spent so far) for each quota this marketplace spends, from its counters: calls
    answered, or items sent where a call costs a token per item. Read-backs are not counted anywhere yet."""
    intake = market.intake.counters
    spent = [("poll_offers", "calls", intake.polls)]
    if market.config.intake.foep:
        spent.append(("featured_offer_prices", "calls", intake.foep_calls))
    if market.config.intake.shares:
        spent.append(("featured_shares", "calls", intake.share_calls))
    spent.append(("submit", "items", market.batcher.counters.updates_sent))
    return spent
