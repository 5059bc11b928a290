"""Every control command as an operator uses it, through `repricer ctl` on a real socket: what it shows, what it
changes (and says it changed), and how it refuses."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio

from engine.actors.supervisor import SupervisorConfig
from engine.catalog import CatalogRow
from engine.cli import main
from engine.control import ControlServer
from engine.marketplaces import by_code
from engine.model import BuyBoxAction, Decision, Fees, MarginLevel, OfferKey, Reason
from engine.ports import TransientError
from engine.pricing.bounds import CostBasis, bounds_from_margins
from engine.pricing.search import EngineSearch, SearchState
from engine.pricing.view import MarketView, Step
from engine.store import MemoryStore
from tests.control.harness import LIMITS, QUIET, build, decided, eventually, exchange, market, push, serving, settled

KEY_A = OfferKey("SELLER", "DE", "A")


async def ctl(server: ControlServer, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`repricer ctl --socket PATH ARGV...` as a user runs it (in a thread: it blocks); exit code, stdout, stderr."""
    code = await trio.to_thread.run_sync(main, ["ctl", "--socket", str(server.path), *argv], abandon_on_cancel=True)
    out, err = capsys.readouterr()
    return code, out, err


async def ctl_json(server: ControlServer, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = await ctl(server, capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("scope", [["A"], ["--marketplace", "DE"], ["--seller", "SELLER"], ["--all"]])
async def test_pause_takes_effect_before_next_decision(scope: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    daemon, markets = build()
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        await eventually(settled(daemon), "first prices sent")
        sent = len(markets[("SELLER", "DE")].submitted)
        code, out, _ = await ctl(server, capsys, "pause", *scope)
        assert code == 0 and out.startswith("paused ")
        # The very next decision, on news that would move the price, holds: nothing is asked for, nothing sent.
        await push(daemon, markets, KEY_A, rival=1700)
        actor = market(daemon).offer("A")
        assert actor.last is not None and (actor.last.reason, actor.last.target) == (Reason.PAUSED, None)
        assert market(daemon).batcher.pending == 0
        assert len(markets[("SELLER", "DE")].submitted) == sent
        # Resumed, it decides again at once, and not as paused.
        code, out, _ = await ctl(server, capsys, "resume", *scope)
        assert code == 0 and out.startswith("resumed ")
        await eventually(lambda: actor.last is not None and actor.last.reason is not Reason.PAUSED, "decided again")


async def test_pause_and_resume_say_what_changed_and_what_still_holds(capsys: pytest.CaptureFixture[str]) -> None:
    daemon, _ = build(places=(("SELLER", "DE"), ("SELLER", "FR")))
    async with serving(daemon) as server:
        result = await ctl_json(server, capsys, "pause", "--all")
        assert (result["target"], result["changed"], result["offers"]) == ("all (the kill switch)", True, 4)
        again = await ctl_json(server, capsys, "pause", "--all")
        assert again["changed"] is False
        # A SKU on two marketplaces must be named with its marketplace.
        code, _, err = await ctl(server, capsys, "pause", "A")
        assert code == 1 and "SELLER/DE, SELLER/FR" in err and "(ambiguous)" in err
        result = await ctl_json(server, capsys, "pause", "A", "--marketplace", "FR")
        assert (result["target"], result["changed"]) == ("offer SELLER/FR/A", True)
        code, out, _ = await ctl(server, capsys, "resume", "A", "--marketplace", "FR")
        assert code == 0 and "still paused by the kill switch" in out
        assert market(daemon, "FR").offer("A").paused is False
        code, out, _ = await ctl(server, capsys, "resume", "--marketplace", "DE")
        assert "was not paused: nothing changed" in out and "still paused by the kill switch" in out
        await ctl(server, capsys, "resume", "--all")
        assert not daemon.switch.on
        # Refusals name what they refuse.
        code, _, err = await ctl(server, capsys, "pause", "--seller", "NOBODY")
        assert code == 1 and "NOBODY" in err
        code, _, err = await ctl(server, capsys, "pause")
        assert code == 2 and "say what to pause" in err
        code, _, err = await ctl(server, capsys, "pause", "A", "--all")
        assert code == 2 and "--all excludes" in err


async def test_status_shows_every_marketplace_with_rates_and_the_converged_definition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, _ = build(places=(("SELLER", "DE"), ("OTHER", "FR")))
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        await trio.sleep(0.7)  # a rate needs samples half a second apart at least
        status = await ctl_json(server, capsys, "status")
        lines = {(m["seller"], m["marketplace"]): m for m in status["markets"]}
        assert set(lines) == {("SELLER", "DE"), ("OTHER", "FR")}
        de = lines[("SELLER", "DE")]
        assert (de["offers"], de["live"], de["holding"], de["currency"]) == (2, 2, 0, "EUR")
        assert de["decisions"] >= 2 and de["decisions_per_min"] is not None and de["updates_per_min"] is not None
        assert de["last_observation_age_s"] is not None and de["queued"] + de["sent"] >= 2
        assert {q["operation"] for q in status["quotas"]} == {"poll_offers", "read_back", "submit"}
        assert all(q["use"] is not None for q in status["quotas"])
        assert "converged" in status["definitions"]["converged"] and "secured" in status["definitions"]["converged"]
        assert {s["name"] for s in status["services"]} == {"recorder", "control server"}
        code, out, _ = await ctl(server, capsys, "status")
        assert code == 0
        assert "SELLER  DE" in out and "OTHER   FR" in out and "DECISIONS/MIN" in out
        assert "poll_offers" in out and "converged: offers whose standing decision" in out


async def test_offer_shows_settings_bounds_live_price_competitors_and_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, _ = build()
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        offer = await ctl_json(server, capsys, "offer", "A")
        assert (offer["sku"], offer["min_price"], offer["max_price"], offer["currency"]) == (
            "A",
            "10.00",
            "30.00",
            "EUR",
        )
        assert (offer["live_price"], offer["live"], offer["we_win"]) == ("20.00", True, False)
        assert [(c["seller_id"], c["landed"], c["buybox_winner"]) for c in offer["competitors"]] == [
            ("RIVAL", "19.00", True)
        ]
        assert offer["recent"] and offer["recent"][0]["reason"] in {r.value for r in Reason}
        assert offer["search"]["probes"] >= 1
        code, out, _ = await ctl(server, capsys, "offer", "A")
        assert code == 0
        assert "min 10.00 EUR, max 30.00 EUR" in out and "RIVAL" in out and "19.00 EUR" in out
        assert offer["recent"][0]["reason"] in out
        code, _, err = await ctl(server, capsys, "offer", "NOPE")
        assert code == 1 and "'NOPE'" in err and "(not_found)" in err


async def test_bounds_set_as_prices_or_from_a_margin_level(capsys: pytest.CaptureFixture[str]) -> None:
    store = MemoryStore()
    fees = Fees(variable_fee=Decimal("0.15"), fixed_fee=30)
    await store.save_catalog(
        [CatalogRow(KEY_A, asin="B00000000A", cost=900, fees=fees, min_price=1000, max_price=3000)]
    )
    daemon, _ = build(store=store)
    async with serving(daemon) as server:
        result = await ctl_json(server, capsys, "bounds", "A", "--min", "12.50", "--max", "25")
        assert (result["before_min"], result["min_price"], result["max_price"]) == ("10.00", "12.50", "25.00")
        assert result["changed"] is True and result["saved"] is False and "in memory" in result["note"]
        runtime = market(daemon)
        assert runtime.offer("A").settings.bounds == runtime.catalog[KEY_A].bounds
        assert (runtime.catalog[KEY_A].bounds.min_price, runtime.catalog[KEY_A].bounds.max_price) == (1250, 2500)
        # Only one bound given: the other stays.
        result = await ctl_json(server, capsys, "bounds", "A", "--max", "28.00")
        assert (result["min_price"], result["max_price"]) == ("12.50", "28.00")
        # A margin level, priced from the catalog's cost and fees.
        result = await ctl_json(server, capsys, "bounds", "A", "--min-margin", "10%", "--max-margin", "0.35")
        basis = CostBasis.for_marketplace(
            by_code("DE"), cost=900, fees=fees, fulfilment=runtime.offer("A").settings.fulfilment
        )
        expected = bounds_from_margins(KEY_A, MarginLevel(Decimal("0.10"), Decimal("0.35")), basis)
        assert runtime.offer("A").settings.bounds == expected and result["source"] == "margins"
        # Refused, naming the SKU, and nothing changed.
        code, _, err = await ctl(server, capsys, "bounds", "A", "--min", "30", "--max", "20")
        assert code == 1 and "'A'" in err and "nothing changed" in err
        assert runtime.offer("A").settings.bounds == expected
        code, _, err = await ctl(server, capsys, "bounds", "B", "--min-margin", "0.1", "--max-margin", "0.3")
        assert code == 1 and "'B'" in err and "cost" in err
        code, _, err = await ctl(server, capsys, "bounds", "A", "--min", "12.345", "--max", "20")
        assert code == 1 and "more than 2 decimals" in err
        code, out, _ = await ctl(server, capsys, "bounds", "B", "--min", "11", "--max", "29")
        assert code == 0 and "10.00..30.00 EUR -> 11.00..29.00 EUR" in out and "not saved" in out


async def test_bounds_are_saved_in_the_catalog_of_a_persistent_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.ports import Clock
    from engine.store.sqlite import SqliteStore

    async with SqliteStore.open(str(tmp_path / "r.db"), clock=Clock()) as store:
        await store.save_catalog([CatalogRow(KEY_A, asin="B00000000A", min_price=1000, max_price=3000)])
        daemon, _ = build(store=store)
        async with serving(daemon) as server:
            result = await ctl_json(server, capsys, "bounds", "A", "--min", "11.00", "--max", "29.00")
            assert (result["saved"], result["note"]) == (True, "applied to the running daemon; saved in the catalog")
            [row] = await store.load_catalog("SELLER", "DE")
            assert (row.min_price, row.max_price) == (1100, 2900)
            result = await ctl_json(server, capsys, "bounds", "B", "--min", "11.00", "--max", "29.00")
            assert result["saved"] is False and "no row" in result["note"]


async def test_reprice_observes_now_and_answers_with_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    daemon, markets = build()
    scripted = markets[("SELLER", "DE")]
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        polls = scripted.polled.count(KEY_A)
        result = await ctl_json(server, capsys, "reprice", "A")
        assert scripted.polled.count(KEY_A) == polls + 1  # polled at once, not at the sweep's turn half an hour on
        assert result["observed"] is True and result["decision"]["sku"] == "A"
        assert result["decision"]["reason"] == market(daemon).offer("A").last.reason.value  # type: ignore[union-attr]
        code, out, _ = await ctl(server, capsys, "reprice", "B")
        assert code == 0 and "decided on a fresh observation" in out
        await ctl(server, capsys, "pause", "B")
        code, out, _ = await ctl(server, capsys, "reprice", "B")
        assert "paused: it holds" in out and "paused" in out.splitlines()[1]


async def test_reprice_says_so_when_no_observation_comes_in_time(capsys: pytest.CaptureFixture[str]) -> None:
    daemon, markets = build()
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        # The poll fails with a 5xx: the intake tries again after a backoff of half a second at least.
        markets[("SELLER", "DE")].poll_faults = [TransientError("poll_offers", "HTTP 503")]
        result = await ctl_json(server, capsys, "reprice", "A", "--wait", "0.3")
        assert result["observed"] is False and result["decision"] is None
        assert "no fresh observation within 0.3s" in result["note"]


class ExplodesOnce:
    """The engine's search, except that its first decision for SKU B raises: a bug a release gets past."""

    name = "explodes-once"

    def __init__(self) -> None:
        self.inner = EngineSearch()
        self.exploded = False

    def initial_state(self) -> SearchState:
        return self.inner.initial_state()

    def rebase(self, state: SearchState, delta: float) -> SearchState:
        return self.inner.rebase(state, delta)

    def decide(self, view: MarketView, state: SearchState) -> Step[SearchState]:
        if view.key.sku == "B" and not self.exploded:
            self.exploded = True
            raise RuntimeError("strategy bug")
        return self.inner.decide(view, state)


async def test_release_brings_a_quarantined_offer_back(capsys: pytest.CaptureFixture[str]) -> None:
    config = msgspec.structs.replace(QUIET, supervisor=SupervisorConfig(max_crashes=1))
    daemon, _ = build(config=config, strategy=ExplodesOnce())
    async with serving(daemon) as server:
        runtime = market(daemon)
        await eventually(lambda: runtime.offer("B").quarantined, "B quarantined")
        assert (await ctl_json(server, capsys, "status"))["markets"][0]["quarantined"] == 1
        code, _, err = await ctl(server, capsys, "release", "A")
        assert code == 1 and "not quarantined" in err
        code, out, _ = await ctl(server, capsys, "release", "B")
        assert code == 0 and "released: its search starts afresh" in out
        await eventually(lambda: runtime.offer("B").decisions > 0, "B decided after its release")
        assert not runtime.offer("B").quarantined


async def test_settings_show_and_change_a_marketplace(capsys: pytest.CaptureFixture[str]) -> None:
    daemon, _ = build()
    async with serving(daemon) as server:
        shown = await ctl_json(server, capsys, "settings")
        assert shown["settings"]["step_cap"] == "0.10" and shown["changed"] == {}
        result = await ctl_json(
            server,
            capsys,
            "settings",
            "--set",
            "buybox_unavailable_action=use_max",
            "--set",
            "step_cap=0.05",
            "--set",
            "min_feedback_pct=90",
            "--set",
            "fulfilment=amazon",
        )
        channel = market(daemon).channel
        assert channel.buybox_unavailable_action is BuyBoxAction.USE_MAX and channel.step_cap == Decimal("0.05")
        assert channel.competitors.min_feedback_pct == 90 and [f.value for f in channel.competitors.fulfilment] == [
            "amazon"
        ]
        assert result["changed"] == {
            "buybox_unavailable_action": "hold",
            "step_cap": "0.10",
            "min_feedback_pct": 0,
            "fulfilment": ["merchant", "amazon"],
        }
        assert market(daemon).offer("A").channel == channel  # every offer decides on the new settings
        code, out, _ = await ctl(server, capsys, "settings", "--set", "step_cap=0.05")
        assert code == 0 and "nothing changed" in out
        code, _, err = await ctl(server, capsys, "settings", "--set", "step_cap=2")
        assert code == 1 and "SELLER/DE" in err and "step_cap" in err
        code, _, err = await ctl(server, capsys, "settings", "--set", "colour=red")
        assert code == 2 and "colour" in err
        code, _, err = await ctl(server, capsys, "settings", "--set", "dry_run=perhaps")
        assert code == 2 and "dry_run" in err
        assert market(daemon).channel == channel


async def test_watch_streams_the_decisions_of_one_sku(capsys: pytest.CaptureFixture[str]) -> None:
    daemon, markets = build()
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        # A watch of what is not there is refused, and the connection goes on.
        refused, answered = await exchange(
            server, b'{"cmd": "watch", "id": 0, "sku": "NOPE"}\n{"cmd": "status", "id": 1}\n', 2
        )
        assert refused["error"]["code"] == "not_found" and "'NOPE'" in refused["error"]["message"]
        assert answered["id"] == 1 and "ok" in answered
        stream = await trio.open_unix_socket(str(server.path))
        async with stream:
            await stream.send_all(b'{"cmd": "watch", "id": 1, "sku": "A"}\n')
            from tests.control.harness import Lines

            lines = Lines(stream)
            started = msgspec.json.decode(await lines.next() or b"")
            assert started["ok"]["watching"] == "SKU 'A'"
            await push(daemon, markets, OfferKey("SELLER", "DE", "B"), rival=1800)
            await push(daemon, markets, KEY_A, rival=1800)
            event = msgspec.json.decode(await lines.next() or b"")
            assert event["id"] == 1 and event["event"]["sku"] == "A"  # B's decision was not for this watch
        # And as `repricer ctl watch`, until the daemon goes.
        out: list[str] = []
        err: list[str] = []

        def read() -> list[str]:
            """What the watch printed so far; its stderr."""
            captured = capsys.readouterr()
            out.extend(captured.out.splitlines())
            err.extend(captured.err.splitlines())
            return err

        async def watching() -> None:
            argv = ["ctl", "--socket", str(server.path), "watch", "--json"]
            assert await trio.to_thread.run_sync(main, argv, abandon_on_cancel=True) == 0

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watching)
            await eventually(lambda: any(line.startswith("watching every offer") for line in read()), "watching")
            for rival in range(1700, 1500, -10):  # news that moves the price, so each decision makes a trace entry
                await push(daemon, markets, KEY_A, rival=rival)
                read()
                if any(json.loads(line)["sku"] == "A" for line in out):
                    break
            else:
                raise AssertionError(f"no decision of A shown: {out}")
            daemon.stop.set()  # the watch ends when the daemon goes
        read()
        assert "repricer ctl watch: the daemon closed the connection" in err


async def test_history_reads_the_daemons_store(capsys: pytest.CaptureFixture[str]) -> None:
    store = MemoryStore()
    daemon, _ = build(store=store)
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        await eventually(lambda: daemon.services[0].recorded > 0, "decisions recorded")  # type: ignore[attr-defined]
        history = await ctl_json(server, capsys, "history", "A")
        assert history["sku"] == "A" and history["persistent"] is False
        assert history["decisions"] and history["decisions"][0]["reason"] in {r.value for r in Reason}
        code, out, _ = await ctl(server, capsys, "history", "A", "--limit", "1")
        assert code == 0 and "decisions (1)" in out and "this is only what this run recorded" in out
        code, _, err = await ctl(server, capsys, "history", "ZZZ", "--marketplace", "DE")
        assert code == 1 and "ZZZ" in err


async def test_ctl_exits_3_naming_the_socket_when_nothing_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "none.sock"
    code = await trio.to_thread.run_sync(main, ["ctl", "--socket", str(path), "status"], abandon_on_cancel=True)
    _, err = capsys.readouterr()
    assert code == 3
    [line] = err.splitlines()
    assert str(path) in line and "nothing listens" in line


async def test_top_shows_the_live_view_of_the_running_daemon(capsys: pytest.CaptureFixture[str]) -> None:
    daemon, _ = build(places=(("SELLER", "DE"), ("SELLER", "FR")))
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        board = await ctl_json(server, capsys, "top", "--once")
        assert board["phase"] == "running" and board["clock_rate"] == 1.0
        assert [(m["status"]["marketplace"], m["currency"]) for m in board["markets"]] == [("DE", "EUR"), ("FR", "EUR")]
        code, out, _ = await ctl(server, capsys, "top", "--once")
        assert code == 0 and "DE" in out and "FR" in out and "views" in out


class StuckStore(MemoryStore):
    """A store whose reads of the trace never return (a disk gone away)."""

    async def recent_decisions(self, key: OfferKey, limit: int) -> list[Decision]:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_a_request_the_store_cannot_answer_gets_timeout_and_the_daemon_carries_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, _ = build(store=StuckStore())
    async with serving(daemon, msgspec.structs.replace(LIMITS, request_timeout_s=0.5)) as server:
        code, _, err = await ctl(server, capsys, "history", "A")
        assert code == 1 and "(timeout)" in err and "SELLER/DE/A" in err
        assert (await ctl_json(server, capsys, "offer", "A"))["sku"] == "A"


async def test_status_and_top_pass_over_the_offers_at_most_once_a_second_whoever_asks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A status or a board is a pass over every offer actor; pipelined requests must not repeat it back to back."""
    made: list[float] = []

    def boards() -> dict[str, int]:
        made.append(trio.current_time())
        return {"board": len(made)}

    daemon, _ = build()
    async with serving(daemon, boards=boards) as server:
        runtime = market(daemon)
        surveyed = 0
        real_status = runtime.status

        def counted() -> Any:
            nonlocal surveyed
            surveyed += 1
            return real_status()

        runtime.status = counted  # type: ignore[method-assign]
        began = trio.current_time()
        asks = b"".join(b'{"cmd": "%s", "id": %d}\n' % (cmd, n) for n in range(20) for cmd in (b"top", b"status"))
        replies = await exchange(server, asks, 40)
        replies += await exchange(server, asks, 40)  # another client shares what the first had made
        took = trio.current_time() - began
        assert all("ok" in reply for reply in replies)
        assert 1 <= len(made) <= 1 + took and 1 <= surveyed <= 1 + took
        # A pause shows at once all the same: the switches are read afresh.
        await ctl(server, capsys, "pause", "--marketplace", "DE")
        assert (await ctl_json(server, capsys, "status"))["markets"][0]["paused"] is True


def test_top_refuses_to_refresh_faster_than_the_daemon_makes_boards(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ctl", "--socket", "/nonexistent", "top", "--every", "0.05"])
    assert exited.value.code == 2 and "--every: at least 1 second, not '0.05'" in capsys.readouterr().err


class SlowCatalog(MemoryStore):
    """A store that answers catalog reads only when ``release`` is set (or after ``read_s``), and never confirms a
    save: a disk that has slowed down."""

    persistent = True

    def __init__(self, read_s: float | None = None) -> None:
        super().__init__()
        self.release = trio.Event()
        self.reading = trio.Event()
        self.read_s = read_s

    async def load_catalog(self, seller: str, marketplace: str) -> list[CatalogRow]:
        self.reading.set()
        if self.read_s is None:
            await self.release.wait()
        else:
            await trio.sleep(self.read_s)
        return await super().load_catalog(seller, marketplace)

    async def save_catalog(self, rows: Any) -> None:
        await trio.sleep_forever()


async def test_bounds_for_an_offer_removed_while_the_catalog_is_read_answer_not_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = SlowCatalog()
    await MemoryStore.save_catalog(store, [CatalogRow(KEY_A, asin="B00000000A", cost=900, min_price=1000)])
    daemon, _ = build(store=store)
    async with serving(daemon) as server, trio.open_nursery() as nursery:
        answer: list[tuple[int, str, str]] = []

        async def ask() -> None:
            answer.append(await ctl(server, capsys, "bounds", "A", "--min-margin", "0.1", "--max-margin", "0.3"))

        nursery.start_soon(ask)
        await store.reading.wait()
        market(daemon).remove_offer("A")  # a catalog reload took it away meanwhile
        store.release.set()
        await eventually(lambda: bool(answer), "bounds answered")
        [(code, _, err)] = answer
        assert code == 1 and "(not_found)" in err and "'A'" in err
        assert "internal" not in server.counters.errors


async def test_bounds_on_a_slow_store_answer_applied_but_unconfirmed_before_the_request_deadline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The catalog read takes most of the handler's time and the save never comes back: the two waits share one
    # deadline (0.8 of the request's), so the answer is the designed one, not the server's bare timeout.
    limits = msgspec.structs.replace(LIMITS, request_timeout_s=2.0)
    store = SlowCatalog(read_s=1.0)
    await MemoryStore.save_catalog(store, [CatalogRow(KEY_A, asin="B00000000A", min_price=1000, max_price=3000)])
    daemon, _ = build(store=store)
    async with serving(daemon, limits) as server:
        result = await ctl_json(server, capsys, "bounds", "A", "--min", "11", "--max", "29")
        assert result["changed"] is True and result["saved"] is None
        assert result["note"].startswith("applied to the running daemon; the store did not confirm the save")
        assert market(daemon).offer("A").settings.bounds.min_price == 1100
        assert "timeout" not in server.counters.errors


async def test_a_stop_lets_requests_in_flight_answer_and_refuses_new_ones() -> None:
    """A request being answered when the daemon stops gets its answer (the client learns what happened, not "closed
    the connection"); a request that arrives after the stop is answered `stopping`, nothing done."""
    daemon, markets = build()
    async with serving(daemon) as server:
        await eventually(decided(daemon), "first decisions")
        markets[("SELLER", "DE")].poll_faults = [TransientError("poll_offers", "HTTP 503")]
        late = await trio.open_unix_socket(str(server.path))
        async with late, trio.open_nursery() as nursery:
            answers: list[dict[str, Any]] = []

            async def reprice() -> None:
                line = b'{"cmd": "reprice", "id": 1, "sku": "A", "wait_s": 1.0}\n'
                answers.extend(await exchange(server, line, 1))

            nursery.start_soon(reprice)
            await eventually(lambda: server._in_flight == 1, "the reprice in flight")
            finishing = trio.Event()

            async def finish() -> None:
                await server.finish()
                finishing.set()

            nursery.start_soon(finish)
            await eventually(lambda: server._stopping, "the stop")
            await late.send_all(b'{"cmd": "pause", "id": 2, "all": true}\n')
            refused = msgspec.json.decode(await late.receive_some(4096))
        assert finishing.is_set()
        assert answers[0]["id"] == 1 and "ok" in answers[0]  # answered, not cut off
        assert (refused["id"], refused["error"]["code"]) == (2, "stopping")
        assert not daemon.switch.on  # the pause was not done
