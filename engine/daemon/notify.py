"""Telling systemd where the daemon stands (`sd_notify`): ready once every marketplace runs, reloading, stopping.

A unit of ``Type=notify`` (examples/systemd/repricer.service) counts the daemon as started only once it says
READY=1, so units ordered after it (and `systemctl start`) wait for a daemon that really prices, not one still
loading 100,000 offers; STOPPING=1 tells systemd that a stop takes its grace period on purpose. Outside systemd
(no ``NOTIFY_SOCKET``) every call does nothing. The protocol is one datagram to a Unix socket, so a library for it
would be more code than this.
"""

from __future__ import annotations

import logging
import os
import socket

__all__ = ["notify"]

log = logging.getLogger(__name__)


def notify(*states: str) -> bool:
    """Send ``states`` ("READY=1", "STOPPING=1", "STATUS=…") to systemd; whether it was sent. Never raises: a
    service manager that went away must not stop the daemon."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not states:
        return False
    if address.startswith("@"):  # an abstract socket: a leading NUL byte
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(states).encode())
    except OSError as error:
        log.warning("could not notify systemd at %s: %s", os.environ.get("NOTIFY_SOCKET"), error)
        return False
    return True
