"""Run the download page under waitress: bind before saying so, bound slow clients, stop
cleanly.

- The listening socket is made first; an address in use or unknown is one ServeError, and
  "serving on …" is printed only once the socket is ours.
- Slow or idle connections are bounded (LIMITS): a client that never finishes its request
  is closed after REQUEST_DEADLINE seconds, an idle one after `channel_timeout`, and a
  request body or header larger than the page ever sends is refused by waitress itself.
- Errors waitress writes on its own (a malformed request, a body too large) carry the same
  security headers as the app's pages.
- SIGTERM drains: new requests get the friendly 503 with Retry-After while those in flight
  finish (up to DRAIN_SECONDS), then the server stops. Ctrl-C stops at once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from ..errors import ServeError
from .app import SECURITY_HEADERS

LIMITS = {
    "channel_timeout": 30,  # seconds an idle connection is kept open
    "cleanup_interval": 5,  # how often idle and overdue connections are looked for
    "connection_limit": 500,  # open connections; a proxy in front should keep far fewer
    "asyncore_use_poll": True,  # select() cannot watch more than 1024 sockets
    "max_request_header_size": 16 * 1024,
    "max_request_body_size": 64 * 1024,  # the staff form is a few hundred bytes
    "inbuf_overflow": 64 * 1024,
}
REQUEST_DEADLINE = 20  # seconds from a request's first byte to its last
DRAIN_SECONDS = 40  # longer than a render's own 30 s timeout


class _SecureErrorTask(ErrorTask):
    """waitress's own error responses (400, 413, 431…) with our security headers."""

    def execute(self):
        self.response_headers.extend(SECURITY_HEADERS.items())
        super().execute()


class _Channel(HTTPChannel):
    """A connection that remembers when its current request began, so a client that
    trickles a request out byte by byte (slowloris) cannot hold its slot for ever."""

    error_task_class = _SecureErrorTask
    request_started: float | None = None

    def received(self, data):
        if self.request is None and data:
            self.request_started = time.monotonic()
        result = super().received(data)
        if self.request is None:  # the request is complete (or none is pending)
            self.request_started = None
        return result


def _close_overdue(server: BaseWSGIServer, now: float) -> None:
    """waitress's own idle check, plus: close a connection whose request is still arriving
    REQUEST_DEADLINE seconds after it began."""
    _idle_check = type(server).maintenance
    _idle_check(server, now)
    cutoff = time.monotonic() - REQUEST_DEADLINE
    for channel in list(server.active_channels.values()):
        started = getattr(channel, "request_started", None)
        if started is not None and started < cutoff and not channel.requests:
            channel.will_close = True


def _servers(server) -> list[BaseWSGIServer]:
    found = [server] if isinstance(server, BaseWSGIServer) else list(server.map.values())
    return [s for s in found if isinstance(s, BaseWSGIServer)]


def serve(app: Flask, host: str, port: int, threads: int,
          listening: Callable[[str], None]) -> None:
    """Serve app until Ctrl-C or SIGTERM; `listening` is told the URL once the socket is
    bound. Raises ServeError when the address cannot be used."""
    try:
        server = create_server(app, host=host, port=port, threads=threads, **LIMITS)
    except (OSError, ValueError) as exc:  # in use, not ours, unknown host, bad address
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None
    for one in _servers(server):
        one.channel_class = _Channel
        one.maintenance = lambda now, one=one: _close_overdue(one, now)
    gate = app.extensions["handouts.gate"]

    drained = threading.Event()

    def stop_when_idle() -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and (gate.in_flight or _unsent(server)):
            time.sleep(0.1)
        drained.set()
        # Only the main thread can stop waitress's loop: signal it (not with SIGINT, which
        # a process started in the background ignores).
        os.kill(os.getpid(), signal.SIGTERM)

    def drain(signum, frame) -> None:
        if drained.is_set():
            raise SystemExit(0)  # waitress's loop stops on SystemExit
        if not gate.draining:  # a repeated SIGTERM (a wrapper passing it on) changes nothing
            gate.draining = True
            threading.Thread(target=stop_when_idle, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, drain)
    listening(f"http://{host}:{port}")
    try:
        server.run()  # returns when stopped; waitress catches the KeyboardInterrupt
    finally:
        signal.signal(signal.SIGTERM, previous)


def _unsent(server) -> bool:
    """True while any connection still has response bytes waiting to be sent."""
    return any(channel.total_outbufs_len for one in _servers(server)
               for channel in list(one.active_channels.values()))
