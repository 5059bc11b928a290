"""The engine's convergence search: win the Buy Box with the first probe, then climb to the highest winning price.

What is unknown is not the competitors' prices (Amazon shows them) but how Amazon weighs our offer against them.
So the search learns one number per offer: θ = ln(T / L), where T is the landed price up to which we hold the
Buy Box and L the landed price of the competitor that binds (the one the prior, `engine.pricing.scoring`, puts
lowest once each is weighted). Every observation is a verdict on θ: holding at landed price X says θ ≥ ln(X/L);
losing at X while we held says θ < ln(X/L). Because θ is relative to L, a competitor's move does not erase what
was learned: the next target follows from the new L at once (re-convergence in one round trip); and because it
does not include the prior, a better prior (the marketplace's learned weights, `engine.pricing.learning`) does
not move it either.

Probes bisect the prior's bracket on θ cut to what the verdicts allow; once holds reach the bracket's top, the
next probe tests just past it, and once an upward probe has failed the verdicts alone are bisected. The prior
makes the usual case take a few probes, and a wrong prior costs one or two more than plain bisection (the
information limit N0 of buybox.md). Each probe costs a round trip (submit → live → Buy Box recomputed →
observed), so the search waits for a verdict before it moves again: a hold at a new price counts only once Amazon
has had time to recompute the Buy Box (``settle_s``); a change of status counts at once. A challenger's loss says
little (the incumbent's edge is uncertain), so after holding once the search retreats safely below what held and
learns only as the incumbent.

FOEP short-cuts the search. A challenger's first probe goes just below it; once we hold, a FOEP that Amazon made
with our offer featured is our own threshold as the incumbent, and the step from the one we challenged to it (the
incumbency swing) is much the same across a marketplace's offers for each kind of incumbent, so the marketplace
learns it (`SwingSample`) and a new
holder can step into the 99% band before its own featured reading arrives.

Our share of the Buy Box places the threshold directly where Amazon shares it. The competitive summary reports
the share of glance views in which our offer is featured, as of Amazon's last recompute and at the price it was
computed at. Around the threshold T the share is logistic in ln price: logit(share) = ln(T / X) / temperature at
our landed price X, with one temperature for a whole marketplace. Two readings of one offer at two prices give the
temperature (`TemperatureSample`, learned marketplace-wide); from then on each reading places T, and the holder
steps to just below it in one round trip, closer with each reading, with no probe above it. Where the Buy Box
is not shared (one winner takes every view) readings say nothing, and the search above does all the work.

Price wars are damped: a touch of our min counts when we follow the market down to it; after ``war_touches``
in ``war_window_s`` the search resets to max and holds there until the window has passed.
"""

from __future__ import annotations

import math
from typing import ClassVar

import msgspec

from engine.model import Reason
from engine.pricing.guard import on_tick
from engine.pricing.learning import Lesson, SwingSample, TemperatureSample, WeightSample
from engine.pricing.scoring import SPREAD, HoldOffsets, Offset, ScorePrior
from engine.pricing.view import MarketView, Step, rebased, usable_view

__all__ = ["EngineSearch", "SearchConfig", "SearchState"]


class SearchConfig(msgspec.Struct, frozen=True, gc=False):
    """Tuning of the search; the defaults are what the benchmarks report."""

    prior: ScorePrior = ScorePrior()
    # Stop probing upward once the price that held is within this share of the best price the verdicts still
    # allow (a tick below the lowest that lost): 0.2% keeps the settled price within 99.8% of the optimum.
    converged_ratio: float = 0.002
    # Where between what held and what lost the next upward probe goes once secured (0.5 = bisect).
    climb_split: float = 0.5
    # Staged like the product's promise (99% of the best price within the hour, 99.8% later): until the price
    # that holds is within ``secure_ratio`` of the best the bracket allows, probes go lower (``secure_split``),
    # since a lost probe costs the Buy Box for minutes while 1% below costs 1% of the margin; once there, hold
    # still for ``secure_s`` before refining to ``converged_ratio``.
    secure_ratio: float = 0.01
    secure_split: float = 0.3
    secure_s: float = 1800.0
    # ... and no such probe goes more than this far above the price that holds (0 = no limit).
    secure_step: float = 0.02
    # FOEP: its error (one standard deviation, relative), how long Amazon may take to recompute it (so a reading
    # this long into a spell of holding is our hold threshold, not the challenger's), and how many standard
    # deviations above a reading the threshold may still be.
    foep_sigma: float = 0.003
    foep_stale_s: float = 600.0
    foep_top_sigmas: float = 2.0
    # Until FOEP made with us featured arrives, a new holder whose challenge FOEP and the marketplace's learned
    # incumbency swing predict its threshold probes this many standard deviations below the prediction.
    swing_sigmas: float = 1.3
    # A loss (or a hold at a new price) counts only after our price has been live this long: Amazon recomputes
    # the Buy Box some time after a price goes live.
    settle_s: float = 180.0
    # The first probe goes this far below FOEP, about two standard deviations of FOEP's error.
    foep_margin: float = 0.006
    # When challenging without FOEP, aim at this quantile of the posterior on T (lower = surer to win).
    challenge_quantile: float = 0.2
    # After a failed challenge that the bracket cannot explain, the next goes this much lower, doubling each time.
    gallop_step: float = 0.005
    # A target not live after this long is asked for again. The batcher's read-backs resend what Amazon accepted
    # but did not apply (at 10, 25 and 55 min); this is the backstop for an update that failed outright, so it
    # waits past them instead of sending the same price a second time.
    resend_after_s: float = 3600.0
    war_touches: int = 2
    war_window_s: float = 86_400.0
    # Buy Box share readings: shares nearer 0 or 1 than ``share_clip`` say little (``share_pair_clip`` for the
    # pairs that teach the temperature). A reading counts as the holder's once we have held ``share_settle_s``
    # (before that, Amazon may have computed it with the previous incumbent's edge). A move placed from one stops
    # below the threshold it estimates by ``share_margin`` (ln) plus ``share_error`` of the distance it moves
    # (``share_error_few`` while fewer than three pairs have taught the temperature): an error in the temperature
    # scales the estimate's distance.
    share_clip: float = 0.02
    share_pair_clip: float = 0.05
    share_settle_s: float = 240.0
    share_after_s: float = 90.0  # ... and once a new price has been live this long (recomputes: about a minute)
    share_margin: float = 0.0005
    share_error: float = 0.1
    share_error_few: float = 0.25
    # Without a temperature yet, a holder reads its share at a second price before probing on: one whose share
    # is at least logistic(``calibrate_logit``) steps up by at most ``calibrate_step`` (ln), one nearer the
    # threshold down by ``calibrate_down``. A new price's reading is waited for up to ``share_wait_s`` after it
    # went live.
    calibrate_logit: float = 1.0
    calibrate_step: float = 0.003
    calibrate_down: float = 0.002
    share_wait_s: float = 300.0


class SearchState(msgspec.Struct, frozen=True, gc=False):
    """Everything the search remembers about one offer; plain data, stored across restarts."""

    # The fields on trio's clock, which `EngineSearch.rebase` moves; every other float is a θ, a log-price or a logit.
    CLOCK_FIELDS: ClassVar[tuple[str, ...]] = (
        "seen_as_of",
        "live_since",
        "target_at",
        "secured_at",
        "held_since",
        "min_touches",
        "war_until",
    )

    theta_lo: float | None = None  # ln(T/L) ≥ theta_lo, from holds
    theta_hi: float | None = None  # ln(T/L) < theta_hi, from losses
    binding: str | None = None  # the competitor L is the landed price of
    seen_as_of: float = -math.inf  # newest observation used; older ones arriving late are ignored
    live_price: int | None = None
    live_since: float = 0.0
    held: bool = False  # our Buy Box status at the last verdict
    target: int | None = None  # the last price we asked for
    target_at: float = 0.0
    target_log_ref: float = 0.0  # the binding competitor's landed price (ln) when the target was chosen
    challenge_fails: int = 0
    failed_price: int | None = None
    climb_lost: bool = False  # an upward probe has failed since the evidence was last reset
    hold_hi: float | None = None  # the upper bound our losses as the holder left (a challenger's are looser)
    sampled: float | None = None  # theta_lo when this offer last taught the marketplace's weights
    secured_at: float | None = None  # when the first price found to hold within secure_ratio of the best went live
    # After taking the Buy Box from an incumbent, where the prior puts our hold threshold at least (θ units).
    prior_floor: float | None = None
    incumbent_amazon: bool = False  # whether the offer that held the Buy Box while we challenged was Amazon's
    # FOEP read while we challenged the binding competitor as the incumbent: ln of its landed price less L, and
    # whether that incumbent was Amazon (with FOEP made once we hold, the swing the marketplace learns).
    challenge_theta: float | None = None
    challenge_amazon: bool = False
    held_since: float | None = None  # when the current spell of holding the Buy Box began
    spell_foep: int | None = None  # the first FOEP value read during this spell of holding
    # We lost at our min: nothing within bounds wins while the binding competitor's landed price (ln) stays at
    # most this, or until our min comes down below the one we lost at.
    unwinnable_log_ref: float | None = None
    unwinnable_min: int | None = None
    min_touches: tuple[float, ...] = ()
    war_until: float = -math.inf
    probes: int = 0
    # The last Buy Box share reading taken in as the holder: the listing price it was at, our landed price then
    # (ln, less L), and the logit of the share (None when it said nothing: near 0 or 1).
    share_price: int | None = None
    share_theta: float | None = None
    share_logit: float | None = None
    # We asked for a new price while the one before it was not yet seen live, so either may go live first and
    # for a while (updates land late). Until the last one asked for is seen live, a change of our Buy Box status
    # that first shows with a new price may have been decided at a price we never saw: it is no verdict at the
    # new price until that price has settled (``change_unplaced``).
    superseded: bool = False
    change_unplaced: bool = False


class _Anchor(msgspec.Struct, frozen=True, gc=False):
    """The current market as the search reads it: the binding competitor's landed price (ln) and the prior's
    bracket on θ, our hold threshold's offset from that price. (A Struct: made for every decision, and a
    NamedTuple's constructor runs in Python.)"""

    log_ref: float
    binding: str
    soft_lo: float
    soft_hi: float
    clear: bool  # the next competitor binds at least 1% higher: the threshold is this one's alone


class EngineSearch:
    """The engine's strategy (see the module docstring)."""

    name = "engine"

    def __init__(self, config: SearchConfig | None = None) -> None:
        self.config = config or SearchConfig()
        # The largest |logit| of a share reading that can be one of a pair teaching the temperature.
        self._pair_logit = math.log(1.0 / self.config.share_pair_clip - 1.0)
        self._offsets = HoldOffsets()

    @property
    def score_prior(self) -> ScorePrior:
        """The prior this search starts from; a marketplace runtime that learns the weights refines it."""
        return self.config.prior

    def initial_state(self) -> SearchState:
        return SearchState()

    def rebase(self, state: SearchState, delta: float) -> SearchState:
        return rebased(state, SearchState.CLOCK_FIELDS, delta)

    def _prior(self, view: MarketView) -> ScorePrior:
        return view.prior if view.prior is not None else self.config.prior

    def decide(self, view: MarketView, state: SearchState) -> Step[SearchState]:
        usable = usable_view(view)
        if isinstance(usable, Reason):
            return Step(None, usable, state)
        view = usable
        if view.as_of < state.seen_as_of:
            return Step(None, Reason.AWAIT_LIVE, state)
        anchor = self._anchor(view)
        if anchor is None:
            return Step(None, Reason.NO_COMPETITION, state)
        state = self._rebind(state, anchor)
        state, verdict = self._observe(view, state, anchor)
        if (
            state.held_since is not None
            and state.spell_foep is None
            and view.foep is not None
            and view.foep_at is not None
            and view.foep_at >= state.held_since
        ):
            state = msgspec.structs.replace(state, spell_foep=view.foep)
        state, swing = self._swing(view, state, anchor)
        state, temperature, read_here = self._read_share(view, state, anchor)
        if view.we_hold:
            step = self._climb(view, state, anchor, verdict or read_here)
        else:
            step = self._challenge(view, state, anchor, verdict)
        lesson = swing if swing is not None else temperature
        if lesson is not None and step.learned is None:
            step = msgspec.structs.replace(step, learned=lesson)
        if view.we_hold and state.held_since is not None and step.state.share_price != view.our.listing_price:
            # Ask for our share at this price once Amazon has surely recomputed it with us as the holder.
            due = max(state.held_since + self.config.share_settle_s, state.live_since + self.config.share_after_s)
            if view.as_of >= due:
                step = msgspec.structs.replace(step, want_share=True)
            elif step.recheck_at is None or step.recheck_at > due:
                step = msgspec.structs.replace(step, recheck_at=due)
        return self._finish(view, step, anchor)

    # --- our share of the Buy Box ------------------------------------------------------------------------------

    def _read_share(
        self, view: MarketView, state: SearchState, anchor: _Anchor
    ) -> tuple[SearchState, TemperatureSample | None, bool]:
        """Take in a share reading Amazon made with us holding, at our live price; with the previous one (at
        another price, the same competitor binding) it gives the temperature. Also returns whether it took one:
        Amazon has then recomputed the Buy Box at our live price, as good as a verdict for the search."""
        share, price = view.share, view.share_price
        if share is None or price is None or price == state.share_price or not view.we_hold:
            return state, None, False
        if view.share_at is None or state.held_since is None:
            return state, None, False
        if view.share_at < state.held_since + self.config.share_settle_s:
            return state, None, False
        if price != view.our.listing_price:
            # A reading of a price we have since left: Amazon has not recomputed since our live price went live,
            # so we know of no recompute after we took the Buy Box either; it may be the one that gave it to us,
            # made with the rival as the incumbent (a challenger's share, and a temperature from it is wrong).
            return state, None, False
        if share < 0.5 and view.share_at > view.as_of:
            # Under half the views and newer than what says we hold. Over half, the reading says we hold by
            # itself (a majority share is featured); under it, this may be the recompute that took the Buy Box
            # from us (then it is a challenger's share, and a temperature from it is wrong). Kept until an
            # observation at least as new says which.
            return state, None, False
        theta = math.log(price + view.our.shipping) - anchor.log_ref
        clip = self.config.share_clip
        logit = math.log(share / (1.0 - share)) if clip <= share <= 1.0 - clip else None
        sample = None
        if logit is not None and state.share_theta is not None and state.share_logit is not None:
            rise, fall = theta - state.share_theta, state.share_logit - logit
            # Whole percents near 0 or 1 blur the logit: a pair teaches only from readings clear of them.
            if abs(fall) > 0.1 and rise / fall > 0.0 and self._pairable(logit) and self._pairable(state.share_logit):
                sample = TemperatureSample(rise / fall)
        state = msgspec.structs.replace(state, share_price=price, share_theta=theta, share_logit=logit)
        return state, sample, True

    def _pairable(self, logit: float | None) -> bool:
        """Whether a reading with this logit can be one of a pair that teaches the temperature."""
        return logit is not None and abs(logit) <= self._pair_logit

    def _share_estimate(self, view: MarketView, state: SearchState, anchor: _Anchor) -> tuple[float, float] | None:
        """Our hold threshold as ln of a landed price, and how far below it to stay, from the last share reading
        and the marketplace's temperature; None without either."""
        prior = self._prior(view)
        temperature = prior.temperature
        if temperature is None or state.share_theta is None or state.share_logit is None:
            return None
        distance = temperature * state.share_logit
        cfg = self.config
        error = cfg.share_error if prior.temperature_samples >= 3 else cfg.share_error_few
        top = anchor.log_ref + state.share_theta + distance
        return top, cfg.share_margin + error * abs(distance)

    def _calibration(self, view: MarketView, state: SearchState, lo: float, hi: float) -> int | None:
        """One reading of our share here and no temperature yet: a step that gives the second reading of a pair
        and keeps the Buy Box. Well below the threshold, a small step up (a quarter of what the verdicts leave
        open, at most ``calibrate_step``); near it, a small step down (``calibrate_down``). None when the step is
        under two ticks."""
        cfg, price, tick = self.config, view.our.listing_price, view.tick
        assert state.share_logit is not None
        here = math.log(view.our.landed_price)
        if state.share_logit >= cfg.calibrate_logit:
            target = _listing(here + min(cfg.calibrate_step, 0.25 * (hi - lo)), view.our.shipping, tick, down=True)
            return target if target >= price + 2 * tick else None
        target = _listing(here - cfg.calibrate_down, view.our.shipping, tick, down=True)
        return target if target <= price - 2 * tick and target >= view.bounds.min_price else None

    def _to_share_estimate(
        self, view: MarketView, state: SearchState, anchor: _Anchor, estimate: tuple[float, float]
    ) -> Step[SearchState]:
        """Holding: step to just below the threshold the share places, never up to a price that lost as the holder.

        A challenger's loss bounds the holder's threshold only through the prior's incumbency edge, and may be a
        verdict taken before Amazon recomputed; a share reading as the holder measures that threshold itself, so
        only our losses as the holder cap it. An estimate above such a loss is wrong here (a temperature taught by
        a reading Amazon made before it recomputed with us as the incumbent is too large): then the step bisects
        between the best price known to hold and the loss, instead of stopping just below the loss each time and
        creeping down by a sliver per lost probe."""
        top, margin = estimate
        price, ship, tick = view.our.listing_price, view.our.shipping, view.tick
        here = math.log(view.our.landed_price)
        best = top - margin
        lost = state.hold_hi
        if lost is not None and (state.theta_lo is None or lost > state.theta_lo):  # not since held above
            cap = anchor.log_ref + lost - math.log1p(self.config.converged_ratio / 4.0)
            if best > cap:
                held = max(self._bracket(view, state, anchor)[0], here)
                best = min(cap, 0.5 * (held + anchor.log_ref + lost))
        target = _listing(best, ship, tick, down=True)
        # Up by a tick that is a sliver of the price is not worth an update and a round trip; down always is.
        worth = max(tick, math.ceil(price * self.config.share_margin / 2.0))
        if target >= price + worth or (top < here and target < price):
            return Step(target, Reason.SHARE_ESTIMATE, state, signal_backed=True, want_share=True)
        return Step(None, Reason.CONVERGED, state)

    def _swing(self, view: MarketView, state: SearchState, anchor: _Anchor) -> tuple[SearchState, Lesson | None]:
        """Keep FOEP read while challenging the incumbent; once Amazon makes FOEP with us featured, the rise
        between the two is what the marketplace learns of incumbency (`engine.pricing.learning.SwingSample`)."""
        if view.foep is None or view.foep_ours is None:
            return state, None
        if not view.we_hold:
            rival = view.winning_rival()
            if view.foep_ours or rival is None or rival.seller_id != anchor.binding:
                return state, None
            theta = math.log(view.foep + view.our.shipping) - anchor.log_ref
            if theta == state.challenge_theta and rival.is_amazon == state.challenge_amazon:
                return state, None
            return msgspec.structs.replace(state, challenge_theta=theta, challenge_amazon=rival.is_amazon), None
        if not view.foep_ours or state.challenge_theta is None:
            return state, None
        theta = math.log(view.foep + view.our.shipping) - anchor.log_ref
        sample = SwingSample(state.challenge_amazon, theta - state.challenge_theta)
        return msgspec.structs.replace(state, challenge_theta=None), sample

    def _predicted(self, view: MarketView, state: SearchState, anchor: _Anchor) -> Offset | None:
        """Our threshold as the new incumbent (ln landed), from the challenge FOEP and the learned swing."""
        if state.challenge_theta is None:
            return None
        prior = self._prior(view)
        learned = prior.amazon_swing if state.challenge_amazon else prior.seller_swing
        if learned is None:
            return None
        return Offset(anchor.log_ref + state.challenge_theta + learned.center, learned.half_width / SPREAD)

    # --- reading the market ---------------------------------------------------------------------------------

    def _anchor(self, view: MarketView) -> _Anchor | None:
        prior = self._prior(view)
        # Each competitor's hold offset comes from the table by its factors (`HoldOffsets`; the key is
        # `rival_factors`, spelt out like the rest of this loop, which runs for every competitor of every decision).
        offsets = self._offsets.table(prior, view.our)
        binding: str | None = None
        best = runner_up = math.inf  # the lowest ln(L_j) + e_j, and the next
        log_ref = 0.0
        soft_lo = soft_hi = math.inf
        for rival in view.competitors:
            landed = rival.listing_price + rival.shipping
            if landed <= 0:
                continue
            offset = offsets[(rival.fulfilment, rival.is_amazon, rival.feedback_pct, rival.handling_max_hours)]
            log_landed = math.log(landed)
            log_mj = log_landed + offset.center
            if binding is None or log_mj < best:
                runner_up = best
                best, binding, log_ref = log_mj, rival.seller_id, log_landed
            elif log_mj < runner_up:
                runner_up = log_mj
            low, high = log_mj - offset.half_width, log_mj + offset.half_width
            if low < soft_lo:
                soft_lo = low
            if high < soft_hi:
                soft_hi = high
        if binding is None:
            return None
        return _Anchor(log_ref, binding, soft_lo - log_ref, soft_hi - log_ref, runner_up - best > 0.01)

    def _rebind(self, state: SearchState, anchor: _Anchor) -> SearchState:
        """Evidence is relative to the binding competitor; when another one binds, it no longer applies."""
        if state.binding == anchor.binding:
            return state
        return msgspec.structs.replace(
            state,
            binding=anchor.binding,
            theta_lo=None,
            theta_hi=None,
            challenge_fails=0,
            failed_price=None,
            climb_lost=False,
            hold_hi=None,
            secured_at=None,
            prior_floor=None,
            challenge_theta=None,
            share_price=None,
            share_theta=None,
            share_logit=None,
        )

    def _observe(self, view: MarketView, state: SearchState, anchor: _Anchor) -> tuple[SearchState, bool]:
        """Track our live price and turn the observation into a verdict on θ when it is one.

        Returns the new state and whether a verdict was taken.
        """
        price = view.our.listing_price
        moved = state.live_price is not None and state.live_price != price
        live_since = state.live_since if state.live_price == price else view.as_of
        settled = state.target is None or view.as_of - live_since >= self.config.settle_s
        # A change of our Buy Box status comes from a recompute at our price as shown (a competitor's move would
        # show in L); only "still the same" needs time for Amazon to have recomputed since our price went live.
        # Unless the change comes with a new price while an older ask was pending: then a price we never saw
        # live may have been live in between and be the one Amazon recomputed at.
        changed = view.we_hold != state.held
        unplaced = state.change_unplaced or (changed and not settled and state.superseded and moved)
        verdict = settled or (changed and not unplaced)
        state = msgspec.structs.replace(
            state,
            live_price=price,
            live_since=live_since,
            seen_as_of=view.as_of,
            superseded=state.superseded and price != state.target,
            change_unplaced=unplaced and not verdict,
        )
        if not verdict:
            return state, False
        rel = math.log(view.our.landed_price) - anchor.log_ref
        if view.we_hold:
            lo = rel if state.theta_lo is None else max(state.theta_lo, rel)
            hi = state.theta_hi if state.theta_hi is not None and state.theta_hi > lo else None
            floor = state.prior_floor
            if not state.held:
                # Taken from an incumbent: as the incumbent now we hold at least the smallest edge the prior
                # allows higher. A belief for where to probe, not a verdict: a lost probe overrules it.
                gap = self._prior(view).challenge_gap(True, state.incumbent_amazon)
                floor = rel + gap.center - gap.half_width
                if state.failed_price == price:
                    # We hold at the very price whose loss we counted: that verdict came before Amazon had
                    # recomputed, so the bound it left goes; only losses as the holder bound us now.
                    hi = state.hold_hi if state.hold_hi is not None and state.hold_hi > lo else None
            return (
                msgspec.structs.replace(
                    state,
                    theta_lo=lo,
                    theta_hi=hi,
                    held=True,
                    challenge_fails=0,
                    failed_price=None,
                    prior_floor=floor,
                    held_since=state.held_since if state.held else view.as_of,
                    spell_foep=state.spell_foep if state.held else None,
                ),
                True,
            )
        climb_lost = state.climb_lost
        bound: float | None
        # A loss first seen with a price that was not yet settled (``unplaced``) may have been decided at a price
        # we never saw live; by the time this one settled, Amazon judged it with the rival as the incumbent. It is
        # a challenger's loss, not a bound on the holder's threshold.
        if state.held and not unplaced:
            bound = rel
            fails: int = state.challenge_fails
            failed: int | None = state.failed_price
            climb_lost = True
            state = msgspec.structs.replace(state, hold_hi=rel if state.hold_hi is None else min(state.hold_hi, rel))
        else:
            rival = view.winning_rival()
            gap = self._prior(view).challenge_gap(rival is not None, rival is not None and rival.is_amazon)
            # Once we have held here, a challenger's loss mixes the threshold up with the incumbent's uncertain
            # edge (and may be a verdict taken before Amazon recomputed): only our losses as holder bound it.
            learned_nothing = state.theta_lo is not None and gap.half_width > 0.0
            bound = None if learned_nothing else rel + gap.center + gap.half_width
            state = msgspec.structs.replace(state, incumbent_amazon=rival is not None and rival.is_amazon)
            new_failure = state.failed_price != price and state.target == price
            fails = state.challenge_fails + 1 if new_failure else state.challenge_fails
            failed = price
        upper = state.theta_hi
        if bound is not None:
            upper = bound if upper is None else min(upper, bound)
        lower = state.theta_lo if state.theta_lo is not None and (upper is None or state.theta_lo < upper) else None
        return (
            msgspec.structs.replace(
                state,
                theta_lo=lower,
                theta_hi=upper,
                held=False,
                challenge_fails=fails,
                failed_price=failed,
                climb_lost=climb_lost,
                held_since=None,
                spell_foep=None,
            ),
            True,
        )

    # --- choosing a price ------------------------------------------------------------------------------------

    def _waiting(self, view: MarketView, state: SearchState, anchor: _Anchor) -> bool:
        """True while our last probe has not yet produced a verdict and the market has not moved since."""
        if state.target is None:
            return False
        moved = abs(anchor.log_ref - state.target_log_ref) > self.config.converged_ratio
        if moved:
            return False
        return state.live_price != state.target or view.as_of - state.live_since < self.config.settle_s

    def _climb(self, view: MarketView, state: SearchState, anchor: _Anchor, verdict: bool) -> Step[SearchState]:
        cfg = self.config
        price, ship = view.our.listing_price, view.our.shipping
        if not verdict and self._waiting(view, state, anchor):
            # Until secured, keep asking for FOEP: the first reading Amazon makes with us featured places our
            # threshold as the incumbent (readings of an offer without FOEP are left to the sweep).
            ask = state.secured_at is None and view.foep_ours is not True
            ask = ask and (view.foep_at is None or view.foep is not None)
            recheck = state.live_since + cfg.settle_s
            return Step(None, Reason.AWAIT_LIVE, state, recheck_at=recheck, want_foep=ask)
        if price >= view.bounds.max_price:
            return Step(None, Reason.CONVERGED, state)
        estimate = self._share_estimate(view, state, anchor)
        if estimate is not None:
            return self._to_share_estimate(view, state, anchor, estimate)
        if self._prior(view).temperature is None and self._pairable(state.share_logit):
            # Our share says where we stand, but not yet how far that is: read it at a second price first, rather
            # than probe blind. (Where readings say nothing, near 0 or 1 or in a Buy Box that is not shared, the
            # search below goes on as before; so it does from a reading too near 1 to be one of a pair: we are
            # well below the threshold, and small steps up from there take an hour to teach the temperature.)
            if state.share_price == price:
                lo, hi = self._bracket(view, state, anchor)
                calibrate = self._calibration(view, state, max(lo, math.log(view.our.landed_price)), hi)
                if calibrate is not None:
                    return Step(calibrate, Reason.SHARE_ESTIMATE, state, signal_backed=True)
            elif view.as_of < state.live_since + cfg.share_wait_s:
                return Step(None, Reason.AWAIT_LIVE, state, recheck_at=state.live_since + cfg.share_wait_s)
        lo, hi = self._bracket(view, state, anchor)
        lo = max(lo, math.log(view.our.landed_price))
        moved = state.target is not None and abs(anchor.log_ref - state.target_log_ref) > cfg.converged_ratio
        if self._converged(lo, hi, ship, view.tick):
            target = _listing(lo, ship, view.tick, down=True)
            reason = Reason.RECONVERGE if moved else Reason.CONVERGED
            state, sample = self._sample(view, state, anchor)
            return Step(target if target > price else None, reason, state, signal_backed=True, learned=sample)
        # The prior leads only until an upward probe fails; from then on bisect what the verdicts allow, rather
        # than creep down toward the prior's edge one lost probe (and retreat) at a time.
        # The prior's top counts as an upper bound for securing (a 1% step), not for the final refinement; so does
        # FOEP once Amazon has recomputed it for us as the incumbent (it then estimates our hold threshold).
        has_prior = anchor.soft_hi > anchor.soft_lo and not state.climb_lost
        soft_top = anchor.log_ref + anchor.soft_hi if has_prior else hi
        # A FOEP made with us featured, or else the challenge FOEP plus the learned swing, says more than the prior.
        foep_top = self._foep_top(view, state)
        if foep_top is not None:
            soft_top = foep_top
            if state.theta_hi is not None and not state.climb_lost and foep_top - 2.0 * self._foep_span > hi:
                # FOEP made with us featured puts our threshold well above the bound a challenger's loss left:
                # that verdict came before Amazon recomputed, so drop it.
                state = msgspec.structs.replace(state, theta_hi=None)
                lo, hi = self._bracket(view, state, anchor)
                lo = max(lo, math.log(view.our.landed_price))
        predicted = self._predicted(view, state, anchor) if foep_top is None else None
        if predicted is not None:
            soft_top = predicted.center + SPREAD * predicted.half_width
        secured = self._converged(lo, min(hi, soft_top), ship, view.tick, cfg.secure_ratio)
        if secured and state.secured_at is None:
            # Held still from when the securing price went live (it has been live ``settle_s`` by now): the 30-min
            # window the product's 99% promise is measured over starts there, not at this verdict.
            state = msgspec.structs.replace(state, secured_at=min(view.now, state.live_since))
        if state.secured_at is not None and view.now - state.secured_at < cfg.secure_s:
            # Hold still, but at the best price already known to hold (we may be back from a retreat below it).
            known = _listing(lo, ship, view.tick, down=True)
            hold_at: int | None = known if known > price else None
            recheck = state.secured_at + cfg.secure_s
            return Step(hold_at, Reason.SECURED, state, signal_backed=True, recheck_at=recheck)
        split = cfg.climb_split if state.secured_at is not None else cfg.secure_split
        use_prior = not state.climb_lost
        capped = hi if foep_top is None else max(lo, min(hi, foep_top))
        candidate = self._candidate(anchor, lo, capped, use_prior=use_prior, split=split, floor=state.prior_floor)
        if state.secured_at is None and cfg.secure_step > 0.0:
            candidate = min(candidate, lo + cfg.secure_step)
        if foep_top is not None and state.secured_at is None:
            # FOEP has placed our hold threshold: go straight to the lowest price that secures the 99% band, which
            # holds unless FOEP is off by well over its usual error.
            best = _listing(min(hi, foep_top), ship, view.tick, down=True) - view.tick
            landed = math.ceil(best * (1.0 - cfg.secure_ratio)) + ship
            if landed <= 0:
                # Only a negative shipping charge gets here: it takes the landed price FOEP leaves to 0 or below.
                return Step(None, Reason.DEGENERATE_MARKET, state)
            candidate = math.log(landed)
        elif predicted is not None and state.secured_at is None:
            guess = min(predicted.center - cfg.swing_sigmas * predicted.half_width, hi)
            if guess > lo:
                candidate = guess
        probe = _listing(candidate, ship, view.tick, down=True)
        probe = max(probe, price + view.tick)
        # Every probe is computed from the competitors' prices in this observation: a fresh signal, not a nudge.
        reason = Reason.RECONVERGE if moved else Reason.SEARCH_UP
        return Step(probe, reason, state, signal_backed=True, want_foep=state.secured_at is None)

    def _sample(self, view: MarketView, state: SearchState, anchor: _Anchor) -> tuple[SearchState, WeightSample | None]:
        """What a converged search teaches about Amazon's weights: once per bracket, when one rival binds."""
        if state.theta_lo is None or state.theta_hi is None or not anchor.clear or state.sampled == state.theta_lo:
            return state, None
        rival = next((r for r in view.competitors if r.seller_id == anchor.binding), None)
        if rival is None:
            return state, None
        sample = WeightSample(
            features=ScorePrior.features(view.our, rival),
            offset=0.5 * (state.theta_lo + state.theta_hi),
            sd=0.5 * (state.theta_hi - state.theta_lo),
        )
        return msgspec.structs.replace(state, sampled=state.theta_lo), sample

    @property
    def _foep_span(self) -> float:
        """How far above a FOEP reading `_foep_top` puts the threshold's top (ln)."""
        return self.config.foep_top_sigmas * self.config.foep_sigma

    def _foep_top(self, view: MarketView, state: SearchState) -> float | None:
        """ln of the landed price FOEP puts our hold threshold under, once Amazon has recomputed it for us as the
        incumbent: when the reading says our offer was featured as Amazon made it; where Amazon does not say,
        when it was read ``foep_stale_s`` into this spell of holding, or when its value changed since a reading
        taken during the spell (Amazon recomputed it while we held)."""
        if view.foep is None or view.foep_at is None or state.held_since is None:
            return None
        if view.foep_ours is not None:
            if not view.foep_ours:
                return None
        else:
            late = view.foep_at >= state.held_since + self.config.foep_stale_s
            recomputed = state.spell_foep is not None and view.foep != state.spell_foep
            if not (late or recomputed):
                return None
        return math.log(view.foep + view.our.shipping) + self._foep_span

    def _challenge(self, view: MarketView, state: SearchState, anchor: _Anchor, verdict: bool) -> Step[SearchState]:
        cfg = self.config
        price, ship = view.our.listing_price, view.our.shipping
        bounds = view.bounds
        if not verdict and self._waiting(view, state, anchor):
            return Step(None, Reason.AWAIT_LIVE, state, recheck_at=state.live_since + cfg.settle_s)
        if state.unwinnable_min is not None and bounds.min_price < state.unwinnable_min:
            # The seller lowered the min we lost at: prices below it may win, so search again.
            state = msgspec.structs.replace(state, unwinnable_log_ref=None, unwinnable_min=None)
        if state.unwinnable_log_ref is not None and anchor.log_ref <= state.unwinnable_log_ref:
            return Step(bounds.max_price, Reason.UNWINNABLE, state)
        if verdict and price <= bounds.min_price and state.challenge_fails > 0:
            # We lost at our min: nothing within bounds wins until the market moves up or our min comes down.
            state = msgspec.structs.replace(
                state, unwinnable_log_ref=anchor.log_ref + cfg.converged_ratio, unwinnable_min=bounds.min_price
            )
            return Step(bounds.max_price, Reason.UNWINNABLE, state)
        rival = view.winning_rival()
        gap = self._prior(view).challenge_gap(rival is not None, rival is not None and rival.is_amazon)
        shift = gap.center + 0.5 * gap.half_width
        lo, hi = self._bracket(view, state, anchor)
        # Two failed challenges in a row mean the prior's bracket is wrong here: bisect instead.
        trust_prior = state.challenge_fails < 2
        if state.theta_lo is not None and gap.center + gap.half_width > 0.0:
            # We have held the Buy Box at lo. A challenger's verdict mixes up the threshold with the incumbent's
            # uncertain edge, so learn nothing here: go back safely below lo, and search again once we hold.
            target = _listing(lo - gap.center - gap.half_width, ship, view.tick, down=True)
            reason = Reason.RECONVERGE
        elif self._converged(lo, hi, ship, view.tick):
            target = _listing(lo - shift, ship, view.tick, down=True)
            reason = Reason.RECONVERGE
        elif view.foep is not None and state.challenge_fails == 0 and view.foep_ours is not True:
            target = _scale(view.foep, -cfg.foep_margin)
            reason = Reason.FIRST_PROBE_FOEP
        elif state.theta_lo is None and trust_prior and anchor.soft_hi > anchor.soft_lo:
            # Nothing learned yet: take the Buy Box with a price the prior says very likely wins; if that fails,
            # with the lowest price the prior allows at all.
            soft_lo, soft_hi = max(lo, anchor.log_ref + anchor.soft_lo), min(hi, anchor.log_ref + anchor.soft_hi)
            if state.challenge_fails == 0:
                log_t = soft_lo + cfg.challenge_quantile * max(0.0, soft_hi - soft_lo) - shift
            else:
                log_t = soft_lo - gap.center - gap.half_width
            target = _listing(log_t, ship, view.tick, down=True)
            reason = Reason.FIRST_PROBE_WINNER
        else:
            log_t = self._candidate(anchor, lo, hi, use_prior=trust_prior)
            target = _listing(log_t - shift, ship, view.tick, down=True)
            reason = Reason.FIRST_PROBE_WINNER if state.probes == 0 else Reason.CHALLENGE
        if state.challenge_fails > 0 and (gap.half_width > 0.0 or target >= price):
            # A lost challenge bounds the hold threshold only loosely while the incumbent's edge is uncertain, so
            # the bracket alone may not move the next one down: step at least this far, twice as far each time.
            cap = _scale(price, -cfg.gallop_step * 2 ** (state.challenge_fails - 1))
            target = min(target, cap)
        target = max(target, bounds.min_price)
        return Step(target, reason, state, signal_backed=True, want_foep=view.foep is None)

    def _bracket(self, view: MarketView, state: SearchState, anchor: _Anchor) -> tuple[float, float]:
        """The interval of ln T (landed) that the verdicts and the bounds leave open: ``lo`` holds (or is the min),
        ``hi`` lost (or is a tick above the highest price the max allows, which may well hold)."""
        ship = view.our.shipping
        lo = math.log(view.bounds.min_price + ship)
        hi = math.log(on_tick(view.bounds.max_price, view.tick) + view.tick + ship)
        if state.theta_lo is not None:
            lo = max(lo, anchor.log_ref + state.theta_lo)
        if state.theta_hi is not None:
            hi = min(hi, anchor.log_ref + state.theta_hi)
        return lo, max(lo, hi)

    def _converged(self, lo: float, hi: float, shipping: int, tick: int, ratio: float | None = None) -> bool:
        """True when the best price the bracket still allows is within ``ratio`` (default: ``converged_ratio``)
        of its lower end.

        ``hi`` is a price that lost (or a tick above the max), so the best possible winning price is a tick below it.
        """
        ratio = self.config.converged_ratio if ratio is None else ratio
        lo_price = _listing(lo, shipping, tick, down=True)
        best = _listing(hi, shipping, tick, down=True) - tick
        return lo_price >= best * (1.0 - ratio)

    def _candidate(
        self,
        anchor: _Anchor,
        lo: float,
        hi: float,
        *,
        use_prior: bool = True,
        split: float = 0.5,
        floor: float | None = None,
    ) -> float:
        """The next threshold to test within [lo, hi] (ln of a landed price).

        Bisect inside the prior's bracket while it is open; once it has narrowed to nothing, test just past its
        upper edge (the prior says a price there loses, which settles the search; if it wins instead the prior is
        wrong); past that, bisect what the verdicts leave open. So a wrong prior costs a probe or two, not the
        whole search.
        """
        eps = math.log1p(self.config.converged_ratio)
        if use_prior and anchor.soft_hi > anchor.soft_lo:
            soft_lo, soft_hi = anchor.log_ref + anchor.soft_lo, anchor.log_ref + anchor.soft_hi
            if floor is not None:
                soft_lo = min(max(soft_lo, anchor.log_ref + floor), soft_hi)
            inner_lo, inner_hi = max(lo, soft_lo), min(hi, soft_hi)
            if inner_hi - inner_lo > eps:
                return inner_lo + split * (inner_hi - inner_lo)
            # Holds have reached the prior's upper edge: take the smallest step whose loss settles the search.
            edge = lo + eps
            if soft_hi - eps <= lo < soft_hi and edge < hi:
                return edge
        return lo + split * (hi - lo)

    # --- bookkeeping -----------------------------------------------------------------------------------------

    def _finish(self, view: MarketView, step: Step[SearchState], anchor: _Anchor) -> Step[SearchState]:
        cfg = self.config
        state, target, reason = step.state, step.target, step.reason
        bounds, now = view.bounds, view.now
        # A touch of our min counts toward a price war only when we follow the market down to it, not when a
        # search in a still market retreats there.
        following_down = state.target is not None and anchor.log_ref < state.target_log_ref - cfg.converged_ratio
        if target is not None and target <= bounds.min_price and (following_down or now < state.war_until):
            if now < state.war_until:
                target, reason = bounds.max_price, Reason.WAR_DAMPED
            elif state.target != bounds.min_price:
                recent = tuple(t for t in state.min_touches if now - t < cfg.war_window_s)
                if len(recent) >= cfg.war_touches:
                    target, reason = bounds.max_price, Reason.WAR_RESET
                    state = msgspec.structs.replace(state, min_touches=recent, war_until=recent[0] + cfg.war_window_s)
                else:
                    state = msgspec.structs.replace(state, min_touches=(*recent, now))
        if target is not None:
            # On the price grid: an off-grid target goes live rounded, so never as asked, and the resend check
            # would fire for it every hour. Rounded down, but not below the min by the rounding.
            on_grid = on_tick(target, view.tick)
            target = on_grid + view.tick if on_grid < bounds.min_price <= target else on_grid
        if target is None or target == state.target:
            resend = (
                state.target is not None
                and state.target != view.our.listing_price
                and (view.unsent or now - state.target_at >= cfg.resend_after_s)
            )
            if not resend:
                return msgspec.structs.replace(step, target=None, reason=reason, state=state)
            target = state.target
        assert target is not None
        target = min(target, on_tick(bounds.max_price, view.tick))  # the bracket top, a tick above max, is max
        if target == view.our.listing_price and state.target in (None, target):
            return msgspec.structs.replace(step, target=None, reason=reason, state=state)
        pending = state.target is not None and state.target != view.our.listing_price
        state = msgspec.structs.replace(
            state,
            target=target,
            target_at=now,
            target_log_ref=anchor.log_ref,
            probes=state.probes + 1,
            superseded=state.superseded or pending,
        )
        return msgspec.structs.replace(step, target=target, reason=reason, state=state)


def _listing(log_landed: float, shipping: int, tick: int, *, down: bool) -> int:
    """A landed price given in log terms, as a listing price on the tick grid (rounded down, or up)."""
    # Written for speed (a few of these per decision): ``math.floor`` of a float is already an int, and the
    # comparison is ``max(1.0, landed)`` spelt out.
    landed = math.exp(log_landed)
    nearest = round(landed)
    if abs(landed - nearest) < 1e-6 * (landed if landed > 1.0 else 1.0):
        landed = nearest
    units = (landed - shipping) / tick
    return (math.floor(units) if down else math.ceil(units)) * tick


def _scale(price: int, change: float) -> int:
    """``price`` moved by a relative ``change``, rounded down."""
    return math.floor(price * (1.0 + change))
