"""The WebSocket transport under gevent: whole frames out, bounded and cooperative reads in.

Four gaps in simple-websocket 1.1.0 as Engine.IO drives it:

- it writes each frame with ``socket.send()`` and ignores a partial write
  (miguelgrinberg/simple-websocket#45, fixed upstream but not released). Under gevent a
  partial write happens as soon as a desktop reads slower than the server writes (a long
  replay, a slow network): the frame is truncated and the desktop disconnected;
- its reader greenlet only yields when the socket has nothing to read, so a client
  that sends without pause starves every other connection (and gunicorn's heartbeat);
- Engine.IO does not pass it a message size limit, so it buffers a whole message, however
  many fragments it arrives in, before Engine.IO's ``max_http_buffer_size`` is checked;
- after its close frame it waits for the peer's, however long that takes.

``CooperativeSocket`` fixes the first two on the raw socket gunicorn hands to WebSocket
upgrades; ``BoundedWebSocket`` is the Engine.IO WebSocket class that fixes the others.
Remove the write half once a simple-websocket release with the fix is required.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from engineio.async_drivers.gevent import WebSocketWSGI


class CooperativeSocket:
    def __init__(self, sock, sleep: Callable[[float], None]):
        self._sock = sock
        self._sleep = sleep
        self._lock = threading.Lock()  # a gevent lock once gunicorn's worker has monkey-patched

    def send(self, data, flags: int = 0) -> int:
        """Write everything, one frame at a time: the reader greenlet writes too (pongs, close
        frames), and ``sendall`` may yield midway."""
        with self._lock:
            self._sock.sendall(data, flags)
        return len(data)

    def recv(self, size: int, flags: int = 0) -> bytes:
        self._sleep(0)
        return self._sock.recv(size, flags)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class CooperativeWebSockets:
    """WSGI middleware: wrap the raw socket of every WebSocket upgrade in ``CooperativeSocket``, and decline
    permessage-deflate (by not passing the client's offer on to the handshake): its zlib contexts cost
    ~150 KiB per connection, and compressing every event for every viewer cost more CPU than the rest
    of the delivery. Events are a few KiB of JSON."""

    def __init__(self, app, sleep: Callable[[float], None]):
        self._app = app
        self._sleep = sleep

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is not None and environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            environ["gunicorn.socket"] = CooperativeSocket(sock, self._sleep)
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self._app(environ, start_response)


class BoundedWebSocket(WebSocketWSGI):
    """Engine.IO's gevent WebSocket, closing (code 1009) any message longer than the server's
    ``max_http_buffer_size`` while it arrives, fragmented or not, and ending the TCP connection
    right after its close frame: a peer that never answers the close frame cannot keep it open."""

    def __init__(self, handler, server):
        super().__init__(handler, server)
        self.server_args["max_message_size"] = server.max_http_buffer_size

    def close(self):
        super().close()
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone


def bound_websocket_messages(engineio_server) -> None:
    """Make ``engineio_server`` accept WebSockets through ``BoundedWebSocket``. Engine.IO has no
    option for this; its transport classes live in the server's ``_async`` table."""
    engineio_server._async = {**engineio_server._async, "websocket": BoundedWebSocket}
