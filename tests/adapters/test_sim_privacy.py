"""The engine cannot see behind the simulated marketplace: no p*, threshold or Buy Box coefficients in reach.

A strategy that read `Market.p_star` would win every benchmark and fail on Amazon. Before issue 22 the adapter
held the market as a public attribute (``SimulatedMarketplace.market``, ``.feed``, ``.quotas``), one attribute
away from engine code. These tests walk everything the engine's composition is given, through public names only,
as engine code could without reaching for a private one; and they check that no engine module imports the
simulator (the command line, `engine/cli/`, is the composition root that may, lazily: docs/architecture.md).
"""

from __future__ import annotations

import ast
import inspect
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType

import numpy as np
import trio.testing

from adapters.simulated.marketplace import MarketFeed, SimulatedMarketplace
from adapters.simulated.run import build_run
from engine.pricing.search import EngineSearch
from sim.market import Market
from sim.scenarios import build_market

ENGINE = Path(__file__).resolve().parents[2] / "engine"
_LEAVES = (str, bytes, int, float, complex, bool, type(None), range, Path)
_OPAQUE = (ModuleType, type, FunctionType, BuiltinFunctionType, MethodType)


def _public_attributes(obj: object) -> Iterator[object]:
    """What ``obj.name`` gives for every public name of the object itself: instance attributes, slots and
    properties (methods are behaviour, not state, and their state is the object's own)."""
    names: set[str] = set(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.update([slots] if isinstance(slots, str) else slots)
        names.update(name for name, value in vars(cls).items() if isinstance(value, property))
    for name in sorted(names):
        if not name.startswith("_") and hasattr(obj, name):
            yield getattr(obj, name)


def _children(obj: object) -> Iterator[object]:
    if isinstance(obj, (*_LEAVES, *_OPAQUE, np.ndarray)):
        return
    if isinstance(obj, Mapping):
        yield from obj.keys()
        yield from obj.values()
        return
    if isinstance(obj, list | tuple | set | frozenset | deque):
        yield from obj
        return
    yield from _public_attributes(obj)


def reachable(*roots: object) -> Iterator[object]:
    """Every object reachable from ``roots`` through public attributes and container items, each once."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        todo.extend(_children(obj))


def _arrays_of(market: Market) -> set[int]:
    """The ids of the market's arrays (its state, p* and threshold among them), however they are held."""
    found: set[int] = set()
    todo: list[object] = list(vars(market).values())
    while todo:
        value = todo.pop()
        if isinstance(value, np.ndarray):
            found.add(id(value))
        elif isinstance(value, Mapping):
            todo.extend(value.values())
        elif isinstance(value, list | tuple):
            todo.extend(value)
    return found


def _market_reached(roots: list[object], markets: list[Market]) -> list[str]:
    arrays = set().union(*(_arrays_of(m) for m in markets))
    leaks = []
    for obj in reachable(*roots):
        module = type(obj).__module__
        if module == "sim" or module.startswith("sim."):
            leaks.append(f"a {module}.{type(obj).__qualname__}")
        elif isinstance(obj, np.ndarray):
            base: object = obj
            while isinstance(base, np.ndarray):
                if id(base) in arrays:
                    leaks.append(f"an array of the market, shape {obj.shape}")
                    break
                base = base.base
    return leaks


async def test_engine_cannot_reach_market(autojump_clock: trio.testing.MockClock) -> None:
    """From the daemon the composition builds (runtimes, adapters, services, store, strategy) and from each
    `Marketplace` port object: no simulator object, and none of the market's arrays."""
    run = build_run(scenario="S1b", seed=1, skus=3, strategy=EngineSearch(), marketplaces=("DE", "FR"))
    roots: list[object] = [run.daemon, *run.adapters]
    assert len(list(reachable(*roots))) > 100  # the walk does get around
    assert _market_reached(roots, run.markets) == []
    # A lone adapter, running its own feed, and one on a shared feed.
    market = build_market("S2", 1, 2)
    alone = SimulatedMarketplace(market, code="DE")
    other = build_market("S2", 2, 2)
    shared = SimulatedMarketplace(other, code="DE", feed=MarketFeed(other))
    assert _market_reached([alone, shared], [market, other]) == []
    # The walk finds a market where one is public (as the adapter's was): the check can fail.
    assert _market_reached([MarketFeed(market)], [market]) != []
    await run.store.aclose()


def test_engine_does_not_import_the_simulator() -> None:
    """No module of the engine imports `sim` (at the top or inside a function), except the command line's."""
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        if path.relative_to(ENGINE).parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
                names = [node.module]
            else:
                continue
            if any(name == "sim" or name.startswith("sim.") for name in names):
                offenders.append(f"{path.relative_to(ENGINE.parent)}:{node.lineno}")
    assert offenders == []
    assert inspect.getsourcefile(EngineSearch) is not None  # the engine is where the walk looked
