"""One server per port: the check `talking serve` makes before granian starts."""

from __future__ import annotations

import socket

from talking.processes import port_taken
from talking.testing.server import free_port


def test_a_free_port_is_free() -> None:
    assert port_taken("127.0.0.1", free_port()) is None


def test_a_port_listened_on_with_reuseport_is_taken() -> None:
    """granian listens with SO_REUSEPORT, which would let a second one bind beside it."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        reason = port_taken("127.0.0.1", port)
        assert reason is not None and "already in use" in reason
        assert port_taken("0.0.0.0", port) is not None  # every address includes this one


def test_an_unknown_host_says_so() -> None:
    reason = port_taken("no-such-host.invalid", 8000)
    assert reason is not None and "cannot listen" in reason
