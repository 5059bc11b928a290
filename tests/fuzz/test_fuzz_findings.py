"""What fuzzing found, each now refused where it enters: settings that no check looked at.

A step cap that is not a number raised inside the guard (`max_step`): the batcher died at every move no fresh signal
backs, and under a competitive price threshold each decision crashed its offer actor until it was quarantined. An
infinite one raised OverflowError, 1E+999999 `decimal.Overflow`, and 1E+99999 cost 0.6 s per guard call. A runtime
tick of 0 divided by zero in the policy (`_competitive_cap`, `_sale_target`) before the guard could refuse it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.actors.recorder import Recorder
from engine.daemon import MarketRuntime
from engine.model import ChannelSettings
from engine.pricing.search import EngineSearch
from engine.store import MemoryStore
from tests.actors.fakes import ScriptedMarketplace, settings


@pytest.mark.parametrize("step_cap", ["NaN", "Infinity", "-Infinity", "1E+999999", "1E+99999", "-0.1", "0"])
def test_a_step_cap_that_is_no_share_is_refused(step_cap: str) -> None:
    with pytest.raises(ValueError, match="step_cap"):
        ChannelSettings(step_cap=Decimal(step_cap))


@pytest.mark.parametrize("tick", [0, -5])
def test_a_tick_below_one_is_refused_before_a_decision_divides_by_it(tick: int) -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match=f"a price tick of {tick} minor units is not 1 or more"):
        MarketRuntime(
            ScriptedMarketplace(), [settings("A")], ChannelSettings(), store, Recorder(store), EngineSearch(), tick=tick
        )
