"""A marketplace runtime under adversarial observations and settings: no price outside [min, max] or off the tick,
no actor crash, no runtime death, no frozen search; for the engine's search and for every baseline, since each
plugs into the same actors, policy, guard and batcher."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.pricing.baselines import BASELINES
from tests.fuzz.play import play
from tests.fuzz.profiles import examples
from tests.fuzz.worlds import worlds


@examples(ci=30)
@given(data=st.data())
def test_engine_search_keeps_its_promises_on_adversarial_input(data: st.DataObject) -> None:
    findings = play(data.draw(worlds("engine")))
    assert findings.violations == []


@pytest.mark.parametrize("strategy", sorted(BASELINES))
@examples(ci=10)
@given(data=st.data())
def test_baselines_keep_the_promises_on_adversarial_input(strategy: str, data: st.DataObject) -> None:
    findings = play(data.draw(worlds(strategy)))
    assert findings.violations == []
