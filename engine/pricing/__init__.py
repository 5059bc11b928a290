"""Pure pricing: bounds, the decision policy, the convergence search and the guard.

Nothing here does I/O, touches trio or reads a clock; a decision can be tested with plain values.
"""

from engine.pricing.bounds import BoundsError, CostBasis, bounds_direct, bounds_from_margins, check_bounds
from engine.pricing.guard import Guarded, GuardError, guard, tick_bounds
from engine.pricing.policy import Outcome, PolicyInputs, decide
from engine.pricing.scoring import ScorePrior
from engine.pricing.search import EngineSearch, SearchConfig, SearchState
from engine.pricing.view import MarketView, Step, Strategy

__all__ = [
    "BoundsError",
    "CostBasis",
    "EngineSearch",
    "GuardError",
    "Guarded",
    "MarketView",
    "Outcome",
    "PolicyInputs",
    "ScorePrior",
    "SearchConfig",
    "SearchState",
    "Step",
    "Strategy",
    "bounds_direct",
    "bounds_from_margins",
    "check_bounds",
    "decide",
    "guard",
    "tick_bounds",
]
