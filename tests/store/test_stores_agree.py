"""A Hypothesis state machine applies random operation sequences to the in-memory store and the SQLite store and
checks after every step that they answer every read the same, and fail (or not) together.

Both stores live in one `trio.run` on a thread of its own for the length of one sequence (the SQLite store needs
its writer task and its writer process across steps); each rule calls into it with `trio.from_thread.run`.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import trio
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.catalog import CatalogRow
from engine.model import Decision, OfferKey, OfferUpdate, OutboxMark, OutboxState, PricePoint, Reason
from engine.ports import Store
from engine.store import MemoryStore
from engine.store.sqlite import SqliteStore
from tests.store.conftest import KEEP_EVERYTHING

MARKETS = [("s1", "DE"), ("s1", "FR"), ("s2", "DE")]
keys = st.builds(OfferKey, st.sampled_from(["s1", "s2"]), st.sampled_from(["DE", "FR"]), st.sampled_from("ABC"))
rows = st.builds(
    CatalogRow,
    key=keys,
    asin=st.sampled_from([None, "B000000001"]),
    min_price=st.sampled_from([None, 1000]),
    max_price=st.sampled_from([None, 2000]),
    stock=st.none() | st.integers(0, 5),
    repricing=st.booleans(),
)
times = st.integers(0, 10_000).map(float)


class StoresAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.mkdtemp(prefix="stores-agree-")
        self._stores: list[Store] = []
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._done: trio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._host, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        self.next_id = 1
        self.ids: list[tuple[OfferKey, int]] = []

    def _host(self) -> None:
        async def main() -> None:
            async with MemoryStore() as memory, SqliteStore.open(f"{self._dir}/s.db", config=KEEP_EVERYTHING) as sql:
                self._stores = [memory, sql]
                self._token = trio.lowlevel.current_trio_token()
                self._done = trio.Event()
                self._ready.set()
                await self._done.wait()

        try:
            trio.run(main)
        except BaseException as error:
            self._failure = error
        finally:
            self._ready.set()

    def both(self, call: Callable[[Store], Awaitable[Any]]) -> Any:
        """The call on each store: the same result from both, or an error of the same kind from both."""

        async def each() -> list[tuple[str, Any]]:
            outcomes: list[tuple[str, Any]] = []
            for store in self._stores:
                try:
                    outcomes.append(("ok", await call(store)))
                except Exception as error:
                    outcomes.append(("error", _kind(error)))
            return outcomes

        memory, sql = trio.from_thread.run(each, trio_token=self._token)
        assert memory == sql
        return memory[1]

    def teardown(self) -> None:
        if self._done is not None and self._token is not None:
            trio.from_thread.run_sync(self._done.set, trio_token=self._token)
        self._thread.join()
        shutil.rmtree(self._dir, ignore_errors=True)

    # --- operations ---

    @rule(batch=st.lists(rows, max_size=4))
    def save_catalog(self, batch: list[CatalogRow]) -> None:
        self.both(lambda s: s.save_catalog(batch))

    @rule(gone=st.lists(keys, max_size=2))
    def remove_offers(self, gone: list[OfferKey]) -> None:
        self.both(lambda s: s.remove_offers(gone))

    @rule(states=st.dictionaries(keys, st.binary(max_size=4), max_size=3))
    def save_search_states(self, states: dict[OfferKey, bytes]) -> None:
        self.both(lambda s: s.save_search_states(states))

    @rule(market=st.sampled_from(MARKETS), state=st.binary(max_size=4))
    def save_market_state(self, market: tuple[str, str], state: bytes) -> None:
        self.both(lambda s: s.save_market_state(*market, state))

    @rule(key=keys, at=times, price=st.none() | st.integers(1, 3000))
    def record_decision(self, key: OfferKey, at: float, price: int | None) -> None:
        decision = Decision(key, at, price, Reason.SEARCH_UP if price else Reason.NO_DATA)
        self.both(lambda s: s.record_decisions([decision]))

    @rule(key=keys, at=times, price=st.integers(1, 3000))
    def record_price(self, key: OfferKey, at: float, price: int) -> None:
        self.both(lambda s: s.record_prices([PricePoint(key, at, price)]))

    @rule(batch=st.lists(keys, min_size=1, max_size=3), at=times, reuse=st.booleans())
    def outbox_put(self, batch: list[OfferKey], at: float, reuse: bool) -> None:
        updates = []
        for key in batch:
            if reuse and self.ids:
                update_id = self.ids[0][1]  # a used id: the whole put must fail, in both
            else:
                update_id, self.next_id = self.next_id, self.next_id + 1
            updates.append(OfferUpdate(key, update_id, "EUR", 1500, 1000, 2000))
        self.both(lambda s: s.outbox_put(updates, at))
        if not reuse:
            self.ids.extend((u.key, u.update_id) for u in updates)

    @precondition(lambda self: bool(self.ids))
    @rule(
        marks=st.lists(
            st.tuples(
                st.integers(0, 10**6),
                st.sampled_from(list(OutboxState)),
                times,
                st.none() | st.just("sub-1"),
                st.sampled_from([(), ("8541",)]),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def outbox_mark(self, marks: list[tuple[int, OutboxState, float, str | None, tuple[str, ...], bool]]) -> None:
        """Several marks in one call, as the batcher sends them (the same update twice, now and then; a mark whose
        key is not its update's, which both must ignore)."""
        batch = []
        for pick, state, at, submission, issues, wrong_key in marks:
            key, update_id = self.ids[pick % len(self.ids)]
            if wrong_key:
                key = msgspec.structs.replace(key, sku=key.sku + "x")
            batch.append(OutboxMark(key, update_id, state, at, submission, issues))
        self.both(lambda s: s.outbox_mark(batch))

    # --- every read agrees ---

    @invariant()
    def reads_agree(self) -> None:
        if self._token is not None:
            self.both(_everything)


async def _everything(store: Store) -> dict[str, Any]:
    """Every read of the store, queued together (so the SQLite store answers them in one round)."""
    reads: dict[str, Callable[[], Awaitable[Any]]] = {"markets": store.markets, "last id": store.last_update_id}
    for m in MARKETS:
        reads[f"catalog {m}"] = functools.partial(store.load_catalog, *m)
        reads[f"states {m}"] = functools.partial(store.load_search_states, *m)
        reads[f"market {m}"] = functools.partial(store.load_market_state, *m)
        reads[f"outbox {m}"] = functools.partial(store.outbox_entries, *m, set(OutboxState))
        for sku in "ABC":
            key = OfferKey(*m, sku)
            reads[f"decisions {key}"] = functools.partial(store.recent_decisions, key, 3)
            reads[f"prices {key}"] = functools.partial(store.price_history, key, 3)
    answers: dict[str, Any] = {}

    async def read(name: str, call: Callable[[], Awaitable[Any]]) -> None:
        answers[name] = await call()

    async with trio.open_nursery() as nursery:
        for name, call in reads.items():
            nursery.start_soon(read, name, call)
    return answers


def _kind(error: Exception) -> str:
    return "ValueError" if isinstance(error, ValueError) else type(error).__name__


TestStoresAgree = StoresAgree.TestCase
TestStoresAgree.settings = settings(max_examples=30, stateful_step_count=25)
