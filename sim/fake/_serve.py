"""The fake over real HTTP: hypercorn's trio worker serving `SpApiFake`, the markets advancing meanwhile.

`serve` runs in the caller's trio run, whose clock is the fake's. A run under ``MockClock(rate=X)`` (`repricer sim
serve --time-scale X`) makes a simulated second last 1/X real seconds; hypercorn's own timeouts (keep-alive, the
graceful stop) are read on the same clock, so they are scaled by X here to keep their real length. Two lifetimes,
two nurseries: the market service (`SpApiFake.run`) outlives the server, which stops on ``shutdown`` (no new
connections, in-flight requests given hypercorn's graceful timeout) or on cancellation.
"""

from __future__ import annotations

import socket
from functools import partial
from typing import Final, cast

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve
from hypercorn.typing import Framework

from sim.fake._app import SpApiFake

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "serve"]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8765  # examples/sim.toml's endpoints
_MARKET_STEP_REAL_S: Final = 0.05  # the markets are brought to the clock this often, in real seconds at most


def _config(host: str, port: int, time_scale: float) -> Config:
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.loglevel = "WARNING"  # hypercorn's "Running on ..." would repeat the one line the caller prints
    config.accesslog = None
    config.keep_alive_timeout *= time_scale
    config.graceful_timeout *= time_scale
    config.startup_timeout *= time_scale
    config.shutdown_timeout *= time_scale
    config.ssl_handshake_timeout *= time_scale
    return config


def _check_bindable(host: str, port: int) -> None:
    """Bind ``host:port`` and let go at once: an address that cannot be bound (a port taken) raises `OSError` here,
    where the socket is closed; hypercorn's own attempt would leave its socket open behind the error."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as hypercorn binds
        probe.bind((host, port))


async def serve(
    app: SpApiFake,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    time_scale: float = 1.0,
    shutdown: trio.Event | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` (port 0: any free one) until ``shutdown`` is set or the caller cancels;
    ``task_status.started`` gets the base URL it listens on (``http://127.0.0.1:8765``). ``time_scale`` is the rate
    of the run's clock against real time (1: the real clock)."""
    if not time_scale > 0:
        raise ValueError(f"time_scale must be positive, not {time_scale}")
    _check_bindable(host, port)
    step_s = max(1.0, _MARKET_STEP_REAL_S * time_scale)
    async with trio.open_nursery() as services:
        await services.start(partial(app.run, step_s=step_s))
        async with trio.open_nursery() as server:
            trigger = None if shutdown is None else shutdown.wait
            # The app takes any mapping as its scope: wider than hypercorn's TypedDicts, which mypy cannot see.
            asgi = cast(Framework, app)
            binds: list[str] = await server.start(
                partial(hypercorn_serve, asgi, _config(host, port, time_scale), shutdown_trigger=trigger)
            )
            task_status.started(binds[0])
        services.cancel_scope.cancel()
