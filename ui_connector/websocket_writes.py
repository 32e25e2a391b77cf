"""Whole WebSocket frames under gevent, whatever the client's read speed.

simple-websocket 1.1.0 writes each frame with ``socket.send()`` and ignores a partial
write (miguelgrinberg/simple-websocket#45, fixed upstream but not released). Under
gevent a partial write happens as soon as a desktop reads slower than the server writes
(a long replay, a slow network): the frame is truncated, the stream corrupt, and the
desktop disconnected. This middleware gives simple-websocket a socket whose ``send``
writes everything, one frame at a time: the reader greenlet writes too (pongs, close
frames), and ``sendall`` may yield midway. Remove it once a fixed release is required.
"""
from __future__ import annotations

import threading


class WholeFrameSocket:
    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()  # a gevent lock once gunicorn's worker has monkey-patched

    def send(self, data, flags: int = 0) -> int:
        with self._lock:
            self._sock.sendall(data, flags)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class WholeFrameWrites:
    """WSGI middleware: wrap the raw socket gunicorn hands to WebSocket upgrades."""

    def __init__(self, app):
        self._app = app

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is not None and environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            environ["gunicorn.socket"] = WholeFrameSocket(sock)
        return self._app(environ, start_response)
