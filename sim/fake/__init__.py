"""An HTTP fake of Amazon's Selling Partner API and Login with Amazon over the simulated markets.

`SpApiFake` is a plain ASGI application: the real SP-API adapter (`adapters.spapi`) talks to it over HTTP exactly
as it talks to Amazon, and meets Amazon's shapes, refusals (403, 429, 400) and quotas, the simulator's
(`sim.api.MarketApi`). Tests call it in-process through `httpx.ASGITransport`; `serve` runs it over real HTTP
(hypercorn's trio worker), as `repricer sim serve` does. `Faults` are what it injects on demand. It also plays
the Notifications API and the SQS queue Amazon delivers the markets' notifications to.
"""

from sim.fake._app import (
    CONSENT_PATH,
    DEFAULT_WALL_ORIGIN,
    FAULTS_PATH,
    LWA_TOKEN_PATH,
    OPERATIONS,
    STATS_PATH,
    UPDATES_PATH,
    SpApiFake,
)
from sim.fake._backend import ACCEPTED_KEPT, AcceptedUpdate, FakeStats
from sim.fake._build import SIM_REFRESH_TOKEN, scenario_fake
from sim.fake._faults import FAULT_KINDS, Faults, ServerErrors, Slow, Window
from sim.fake._feeds import FeedTiming
from sim.fake._notices import APPLICATION_ID
from sim.fake._serve import DEFAULT_HOST, DEFAULT_PORT, serve
from sim.fake._sqs import (
    QUEUE_OPERATIONS,
    SIM_AWS_ACCESS_KEY_ID,
    SIM_AWS_ACCOUNT,
    SIM_AWS_SECRET_ACCESS_KEY,
    SIM_QUEUE,
    SIM_REGION,
    FakeQueue,
)
from sim.fake._subscriptions import NOTIFICATION_OPERATIONS

__all__ = [
    "ACCEPTED_KEPT",
    "APPLICATION_ID",
    "CONSENT_PATH",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_WALL_ORIGIN",
    "FAULTS_PATH",
    "FAULT_KINDS",
    "LWA_TOKEN_PATH",
    "NOTIFICATION_OPERATIONS",
    "OPERATIONS",
    "QUEUE_OPERATIONS",
    "SIM_AWS_ACCESS_KEY_ID",
    "SIM_AWS_ACCOUNT",
    "SIM_AWS_SECRET_ACCESS_KEY",
    "SIM_QUEUE",
    "SIM_REFRESH_TOKEN",
    "SIM_REGION",
    "STATS_PATH",
    "UPDATES_PATH",
    "AcceptedUpdate",
    "FakeQueue",
    "FakeStats",
    "Faults",
    "FeedTiming",
    "ServerErrors",
    "Slow",
    "SpApiFake",
    "Window",
    "scenario_fake",
    "serve",
]
