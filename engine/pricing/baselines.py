"""The strategies other repricers use, as the benchmark's baselines: each a `Strategy` like the engine's search.

They plug into the same offer actors, policy, guard and batcher as `engine.pricing.search.EngineSearch`, so a
benchmark compares strategies and nothing else. Each is the plain, honest version of what it names:

- ``undercut``: one tick below the lowest competitor's landed price (less our shipping);
- ``match``: the Buy Box winner's landed price (less our shipping); hold while we hold the Buy Box;
- ``step``: +1% after a verdict that we hold the Buy Box, −x% (default 2%) after one that we do not;
- ``bisect``: bisection in log space over [min, max] on hold/lose verdicts, restarted when a competitor moves;
- ``pbisect``: probabilistic bisection (a posterior over the threshold, each verdict assumed wrong with
  probability q), restarted when a competitor moves;
- ``foep``: Amazon's featured offer expected price when there is a fresh one, else hold.

Two rules keep the comparison fair, both the engine's own:

1. A strategy that learns from verdicts ("did we hold the Buy Box at this price?") takes one only once our price
   has been live for ``settle_s``, long enough for Amazon to have recomputed the Buy Box, or when our Buy Box
   status changes at an unchanged price. Judging sooner would punish the strategy for the marketplace's latency.
   It asks for a poll (``recheck_at``) when the verdict is due, as the engine does.
2. A move computed from a fresh direct signal (the lowest or the winning competitor's price, FOEP) is marked
   ``signal_backed`` and goes through the guard uncapped; a nudge or a bisection probe is not, so the guard caps
   it at the channel's ``step_cap``, as it would cap any strategy's blind move. Verdicts are therefore read at the
   price that actually went live, never at the price that was asked for.

Every state is a frozen msgspec Struct (it is stored across restarts like the engine's).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar

import msgspec

from engine.model import Reason
from engine.pricing.view import MarketView, Step, Strategy, rebased, usable_view

__all__ = [
    "BASELINES",
    "BaselineConfig",
    "BisectState",
    "FoepFollow",
    "LogBisect",
    "MatchBuyBox",
    "PBisectState",
    "ProbabilisticBisect",
    "StepState",
    "StepWinLose",
    "TrackState",
    "Undercut",
    "make_baseline",
]

S = TypeVar("S")


class BaselineConfig(msgspec.Struct, frozen=True, gc=False):
    """Timing shared by every baseline: the same values the engine's search uses by default."""

    # A verdict counts only once our price has been live this long (the engine's ``settle_s``).
    settle_s: float = 180.0
    # A target not live after this long is asked for again (some accepted updates never apply).
    resend_after_s: float = 900.0
    # While a target is not yet live, poll this often to see it arrive.
    pending_poll_s: float = 60.0


class TrackState(msgspec.Struct, frozen=True, gc=False):
    """What every baseline remembers about our own price: when it went live, and the verdict taken on it.

    It holds every time in a baseline's state: the states around it hold log-prices, probabilities and counts.
    """

    # The fields on trio's clock, which each baseline's ``rebase`` moves.
    CLOCK_FIELDS: ClassVar[tuple[str, ...]] = ("seen_as_of", "live_since", "target_at")

    seen_as_of: float = -math.inf  # newest observation used; older ones arriving late are ignored
    live_price: int | None = None
    live_since: float = 0.0
    judged: bool = False  # a verdict was taken on the current live price ...
    judged_hold: bool = False  # ... and this was our Buy Box status then
    target: int | None = None  # the price last asked for, while it is not yet live
    sent_from: int | None = None  # our live price when we asked for it
    target_at: float = 0.0


class _Seen:
    """The outcome of tracking one observation: the new track, whether it is stale, waiting, or a verdict."""

    __slots__ = ("pending", "stale", "track", "verdict")

    def __init__(self, track: TrackState, *, stale: bool, pending: bool, verdict: bool | None) -> None:
        self.track = track
        self.stale = stale
        self.pending = pending
        self.verdict = verdict


def _see(view: MarketView, track: TrackState, config: BaselineConfig) -> _Seen:
    """Fold one observation into ``track``: is our last target live yet, and is there a verdict to take?

    A target counts as arrived once our live price moves away from where it was when we asked (the guard may
    have capped or clamped it, so the live price need not equal the target).
    """
    if view.as_of < track.seen_as_of:
        return _Seen(track, stale=True, pending=False, verdict=None)
    price = view.our.listing_price
    if price != track.live_price:
        track = msgspec.structs.replace(track, live_price=price, live_since=view.as_of, judged=False)
    track = msgspec.structs.replace(track, seen_as_of=view.as_of)
    if track.target is not None and price != track.sent_from:
        track = msgspec.structs.replace(track, target=None, sent_from=None)
    pending = track.target is not None
    verdict: bool | None = None
    if not pending:
        settled = view.as_of - track.live_since >= config.settle_s
        if (not track.judged and settled) or (track.judged and view.we_hold != track.judged_hold):
            verdict = view.we_hold
            track = msgspec.structs.replace(track, judged=True, judged_hold=view.we_hold)
    return _Seen(track, stale=False, pending=pending, verdict=verdict)


def _rebased(track: TrackState, delta: float) -> TrackState:
    return rebased(track, TrackState.CLOCK_FIELDS, delta)


def _ask(view: MarketView, track: TrackState, target: int) -> TrackState:
    return msgspec.structs.replace(track, target=target, sent_from=view.our.listing_price, target_at=view.now)


def _on_tick(price: float, tick: int) -> int:
    """A price rounded down to the currency tick (never below one tick)."""
    return max(tick, math.floor(price / tick) * tick)


def _competitor_key(view: MarketView) -> tuple[tuple[str, int], ...]:
    """The competitors' landed prices: when this changes, a competitor moved."""
    return tuple(sorted((c.seller_id, c.landed_price) for c in view.competitors))


# --- signal followers: undercut, match, FOEP ------------------------------------------------------------------


class _Follower(abc.ABC):
    """A strategy that prices at a level read off each observation, and sends it when it differs.

    It never needs a verdict; it only avoids asking again for a price that is on its way (and asks again after
    ``resend_after_s``, as the engine does, since some accepted updates never apply).
    """

    name = "follower"
    want_foep = False

    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config or BaselineConfig()

    def initial_state(self) -> TrackState:
        return TrackState()

    def rebase(self, state: TrackState, delta: float) -> TrackState:
        return _rebased(state, delta)

    @abc.abstractmethod
    def level(self, view: MarketView) -> int | None:
        """The price this strategy wants now, or None to hold."""

    def decide(self, view: MarketView, state: TrackState) -> Step[TrackState]:
        usable = usable_view(view)
        if isinstance(usable, Reason):
            return Step(None, usable, state)
        view = usable
        seen = _see(view, state, self.config)
        track = seen.track
        if seen.stale:
            return Step(None, Reason.AWAIT_LIVE, state)
        wanted = self.level(view)
        if wanted is None:
            return Step(None, Reason.BASELINE, track, want_foep=self.want_foep)
        wanted = _on_tick(wanted, view.tick)
        if seen.pending and wanted == track.target and view.now - track.target_at < self.config.resend_after_s:
            return Step(None, Reason.AWAIT_LIVE, track, recheck_at=view.now + self.config.pending_poll_s)
        if wanted == view.our.listing_price:
            return Step(None, Reason.BASELINE, track, want_foep=self.want_foep)
        return Step(wanted, Reason.BASELINE, _ask(view, track, wanted), signal_backed=True, want_foep=self.want_foep)


class Undercut(_Follower):
    """One tick below the lowest competitor's landed price, less our shipping: the classic race to the floor."""

    name = "undercut"

    def level(self, view: MarketView) -> int | None:
        lowest = view.lowest_landed
        return None if lowest is None else lowest - view.our.shipping - view.tick


class MatchBuyBox(_Follower):
    """The Buy Box winner's landed price, less our shipping; while we hold the Buy Box, keep our price."""

    name = "match"

    def level(self, view: MarketView) -> int | None:
        if view.we_hold:
            return None
        rival = view.winning_rival()
        if rival is not None:
            return rival.landed_price - view.our.shipping
        if view.winner is not None:
            return view.winner.landed_price - view.our.shipping
        return None


class FoepFollow(_Follower):
    """Amazon's featured offer expected price when a fresh one is there; hold otherwise.

    It asks for FOEP readings on every decision (the intake spends the FOEP quota on whoever asks), since a
    follower without readings would only ever hold.
    """

    name = "foep"
    want_foep = True

    def level(self, view: MarketView) -> int | None:
        return view.foep


# --- verdict learners: step, bisect, probabilistic bisection -----------------------------------------------


class StepState(msgspec.Struct, frozen=True, gc=False):
    track: TrackState = TrackState()


class StepWinLose:
    """+``up`` after a verdict that we hold the Buy Box, −``down`` after one that we do not (relative moves)."""

    name = "step"

    def __init__(self, down: float = 0.02, up: float = 0.01, config: BaselineConfig | None = None) -> None:
        if not (0.0 < down < 1.0 and up > 0.0):
            raise ValueError(f"step sizes must be positive and down below 100% (up={up}, down={down})")
        self.up = up
        self.down = down
        self.config = config or BaselineConfig()

    def initial_state(self) -> StepState:
        return StepState()

    def rebase(self, state: StepState, delta: float) -> StepState:
        return msgspec.structs.replace(state, track=_rebased(state.track, delta))

    def decide(self, view: MarketView, state: StepState) -> Step[StepState]:
        usable = usable_view(view)
        if isinstance(usable, Reason):
            return Step(None, usable, state)
        view = usable
        seen = _see(view, state.track, self.config)
        if seen.stale:
            return Step(None, Reason.AWAIT_LIVE, state)
        next_state = StepState(seen.track)
        if (waiting := _waiting(view, seen, self.config)) is not None:
            return _wait_or_resend(view, seen, waiting, next_state, lambda track: StepState(track))
        if seen.verdict is None:
            return Step(None, Reason.BASELINE, next_state)
        price = view.our.listing_price
        if seen.verdict:
            target = max(_on_tick(price * (1.0 + self.up), view.tick), price + view.tick)
        else:
            target = min(_on_tick(price * (1.0 - self.down), view.tick), price - view.tick)
        target = min(max(target, view.bounds.min_price), view.bounds.max_price)
        if target == price:
            return Step(None, Reason.BASELINE, next_state)
        return Step(target, Reason.BASELINE, StepState(_ask(view, seen.track, target)))


def _waiting(view: MarketView, seen: _Seen, config: BaselineConfig) -> float | None:
    """When a verdict learner must not act on this observation: the time to look again (``-inf``: resend the
    target now, it has not gone live for too long); None when it may act."""
    track = seen.track
    if seen.pending:
        if view.now - track.target_at >= config.resend_after_s:
            return -math.inf
        return view.now + config.pending_poll_s
    if seen.verdict is None and not track.judged:
        return track.live_since + config.settle_s
    return None


def _wait_or_resend(
    view: MarketView, seen: _Seen, waiting: float, state: S, with_track: Callable[[TrackState], S]
) -> Step[S]:
    """Wait for a verdict (polling at ``waiting``), or send the pending target again."""
    target = seen.track.target
    if waiting > -math.inf or target is None:
        return Step(None, Reason.AWAIT_LIVE, state, recheck_at=waiting)
    return Step(target, Reason.AWAIT_LIVE, with_track(_ask(view, seen.track, target)))


def _restart_track(view: MarketView, track: TrackState) -> TrackState:
    """After a competitor moved: judge our current price afresh, once Amazon has had time to recompute."""
    return msgspec.structs.replace(track, judged=False, live_since=view.as_of)


class BisectState(msgspec.Struct, frozen=True, gc=False):
    """The open interval of the listing price up to which we hold: ``[lo, hi)`` in log terms."""

    track: TrackState = TrackState()
    lo: float | None = None  # ln of the highest price that held (None: the min bound)
    hi: float | None = None  # ln of the lowest price that lost (None: above the max bound)
    market: tuple[tuple[str, int], ...] = ()
    restarts: int = 0


class LogBisect:
    """Bisection in log space over [min, max] on verdicts; when a competitor moves, start again from scratch.

    It stops once the interval is within ``converged_ratio`` and stays at the highest price that held. A verdict
    that contradicts the interval (a loss at or below ``lo``, a hold at or above ``hi``) throws that side away:
    the market or the Buy Box's randomness changed under us.
    """

    name = "bisect"

    def __init__(self, converged_ratio: float = 0.002, config: BaselineConfig | None = None) -> None:
        self.converged_ratio = converged_ratio
        self.config = config or BaselineConfig()

    def initial_state(self) -> BisectState:
        return BisectState()

    def rebase(self, state: BisectState, delta: float) -> BisectState:
        return msgspec.structs.replace(state, track=_rebased(state.track, delta))

    def decide(self, view: MarketView, state: BisectState) -> Step[BisectState]:
        usable = usable_view(view)
        if isinstance(usable, Reason):
            return Step(None, usable, state)
        view = usable
        if view.as_of < state.track.seen_as_of:
            return Step(None, Reason.AWAIT_LIVE, state)
        market = _competitor_key(view)
        if state.market and market != state.market:
            state = BisectState(_restart_track(view, state.track), restarts=state.restarts + 1)
        seen = _see(view, state.track, self.config)
        state = msgspec.structs.replace(state, track=seen.track, market=market)
        if (waiting := _waiting(view, seen, self.config)) is not None:
            return _wait_or_resend(
                view, seen, waiting, state, lambda track: msgspec.structs.replace(state, track=track)
            )
        price = view.our.listing_price
        lo, hi = state.lo, state.hi
        if seen.verdict is not None:
            at = math.log(price)
            if seen.verdict:
                lo = at if lo is None else max(lo, at)
                if hi is not None and hi <= lo:
                    hi = None
            else:
                hi = at if hi is None else min(hi, at)
                if lo is not None and lo >= hi:
                    lo = None
            state = msgspec.structs.replace(state, lo=lo, hi=hi)
        elif not seen.track.judged:
            return Step(None, Reason.BASELINE, state)
        low = math.log(view.bounds.min_price) if lo is None else lo
        high = math.log(view.bounds.max_price + view.tick) if hi is None else hi
        if lo is not None and high - low <= math.log1p(self.converged_ratio):
            target = _on_tick(math.exp(lo), view.tick)
            reason = Reason.CONVERGED
        elif hi is not None and hi <= math.log(view.bounds.min_price):
            # Lost at our min: nothing within bounds wins; stay at min until the market moves.
            target = view.bounds.min_price
            reason = Reason.UNWINNABLE
        else:
            target = _on_tick(math.exp(0.5 * (low + high)), view.tick)
            reason = Reason.BASELINE
        target = min(max(target, view.bounds.min_price), view.bounds.max_price)
        if target == price:
            return Step(None, reason, state)
        return Step(target, reason, msgspec.structs.replace(state, track=_ask(view, seen.track, target)))


class PBisectState(msgspec.Struct, frozen=True, gc=False):
    """A piecewise-constant posterior over ln T (T: the listing price up to which we hold).

    ``edges`` are the ends of its intervals (one more than ``mass``); each verdict splits the interval holding the
    probed price, so the posterior is exact, not a grid's approximation.
    """

    track: TrackState = TrackState()
    edges: tuple[float, ...] = ()
    mass: tuple[float, ...] = ()
    market: tuple[tuple[str, int], ...] = ()
    restarts: int = 0


class ProbabilisticBisect:
    """Probabilistic bisection (Horstein; Waeber, Frazier & Henderson): probe the posterior median of the
    threshold, and update it by Bayes with verdicts assumed wrong with probability ``flip``.

    It settles once the posterior's central ``confidence`` interval is within ``converged_ratio``, at that
    interval's lower end (a price that very likely holds), and keeps updating on the verdicts it gets there. It
    starts again from a flat prior over [min, max] when a competitor moves.
    """

    name = "pbisect"

    def __init__(
        self,
        flip: float = 0.1,
        converged_ratio: float = 0.002,
        confidence: float = 0.8,
        config: BaselineConfig | None = None,
    ) -> None:
        if not 0.0 < flip < 0.5:
            raise ValueError(f"the flip probability must be in (0, 0.5), got {flip}")
        self.flip = flip
        self.converged_ratio = converged_ratio
        self.confidence = confidence
        self.config = config or BaselineConfig()

    def initial_state(self) -> PBisectState:
        return PBisectState()

    def rebase(self, state: PBisectState, delta: float) -> PBisectState:
        return msgspec.structs.replace(state, track=_rebased(state.track, delta))

    def decide(self, view: MarketView, state: PBisectState) -> Step[PBisectState]:
        usable = usable_view(view)
        if isinstance(usable, Reason):
            return Step(None, usable, state)
        view = usable
        if view.as_of < state.track.seen_as_of:
            return Step(None, Reason.AWAIT_LIVE, state)
        market = _competitor_key(view)
        if not state.edges or (state.market and market != state.market):
            lo, hi = math.log(view.bounds.min_price), math.log(view.bounds.max_price + view.tick)
            track = _restart_track(view, state.track) if state.edges else state.track
            state = PBisectState(track, (lo, hi), (1.0,), market, state.restarts + (1 if state.edges else 0))
        seen = _see(view, state.track, self.config)
        state = msgspec.structs.replace(state, track=seen.track, market=market)
        if (waiting := _waiting(view, seen, self.config)) is not None:
            return _wait_or_resend(
                view, seen, waiting, state, lambda track: msgspec.structs.replace(state, track=track)
            )
        price = view.our.listing_price
        if seen.verdict is not None:
            edges, mass = _bayes(state.edges, state.mass, math.log(price), seen.verdict, self.flip)
            state = msgspec.structs.replace(state, edges=edges, mass=mass)
        elif not seen.track.judged:
            return Step(None, Reason.BASELINE, state)
        tail = (1.0 - self.confidence) / 2.0
        low = _posterior_quantile(state.edges, state.mass, tail)
        high = _posterior_quantile(state.edges, state.mass, 1.0 - tail)
        if high - low <= math.log1p(self.converged_ratio):
            target, reason = _on_tick(math.exp(low), view.tick), Reason.CONVERGED
        else:
            target, reason = (
                _on_tick(math.exp(_posterior_quantile(state.edges, state.mass, 0.5)), view.tick),
                Reason.BASELINE,
            )
        target = min(max(target, view.bounds.min_price), view.bounds.max_price)
        if target == price:
            return Step(None, reason, state)
        return Step(target, reason, msgspec.structs.replace(state, track=_ask(view, seen.track, target)))


def _bayes(
    edges: tuple[float, ...], mass: tuple[float, ...], at: float, held: bool, flip: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The posterior after a verdict at ln price ``at``: hold says T ≥ at, loss says T < at, each right w.p. 1−flip."""
    new_edges: list[float] = [edges[0]]
    new_mass: list[float] = []
    for i, m in enumerate(mass):
        left, right = edges[i], edges[i + 1]
        if left < at < right:
            share = (at - left) / (right - left)
            new_edges.append(at)
            new_mass.append(m * share)
            new_mass.append(m * (1.0 - share))
        else:
            new_mass.append(m)
        new_edges.append(right)
    weights = []
    for i, m in enumerate(new_mass):
        above = new_edges[i] >= at  # the interval lies where T ≥ at
        right = above == held
        weights.append(m * ((1.0 - flip) if right else flip))
    total = math.fsum(weights)
    return tuple(new_edges), tuple(w / total for w in weights)


def _posterior_quantile(edges: tuple[float, ...], mass: tuple[float, ...], q: float) -> float:
    """The q-quantile of a piecewise-constant density (linear within an interval)."""
    seen = 0.0
    for i, m in enumerate(mass):
        if m > 0.0 and seen + m >= q:
            return edges[i] + (edges[i + 1] - edges[i]) * (q - seen) / m
        seen += m
    return edges[-1]


# --- the registry ----------------------------------------------------------------------------------------------

BASELINES: Final[dict[str, Callable[[], Strategy[Any]]]] = {
    "undercut": Undercut,
    "match": MatchBuyBox,
    "step": StepWinLose,
    "bisect": LogBisect,
    "pbisect": ProbabilisticBisect,
    "foep": FoepFollow,
}


def make_baseline(name: str) -> Strategy[Any]:
    """A baseline by its benchmark name (``undercut``, ``match``, ``step``, ``bisect``, ``pbisect``, ``foep``)."""
    try:
        return BASELINES[name]()
    except KeyError:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}") from None
