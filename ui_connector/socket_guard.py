"""Bounds on what one Engine.IO/Socket.IO client can make the connector do.

python-socketio trusts its clients more than an internet-facing service can: it runs
the connect handler for a client-sent event named ``connect``, keeps binary attachments
for as long as a packet says more are coming, holds sessions that never authenticate,
and handles events as fast as a client sends them (the reader never yields while
frames are buffered, so one flooding client starves every other greenlet). The guard
sits between Engine.IO and Socket.IO and, per session:

- closes sessions that have not authenticated within ``authenticate_within_seconds``;
- closes a session that sends more than ``event_burst`` packets at once or more than
  ``events_per_second`` for longer (a desktop joining its 50 conversations at once
  stays well within the default burst);
- closes a session that sends binary packets (this API has none), a malformed packet
  or a reserved event name (``connect``, ``disconnect``, ...: only the server triggers
  those handlers), with one warning line and no traceback;
- yields to other greenlets after every packet.

``admits_new_session`` caps the number of Engine.IO sessions, so that health checks,
registration and the proxy keep answering when the socket slots are full.

``sweep`` sends the pings that are due and closes sessions whose client stopped answering them,
every ``sweep_every_seconds`` (at most half the ping timeout, so a ping is never later than a client
waits for it): Engine.IO's own monitor woke up once per session per ping timeout (50 times a second
with 1,000 desktops), which was most of an idle instance's CPU, and it kept a sleeping greenlet per
session for its next ping.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import socketio
from socketio import packet as sio_packet

from aa_common.http import buffer_body, json_error_response
from ui_connector.deadlines import Deadlines

log = logging.getLogger(__name__)

# The Socket.IO protocol reserves these names for the library's own events.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener"})
_BINARY_TYPES = {str(sio_packet.BINARY_EVENT), str(sio_packet.BINARY_ACK)}
_EVENT_TYPE = str(sio_packet.EVENT)


@dataclass(frozen=True)
class SocketLimits:
    max_sessions: int = 1000
    authenticate_within_seconds: float = 5.0
    events_per_second: float = 20.0
    event_burst: int = 100
    max_message_bytes: int = 64 * 1024
    max_backlog_bytes: int = 8 * 1024 * 1024  # unsent to one desktop; beyond it, it is disconnected
    ping_interval_seconds: int = 25  # Engine.IO's heartbeat, as socket.io's own servers default it
    ping_timeout_seconds: int = 20
    sweep_every_seconds: float = 5.0


class EventBudget:
    """A token bucket: ``burst`` packets at once, refilled at ``rate`` per second."""

    __slots__ = ("_rate", "_burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: int, now: float):
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = now

    def take(self, now: float) -> bool:
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class SocketGuard:
    def __init__(self, server: socketio.Server, limits: SocketLimits, deadlines: Deadlines,
                 sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic):
        self._server = server
        self._eio = server.eio
        self._limits = limits
        self._deadlines = deadlines
        self._sleep = sleep
        self._clock = clock
        self._budgets: dict[str, EventBudget] = {}
        self._draining = False
        self._sweep_every = min(limits.sweep_every_seconds, limits.ping_timeout_seconds / 2)
        handlers = self._eio.handlers
        self._next_connect = handlers["connect"]
        self._next_message = handlers["message"]
        self._next_disconnect = handlers["disconnect"]
        self._eio.on("connect", self._on_connect)
        self._eio.on("message", self._on_message)
        self._eio.on("disconnect", self._on_disconnect)

    def admits_new_session(self) -> bool:
        # A budget per open session: from Engine.IO's connect to its disconnect.
        return not self._draining and len(self._budgets) < self._limits.max_sessions

    def authenticated(self, eio_sid: str) -> None:
        """The session presented a valid token: it may stay."""
        self._deadlines.cancel(("authenticate", eio_sid))

    def drain(self) -> None:
        """The instance is stopping: admit no new session and close every open one, so their desktops
        reconnect (to another instance) now rather than be cut when the process ends. (The worker gets
        SIGTERM from Cloud Run and from gunicorn's master: the second finds nothing left to do.)"""
        if self._draining:
            return
        self._draining = True
        sessions = list(self._eio.sockets)
        log.info("closing every Socket.IO session before stopping", extra={"sessions": len(sessions)})
        for eio_sid in sessions:
            self.close(eio_sid, "the instance is stopping")

    def wait_closed(self, timeout: float) -> None:
        """After ``drain``: wait until every WebSocket has let its connection go (close frame written,
        socket closed), at most ``timeout`` seconds, so that the process does not end them first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
                session.websocket is not None and not session.websocket.finished
                for session in list(self._eio.sockets.values())):
            self._sleep(0.05)

    def close(self, eio_sid: str, why: str) -> None:
        """Close the session's transport. socket.io clients reconnect by themselves after this
        (unlike after a Socket.IO DISCONNECT packet), with their token, if they still have one."""
        session = self._eio.sockets.get(eio_sid)
        if session is not None and not session.closed:
            log.debug("closing a Socket.IO session: %s", why)
            session.close(wait=False, abort=False, reason=self._eio.reason.SERVER_DISCONNECT)

    def sweep(self) -> None:
        """Ping the sessions that are due, close the ones whose client missed its pong; forget the closed ones."""
        now = time.time()
        for eio_sid, session in list(self._eio.sockets.items()):
            if session.closed:
                self._eio.sockets.pop(eio_sid, None)
            elif not session.closing and session.check_ping_timeout():
                session.ping_if_due(now)
        self._schedule_sweep()

    def _schedule_sweep(self) -> None:
        self._deadlines.set("sweep", time.time() + self._sweep_every, self.sweep)

    def _on_connect(self, eio_sid: str, environ: dict):
        if self._deadlines.when("sweep") is None:
            self._schedule_sweep()
        self._budgets[eio_sid] = EventBudget(self._limits.events_per_second, self._limits.event_burst, self._clock())
        self._deadlines.set(("authenticate", eio_sid), time.time() + self._limits.authenticate_within_seconds,
                            lambda: self.close(eio_sid, "not authenticated in time"))
        return self._next_connect(eio_sid, environ)

    def _on_disconnect(self, eio_sid: str, reason):
        self._budgets.pop(eio_sid, None)
        self._deadlines.cancel(("authenticate", eio_sid))
        return self._next_disconnect(eio_sid, reason)

    def _on_message(self, eio_sid: str, data) -> None:
        budget = self._budgets.get(eio_sid)
        if budget is None:
            return  # what a closed session had buffered still arrives: nobody is listening any more
        try:
            problem = self._problem(budget, data)
            if problem is None:
                self._next_message(eio_sid, data)
            else:
                log.warning("Socket.IO client refused: %s", problem)
                self.close(eio_sid, problem)
        except ValueError:  # python-socketio's verdict on a malformed packet
            log.warning("Socket.IO client refused: malformed packet")
            self.close(eio_sid, "malformed packet")
        finally:
            self._sleep(0)  # let every other connection have its turn, however fast this one sends

    def _problem(self, budget: EventBudget, data) -> str | None:
        """None to pass the packet on, else why the session is closed."""
        if not isinstance(data, str) or data[:1] in _BINARY_TYPES:
            return "binary packets are not part of this API"
        if not budget.take(self._clock()):
            return "too many packets"
        if data[:1] == _EVENT_TYPE:
            return _event_problem(data)
        return None


def _event_problem(data: str) -> str | None:
    """Why an EVENT packet is refused, if it is; ValueError for one that does not decode."""
    decoded = sio_packet.Packet(encoded_packet=data).data
    if not (isinstance(decoded, list) and decoded and isinstance(decoded[0], str)):
        return "malformed packet"
    if decoded[0] in RESERVED_EVENTS:
        return "reserved event name"
    return None


class EngineIOGate:
    """WSGI middleware that serves Engine.IO's requests itself: a new session when the sessions are full
    gets a 503 (socket.io clients retry with backoff); a long-polling POST over the message limit, or
    without a length, gets a 413 at once (Engine.IO would close the session and then wait for a poll that
    may never come before answering), and one whose body does not arrive in time a 408.

    The rest goes straight to Engine.IO, past Flask-SocketIO's and Engine.IO's own middleware: they copy
    the environ and define a class per request, and a WebSocket request keeps both for as long as it
    is open (about 3.5 KiB per desktop)."""

    def __init__(self, app, engineio_server, flask_app, guard: SocketGuard, limits: SocketLimits,
                 read_within: Callable[[], object], path: str = "/socket.io/"):
        self._app = app
        self._engineio = engineio_server
        self._flask_app = flask_app
        self._guard = guard
        self._limits = limits
        self._read_within = read_within
        self._path = path

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self._path):
            return self._app(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        if method == "GET" and "sid=" not in environ.get("QUERY_STRING", "") and not self._guard.admits_new_session():
            log.warning("Socket.IO connection refused: every session slot is taken")
            return json_error_response(503, "this instance holds as many desktops as it may; retry shortly",
                                        {"Retry-After": "5"})(environ, start_response)
        if method == "POST":
            if not _length_within(environ.get("CONTENT_LENGTH"), self._limits.max_message_bytes):
                return json_error_response(
                    413, f"a long-polling request body must have a Content-Length of at most "
                         f"{self._limits.max_message_bytes} bytes")(environ, start_response)
            try:
                buffer_body(environ, self._limits.max_message_bytes, self._read_within)
            except TimeoutError:
                return json_error_response(408, "the request body did not arrive in time")(environ, start_response)
        environ["flask.app"] = self._flask_app  # where Flask-SocketIO's event handlers find the app
        return self._engineio.handle_request(environ, start_response)


def _length_within(content_length: str | None, limit: int) -> bool:
    return bool(content_length) and content_length.isdigit() and int(content_length) <= limit
