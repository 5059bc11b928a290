"""How a marketplace runtime behaves: its actors' settings, its pacing of saves, its stop."""

from __future__ import annotations

import msgspec

from engine.actors.batcher import BatcherConfig
from engine.actors.intake import IntakeConfig
from engine.actors.supervisor import SupervisorConfig

__all__ = ["RuntimeConfig"]


class RuntimeConfig(msgspec.Struct, frozen=True):
    router_buffer: int = 4096
    batcher: BatcherConfig = BatcherConfig()
    intake: IntakeConfig = IntakeConfig()
    supervisor: SupervisorConfig = SupervisorConfig()
    # How often every search state is saved while running (it is always saved at shutdown) ...
    save_interval_s: float = 300.0
    # ... and, with a persistent store, how soon after an offer decided its state is (a killed daemon resumes each
    # search from at most this long before the kill; the outbox already holds what the search asked).
    state_save_delay_s: float = 1.0
    # Learn the marketplace's Buy Box weights from converged offers; refresh the shared prior every N samples.
    learn_weights: bool = True
    relearn_every: int = 5
    # At a stop: how long the submits in flight may take, then how long saving may take.
    shutdown_grace_s: float = 10.0
    persist_timeout_s: float = 30.0
    # Services (intake, batcher) that fail are restarted after a backoff doubling from the first to the cap.
    service_backoff_s: float = 1.0
    service_max_backoff_s: float = 60.0
    # The collector's thresholds while the daemon runs (CPython's default is (700, 10, 10)). A sleeping offer
    # actor holds a few objects of trio's that are replaced at each wake-up and so outlive the young generations;
    # with 100,000 actors a full collection walks half a million of them (a quarter of a second), and by default
    # one comes every few seconds under load. The engine's data are untracked structs and make no cycles, so
    # full collections can wait for a thousand middle-generation ones (minutes under load).
    gc_thresholds: tuple[int, int, int] = (700, 10, 1000)
