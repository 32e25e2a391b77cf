"""The UI connector's gunicorn worker: gunicorn's gevent worker, plus a clean stop for desktops and
JSON answers to the requests gunicorn refuses itself.

On SIGTERM (Cloud Run replacing the instance) gunicorn's worker stops accepting and waits up to
``graceful_timeout`` for the requests in flight. A desktop's WebSocket is no request by then (see
``websocket_transport``), so gunicorn would not wait for it: this worker closes every desktop's
transport (socket.io clients reconnect by themselves after a transport close, unlike after a Socket.IO
DISCONNECT), saving where each had got, and exits once that is done, with every desktop already on
its way to another instance.
It also closes the keep-alive connections that sit between two requests (a page's connection to
``/register``): gunicorn would wait for each one's next request up to the keep-alive timeout.
"""
from __future__ import annotations

import fcntl
import json
import socket
import struct
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager

import gevent
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from ui_connector.services import connector

WEBSOCKETS_CLOSE_WITHIN_SECONDS = 1.0  # for their close frames to go out before the process ends


def write_json_error(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """What gunicorn answers a request it refuses before the app sees it (a request line or headers over
    its limits, a malformed request): the services' JSON error with their security headers, not an HTML
    page. It stands in for ``gunicorn.util.write_error``, which gunicorn's ``Worker.handle_error`` calls."""
    # Imported here, once serving: this module is imported before gevent patches ssl, which redis imports.
    from aa_common.http import SECURITY_HEADERS, error_body

    body = json.dumps(error_body(status, message or reason)).encode()
    head = [f"HTTP/1.1 {status} {reason}", "Connection: close", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in SECURITY_HEADERS)]
    util.write_nonblock(sock, "\r\n".join([*head, "", ""]).encode("latin-1") + body)


class ConnectorWorker(GeventWorker):
    def init_process(self) -> None:
        util.write_error = write_json_error
        self._clients: dict[object, socket.socket] = {}  # greenlet -> the connection it serves
        self._between_requests: dict[object, socket.socket | None] = {}  # of those, the idle ones
        self._draining: gevent.Greenlet | None = None
        self._stop_by = 0.0  # the monotonic time by which a stop must be done
        super().init_process()

    def run(self) -> None:
        super().run()
        if self._draining is not None:  # within the same graceful timeout as the requests in flight
            self._draining.join(max(0.0, self._stop_by - time.monotonic()))

    def handle(self, listener, client, addr) -> None:
        self._clients[gevent.getcurrent()] = client
        try:
            super().handle(listener, client, addr)
        finally:
            self._clients.pop(gevent.getcurrent(), None)

    @contextmanager
    def timeout_ctx(self) -> Iterator[None]:
        """Where gunicorn waits for a keep-alive connection's next request (silently ending the wait
        after ``keepalive``): noted, so that a stop can close the connection instead of waiting. Once
        stopping, a connection whose request was still running takes only a request already sent."""
        current = gevent.getcurrent()
        self._between_requests[current] = self._clients.get(current)
        try:
            with gevent.Timeout(self.cfg.keepalive if self.alive else 0, False):
                yield
        finally:
            self._between_requests.pop(current, None)

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        if self._draining is None:  # Cloud Run and gunicorn's master both send SIGTERM
            self._stop_by = time.monotonic() + self.cfg.graceful_timeout
            self._draining = gevent.spawn(self._drain)

    def _drain(self) -> None:
        try:
            guard = connector(self.wsgi).guard
            guard.drain()
            guard.wait_closed(min(WEBSOCKETS_CLOSE_WITHIN_SECONDS, self._stop_by - time.monotonic()))
        finally:
            for client in list(self._between_requests.values()):
                if client is not None and not _request_arriving(client):
                    _shut(client)  # its wait reads the end of the stream, and gunicorn closes it


def _request_arriving(client: socket.socket) -> bool:
    """Bytes of a next request wait to be read: leave it to be served rather than take it unanswered.
    (A request whose first bytes the parser already read is cut; it never reached the app.)"""
    try:
        unread = fcntl.ioctl(client.fileno(), termios.FIONREAD, b"\0\0\0\0")  # without blocking, unlike gevent's recv
    except OSError:
        return False  # closed meanwhile
    return struct.unpack("i", unread)[0] > 0


def _shut(client: socket.socket) -> None:
    try:
        client.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client closed it first
