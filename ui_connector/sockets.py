"""The Socket.IO API desktops use: connect with a JWT, join and leave conversations."""
from __future__ import annotations

import logging
import time

from flask import request, session
from flask_socketio import Namespace, disconnect, emit

from aa_common.conversations import ConversationName, InvalidConversationName
from aa_common.event_store import parse_event_id
from ui_connector.deadlines import Deadlines
from ui_connector.fanout import ConversationFanout
from ui_connector.socket_guard import SocketGuard
from ui_connector.tokens import InvalidToken, TokenService

log = logging.getLogger(__name__)
MAX_CONVERSATIONS_PER_CONNECTION = 50


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


class DesktopNamespace(Namespace):
    def __init__(self, tokens: TokenService, fanout: ConversationFanout, project_id: str, guard: SocketGuard,
                 deadlines: Deadlines):
        super().__init__("/")
        self._tokens = tokens
        self._fanout = fanout
        self._project_id = project_id
        self._guard = guard
        self._deadlines = deadlines

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
        session["claims"] = claims
        session["joined"] = set()
        self._guard.authenticated(request.sid)
        sid = request.sid
        self._deadlines.set(("token", sid), claims["exp"], lambda: self._close_expired(sid))

    def _refuse(self, reason: str) -> None:
        """Tell the desktop why, then end the Socket.IO connection with a DISCONNECT packet that has
        no payload: every socket.io-client version parses it, and none reconnects by itself with the
        token it was just refused for (it registers again on ``unauthenticated``)."""
        emit("unauthenticated", {"reason": reason})
        disconnect()

    def _close_expired(self, sid: str) -> None:
        """No event without a valid JWT: a connection ends when its token does."""
        self.socketio.emit("unauthenticated", {"reason": "token expired"}, to=sid)
        self.socketio.server.disconnect(sid, namespace=self.namespace)

    def on_disconnect(self, reason=None):
        self._deadlines.cancel(("token", request.sid))
        self._fanout.leave_all(request.sid)

    def on_join_conversation(self, message):
        problem = self._authorization_problem()
        if problem:
            return False, problem
        try:
            join = JoinRequest(message)
        except (InvalidConversationName, ValueError) as error:
            return False, str(error)
        if join.conversation.project != self._project_id:
            return False, f"conversation belongs to project {join.conversation.project!r}, not to this connector's project"
        joined: set = session["joined"]
        if join.conversation.key not in joined and len(joined) >= MAX_CONVERSATIONS_PER_CONNECTION:
            return False, f"a connection may watch at most {MAX_CONVERSATIONS_PER_CONNECTION} conversations"
        joined.add(join.conversation.key)  # counted before the join waits on Redis, so bursts cannot pass the cap
        try:
            self._fanout.join(request.sid, join.conversation.key, join.last_event_id)
        except TimeoutError:
            joined.discard(join.conversation.key)
            log.warning("join failed: Redis did not confirm the subscription")
            return False, "event store temporarily unavailable; retry the join"
        return True, join.conversation.key

    def on_leave_conversation(self, message):
        name = message.get("conversationName") if isinstance(message, dict) else message
        try:
            conversation = ConversationName.parse(name).key
        except InvalidConversationName as error:
            return False, str(error)
        self._fanout.leave(request.sid, conversation)
        session.get("joined", set()).discard(conversation)
        return True, conversation

    def _authorization_problem(self) -> str | None:
        claims = session.get("claims")
        if not claims:
            return "unauthenticated"
        if claims["exp"] < time.time():
            return "unauthenticated: token expired; register again and reconnect"
        return None
