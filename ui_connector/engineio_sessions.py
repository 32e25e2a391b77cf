"""Engine.IO sessions that cost one greenlet per desktop: the one serving its WebSocket.

python-engineio gives every WebSocket session a writer greenlet (packets go through a queue to it)
and a greenlet that sleeps until the next ping is due, beside simple-websocket's reader. A
``DirectSession`` writes each packet straight to its ``WebSocketConnection`` from the sending
greenlet (for the fan-out, the one that reads Redis), which saves a greenlet switch per packet as
well as the greenlets, and leaves pings to ``SocketGuard.sweep``, which already visits every session
every few seconds. Long-polling sessions (before an upgrade, or clients without WebSocket) keep
Engine.IO's queue and its long-polling requests.

Engine.IO has no option for the class of its sessions or its WebSocket; ``serve_websockets_directly``
installs both: the WebSocket class in the server's ``_async`` table, and the session class on each
new session, from Engine.IO's connect event (before any request of the session is served).
"""
from __future__ import annotations

import logging
import time
from functools import partial

import engineio
from engineio import exceptions
from engineio import packet as eio_packet
from engineio.socket import Socket

from aa_common.http import json_error_response
from ui_connector.websocket_transport import HandshakeRefused, WebSocketConnection

log = logging.getLogger(__name__)
PROBE = "probe"


class DirectSession(Socket):
    """An Engine.IO session that writes straight to its WebSocket once it has one."""

    # Class defaults: sessions become this class after Engine.IO's __init__.
    websocket: WebSocketConnection | None = None  # once upgraded: packets are written to it
    upgrading_to: WebSocketConnection | None = None  # during the upgrade from long-polling
    ping_due: float = 0.0

    def send(self, pkt: eio_packet.Packet) -> None:
        websocket = self.websocket
        if websocket is None:  # long-polling, or upgrading to the WebSocket
            super().send(pkt)
        elif self.check_ping_timeout():  # raises SocketIsClosedError once closed, as Engine.IO's send does
            websocket.send(pkt.encode())

    def close(self, wait: bool = True, abort: bool = False, reason=None) -> None:
        """Engine.IO's close (the disconnect event, the CLOSE packet unless ``abort``), then the
        WebSocket's: nothing is left in a queue to wait for."""
        super().close(wait=wait and self.websocket is None, abort=abort, reason=reason)
        websocket = self.websocket or self.upgrading_to  # (the disconnect handlers may have yielded meanwhile)
        if websocket is not None:
            websocket.close()  # during an upgrade, this ends its wait for the client

    def schedule_ping(self) -> None:
        """A pong came (or the session opened): the next ping is due one interval from now."""
        if self.last_ping:
            self.last_ping = None
            self.ping_due = time.time() + self.server.ping_interval

    def ping_if_due(self, now: float) -> None:
        if self.last_ping is None and now >= self.ping_due and not (self.closing or self.closed):
            self.last_ping = now
            self.send(eio_packet.Packet(eio_packet.PING))

    def _websocket_handler(self, ws: WebSocketConnection) -> list:
        """Engine.IO's WebSocket handler, without a writer greenlet: after the upgrade (from long-polling)
        the session writes to ``ws`` directly, and ``ws`` hands it what the desktop sends from then on.
        Returns at once, leaving the connection open: the request's greenlet ends."""
        if self.upgrading or self.websocket is not None:
            return []  # a second WebSocket for the session: refused (it is closed on return)
        if self.connected and not self._upgrade(ws):
            return []
        if self.closed or self.closing:
            return []  # closed while upgrading
        self.connected = self.upgraded = True
        self.websocket = ws
        self._send_queued()
        self.queue = _DISCARDED  # nothing reads the queue any more; Engine.IO's close still writes to it
        ws.serve(self._receive_message, self._websocket_closed)
        return []

    def _upgrade(self, ws: WebSocketConnection) -> bool:
        """The upgrade of a long-polling session: PING probe, PONG probe, end the pending poll, UPGRADE."""
        self.upgrading = True  # Engine.IO holds packets in the queue meanwhile
        self.upgrading_to = ws
        try:
            probe = _decoded(ws.receive())
            if probe is None or (probe.packet_type, probe.data) != (eio_packet.PING, PROBE):
                return False
            ws.send(eio_packet.Packet(eio_packet.PONG, data=PROBE).encode())
            self.queue.put(eio_packet.Packet(eio_packet.NOOP))  # answers the pending poll
            upgrade = _decoded(ws.receive())
            return upgrade is not None and upgrade.packet_type == eio_packet.UPGRADE
        finally:
            self.upgrading = False
            self.upgrading_to = None

    def _send_queued(self) -> None:
        """What was queued before the WebSocket took over (the OPEN packet, or what long-polling
        had not delivered), in order, before anything sent from now on."""
        empty = self.server.get_queue_empty_exception()
        while True:
            try:
                pkt = self.queue.get(block=False)
            except empty:
                return
            self.queue.task_done()
            if pkt is not None:
                self.websocket.send(pkt.encode())

    def _receive_message(self, data: str | bytes) -> None:
        try:
            self.receive(eio_packet.Packet(encoded_packet=data))
        except exceptions.UnknownPacketError:
            log.debug("ignoring an unknown Engine.IO packet type")
        except exceptions.SocketIsClosedError:
            pass  # the WebSocket is closing too
        except (ValueError, IndexError, TypeError):
            log.warning("Engine.IO client refused: malformed packet")
            self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR)

    def _websocket_closed(self) -> None:
        self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
        if self.server.sockets.get(self.sid) is self:
            del self.server.sockets[self.sid]


class _Discard:
    """What a session's queue becomes once its WebSocket writes directly (Engine.IO's queue, with its
    events and deque, is ~2.5 KiB per session)."""

    def put(self, item, *args, **kwargs) -> None:
        pass

    def join(self, *args, **kwargs) -> None:
        pass  # nothing waits in it


_DISCARDED = _Discard()


def _decoded(data: str | bytes | None) -> eio_packet.Packet | None:
    """The Engine.IO packet in a WebSocket message; None for none or a malformed one."""
    if data is None:
        return None
    try:
        return eio_packet.Packet(encoded_packet=data)
    except (ValueError, IndexError, TypeError):
        return None


class DirectWebSocketWSGI:
    """Engine.IO's WebSocket class (``_async["websocket"]``): the handshake, then ``handler`` (the
    session's ``_websocket_handler``) on the connection, in the request's greenlet."""

    def __init__(self, handler, server: engineio.Server, max_backlog_bytes: int):
        self._handler = handler
        self._server = server
        self._max_backlog_bytes = max_backlog_bytes

    def __call__(self, environ: dict, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is None:
            return json_error_response(400, "WebSocket upgrades need the production server")(environ, start_response)
        silent_for = self._server.ping_interval + self._server.ping_timeout  # a client this quiet is gone
        try:
            ws = WebSocketConnection.accept(sock, environ, max_message_size=self._server.max_http_buffer_size,
                                            read_timeout_seconds=silent_for, write_timeout_seconds=silent_for,
                                            max_backlog_bytes=self._max_backlog_bytes)
        except HandshakeRefused as problem:
            return json_error_response(400, str(problem))(environ, start_response)
        try:
            self._handler(ws)
        finally:
            ws.release()  # unless the session serves it from now on
        raise StopIteration()  # gunicorn: this request is over and its socket closed; ws has its own


def serve_websockets_directly(engineio_server: engineio.Server, max_backlog_bytes: int) -> None:
    """Make ``engineio_server`` serve WebSockets with ``DirectWebSocketWSGI`` and ``DirectSession``."""
    engineio_server._async = {**engineio_server._async,
                              "websocket": partial(DirectWebSocketWSGI, max_backlog_bytes=max_backlog_bytes)}
    engineio_server.on("connect", partial(_adopt, engineio_server, engineio_server.handlers["connect"]))


def wait_written(engineio_server: engineio.Server, eio_sid: str) -> bool:
    """Wait while the session's WebSocket has a backlog (see ``WebSocketConnection.wait_written``);
    False once the session is closed or closing, so a replay stops there."""
    session = engineio_server.sockets.get(eio_sid)
    if session is None or session.closed or session.closing:
        return False
    return session.websocket.wait_written() if session.websocket is not None else True


def _adopt(engineio_server: engineio.Server, next_connect, eio_sid: str, environ: dict):
    """Engine.IO's connect event: the new session (created by Engine.IO as its own ``Socket``) becomes a
    ``DirectSession``, which adds no state of its own but class defaults."""
    engineio_server.sockets[eio_sid].__class__ = DirectSession
    return next_connect(eio_sid, environ)
