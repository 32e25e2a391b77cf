"""The UI connector's gunicorn worker: gunicorn's gevent worker, plus a clean stop for desktops and
JSON answers to the requests gunicorn refuses itself.

On SIGTERM (Cloud Run replacing the instance) gunicorn's worker stops accepting and waits up to
``graceful_timeout`` for open connections to end, which WebSockets never do by themselves: it
waited 8 s and cut them. This worker first closes every desktop's transport (socket.io clients
reconnect by themselves after a transport close, unlike after a Socket.IO DISCONNECT), so the
process exits as soon as they are gone, and every desktop is already on its way to another instance.
"""
from __future__ import annotations

import json
import socket

import gevent
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from ui_connector.services import connector


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
        super().init_process()

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        gevent.spawn(self._drain)

    def _drain(self) -> None:
        connector(self.wsgi).guard.drain()
