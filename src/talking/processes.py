"""The `talking serve` process and its workers: one server per port, and no worker outliving its parent.

granian runs each worker as a child process and opens its listening socket with SO_REUSEPORT. So
a worker whose main process was killed with SIGKILL (nothing can catch it) went on serving, and a
second `talking serve` on the same port started beside it, the kernel sharing connections between
the two. ``port_taken`` checks the port before granian starts; ``die_with_parent`` asks Linux to
stop a worker when the process that started it dies (cli.worker_app calls it first thing in each worker).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import sys

# The environment variable through which `talking serve` tells its workers its process id.
SERVE_PID_VARIABLE = "TALKING_SERVE_PID"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def port_taken(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (someone listens there already), or None if it is free.

    Binds without SO_REUSEPORT, which fails while any socket listens on the port, even one that
    set SO_REUSEPORT itself (a granian worker). SO_REUSEADDR lets a port in TIME_WAIT from a
    server just stopped count as free, as it is for the server about to start.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use (another talking serve?)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def die_with_parent() -> None:
    """In a worker of `talking serve` (Linux): be killed when the serving process dies.

    PR_SET_PDEATHSIG through ctypes (libc's prctl): the maintained wrapper (python-prctl) needs
    libcap headers to build, for one call. The signal is SIGKILL, not SIGTERM: a worker inherits
    granian's main-process SIGTERM handler until its own event loop installs one, and that handler
    does nothing in a worker, so a SIGTERM arriving while the app loads was swallowed and the
    worker served on (seen in one start in three under test). It only fires when the main process
    died abruptly (a normal stop ends the workers first), and nothing acknowledged is lost: a 201
    is sent only after COMMIT. If the parent died before this call, the worker has already been
    handed to another process, so it exits at once. Outside `talking serve` (in-process tests) it
    does nothing.
    """
    serving = os.environ.get(SERVE_PID_VARIABLE)
    if not sys.platform.startswith("linux") or not serving or not serving.isdigit():
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # not allowed here (a sandbox): the worker behaves as before
    if os.getppid() != int(serving):
        os._exit(1)  # the parent is gone already: nothing of this worker has started
