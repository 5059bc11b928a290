"""Killing the daemon at any moment never corrupts the store and never loses a committed outbox transition.

A child process (`kill_child.py`) drives a SQLite store through outbox puts and marks from several tasks at once,
and reports each call before it makes it and again once it returned. The test SIGKILLs it at moments drawn from a
seeded generator: some while it opens the store (starting the store's writer process, the migrations, the
retention prune), spread over the time an opening takes on this machine (measured first), the rest 10-500 ms
after the store is open, while its groups commit. The store's writer process must die with it (it would otherwise
commit the killed daemon's last group behind the next one's back). After each kill the test reads the file with
the stdlib's sqlite3 (from a copy, so the next child still finds the file as the kill left it), checks its
integrity and checks it against the child's reports, then starts the next child on the same file.

The check is exact. Each task owns its offers and calls the store one call at a time, so replaying the calls
reported done through the outbox state machine gives every update's state; a task's one call tried but not done
when the kill landed either committed whole or not at all, which the file must show for that task's offers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import trio

from engine.model import OutboxState
from engine.store.outbox import superseded_by_put
from engine.store.schema import VERSION
from engine.store.sqlite import SqliteStore
from tests.store.kill_child import task_of

ROOT = Path(__file__).resolve().parents[2]
KILLS = 24
SEED = 1234
# The first kills sweep the end of the first opening of the file (the migrations and the prune come last, after the
# writer process started), as shares of the time an opening took here.
FIRST_SHARES = (0.6, 0.8, 0.9, 1.0)
# Only guards against a child that hangs, or a writer that outlives its daemon for good: the test asserts nothing
# about speed.
STARTUP_GUARD_S = 60.0
WRITER_GUARD_S = 60.0

Outbox = dict[int, tuple[str, OutboxState]]  # update id -> (sku, state)
Call = dict[str, Any]


def replay(outbox: Outbox, call: Call) -> Outbox:
    """The outbox after one call the child made, by the rules of `Store.outbox_put` and `Store.outbox_mark`."""
    after = dict(outbox)
    if "put" in call:
        skus = {sku for _, sku in call["put"]}
        for update_id, (sku, state) in outbox.items():
            if sku in skus and superseded_by_put(state):
                after[update_id] = (sku, OutboxState.SUPERSEDED)
        after.update((update_id, (sku, OutboxState.STORED)) for update_id, sku in call["put"])
        return after
    for update_id, sku, name in call["mark"]:
        state = OutboxState(name)
        entry = after.get(update_id)
        if entry is None or entry[0] != sku or not entry[1].may_become(state):
            continue
        after[update_id] = (sku, state)
        if state is OutboxState.ACCEPTED:
            for other, (other_sku, other_state) in list(after.items()):
                if other_sku == sku and other_state is OutboxState.ACCEPTED and other < update_id:
                    after[other] = (sku, OutboxState.SUPERSEDED)
    return after


def of_task(outbox: Outbox, task: int) -> Outbox:
    return {update_id: entry for update_id, entry in outbox.items() if task_of(entry[0]) == task}


def call_task(call: Call) -> int:
    (task,) = {task_of(item[1]) for item in call["put" if "put" in call else "mark"]}
    return task


class Killed:
    """What one killed child reported, from its complete lines (a kill can cut the last one short), and how long
    it took to open the store when it got that far."""

    def __init__(self, output: bytes, opening_s: float | None) -> None:
        self.lines: list[dict[str, Any]] = [json.loads(line) for line in output.split(b"\n")[:-1]]
        self.opened: int | None = next((line["open"] for line in self.lines if "open" in line), None)
        self.writer: int | None = next((line["writer"] for line in self.lines if "writer" in line), None)
        self.opening_s = opening_s
        self.calls: dict[int, Call] = {line["try"]: line for line in self.lines if "try" in line}
        self.done: list[int] = [line["done"] for line in self.lines if "done" in line]

    @property
    def in_flight(self) -> list[int]:
        finished = set(self.done)
        return [call for call in self.calls if call not in finished]


async def run_and_kill(path: Path, seed: int, delay: float, *, after: bytes) -> Killed:
    """Start a child on ``path``, SIGKILL it ``delay`` seconds after it reported ``after`` (``"opening"``: it starts
    opening the store; ``"open"``: the store is open; a child that ends its opening sooner is killed then)."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.store.kill_child", str(path), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    output = bytearray()
    opening_s = None
    try:
        with trio.fail_after(STARTUP_GUARD_S):
            while b'"opening"' not in output and (chunk := await process.stdout.receive_some()):
                output += chunk
            began = trio.current_time()
            if after == b'"open"':
                while b'"open"' not in output and (chunk := await process.stdout.receive_some()):
                    output += chunk
                opening_s = trio.current_time() - began
        with trio.move_on_after(delay):
            while chunk := await process.stdout.receive_some():
                output += chunk
                if opening_s is None and b'"open"' in output:
                    opening_s = trio.current_time() - began
    finally:
        process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
    # What the child wrote before it died is still in the pipe.
    while chunk := await process.stdout.receive_some():
        output += chunk
    errors = bytearray()
    while chunk := await process.stderr.receive_some():
        errors += chunk
    await process.stdout.aclose()
    await process.stderr.aclose()
    assert process.returncode == -9, f"the child ended by itself ({process.returncode}):\n{errors.decode()}"
    return Killed(bytes(output), opening_s)


async def writer_gone(killed: Killed) -> None:
    """The killed child's writer process died with it (Linux: it asked the kernel for that)."""
    if killed.writer is None or not hasattr(os, "pidfd_open"):
        return
    try:
        pidfd = os.pidfd_open(killed.writer)
    except ProcessLookupError:
        return  # gone, and reaped already
    try:
        with trio.fail_after(WRITER_GUARD_S):
            await trio.lowlevel.wait_readable(pidfd)  # readable once the process has ended
    finally:
        os.close(pidfd)


def read_file(path: Path, check: Path) -> tuple[str, int, Outbox, int]:
    """Integrity check, schema version, outbox and last update id of the file, as the next process sees it.

    Read from a copy of the file and its journals in ``check``: the copy's connection recovers them (rolls back a
    hot journal, replays the write-ahead log) as the next child's would, and leaves the original for that child.
    """
    if not path.exists():
        return "ok", 0, {}, 0
    check.mkdir()
    copy = check / path.name
    for suffix in ("", "-wal", "-journal"):
        if (journal := Path(f"{path}{suffix}")).exists():
            shutil.copyfile(journal, f"{copy}{suffix}")
    with closing(sqlite3.connect(copy)) as db:
        (integrity,) = db.execute("PRAGMA integrity_check").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "outbox" not in tables:
            return integrity, version, {}, 0
        rows = db.execute("SELECT update_id, seller, marketplace, sku, state FROM outbox").fetchall()
        assert {(seller, marketplace) for _, seller, marketplace, _, _ in rows} <= {("s1", "DE")}
        outbox = {update_id: (sku, OutboxState(state)) for update_id, _, _, sku, state in rows}
        last = db.execute("SELECT value FROM sequence WHERE name = 'update_id'").fetchall()
        return integrity, version, outbox, last[0][0] if last else 0


def settle(expected: Outbox, killed: Killed, found: Outbox) -> Outbox:
    """The outbox the file must hold after ``killed``: its done calls applied, and each call it had in flight
    applied whole or not at all. Fails naming the task whose offers the file holds otherwise."""
    for call in killed.done:
        expected = replay(expected, killed.calls[call])
    in_flight = {call_task(killed.calls[call]): call for call in killed.in_flight}
    assert len(in_flight) == len(killed.in_flight), "a task had two calls in flight"
    for task, call in in_flight.items():
        kept = of_task(found, task)
        without, with_call = of_task(expected, task), of_task(replay(expected, killed.calls[call]), task)
        assert kept in (without, with_call), (
            f"task {task}'s offers after call {killed.calls[call]} was cut short:\n"
            f"file: {kept}\nwithout it: {without}\nwith it: {with_call}"
        )
        if kept == with_call:
            expected = replay(expected, killed.calls[call])
    return expected


async def test_a_killed_store_keeps_every_committed_transition(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    rng = random.Random(SEED)
    # How long opening a fresh file takes here (starting the writer, the migrations), to aim the first kills.
    calibration = await run_and_kill(tmp_path / "calibration.db", 0, 0.0, after=b'"open"')
    assert calibration.opening_s is not None
    await writer_gone(calibration)
    opening_s = calibration.opening_s
    expected: Outbox = {}
    last = version_before = 0
    done = 0
    for kill in range(KILLS):
        if kill < len(FIRST_SHARES):
            delay, after = FIRST_SHARES[kill] * opening_s, b'"opening"'
        elif rng.random() < 1 / 3:
            delay, after = rng.uniform(0.0, opening_s), b'"opening"'  # while the child opens the store
        else:
            delay, after = rng.uniform(0.01, 0.5), b'"open"'  # while its groups commit
        killed = await run_and_kill(path, kill, delay, after=after)
        await writer_gone(killed)

        integrity, version, found, found_last = read_file(path, tmp_path / f"check-{kill}")
        assert integrity == "ok", f"kill {kill} {delay:.3f} s after {after.decode()}: {integrity}"
        assert version_before <= version <= VERSION  # a migration commits whole, with its version
        if killed.opened is not None:
            assert killed.opened == last, "the child did not continue above the last update id"
            assert version == VERSION
        expected = settle(expected, killed, found)
        assert found == expected, f"kill {kill} {delay:.3f} s after {after.decode()}"
        assert found_last == max(found, default=0)
        last, version_before = found_last, version
        done += len(killed.done)

    assert done > 0, "no child got a call committed before it was killed"
    # The store opens on what the children left, and reads it back as the file holds it.
    async with SqliteStore.open(str(path)) as store:
        assert await store.last_update_id() == last
        entries = await store.outbox_entries("s1", "DE", set(OutboxState))
        assert {e.update.update_id: (e.update.key.sku, e.state) for e in entries} == expected


async def test_the_writer_dies_with_its_daemon_and_commits_nothing_after_it(tmp_path: Path) -> None:
    """A daemon is killed while its writer process waits for the file's lock with a group in hand: the writer dies
    with it, so the group does not commit once the lock is free (a restarted daemon may have read the file by then)."""
    path = tmp_path / "store.db"
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.store.kill_child", str(path), "blocked"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    output = bytearray()
    try:
        with trio.fail_after(STARTUP_GUARD_S):
            while b'"open"' not in output and (chunk := await process.stdout.receive_some()):
                output += chunk
            with closing(sqlite3.connect(path, isolation_level=None)) as lock:
                lock.execute("BEGIN IMMEDIATE")
                await process.stdin.send_all(b"locked\n")  # only now may the child put its update
                while b'"sent"' not in output and (chunk := await process.stdout.receive_some()):
                    output += chunk
                process.kill()
                await process.wait()
                killed = Killed(bytes(output), None)
                assert killed.writer is not None
                await writer_gone(killed)
                lock.execute("ROLLBACK")
    finally:
        process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
        await process.stdout.aclose()
        await process.stdin.aclose()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
