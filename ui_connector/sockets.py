"""The Socket.IO API desktops use: connect with a JWT, join and leave conversations, refresh the token.

A connection lives as long as its token (refreshed in-band with ``refresh-token``) and at most
``CONNECTION_MAX_AGE_SECONDS`` (jittered); then the connector closes its transport, which socket.io
clients answer by reconnecting. When a connection closes, where it had got in each conversation is
kept for a few minutes under its token's id, so a rejoin with the same token and no ``lastEventId``
resumes there instead of replaying the whole conversation again.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import redis
from flask import request
from flask_socketio import Namespace, disconnect, emit

from aa_common.conversations import ConversationName, InvalidConversationName
from aa_common.event_store import parse_event_id
from ui_connector.deadlines import Deadlines
from ui_connector.fanout import ConversationFanout
from ui_connector.metrics import DESKTOPS, JOINS, LEAVES
from ui_connector.resume import ResumeCursors
from ui_connector.socket_guard import SocketGuard
from ui_connector.tokens import InvalidToken, TokenService

log = logging.getLogger(__name__)
MAX_CONVERSATIONS_PER_CONNECTION = 50
MAX_AGE_JITTER = 0.1
UNAUTHENTICATED_EVENT = "unauthenticated"


class Refusal(StrEnum):
    """Stable codes in the third element of a refused ack; desktops decide by them, not by the text.

    ``meaning`` is what the AsyncAPI document tells desktops; ``retryable`` marks the code worth
    retrying the same request for (the desktop page does).
    """

    INVALID_ARGUMENT = ("INVALID_ARGUMENT", "the message is malformed: not a conversation name, or a bad lastEventId")
    PERMISSION_DENIED = ("PERMISSION_DENIED",
                         "the conversation belongs to another project, or the new token to another user")
    RESOURCE_EXHAUSTED = ("RESOURCE_EXHAUSTED",
                          f"the connection already watches {MAX_CONVERSATIONS_PER_CONNECTION} conversations")
    UNAUTHENTICATED = ("UNAUTHENTICATED",
                       "the connection's token expired or was refused: register again, then reconnect")
    UNAVAILABLE = ("UNAVAILABLE", "the event store is briefly unavailable: retry the same request", True)

    meaning: str
    retryable: bool

    def __new__(cls, code: str, meaning: str, retryable: bool = False) -> Refusal:
        refusal = str.__new__(cls, code)
        refusal._value_ = code
        refusal.meaning = meaning
        refusal.retryable = retryable
        return refusal


def refused(reason: str, code: Refusal) -> tuple[bool, str, str]:
    return False, reason, code.value


def event_name(handler: Callable) -> str:
    """The desktops' event a ``DesktopNamespace`` handler answers: ``on_join_conversation`` answers
    ``join-conversation`` (the inverse of ``DesktopNamespace.trigger_event``)."""
    return handler.__name__.removeprefix("on_").replace("_", "-")


class JoinRequest:
    """``join-conversation`` takes a conversation name, or ``{"conversationName", "lastEventId"}``."""

    def __init__(self, message: object):
        name, last_event_id = message, None
        if isinstance(message, dict):
            name, last_event_id = message.get("conversationName"), message.get("lastEventId")
        self.conversation = ConversationName.parse(name)
        if last_event_id is not None:
            parse_event_id(last_event_id)
        self.last_event_id: str | None = last_event_id


@dataclass(eq=False)
class DesktopConnection:
    eio_sid: str
    claims: dict
    joined: set[str] = field(default_factory=set)

    @property
    def token_id(self) -> str | None:
        return self.claims.get("jti")


class DesktopNamespace(Namespace):
    def __init__(self, tokens: TokenService, fanout: ConversationFanout, resume: ResumeCursors, project_id: str,
                 guard: SocketGuard, deadlines: Deadlines, max_age_seconds: int):
        super().__init__("/")
        self._tokens = tokens
        self._fanout = fanout
        self._resume = resume
        self._project_id = project_id
        self._guard = guard
        self._deadlines = deadlines
        self._max_age = max_age_seconds
        self._connections: dict[str, DesktopConnection] = {}

    def connected(self) -> int:
        return len(self._connections)

    def trigger_event(self, event, *args):
        # Desktops' event names are hyphenated (join-conversation); handler names cannot be.
        return super().trigger_event(event.replace("-", "_"), *args)

    def on_connect(self, auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = self._tokens.verify(token)
        except InvalidToken as error:
            log.info("Socket.IO connection refused: %s", error)
            self._refuse(str(error))
            return
        sid = request.sid
        eio_sid = self.socketio.server.manager.eio_sid_from_sid(sid, self.namespace)
        self._connections[sid] = DesktopConnection(eio_sid, claims)
        DESKTOPS.inc()
        self._guard.authenticated(eio_sid)
        self._deadlines.set(("token", sid), claims["exp"], lambda: self._close_expired(sid))
        age = self._max_age * random.uniform(1 - MAX_AGE_JITTER, 1 + MAX_AGE_JITTER)
        self._deadlines.set(("max-age", sid), time.time() + age,
                            lambda: self._guard.close(eio_sid, "maximum connection age reached"))

    def _refuse(self, reason: str) -> None:
        """Tell the desktop why, then end the Socket.IO connection with a DISCONNECT packet that has
        no payload: every socket.io-client version parses it, and none reconnects by itself with the
        token it was just refused for (it registers again on ``unauthenticated``)."""
        emit(UNAUTHENTICATED_EVENT, {"reason": reason})
        disconnect()

    def _close_expired(self, sid: str) -> None:
        """No event without a valid JWT: a connection ends when its token does."""
        self.socketio.emit(UNAUTHENTICATED_EVENT, {"reason": "token expired"}, to=sid)
        self.socketio.server.disconnect(sid, namespace=self.namespace)

    def on_disconnect(self, reason=None):
        sid = request.sid
        self._deadlines.cancel(("token", sid))
        self._deadlines.cancel(("max-age", sid))
        connection = self._connections.pop(sid, None)
        if connection is not None:
            DESKTOPS.dec()
        viewers = self._fanout.leave_all(sid)
        if connection is not None and connection.token_id and viewers:
            self._resume.save(connection.token_id, {conversation: v.cursor for conversation, v in viewers.items()})

    def on_join_conversation(self, message):
        answer = self._join(message)
        JOINS.labels(_outcome(answer, "joined")).inc()
        return answer

    def _join(self, message) -> tuple:
        connection, problem = self._authorized()
        if problem:
            return problem
        try:
            join = JoinRequest(message)
        except (InvalidConversationName, ValueError) as error:
            return refused(str(error), Refusal.INVALID_ARGUMENT)
        if join.conversation.project != self._project_id:
            return refused(f"conversation belongs to project {join.conversation.project!r}, "
                           "not to this connector's project", Refusal.PERMISSION_DENIED)
        key = join.conversation.key
        if key not in connection.joined and len(connection.joined) >= MAX_CONVERSATIONS_PER_CONNECTION:
            return refused(f"a connection may watch at most {MAX_CONVERSATIONS_PER_CONNECTION} conversations",
                           Refusal.RESOURCE_EXHAUSTED)
        connection.joined.add(key)  # counted before the join waits on Redis, so bursts cannot pass the cap
        try:
            resume_after = join.last_event_id or self._resume_point(connection, key)
            if self._connections.get(request.sid) is not connection:
                return refused("the connection closed while joining", Refusal.UNAUTHENTICATED)
            self._fanout.join(request.sid, connection.eio_sid, key, resume_after)
        except (TimeoutError, redis.RedisError) as error:
            connection.joined.discard(key)
            log.warning("join failed: Redis is unavailable", extra={"error": type(error).__name__})
            return refused("event store temporarily unavailable; retry the join", Refusal.UNAVAILABLE)
        return True, key

    def _resume_point(self, connection: DesktopConnection, conversation: str) -> str | None:
        return self._resume.load(connection.token_id, conversation) if connection.token_id else None

    def on_leave_conversation(self, message):
        answer = self._leave(message)
        LEAVES.labels(_outcome(answer, "left")).inc()
        return answer

    def _leave(self, message) -> tuple:
        name = message.get("conversationName") if isinstance(message, dict) else message
        try:
            conversation = ConversationName.parse(name).key
        except InvalidConversationName as error:
            return refused(str(error), Refusal.INVALID_ARGUMENT)
        self._fanout.leave(request.sid, conversation)
        connection = self._connections.get(request.sid)
        if connection is not None:
            connection.joined.discard(conversation)
        return True, conversation

    def on_refresh_token(self, message):
        """Move the connection's expiry with a fresh token from ``/register``: ``[true, <new exp>]``."""
        connection, problem = self._authorized()
        if problem:
            return problem
        token = message.get("token") if isinstance(message, dict) else message
        try:
            claims = self._tokens.verify(token)
        except InvalidToken as error:
            return refused(str(error), Refusal.UNAUTHENTICATED)
        if claims.get("sub") != connection.claims.get("sub"):
            return refused("the new token is for another user", Refusal.PERMISSION_DENIED)
        connection.claims = claims
        sid = request.sid
        self._deadlines.set(("token", sid), claims["exp"], lambda: self._close_expired(sid))
        return True, claims["exp"]

    def _authorized(self) -> tuple[DesktopConnection | None, tuple | None]:
        connection = self._connections.get(request.sid)
        if connection is None:
            return None, refused("unauthenticated", Refusal.UNAUTHENTICATED)
        if connection.claims["exp"] < time.time():
            return None, refused("unauthenticated: token expired; register again and reconnect",
                                 Refusal.UNAUTHENTICATED)
        return connection, None


# The events desktops send, named by the handlers that answer them.
JOIN_CONVERSATION = event_name(DesktopNamespace.on_join_conversation)
LEAVE_CONVERSATION = event_name(DesktopNamespace.on_leave_conversation)
REFRESH_TOKEN = event_name(DesktopNamespace.on_refresh_token)


def _outcome(answer: tuple, success: str) -> str:
    """The metrics label of an ack: ``success``, or the refusal's code."""
    return success if answer[0] else answer[2].lower()
