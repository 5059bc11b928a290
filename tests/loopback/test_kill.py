"""Killing the daemon at any moment loses no price update and no search: issue 20's daemon-level kill test, on the
real clock, against the SP-API fake in its own process.

`repricer sim serve` runs throughout (60 times faster than real time); `repricer run --config` runs against it and
is SIGKILLed at moments drawn from a seeded generator, then started again on the same database, ``KILLS`` times:

- ``startup``: a fixed delay after the process was started, wherever that lands: importing, reading the
  configuration, opening the store, restoring from it, the first poll;
- ``in_flight``: just after the daemon logged Amazon's answer to its n-th patchListingsItem of the run, before
  it could commit what the answer says: the fake has accepted an update the daemon has not heard of;
- ``running``: a delay after the daemon said it started.

After each kill the database (a copy: the next daemon must find the file as the kill left it) passes SQLite's
integrity check, and the next daemon starts on it (the lock the killed one held is not left behind) and resumes
exactly what the kill left: every search state stored, every update stored but unanswered (sent again as an intent).
After the last kill the daemon runs until nothing is left unanswered and is stopped with SIGTERM; then the
database and the fake must agree:

- every update the fake accepted is in the daemon's outbox: under its submission id (accepted, verified, or
  superseded by a later acceptance), or, when the kill took the answer, as the update stored before the call
  (superseded by the one sent again);
- every update a kill left unanswered was followed by one the fake accepted for that offer;
- the price the daemon holds accepted for each offer is the last one the fake accepted for it.

About two minutes of wall time (most of it Python starting the daemon 25 times), hence the ``slow`` mark: the
suite runs it (`make unit`); ``-m "not slow"`` leaves it out. It found that a killed daemon resumed no search at
all: states were stored only every five minutes and at a stop (now also a second after each offer decides,
`RuntimeConfig.state_save_delay_s`; tests/actors/test_restart.py shows it under virtual time).
"""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import pytest
import trio

from engine.model import OUTBOX_UNANSWERED, OfferUpdate, OutboxState
from tests.loopback.processes import SELLER, Children, Daemon, Fake, import_catalog, write_config

pytestmark = pytest.mark.slow

KILLS = 24
SEED = 2020
SKUS = 8
MARKETPLACES = ("DE", "FR")
TIME_SCALE = 60.0
# The first kills sweep the start (a Python process takes about a second to import the daemon here).
FIRST_DELAYS = (0.3, 0.8, 1.3, 1.8)
PATCH_ANSWERED = "PATCH http"  # httpx's line for each answer, logged before the daemon acts on it
# How long a daemon may go without the answer an ``in_flight`` kill waits for, before it is killed anyway.
QUIET_S = 10.0
SETTLE_GUARD_S = 120.0  # the last daemon sends what the kills left within this, or the test fails
# A daemon that ran this long has stored every offer's search state (`RuntimeConfig.state_save_delay_s` after its
# first decisions, with room for a loaded machine).
STATES_STORED_S = 8.0
_STARTED = "started: offers"

_UPDATE = msgspec.msgpack.Decoder(OfferUpdate)
_ACCEPTED = (OutboxState.ACCEPTED, OutboxState.VERIFIED)


class Entry(NamedTuple):
    """One outbox row as the file holds it."""

    update_id: int
    marketplace: str
    sku: str
    state: OutboxState
    submission_id: str | None
    price: int


class Found(NamedTuple):
    integrity: str
    states: dict[tuple[str, str], bytes]  # (marketplace, SKU) -> the search state as stored
    outbox: list[Entry]

    @property
    def unanswered(self) -> list[Entry]:
        return [entry for entry in self.outbox if entry.state in OUTBOX_UNANSWERED]


def read_database(path: Path, copy_to: Path | None = None) -> Found:
    """Integrity, stored search states and outbox of the database; from a copy of it and its write-ahead log in
    ``copy_to`` when given (reading recovers the log, as the next daemon will; the original stays as it was)."""
    if copy_to is not None:
        copy_to.mkdir()
        for suffix in ("", "-wal", "-journal"):
            if (journal := Path(f"{path}{suffix}")).exists():
                shutil.copyfile(journal, copy_to / f"{path.name}{suffix}")
        path = copy_to / path.name
    with closing(sqlite3.connect(path)) as db:
        (integrity,) = db.execute("PRAGMA integrity_check").fetchone()
        states = db.execute("SELECT marketplace, sku, state FROM search_state WHERE seller = ?", (SELLER,)).fetchall()
        rows = db.execute("SELECT update_id, marketplace, sku, state, submission_id, body FROM outbox").fetchall()
    outbox = [
        Entry(update_id, marketplace, sku, OutboxState(state), submission_id, _UPDATE.decode(body).price)
        for update_id, marketplace, sku, state, submission_id, body in rows
    ]
    return Found(integrity, {(m, sku): state for m, sku, state in states}, sorted(outbox))


class Kill(NamedTuple):
    kind: str  # startup, in_flight or running
    delay_s: float  # startup: from the start of the process; running: from "started"; in_flight: after the answer
    answers: int = 0  # in_flight: the patch answer of the run to kill after


def plan_kills(rng: random.Random) -> list[Kill]:
    kills = [Kill("startup", delay) for delay in FIRST_DELAYS]
    while len(kills) < KILLS:
        kind = rng.choice(("startup", "in_flight", "in_flight", "running"))
        if kind == "startup":
            kills.append(Kill(kind, rng.uniform(0.2, 3.0)))
        elif kind == "in_flight":
            kills.append(Kill(kind, rng.uniform(0.0, 0.005), rng.randint(1, 3)))
        else:
            kills.append(Kill(kind, rng.uniform(0.0, 12.0)))
    return kills


async def run_and_kill(children: Children, config: Path, kill: Kill) -> tuple[Daemon, float | None]:
    """Start a daemon and SIGKILL it as ``kill`` says; how long it had run since it said it started (None: it had
    not said so)."""
    daemon = await Daemon.start(children, config)
    if kill.kind == "startup":
        await trio.sleep(kill.delay_s)
    else:
        started = await daemon.started()
        if kill.kind == "running":
            await trio.sleep(kill.delay_s)
        else:
            with trio.move_on_after(QUIET_S):
                line = started
                for _ in range(kill.answers):
                    line = await daemon.said.wait_for(PATCH_ANSWERED, start=line + 1)
                await trio.sleep(kill.delay_s)
    said = daemon.said
    started_at = next((at for line, at in zip(said.lines, said.times, strict=True) if _STARTED in line), None)
    killed_at = trio.current_time()
    await daemon.kill()
    return daemon, None if started_at is None else killed_at - started_at


_RESUMED = re.compile(
    r"resumed (\d+) search states; (\d+) unanswered updates sent again, (\d+) followed in their feeds$"
)


_STOPPED = re.compile(r"stopped: (\d+) search states and (\d+) unsent updates saved")


def resumed(daemon: Daemon) -> tuple[int, int] | None:
    """The daemon's "resumed N search states; M unanswered updates sent again, F followed in their feeds" as (N,
    M + F), or None when it did not get there (it says nothing when all are 0, but then it goes on to say it
    started)."""
    for line in daemon.said.lines:
        if (found := _RESUMED.search(line.rstrip())) is not None:  # a whole line
            return int(found[1]), int(found[2]) + int(found[3])
        if _STARTED in line:
            return 0, 0
    return None


async def test_a_killed_daemon_loses_no_update_and_resumes_every_search(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    kills = plan_kills(rng)
    database = tmp_path / "repricer.db"
    offers = SKUS * len(MARKETPLACES)
    left: list[Found] = []  # what each kill left in the database
    table = [f"{'kill':>4} {'kind':9} {'ran s':>6} {'states':>6} {'moved':>5} {'unanswered':>10}"]
    async with trio.open_nursery() as nursery, Children(nursery) as children:
        fake = await Fake.start(children, tmp_path, skus=SKUS, marketplaces=MARKETPLACES, time_scale=TIME_SCALE)
        await import_catalog(fake.catalog, database)
        config = write_config(tmp_path, fake.url, marketplaces=MARKETPLACES, database=database)
        before = Found("ok", {}, [])
        for number, kill in enumerate(kills):
            daemon, ran_s = await run_and_kill(children, config, kill)
            said = daemon.said.text()
            where = f"kill {number} ({kill}, {ran_s} s after it started)"
            assert "Traceback" not in said and "another repricer daemon" not in said, f"{where}:\n{said}"
            assert ran_s is not None or kill.kind == "startup", f"{where}: it never started:\n{said}"
            # It took up exactly what the last kill left (unless it was killed before it said).
            if (took := resumed(daemon)) is not None:
                assert took == (len(before.states), len(before.unanswered)), f"{where}:\n{said}"
            found = read_database(database, tmp_path / f"kill-{number}")
            assert found.integrity == "ok", f"{where}: {found.integrity}"
            moved = sum(state != before.states.get(offer) for offer, state in found.states.items())
            # Every offer decides on its first observations, and a second later its state is stored: the search
            # moved on from where the last kill left it, and the next daemon goes on from there.
            if ran_s is not None and ran_s >= STATES_STORED_S:
                assert len(found.states) == offers and moved > 0, f"{where}: {len(found.states)} states, {moved} moved"
            table.append(
                f"{number:>4} {kill.kind:9} {'-' if ran_s is None else f'{ran_s:.1f}':>6} {len(found.states):>6} "
                f"{moved:>5} {len(found.unanswered):>10}"
            )
            left.append(found)
            before = found

        last = await Daemon.start(children, config)
        await last.started()
        assert resumed(last) == (len(before.states), len(before.unanswered)), last.said.text()
        with trio.fail_after(SETTLE_GUARD_S):
            while read_database(database).unanswered:  # noqa: ASYNC110 (another process writes it)
                await trio.sleep(0.5)
        assert await last.stop() == 0, last.said.text()
        accepted = await fake.updates()
        assert await fake.stop() == 0, fake.said.text()
    stopped = _STOPPED.search(last.said.text())
    assert stopped is not None and int(stopped[1]) == offers, last.said.text()

    final = read_database(database)
    assert final.integrity == "ok" and len(final.states) == offers
    # The market goes on moving while the test waits for the database to show nothing unanswered, so the last
    # daemon may decide again before its stop: what the stop saved must be in the file, and only its own decisions
    # may be left unanswered (everything the kills left was answered above).
    newest_left = max((entry.update_id for entry in before.outbox), default=0)
    assert all(entry.update_id > newest_left for entry in final.unanswered), final.unanswered
    saved = [entry for entry in final.unanswered if entry.state is OutboxState.STORED]
    assert len(saved) >= int(stopped[2]), (stopped[0], final.unanswered)
    lost = check_every_accepted_update_is_known(accepted, final.outbox)
    check_every_unanswered_update_was_sent_again(left, final.outbox, accepted)
    check_the_daemon_holds_what_the_fake_holds(accepted, final.outbox)
    kinds = Counter(kill.kind for kill in kills)
    print(
        f"\n{KILLS} kills ({dict(kinds)}); the fake accepted {len(accepted)} updates, {lost} of them answered to "
        "a daemon killed before it recorded the answer\n" + "\n".join(table)
    )


def check_every_accepted_update_is_known(accepted: list[dict[str, Any]], outbox: list[Entry]) -> int:
    """Each update the fake accepted is in the outbox; how many of them only as stored before the call (the kill
    took the answer)."""
    # A feed's id is the submission id of every update it carries: an update is its submission and its offer.
    by_submission = {(e.submission_id, e.marketplace, e.sku): e for e in outbox if e.submission_id is not None}
    unrecorded = [entry for entry in outbox if entry.submission_id is None and entry.state is OutboxState.SUPERSEDED]
    lost = 0
    for update in accepted:
        offer = (update["marketplace"], update["sku"])
        entry = by_submission.get((update["submission_id"], *offer))
        if entry is not None:
            assert entry.price == update["price"], (update, entry)
            assert entry.state in (*_ACCEPTED, OutboxState.SUPERSEDED), (update, entry)
            continue
        match = next((e for e in unrecorded if (e.marketplace, e.sku, e.price) == (*offer, update["price"])), None)
        assert match is not None, f"the fake accepted {update}, which the daemon never stored"
        unrecorded.remove(match)  # one stored update answers one call
        lost += 1
    return lost


def check_every_unanswered_update_was_sent_again(
    left: list[Found], outbox: list[Entry], accepted: list[dict[str, Any]]
) -> None:
    taken = {(update["submission_id"], update["marketplace"], update["sku"]) for update in accepted}
    for number, found in enumerate(left):
        for entry in found.unanswered:
            later = [
                e
                for e in outbox
                if (e.marketplace, e.sku) == (entry.marketplace, entry.sku) and e.update_id > entry.update_id
            ]
            assert any((e.submission_id, e.marketplace, e.sku) in taken for e in later), (
                f"kill {number} left {entry} unanswered, and nothing for its offer was accepted after"
            )


def check_the_daemon_holds_what_the_fake_holds(accepted: list[dict[str, Any]], outbox: list[Entry]) -> None:
    fake_holds = {(u["marketplace"], u["sku"]): u["price"] for u in accepted}  # oldest first: the last one stays
    daemon_holds = {(e.marketplace, e.sku): e.price for e in outbox if e.state in _ACCEPTED}  # by update id
    assert daemon_holds == fake_holds
