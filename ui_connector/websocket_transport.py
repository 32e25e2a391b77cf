"""WebSocket connections under gevent that cost no greenlet while they are idle.

A desktop holds its connection for hours and receives a few events a minute, so what a connection
costs at rest is what an instance's memory goes on. simple-websocket (Engine.IO's default) runs a
reader greenlet per connection beside the request's greenlet that waits for it, and Engine.IO adds a
writer greenlet and a ping greenlet: four greenlets, each with its saved C stack and Python frames,
about 100 KiB per desktop. Here, once ``serve`` is called, the request's greenlet ends and the
connection waits on an event-loop watcher: a greenlet exists only while there is something to read
(it reads until the socket is empty, handing each message on in order), or while a desktop that
reads slower than it is written to has a backlog. A write goes straight to the socket from the
greenlet that sends, so a slow desktop never holds up the others.

The protocol is wsproto's (frames, fragments, control frames, the close handshake); this module adds
the opening handshake from the WSGI environ, with permessage-deflate declined (its zlib contexts cost
~150 KiB per connection, and compressing every event for every viewer cost more CPU than the rest of
the delivery), and three bounds:

- a message longer than ``max_message_size`` closes the connection (1009) while it arrives, however
  it is fragmented;
- a backlog over ``max_backlog_bytes`` (a desktop that stopped reading), or a write that waits longer
  than ``write_timeout_seconds``, ends the connection; the desktop resumes from its last event id when
  it reconnects;
- after a close frame the TCP connection ends as soon as the frame is written: a peer that never
  answers it cannot keep the connection open.
"""
from __future__ import annotations

import base64
import binascii
import logging
import socket
import time
from collections.abc import Callable

import gevent
import gevent.event
from gevent.socket import wait_read, wait_write
from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, generate_accept_token

log = logging.getLogger(__name__)

RECEIVE_BYTES = 16 * 1024
WEBSOCKET_VERSION = "13"
READABLE = 1  # libev's EV_READ

Message = str | bytes


class HandshakeRefused(ValueError):
    """The request is not a WebSocket opening handshake this server accepts; the message says why."""


def handshake_response(environ: dict) -> bytes:
    """The 101 answer to a WebSocket opening handshake (RFC 6455, section 4.2), without extensions
    or a subprotocol. Raises ``HandshakeRefused``."""
    if environ.get("REQUEST_METHOD") != "GET":
        raise HandshakeRefused("a WebSocket handshake is a GET request")
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != WEBSOCKET_VERSION:
        raise HandshakeRefused(f"Sec-WebSocket-Version must be {WEBSOCKET_VERSION}")
    key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid_key = False
    if not valid_key:
        raise HandshakeRefused("Sec-WebSocket-Key must be 16 bytes in base64")
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + generate_accept_token(key.encode()) + b"\r\n\r\n")


class WebSocketConnection:
    """One accepted WebSocket. ``receive`` waits for a message in the calling greenlet (until ``serve``);
    ``send`` and ``close`` work from any greenlet and never wait for the peer.

    Its state, in the order a connection goes through it: ``_closing`` (nothing more is sent: a close
    frame went out, the peer closed, or its backlog overflowed), ``_closed_here`` (this side decided to
    close: what the peer sent meanwhile is not handed on), ``_eof`` (nothing more can be read), the
    socket shut down (``_shut``), then ``_finished`` (socket and watcher released, ``on_closed`` called).
    A connection with a backlog is finished by its flushing greenlet once the backlog is written or
    given up; otherwise by whoever reads the end of the stream."""

    def __init__(self, sock: socket.socket, max_message_size: int, read_timeout_seconds: float,
                 write_timeout_seconds: float, max_backlog_bytes: int):
        # A socket of its own on the same connection: the server closes the request's when the request ends.
        self._sock = sock.dup()
        self._sock.settimeout(0.0)  # every wait below is explicit
        self._max_message_size = max_message_size
        self._read_timeout = read_timeout_seconds
        self._write_timeout = write_timeout_seconds
        self._max_backlog_bytes = max_backlog_bytes
        self._protocol = Connection(ConnectionType.SERVER)
        self._parts: list[Message] = []
        self._part_length = 0
        self._messages: list[Message] = []  # lists, not deques: an empty deque is 0.7 KiB
        self._backlog: list[memoryview] = []
        self._backlog_bytes = 0
        self._flushing = False
        self._written: gevent.event.Event | None = None  # set once the current backlog is written
        self._closing = False
        self._closed_here = False
        self._eof = False
        self._shut = False
        self._finish_after_flush = False
        self._finished = False
        self._watcher = None
        self._on_message: Callable[[Message], None] | None = None
        self._on_closed: Callable[[], None] | None = None

    @classmethod
    def accept(cls, sock: socket.socket, environ: dict, **options) -> WebSocketConnection:
        """Answer the opening handshake in ``environ`` on ``sock``. Raises ``HandshakeRefused``, and
        OSError when the client is gone."""
        response = handshake_response(environ)
        sock.sendall(response)
        return cls(sock, **options)

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def served(self) -> bool:
        return self._watcher is not None

    @property
    def finished(self) -> bool:
        return self._finished

    def receive(self) -> Message | None:
        """The next whole message, waiting for it in this greenlet (before ``serve``); None once the
        connection is closing, or after ``read_timeout_seconds`` of silence."""
        while not self._messages:
            if self._eof or self._closed_here:
                return None
            try:
                wait_read(self._sock.fileno(), self._read_timeout)
            except OSError:  # socket.timeout included: a silent client is gone
                self._eof = True
                self._end()
                return None
            self._read_once()
        return self._messages.pop(0)

    def serve(self, on_message: Callable[[Message], None], on_closed: Callable[[], None]) -> None:
        """Hand every message from now on to ``on_message``, in order, and call ``on_closed`` once the
        connection has ended; return at once. Messages are read by a greenlet started when the socket
        becomes readable, which ends once it has read everything there was."""
        self._on_message, self._on_closed = on_message, on_closed
        self._watcher = gevent.get_hub().loop.io(self._sock.fileno(), READABLE)
        gevent.spawn(self._read_available)  # what arrived with the last message read by ``receive``

    def send(self, data: Message) -> None:
        """Queue one message; nothing is sent once the connection is closing."""
        if self._closing:
            return
        message = TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)
        self._write(self._protocol.send(message))

    def close(self, code: int = CloseReason.NORMAL_CLOSURE, reason: str | None = None) -> None:
        """Send a close frame and end the TCP connection once it is written (idempotent)."""
        if self._closing:
            return
        self._closed_here = True
        try:
            self._write(self._protocol.send(CloseConnection(code=code, reason=reason)))
        except LocalProtocolError:
            pass  # the peer's close was answered already
        self._end()

    def release(self) -> None:
        """A connection that is not served: close it and let its socket go (once its backlog is written)."""
        if not self.served:
            self.close()
            self._finish()

    def wait_written(self) -> bool:
        """Wait while the connection has a backlog (at most ``write_timeout_seconds``, after which the
        backlog is given up): what a long replay does between events, so that it never piles up.
        False once the connection is closing: what is sent now is not written."""
        if self._written is not None:
            self._written.wait(self._write_timeout)
        return not self._closing

    def _readable(self) -> None:
        """The event loop's callback: the socket has something to read."""
        self._watcher.stop()
        gevent.spawn(self._read_available)

    def _read_available(self) -> None:
        try:
            while not self._finished:
                while self._messages and not self._closed_here:
                    self._on_message(self._messages.pop(0))
                if self._eof:
                    self._finish()  # or, while a backlog is written, once it is
                    return
                if not self._read_once():
                    self._watcher.start(self._readable)
                    return
                gevent.sleep(0)  # however fast this client sends, every other connection has its turn
        except Exception:  # a failing handler must not leave the connection open and unread
            log.exception("handling a WebSocket message failed: closing the connection")
            self._closed_here = True
            self._end()
            self._finish()

    def _read_once(self) -> bool:
        """Read what the socket has, without waiting; False if it had nothing."""
        try:
            data = self._sock.recv(RECEIVE_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if data:
            self._take(data)
        else:
            self._eof = True
            self._end()
        return True

    def _take(self, data: bytes) -> None:
        """Feed received bytes to the protocol: answer control frames, collect whole messages."""
        if self._closed_here or self._protocol.state is ConnectionState.CLOSED:
            return  # closing: what the peer sends now is read away unparsed, until the end of the stream
        self._protocol.receive_data(data)
        for event in self._protocol.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self._collect(event)
            elif isinstance(event, Ping) and self._protocol.state is ConnectionState.OPEN:
                self._write(self._protocol.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._closed_by_peer(event)
            if self._closing:
                break

    def _closed_by_peer(self, event: CloseConnection) -> None:
        state = self._protocol.state
        if state is ConnectionState.REMOTE_CLOSING:  # the peer's close: answered; what it sent before is kept
            self._write(self._protocol.send(event.response()))
        elif state is ConnectionState.OPEN:  # wsproto could not parse a frame: close with its code (1002, 1007)
            log.warning("WebSocket protocol error: closing the connection", extra={"close_code": event.code})
            self.close(event.code, "protocol error")
        self._end()  # (LOCAL_CLOSING became CLOSED: the answer to our close frame)

    def _collect(self, event: TextMessage | BytesMessage) -> None:
        self._part_length += len(event.data)
        if self._part_length > self._max_message_size:
            log.warning("WebSocket message over the size limit: closing the connection")
            self.close(CloseReason.MESSAGE_TOO_BIG, "message too big")
            return
        self._parts.append(event.data)
        if event.message_finished:
            parts, self._parts, self._part_length = self._parts, [], 0
            self._messages.append(parts[0] if len(parts) == 1 else parts[0][:0].join(parts))

    def _write(self, frame: bytes) -> None:
        """Write now what the socket takes without waiting; leave the rest to a flushing greenlet
        (while one runs, every frame goes behind the ones it has, in order)."""
        if not self._flushing:
            try:
                sent = self._sock.send(frame)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._eof = True  # the peer is gone
                self._end()
                return
            if sent == len(frame):
                return
            frame = memoryview(frame)[sent:]
        self._backlog.append(memoryview(frame))
        self._backlog_bytes += len(frame)
        if self._backlog_bytes > self._max_backlog_bytes:
            log.warning("a WebSocket client stopped reading: closing the connection",
                        extra={"backlog_bytes": self._backlog_bytes})
            self._give_up_backlog()
        elif not self._flushing:
            self._flushing = True
            self._written = gevent.event.Event()
            gevent.spawn(self._flush)

    def _flush(self) -> None:
        """Write the backlog as the socket takes it, within ``write_timeout_seconds`` of its forming."""
        deadline = time.monotonic() + self._write_timeout
        try:
            while self._backlog:
                wait_write(self._sock.fileno(), max(0.0, deadline - time.monotonic()))
                if not self._backlog:
                    break  # given up meanwhile
                chunk = self._backlog[0]
                sent = self._sock.send(chunk)
                self._backlog_bytes -= sent
                if sent == len(chunk):
                    self._backlog.pop(0)
                else:
                    self._backlog[0] = chunk[sent:]
        except OSError:  # the deadline passed (socket.timeout), or the peer is gone
            self._give_up_backlog()
        finally:
            self._flushing = False
            self._written.set()
            if self._closing:
                self._shutdown()
            if self._eof or self._finish_after_flush:
                self._finish()

    def _give_up_backlog(self) -> None:
        """End a connection that is not read: shut it down now, without its backlog."""
        self._backlog.clear()
        self._backlog_bytes = 0
        self._closed_here = True
        self._closing = True
        self._shutdown()

    def _end(self) -> None:
        """Nothing more to send: end the TCP connection once the backlog is written. The reader then
        reads the end of the stream and finishes (or ``receive`` returns None)."""
        self._closing = True
        if not self._flushing:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._shut:
            return
        self._shut = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone

    def _discard_unread(self) -> None:
        """Read away what the peer sent and nobody will read: closing a TCP socket with unread data
        resets the connection, and a reset can reach the peer before the close frame it was sent."""
        for _ in range(16):
            try:
                if not self._sock.recv(RECEIVE_BYTES):
                    return
            except OSError:  # BlockingIOError included: nothing more has arrived
                return

    def _finish(self) -> None:
        """Release the socket and the watcher, and say so (once); after the backlog, if one is written."""
        if self._finished:
            return
        self._closing = True
        if self._flushing:
            self._finish_after_flush = True
            return
        self._finished = True
        self._shutdown()
        if self._watcher is not None:
            self._watcher.close()
        self._discard_unread()
        self._sock.close()
        if self._on_closed is not None:
            self._on_closed()
