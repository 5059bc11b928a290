"""The control commands, one handler each, over a running `Daemon`.

Every handler runs in the daemon's own trio loop between two of its checkpoints, so what it reads is consistent
and what it changes takes effect before any actor's next decision (a pause, new bounds, new channel settings).
Errors are `CommandError`s whose message names the SKU, marketplace or seller; a change the daemon refuses changes
nothing. Every change answers with what actually changed: ``changed`` is False when the thing already was so, and
whether a change was saved is said, not assumed.

Handlers that wait (the store, a fresh observation) do so under their own deadline, inside the server's
per-request one, so they can still answer with what happened rather than a bare timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from decimal import Decimal
from functools import partial
from typing import Any

import msgspec
import trio

from engine.actors.offer import OfferActor
from engine.catalog import CatalogRow
from engine.control.protocol import (
    Bounds,
    Code,
    History,
    OfferQuery,
    Pause,
    Release,
    Reload,
    Reprice,
    Request,
    Resume,
    Settings,
    Status,
    Top,
    Watch,
)
from engine.control.rates import Rates
from engine.control.results import (
    BoundsResult,
    CompetitorView,
    ControlCounters,
    DecisionView,
    HistoryResult,
    OfferResult,
    PriceView,
    ReleaseResult,
    ReloadResult,
    RepriceResult,
    SettingsResult,
    StatusResult,
    SwitchResult,
)
from engine.control.status import Survey, counts, status, survey
from engine.control.views import (
    changed_channel,
    channel_view,
    decision_view,
    finite,
    iso,
    search_state,
    winner,
)
from engine.daemon.daemon import Daemon
from engine.daemon.market import MarketRuntime
from engine.daemon.seller import SellerRuntime
from engine.marketplaces import by_code
from engine.model import Decision, Fees, MarginLevel, OfferBounds, OfferKey, Reason
from engine.money import MoneyError, format_minor, parse_minor
from engine.pricing.bounds import BoundsError, CostBasis, bounds_direct, bounds_from_margins

__all__ = ["CommandError", "Commands"]

# Where the waits of `reprice` look again for the decision (real seconds).
_LOOK_EVERY_S = 0.02
# How long (real seconds) one status survey or one board serves every client: each is a pass over every offer
# actor (a tenth of a second at 100,000), which pipelined requests, or `ctl top` refreshing fast, would otherwise
# repeat back to back and keep the daemon's loop from its actors.
_FRESH_S = 1.0


class CommandError(Exception):
    """A request the daemon answers with an error; nothing was changed."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Commands:
    """The handlers. ``time_scale``: daemon seconds per real second; ``wait_s``: the longest a handler waits on
    the store or the marketplace, in real seconds (the server's request deadline is longer); ``reload``: what
    SIGHUP does (the run that made the daemon knows its configuration file and store), given the longest it may
    wait on the store, in the daemon's seconds."""

    def __init__(
        self,
        daemon: Daemon,
        *,
        time_scale: float,
        wait_s: float,
        rates: Rates,
        counters: ControlCounters,
        boards: Callable[[], Any] | None = None,
        reload: Callable[[float], Awaitable[ReloadResult]] | None = None,
    ) -> None:
        self.daemon = daemon
        self.time_scale = time_scale
        self.wait_s = wait_s
        self.rates = rates
        self.counters = counters
        self.boards = boards
        self.reload = reload
        self.started_at: float | None = None  # when the daemon started, on its clock (for the board's uptime)
        self._currencies: dict[str, str] = {}
        self._survey: Survey | None = None
        self._board: tuple[float, Any] | None = None  # (real time made, the board)

    async def handle(self, request: Request) -> Any:
        """The result struct of ``request`` (`engine.control.results`); `CommandError` when refused."""
        match request:
            case Status():
                return self.status()
            case OfferQuery():
                return self.offer(request)
            case Pause():
                return self.switch(request, on=True)
            case Resume():
                return self.switch(request, on=False)
            case Bounds():
                return await self.bounds(request)
            case Reprice():
                return await self.reprice(request)
            case Release():
                return self.release(request)
            case Settings():
                return self.settings(request)
            case History():
                return await self.history(request)
            case Top():
                return self.top()
            case Reload():
                if self.reload is None:
                    raise CommandError(Code.INVALID, "this daemon cannot reload: it has no configuration to read")
                return await self.reload(self.wait_s * self.time_scale)
            case Watch():
                raise CommandError(Code.INTERNAL, "watch is served by the connection, not as a command")

    # --- status ----------------------------------------------------------------------------------------------

    def real_now(self) -> float:
        return trio.current_time() / self.time_scale

    def counts(self) -> dict[Hashable, int]:
        return counts(self.daemon)

    def status(self) -> StatusResult:
        """The status; its offer counts and rates at most `_FRESH_S` old, its switches and counters as they are."""
        now = self.real_now()
        surveyed = self._survey
        if surveyed is None or not 0 <= now - surveyed.at < _FRESH_S:
            surveyed = self._survey = survey(self.daemon, self.rates, now, self.time_scale)
        return status(self.daemon, surveyed, self.rates, self.time_scale, self.counters)

    def top(self) -> Any:
        """The live view's board (`engine.live.Board`), as the run that made this server would show it; at most
        `_FRESH_S` old."""
        now = self.real_now()
        if self._board is not None and 0 <= now - self._board[0] < _FRESH_S:
            return self._board[1]
        if self.boards is not None:
            made = self.boards()
        else:
            from engine.live.board import board

            made = board(self.daemon, trio.current_time(), started_at=self.started_at, clock_rate=self.time_scale)
        self._board = (now, made)
        return made

    # --- one offer -------------------------------------------------------------------------------------------

    def offer(self, request: OfferQuery) -> OfferResult:
        market, actor = self._offer(request.sku, request.marketplace, request.seller)
        currency = self._currency(market)
        settings = actor.settings
        snapshot = actor.snapshot
        our = None if snapshot is None else snapshot.our
        now = trio.current_time()

        def money(minor: int | None) -> str | None:
            return None if minor is None else format_minor(minor, currency)

        return OfferResult(
            seller=market.seller,
            marketplace=market.code,
            sku=settings.key.sku,
            currency=currency,
            asin=settings.asin,
            repricing=settings.repricing,
            condition=settings.condition.value,
            fulfilment=settings.fulfilment.value,
            min_price=format_minor(settings.bounds.min_price, currency),
            max_price=format_minor(settings.bounds.max_price, currency),
            sale_price=money(settings.sale_price),
            quantity=settings.quantity,
            lead_time_days=settings.lead_time_days,
            shipping_group=settings.shipping_group,
            paused=actor.paused,
            paused_by=self._paused_by(market, actor),
            quarantined=actor.quarantined,
            crashes=len(actor.crashes),
            decisions=actor.decisions,
            asked=money(actor.asked),
            live_price=None if our is None else format_minor(our.listing_price, currency),
            live=None if our is None else our.live,
            we_win=None if our is None else our.is_buybox_winner,
            observed_age_s=None if snapshot is None else finite(now - snapshot.as_of),
            buybox_state=None if snapshot is None else snapshot.buybox_state,
            buybox=() if snapshot is None else tuple(winner(b, currency) for b in snapshot.buybox),
            competitive_price_threshold=None if snapshot is None else money(snapshot.competitive_price_threshold),
            competitors=()
            if snapshot is None
            else tuple(
                CompetitorView(
                    seller_id=c.seller_id,
                    landed=format_minor(c.landed_price, currency),
                    listing=format_minor(c.listing_price, currency),
                    shipping=format_minor(c.shipping, currency),
                    fulfilment=c.fulfilment.value,
                    condition=c.condition.value,
                    prime=c.prime,
                    amazon=c.is_amazon,
                    buybox_winner=c.is_buybox_winner,
                    feedback_pct=c.feedback_pct,
                    feedback_count=c.feedback_count,
                    handling_max_hours=c.handling_max_hours,
                )
                for c in sorted(snapshot.competitors, key=lambda c: c.landed_price)
            ),
            foep=None if actor.foep is None else money(actor.foep.price),
            share=None if actor.share is None else actor.share.share,
            search=search_state(actor.state),
            recent=tuple(self.view(market, decision, now) for decision in actor.trace),
        )

    # --- pause and resume ------------------------------------------------------------------------------------

    def switch(self, request: Pause | Resume, *, on: bool) -> SwitchResult:
        """Turn one switch: the offer's, the marketplace's, the seller's or the daemon's (the kill switch). A
        switch already in that position is left alone (``changed`` False)."""
        daemon = self.daemon
        verb = "pause" if on else "resume"
        if request.all:
            if request.sku is not None or request.marketplace is not None or request.seller is not None:
                raise CommandError(Code.BAD_REQUEST, f"{verb}: all excludes sku, marketplace and seller")
            changed = _turn(daemon.switch.on, on, daemon.pause_all, daemon.resume_all)
            offers = sum(len(m.actors) for m in daemon.markets)
            return SwitchResult(
                target="all (the kill switch)", paused=on, changed=changed, offers=offers, still_paused_by=None
            )
        if request.sku is not None:
            market, actor = self._offer(request.sku, request.marketplace, request.seller)
            sku = actor.key.sku
            changed = _turn(actor.paused, on, partial(market.pause_offer, sku), partial(market.resume_offer, sku))
            return SwitchResult(
                target=f"offer {actor.key}",
                paused=actor.paused,
                changed=changed,
                offers=1,
                still_paused_by=None if on else self._paused_above(market, "offer"),
            )
        if request.marketplace is not None:
            market = self._market(request.seller, request.marketplace)
            changed = _turn(market.switch.on, on, market.pause, market.resume)
            return SwitchResult(
                target=f"marketplace {market.seller}/{market.code}",
                paused=market.switch.on,
                changed=changed,
                offers=len(market.actors),
                still_paused_by=None if on else self._paused_above(market, "marketplace"),
            )
        if request.seller is not None:
            seller = self._seller(request.seller)
            changed = _turn(seller.switch.on, on, seller.pause, seller.resume)
            return SwitchResult(
                target=f"seller {seller.seller}",
                paused=seller.switch.on,
                changed=changed,
                offers=sum(len(m.actors) for m in seller.markets),
                still_paused_by="kill switch" if not on and daemon.switch.on else None,
            )
        raise CommandError(Code.BAD_REQUEST, f"{verb}: say what to {verb}: a sku, a marketplace, a seller, or all")

    # --- bounds ------------------------------------------------------------------------------------------------

    async def bounds(self, request: Bounds) -> BoundsResult:
        """New bounds, applied and (in a persistent store) saved in the offer's catalog row. The store is waited
        on under one deadline for the whole request, ``wait_s`` from now, so a slow store still gets the designed
        answer ("applied; saving unconfirmed") before the server's request deadline. The offer is looked up again
        after each wait on the store: a reload may have removed it meanwhile."""
        deadline = trio.current_time() + self.wait_s * self.time_scale
        market, actor = self._offer(request.sku, request.marketplace, request.seller)
        key = actor.key
        currency = self._currency(market)
        where = f"bounds of SKU {key.sku!r} on {key.marketplace}"
        prices = request.min_price is not None or request.max_price is not None
        margins = request.min_margin is not None or request.max_margin is not None
        if prices == margins:
            which = "not both" if prices else "one of them"
            raise CommandError(
                Code.BAD_REQUEST,
                f"{where}: give prices (min_price, max_price) or margins (min_margin and max_margin), {which}",
            )
        if request.cost is not None and not margins:
            raise CommandError(Code.BAD_REQUEST, f"{where}: a cost only counts with a margin level")
        before = actor.settings.bounds
        row: CatalogRow | None = None
        level: MarginLevel | None = None
        cost = self._price(key, "cost", request.cost, currency)
        looked = False
        if request.min_margin is not None and request.max_margin is not None:
            row, looked = await self._catalog_row(market, key, "nothing changed", deadline), True
            market, actor = self._offer(key.sku, key.marketplace, key.seller)  # NOT_FOUND if it went meanwhile
            before = actor.settings.bounds
            if cost is None and row is not None:
                cost = row.cost
            if cost is None:
                raise CommandError(
                    Code.INVALID,
                    f"{where}: a margin level needs the offer's cost, and the catalog has none: give the cost",
                )
            basis = CostBasis.for_marketplace(
                by_code(key.marketplace),
                cost=cost,
                fees=(None if row is None else row.fees) or Fees(),
                fulfilment=actor.settings.fulfilment,
                vat_rate=None if row is None else row.vat_rate,
            )
            chosen = level = MarginLevel(request.min_margin, request.max_margin)
            new = _checked(lambda: bounds_from_margins(key, chosen, basis))
        elif margins:
            raise CommandError(Code.BAD_REQUEST, f"{where}: a margin level needs both min_margin and max_margin")
        else:
            low = self._price(key, "min price", request.min_price, currency)
            high = self._price(key, "max price", request.max_price, currency)
            low = before.min_price if low is None else low
            high = before.max_price if high is None else high
            new = _checked(lambda: bounds_direct(key, low, high, currency=currency))
        changed = new != before
        if changed:
            try:
                market.set_bounds(key.sku, new)
            except BoundsError as error:  # checked above already; the runtime has the last word
                raise CommandError(Code.INVALID, f"{error}; nothing changed") from None
        # Nothing below reads the runtime again: what was applied is said, whatever happens to the offer now.
        saved, note = await self._persist(market, key, (row, looked), new, level, cost, deadline)
        return BoundsResult(
            seller=key.seller,
            marketplace=key.marketplace,
            sku=key.sku,
            currency=currency,
            before_min=format_minor(before.min_price, currency),
            before_max=format_minor(before.max_price, currency),
            min_price=format_minor(new.min_price, currency),
            max_price=format_minor(new.max_price, currency),
            changed=changed,
            source="margins" if margins else "prices",
            saved=saved,
            note=("applied to the running daemon; " if changed else "the bounds were already these; ") + note,
        )

    async def _persist(
        self,
        market: MarketRuntime,
        key: OfferKey,
        found: tuple[CatalogRow | None, bool],
        bounds: OfferBounds,
        level: MarginLevel | None,
        cost: int | None,
        deadline: float,
    ) -> tuple[bool | None, str]:
        """New bounds into the offer's catalog row, where a restart takes its settings from (``found``: the row,
        and whether it was looked for already), by ``deadline`` on the daemon's clock."""
        if not market.store.persistent:
            return False, "not saved: the store keeps nothing past this process (in memory)"
        row, looked = found
        if not looked:
            try:
                row = await self._catalog_row(market, key, "not saved", deadline)
            except CommandError as error:
                return (None if error.code is Code.TIMEOUT else False), error.message
        if row is None:
            return False, "not saved: the catalog has no row for this offer"
        return await self._save_row(market, _with_bounds(row, bounds, level, cost), deadline)

    async def _save_row(self, market: MarketRuntime, row: CatalogRow, deadline: float) -> tuple[bool | None, str]:
        """A catalog row to the store: whether the store confirmed it (None: it did not answer in time, so it may
        or may not have it), and what to tell the operator."""
        with trio.move_on_at(deadline):
            try:
                await market.store.save_catalog([row])
            except Exception as error:
                return False, f"not saved: the store failed: {error}"
            return True, "saved in the catalog"
        return None, f"the store did not confirm the save within {self.wait_s:g}s: the catalog may or may not have it"

    async def _catalog_row(
        self, market: MarketRuntime, key: OfferKey, after: str, deadline: float
    ) -> CatalogRow | None:
        with trio.move_on_at(deadline):
            try:
                rows = await market.store.load_catalog(key.seller, key.marketplace)
            except Exception as error:
                raise CommandError(
                    Code.INTERNAL, f"reading the catalog of {key.seller}/{key.marketplace} failed: {error}"
                ) from None
            return next((row for row in rows if row.key == key), None)
        raise CommandError(
            Code.TIMEOUT,
            f"the store did not give the catalog of {key.seller}/{key.marketplace} within {self.wait_s:g}s; {after}",
        )

    @staticmethod
    def _price(key: OfferKey, name: str, value: Decimal | None, currency: str) -> int | None:
        if value is None:
            return None
        try:
            return parse_minor(value, currency)
        except MoneyError as error:
            raise CommandError(Code.INVALID, f"SKU {key.sku!r} on {key.marketplace}: {name}: {error}") from None

    # --- reprice and release -----------------------------------------------------------------------------------

    async def reprice(self, request: Reprice) -> RepriceResult:
        """Poll the offer now, ahead of the sweep, and wait (up to ``wait_s``, and the handlers' limit) for the
        decision on what the poll brings."""
        market, actor = self._offer(request.sku, request.marketplace, request.seller)
        key = actor.key
        if actor.quarantined:
            raise CommandError(Code.INVALID, f"offer {key} is quarantined: release it first")
        seen = actor.snapshot
        market.poll_now(key.sku)
        wait = min(request.wait_s, self.wait_s)
        observed = False
        with trio.move_on_after(wait * self.time_scale):
            while True:
                actor = market.actors.get(key) or actor
                if actor.snapshot is not seen and actor.last is not None and actor.snapshot is not None:
                    observed = True
                    break
                await trio.sleep(_LOOK_EVERY_S * self.time_scale)
        now = trio.current_time()
        if observed:
            note = "decided on a fresh observation"
            if actor.last is not None and actor.last.reason is Reason.PAUSED:
                note += " (paused: it holds)"
        else:
            note = (
                f"no fresh observation within {wait:g}s: the poll goes out when the seller's poll quota allows, and "
                "the offer decides when it arrives (repricer ctl watch shows it)"
            )
        return RepriceResult(
            seller=key.seller,
            marketplace=key.marketplace,
            sku=key.sku,
            observed=observed,
            decision=self.view(market, actor.last, now) if observed and actor.last is not None else None,
            note=note,
        )

    def release(self, request: Release) -> ReleaseResult:
        market, actor = self._offer(request.sku, request.marketplace, request.seller)
        if not actor.quarantined:
            raise CommandError(Code.INVALID, f"offer {actor.key} is not quarantined: nothing to release")
        market.respawn(actor.key.sku)
        fresh = market.offer(actor.key.sku)
        return ReleaseResult(
            seller=actor.key.seller,
            marketplace=actor.key.marketplace,
            sku=actor.key.sku,
            paused=fresh.paused,
            note="released: its search starts afresh, on what it last saw"
            + (" (still paused)" if fresh.paused else ""),
        )

    # --- channel settings ------------------------------------------------------------------------------------

    def settings(self, request: Settings) -> SettingsResult:
        market = self._market(request.seller, request.marketplace)
        before = channel_view(market.channel)
        if request.change is None:
            return SettingsResult(
                seller=market.seller, marketplace=market.code, settings=before, changed={}, note="unchanged"
            )
        try:
            channel = changed_channel(market.channel, request.change, f"{market.seller}/{market.code}")
        except ValueError as error:
            raise CommandError(Code.INVALID, str(error)) from None
        after = channel_view(channel)
        changed = {name: before[name] for name in after if after[name] != before[name]}
        if changed:
            market.set_channel(channel)
        own = len(market.overrides)
        keep = f", except the {own} with settings of their own, which keep them" if own else ""
        note = (
            f"applied to the running daemon, and every offer there decides again{keep} (channel settings are not "
            "stored: a restart goes back to the configured ones)"
            if changed
            else "the settings were already these: nothing changed"
        )
        return SettingsResult(seller=market.seller, marketplace=market.code, settings=after, changed=changed, note=note)

    # --- watch and history -----------------------------------------------------------------------------------

    def watch_filter(self, request: Watch) -> tuple[str, Callable[[Decision], bool]]:
        """What a watch follows, in words, and the test a decision must pass; NOT_FOUND for a seller, marketplace
        or SKU the daemon does not have."""
        markets = self._markets(request.seller, request.marketplace)
        places = {(m.seller, m.code) for m in markets}
        sku = request.sku
        if sku is not None and not any(OfferKey(m.seller, m.code, sku) in m.actors for m in markets):
            raise CommandError(Code.NOT_FOUND, f"no offer {sku!r}{_where(request.marketplace, request.seller)}")
        every = len(places) == len(self.daemon.markets)
        words = " on ".join(
            part
            for part in (
                f"SKU {sku!r}" if sku is not None else "every offer",
                None if every else ", ".join(f"{s}/{c}" for s, c in sorted(places)),
            )
            if part
        )

        def wanted(decision: Decision) -> bool:
            key = decision.key
            return (sku is None or key.sku == sku) and (every or (key.seller, key.marketplace) in places)

        return words, wanted

    def market_of(self, key: OfferKey) -> MarketRuntime | None:
        for market in self.daemon.markets:
            if market.seller == key.seller and market.code == key.marketplace:
                return market
        return None

    async def history(self, request: History) -> HistoryResult:
        try:
            market, actor = self._offer(request.sku, request.marketplace, request.seller)
            key = actor.key
        except CommandError as error:
            # An offer no longer repriced still has its history, where its marketplace is named exactly.
            if error.code is not Code.NOT_FOUND or request.marketplace is None:
                raise
            market = self._market(request.seller, request.marketplace)
            key = OfferKey(market.seller, market.code, request.sku)
        store = market.store
        with trio.move_on_after(self.wait_s * self.time_scale) as scope:
            try:
                decisions = await store.recent_decisions(key, request.limit)
                prices = await store.price_history(key, request.limit)
            except Exception as error:
                raise CommandError(Code.INTERNAL, f"reading the history of {key} failed: {error}") from None
        if scope.cancelled_caught:
            raise CommandError(Code.TIMEOUT, f"the store did not give the history of {key} within {self.wait_s:g}s")
        if key not in market.actors and not decisions and not prices:
            raise CommandError(Code.NOT_FOUND, f"no offer {key} and no history of it in the store")
        currency = self._currency(market)
        now = trio.current_time()
        return HistoryResult(
            seller=key.seller,
            marketplace=key.marketplace,
            sku=key.sku,
            currency=currency,
            persistent=store.persistent,
            decisions=tuple(self.view(market, decision, now) for decision in decisions),
            prices=tuple(PriceView(self._wall(market, p.at), format_minor(p.price, currency)) for p in prices),
        )

    # --- shared ------------------------------------------------------------------------------------------------

    def view(self, market: MarketRuntime, decision: Decision, now: float) -> DecisionView:
        return decision_view(decision, self._currency(market), self._wall(market, decision.at), now)

    def _wall(self, market: MarketRuntime, at: float) -> str:
        return iso(at + market.wall_offset)

    def _currency(self, market: MarketRuntime) -> str:
        code = self._currencies.get(market.code)
        if code is None:
            code = self._currencies[market.code] = by_code(market.code).currency_code
        return code

    def _seller(self, seller: str) -> SellerRuntime:
        try:
            return self.daemon.seller(seller)
        except KeyError as error:
            raise CommandError(Code.NOT_FOUND, str(error.args[0])) from None

    def _markets(self, seller: str | None, marketplace: str | None) -> list[MarketRuntime]:
        sellers = self.daemon.sellers if seller is None else [self._seller(seller)]
        markets = [m for s in sellers for m in s.markets]
        if marketplace is None:
            return markets
        code = marketplace.upper()
        found = [m for m in markets if m.code == code]
        if not found:
            known = ", ".join(sorted({m.code for m in markets})) or "none"
            owner = f"seller {seller}" if seller is not None else "no seller"
            raise CommandError(Code.NOT_FOUND, f"{owner} has no marketplace {code} here (known: {known})")
        return found

    def _market(self, seller: str | None, marketplace: str | None) -> MarketRuntime:
        markets = self._markets(seller, marketplace)
        if len(markets) > 1:
            places = ", ".join(f"{m.seller}/{m.code}" for m in markets)
            what = "the seller" if marketplace is not None else "the marketplace (and seller)"
            raise CommandError(Code.AMBIGUOUS, f"which marketplace? {places}: name {what}")
        if not markets:
            raise CommandError(Code.NOT_FOUND, f"no marketplace{_where(marketplace, seller)}")
        return markets[0]

    def _offer(self, sku: str, marketplace: str | None, seller: str | None) -> tuple[MarketRuntime, OfferActor]:
        found = []
        for market in self._markets(seller, marketplace):
            actor = market.actors.get(OfferKey(market.seller, market.code, sku))
            if actor is not None:
                found.append((market, actor))
        if not found:
            raise CommandError(Code.NOT_FOUND, f"no offer {sku!r}{_where(marketplace, seller)}")
        if len(found) > 1:
            places = ", ".join(f"{m.seller}/{m.code}" for m, _ in found)
            raise CommandError(Code.AMBIGUOUS, f"SKU {sku!r} is on {places}: name the marketplace (and seller)")
        return found[0]

    def _paused_by(self, market: MarketRuntime, actor: OfferActor) -> str | None:
        return "offer" if actor.paused else self._paused_above(market, "offer")

    def _paused_above(self, market: MarketRuntime, level: str) -> str | None:
        """The switch above ``level`` that pauses ``market``'s offers, if any."""
        order = ["offer", "marketplace", "seller", "kill switch"]
        switches = {
            "marketplace": market.switch.on,
            "seller": self._seller(market.seller).switch.on,
            "kill switch": self.daemon.switch.on,
        }
        for name in order[order.index(level) + 1 :]:
            if switches[name]:
                return name
        return None


def _with_bounds(row: CatalogRow, bounds: OfferBounds, level: MarginLevel | None, cost: int | None) -> CatalogRow:
    """The catalog row that derives these bounds: explicit prices, or the margin level (with its cost)."""
    if level is None:
        return msgspec.structs.replace(row, min_price=bounds.min_price, max_price=bounds.max_price)
    return msgspec.structs.replace(row, margins=level, cost=cost, min_price=None, max_price=None)


def _checked(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except BoundsError as error:
        raise CommandError(Code.INVALID, f"{error}; nothing changed") from None


def _where(marketplace: str | None, seller: str | None) -> str:
    parts = []
    if marketplace is not None:
        parts.append(f" on {marketplace.upper()}")
    if seller is not None:
        parts.append(f" of seller {seller}")
    return "".join(parts)


def _turn(is_on: bool, on: bool, pause: Callable[[], None], resume: Callable[[], None]) -> bool:
    """Turn a switch to ``on`` (``pause``) or off (``resume``) unless it is there already; whether it changed."""
    if is_on == on:
        return False
    (pause if on else resume)()
    return True
