"""`repricer bench spapi` run small from the command line so it never rots: the JSON's shape and what must hold
in every run (no price outside bounds, no update lost, the daemon alive through the fault), no timing asserted.
And the outbox audit, on outboxes made to fail it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.outbox import audit_outbox
from bench.wiretap import Accepted
from engine.cli import main
from engine.model import OfferKey, OfferUpdate, OutboxEntry, OutboxState
from sim.trajectory import RowSeries

RUN_FIELDS = {
    "name",
    "adapter",
    "fault",
    "offers",
    "holding",
    "converged",
    "median_t_buybox_s",
    "median_t_99_s",
    "median_t_998_s",
    "calls",
    "requests",
    "requests_per_converged_offer",
    "over_quota",
    "over_quota_steady",
    "prices_outside_bounds_sent",
    "prices_outside_bounds_live",
    "updates",
    "alive",
    "quota",
}


def test_bench_spapi_runs_in_process_and_on_the_fake_through_a_429_storm(tmp_path: Path) -> None:
    out = tmp_path / "spapi.json"
    argv = ["bench", "spapi", "--marketplaces", "DE", "--skus", "4", "--hours", "1", "--faults", "storm429"]
    assert main([*argv, "--quiet", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    in_process, storm = result["runs"]
    assert (in_process["name"], storm["name"], storm["adapter"]) == ("in-process", "fake storm429", "sp-api")
    assert result["plan"]["faults"] == ["storm429"] and result["ratios"] == {}
    for run in (in_process, storm):
        assert run.keys() >= RUN_FIELDS
        assert run["offers"] == 4 and 0 <= run["converged"] <= 4
        assert run["prices_outside_bounds_live"] == 0
        assert run["updates"]["lost"] == 0, run["updates"]["lost_examples"]
        assert run["alive"] and run["service_restarts"] == 0
        assert run["updates"]["sent"] > 0
        assert {use["operation"] for use in run["quota"]} == {
            "poll_offers",
            "featured_offer_prices",
            "featured_shares",
            "submit",
            "read_back",
        }
    assert storm["faults_hit"]["throttle"] > 0  # the storm struck, and the daemon came through it
    assert storm["prices_outside_bounds_sent"] == 0
    # Beside the engine's operations, the notifications' set-up at start: getDestinations, createDestination, and
    # getSubscription and createSubscription for each of the two types.
    assert storm["requests"] == sum(use["http"]["requests"] for use in storm["quota"]) + 6
    updates = storm["updates"]
    assert updates["accepted"] <= updates["fake_accepted"] == updates["fake_applied"]  # nothing unapplied injected


KEY = OfferKey("sim-eu", "DE", "SKU-1")


def _entry(update_id: int, price: int, state: OutboxState, at: float, submission: str | None = None) -> OutboxEntry:
    update = OfferUpdate(KEY, update_id, "EUR", price, 1000, 3000)
    return OutboxEntry(update, state, at, submission)


def _series() -> RowSeries:
    """Our price 2900 from 0, 2500 live from 100 s, until 1000 s."""
    return RowSeries(
        t=np.array([0.0, 100.0]),
        our_price=np.array([2900, 2500]),
        p_star=np.array([2400, 2400]),
        share=np.array([0.0, 1.0]),
        hold=np.array([False, True]),
        comp_move=np.array([False, False]),
        end=1000.0,
    )


def test_the_outbox_audit_finds_each_way_an_update_can_be_lost() -> None:
    accepted = {"s-1": Accepted("SKU-1", "A1PA6795UKMFR9", 2500, "s-1", 50.0)}
    entries = [
        _entry(1, 2700, OutboxState.FAILED, 20.0),  # stranded: a newer update exists and nothing superseded it
        _entry(2, 2500, OutboxState.VERIFIED, 700.0, "s-1"),  # fine: accepted at 50 s, live from 100 s
        _entry(3, 2400, OutboxState.VERIFIED, 800.0, "s-9"),  # phantom: the fake never gave s-9
        _entry(4, 2300, OutboxState.GIVEN_UP, 900.0),  # given up: counted, not lost
        _entry(5, 2200, OutboxState.STORED, 950.0),  # the newest, unsent at the stop: the next start sends it
    ]
    audit = audit_outbox(entries, lambda key: _series(), start=0.0, accepted=accepted)
    assert (audit.stranded, audit.phantom, audit.verified_not_live) == (1, 1, 0)
    assert (audit.given_up, audit.given_up_last, audit.unsent_at_stop, audit.lost, audit.updates) == (1, 0, 1, 2, 5)
    # In process (no submission ids), a verified price the market never had live is lost.
    never_live = [_entry(1, 2600, OutboxState.VERIFIED, 700.0)]
    assert audit_outbox(never_live, lambda key: _series(), start=0.0).verified_not_live == 1
