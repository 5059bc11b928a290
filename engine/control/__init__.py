"""The control socket: how an operator talks to the running daemon (`repricer ctl`).

`ControlServer` (`server`) is a daemon service listening on a Unix-domain socket (`paths`: where, and who may
enter); `protocol` says what travels on it (newline-delimited JSON, one msgspec Struct per message), `commands`
what each command does to the daemon (`status` the status, with per-minute `rates`), `results` what it answers and
`views` how the daemon's values become those; `client` is the synchronous client `repricer ctl` uses.

    server = ControlServer(daemon, ControlConfig(socket=path), time_scale=speed)
    server.bind()               # optional: a socket already in use refuses the start here, not later
    daemon.add_service(server)  # then run the daemon as usual
"""

from engine.control.client import ControlClient, RemoteError, Unreachable
from engine.control.paths import ControlSocketError, default_socket_path
from engine.control.server import ControlConfig, ControlServer

__all__ = [
    "ControlClient",
    "ControlConfig",
    "ControlServer",
    "ControlSocketError",
    "RemoteError",
    "Unreachable",
    "default_socket_path",
]
