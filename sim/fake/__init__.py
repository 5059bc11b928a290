"""An HTTP fake of Amazon's Selling Partner API and Login with Amazon over one simulated market.

`SpApiFake` is a plain ASGI application: the real SP-API adapter (`adapters.spapi`) talks to it over HTTP exactly
as it talks to Amazon, and meets Amazon's shapes, refusals (403, 429, 400) and quotas, the simulator's
(`sim.api.MarketApi`). Tests call it in-process through `httpx.ASGITransport`; a server can run it the same way.
"""

from sim.fake._app import LWA_TOKEN_PATH, STATS_PATH, FakeStats, SpApiFake

__all__ = ["LWA_TOKEN_PATH", "STATS_PATH", "FakeStats", "SpApiFake"]
