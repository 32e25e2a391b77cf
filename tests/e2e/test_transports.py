"""Engine.IO's transports on a running connector: a session that starts on long-polling (socket.io's
default) and moves to a WebSocket keeps every event, once and in order, across the move."""
from __future__ import annotations

import json

import pytest
import requests
import websocket

from aa_common.conversations import normalize_conversation_name
from aa_common.events import EventKind
from devstack.processes import wait_until
from tests.support import Desktop, event_for, new_conversation, push, register
from ui_connector.sockets import JOIN_CONVERSATION

pytestmark = pytest.mark.e2e
RECORD_SEPARATOR = "\x1e"  # between the packets of one long-polling payload


class PollingSession:
    """Engine.IO v4 long-polling spoken by hand, so the test decides when the upgrade happens."""

    def __init__(self, connector_url: str):
        self.url = f"{connector_url}/socket.io/"
        opened = self.poll(params={"EIO": "4", "transport": "polling"})
        assert opened[0].startswith("0"), opened
        self.sid = json.loads(opened[0][1:])["sid"]

    def poll(self, params: dict | None = None) -> list[str]:
        response = requests.get(self.url, params=params or self.polling_params(), timeout=30)
        response.raise_for_status()
        return response.text.split(RECORD_SEPARATOR)

    def post(self, packet: str) -> None:
        response = requests.post(self.url, params=self.polling_params(), data=packet.encode(), timeout=10)
        assert response.status_code == 200, response.text

    def probe(self) -> websocket.WebSocket:
        """The upgrade's first half: a WebSocket for the session, probed."""
        url = self.url.replace("http://", "ws://") + f"?EIO=4&transport=websocket&sid={self.sid}"
        ws = websocket.create_connection(url, timeout=10)
        ws.send("2probe")
        assert ws.recv() == "3probe"
        return ws

    def upgrade(self) -> websocket.WebSocket:
        """The Engine.IO upgrade: probe, then UPGRADE; from then on the session is on the WebSocket."""
        ws = self.probe()
        ws.send("5")
        return ws

    def authenticate_and_join(self, token: str, conversation: str) -> None:
        self.post("40" + json.dumps({"token": token}))
        assert self.poll()[0].startswith("40")
        self.post("421" + json.dumps([JOIN_CONVERSATION, conversation]))
        assert self.poll() == ["431" + json.dumps([True, normalize_conversation_name(conversation)],
                                                  separators=(",", ":"))]

    def polling_params(self) -> dict:
        return {"EIO": "4", "transport": "polling", "sid": self.sid}


def socketio_events(ws: websocket.WebSocket, count: int) -> list[list]:
    """The next ``count`` Socket.IO EVENT packets on ``ws``, decoded; pings answered, NOOPs skipped."""
    events = []
    while len(events) < count:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith("42"):
            events.append(json.loads(frame[2:]))
        else:
            assert frame == "6", f"unexpected packet {frame!r}"  # NOOP: ends the poll the upgrade replaced
    return events


def test_events_queued_for_long_polling_arrive_once_on_the_websocket_it_upgrades_to(interceptor, connector):
    conversation = new_conversation()
    event = event_for(conversation, "new-message.json")
    session = PollingSession(connector.url)
    session.authenticate_and_join(register(connector.url), conversation)

    assert push(interceptor.url, EventKind.NEW_MESSAGE, event, "while-polling").status_code == 204
    ws = session.upgrade()  # the event waits in the session's queue: no poll took it
    assert push(interceptor.url, EventKind.NEW_MESSAGE, event, "on-the-websocket").status_code == 204

    received = socketio_events(ws, 2)
    assert [payload["message_id"] for _, payload in received] == ["while-polling", "on-the-websocket"]
    ws.settimeout(1)
    with pytest.raises(websocket.WebSocketTimeoutException):
        socketio_events(ws, 1)  # nothing twice
    stale_poll = requests.get(session.url, params=session.polling_params(), timeout=10)
    assert stale_poll.status_code == 400  # Engine.IO's answer: the session's transport is the WebSocket now
    ws.close()


def test_a_socketio_client_on_its_default_transports_upgrades_and_receives(interceptor, connector):
    conversation = new_conversation()
    agent = Desktop(connector.url, register(connector.url), transports=("polling", "websocket"))
    try:
        wait_until(lambda: agent.client.transport() == "websocket", 10, "the upgrade to WebSocket")
        assert agent.join(conversation) == (True, normalize_conversation_name(conversation))
        sent = [f"default-{index}" for index in range(5)]
        for message_id in sent:
            assert push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"),
                        message_id).status_code == 204
        agent.wait_for(len(sent))
        assert agent.settle() and agent.message_ids() == sent
    finally:
        agent.close()


def ended(ws: websocket.WebSocket) -> bool:
    """The server closed ``ws`` (a close frame or the end of the stream) before its read timed out."""
    try:
        while True:
            frame = ws.recv()
            if frame == "":
                return True
    except websocket.WebSocketTimeoutException:
        return False
    except (websocket.WebSocketConnectionClosedException, OSError):  # closed, maybe while answering its close
        return True


def test_a_session_closed_while_it_upgrades_closes_the_websocket_it_was_moving_to(stack):
    connector = stack.ui_connector(SOCKET_AUTH_TIMEOUT_SECONDS="1")
    session = PollingSession(connector.url)  # never authenticates
    ws = session.probe()  # and never finishes its upgrade
    ws.settimeout(8)  # the deadline is 1 s, checked every second; the server's own read timeout is 45 s
    assert ended(ws)


def test_a_second_websocket_for_an_upgrading_session_is_refused_and_the_first_goes_on(interceptor, connector):
    conversation = new_conversation()
    session = PollingSession(connector.url)
    session.authenticate_and_join(register(connector.url), conversation)
    first = session.probe()
    url = session.url.replace("http://", "ws://") + f"?EIO=4&transport=websocket&sid={session.sid}"
    second = websocket.create_connection(url, timeout=10)
    second.send("2probe")
    assert ended(second)

    first.send("5")
    assert push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"),
                "after-the-upgrade").status_code == 204
    assert [payload["message_id"] for _, payload in socketio_events(first, 1)] == ["after-the-upgrade"]
    first.close()
