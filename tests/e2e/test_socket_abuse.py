"""One Socket.IO client, or none, cannot hurt everyone: the connector bounds what a client can make it do."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import websocket

from aa_common.conversations import normalize_conversation_name
from aa_common.events import EventKind
from devstack.processes import wait_until
from tests.support import Desktop, RawSocketIO, event_for, new_conversation, push, register
from ui_connector.sockets import JOIN_CONVERSATION, LEAVE_CONVERSATION, UNAUTHENTICATED_EVENT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def small_connector(stack):
    """A connector with few session slots and a short authentication window, so limits are reached quickly."""
    return stack.ui_connector(SOCKET_MAX_CONNECTIONS="20", SOCKET_AUTH_TIMEOUT_SECONDS="2")


def joined(raw: RawSocketIO, ack_id: int, conversation: str) -> bool:
    raw.emit(JOIN_CONVERSATION, conversation, ack_id=ack_id)
    while (packet := raw.next_packet()) is not None:
        if packet.startswith(f"3{ack_id}["):
            return json.loads(packet[len(f"3{ack_id}"):])[0]
    return False


def test_a_client_sent_connect_event_closes_the_connection_instead_of_resetting_it(connector):
    raw = RawSocketIO(connector.url, register(connector.url))
    assert raw.next_packet().startswith("0{")  # connected to the namespace
    assert all(joined(raw, index, new_conversation()) for index in range(50))

    raw.emit("connect", {"token": "whatever"})

    assert raw.wait_closed(5), "the connection stayed open after a client-sent 'connect' event"
    assert "reserved event name" in connector.log_tail(50)


def test_a_client_sent_disconnect_event_closes_the_connection(connector):
    raw = RawSocketIO(connector.url, register(connector.url))
    assert raw.next_packet().startswith("0{")
    raw.emit("disconnect")
    assert raw.wait_closed(5)


def test_a_token_that_breaks_verification_is_refused(connector):
    raw = RawSocketIO(connector.url, "\ud800")

    assert raw.next_packet().startswith("0{")
    assert raw.next_packet() == "2" + json.dumps([UNAUTHENTICATED_EVENT, {"reason": "token is malformed"}],
                                                 separators=(",", ":"))
    assert raw.next_packet(timeout=5) == "1"  # DISCONNECT, with no payload, as protocol v5 requires


def test_a_fragmented_message_is_cut_off_at_the_size_limit(connector):
    raw = RawSocketIO(connector.url)  # no CONNECT: the limit holds before authentication too
    fragment = "x" * 65536
    sent = 0
    raw.ws.send_frame(websocket.ABNF.create_frame("4" + fragment, websocket.ABNF.OPCODE_TEXT, fin=0))
    try:
        for _ in range(400):
            raw.ws.send_frame(websocket.ABNF.create_frame(fragment, websocket.ABNF.OPCODE_CONT, fin=0))
            sent += 1
    except (BrokenPipeError, ConnectionResetError, websocket.WebSocketConnectionClosedException):
        pass
    assert sent < 400 or raw.wait_closed(5), "the server kept reading a message far over its limit"
    assert raw.wait_closed(5)


@pytest.mark.parametrize("packet", [
    f'59999999999-["{JOIN_CONVERSATION}",{{"_placeholder":true,"num":0}}]',  # claims ten billion attachments
    f'451-["{JOIN_CONVERSATION}",{{"_placeholder":true,"num":0}}]',
])
def test_binary_packets_close_the_connection(connector, packet):
    raw = RawSocketIO(connector.url, register(connector.url))
    assert raw.next_packet().startswith("0{")
    raw.send("4" + packet)
    assert raw.wait_closed(5)


@pytest.mark.parametrize("packet", [f'42["{JOIN_CONVERSATION}"', "4Z", '42{"not":"a list"}', "49"])
def test_malformed_packets_close_the_connection_without_a_traceback(connector, packet):
    raw = RawSocketIO(connector.url, register(connector.url))
    assert raw.next_packet().startswith("0{")
    raw.send(packet)
    assert raw.wait_closed(5)
    assert "Traceback" not in connector.log_path.read_text()


def test_sessions_that_never_authenticate_are_closed_and_do_not_block_http(small_connector):
    sessions = [RawSocketIO(small_connector.url) for _ in range(20)]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        RawSocketIO(small_connector.url)
    assert refused.value.status_code == 503

    assert requests.get(f"{small_connector.url}/healthz", timeout=5).status_code == 200
    assert register(small_connector.url)

    assert all(session.wait_closed(10) for session in sessions), "unauthenticated sessions stayed open"
    wait_until(lambda: _can_open(small_connector.url), 10, "a free session slot")


def _can_open(url: str) -> bool:
    try:
        RawSocketIO(url).close()
    except websocket.WebSocketBadStatusException:
        return False
    return True


def test_a_join_leave_flood_is_cut_off_and_starves_nobody(interceptor, connector):
    watcher_conversation = new_conversation()
    watcher = Desktop(connector.url, register(connector.url))
    watcher.join(watcher_conversation)
    workers_before = connector.worker_pids()
    flooder = RawSocketIO(connector.url, register(connector.url))
    assert flooder.next_packet().startswith("0{")
    stop = threading.Event()

    def flood():
        flooded = new_conversation()
        try:
            while not stop.is_set():
                flooder.emit(JOIN_CONVERSATION, flooded, ack_id=1)
                flooder.emit(LEAVE_CONVERSATION, flooded, ack_id=2)
        except (OSError, websocket.WebSocketException):
            pass  # the server closed the flooder

    thread = threading.Thread(target=flood)
    thread.start()
    try:
        for index in range(10):
            push(interceptor.url, EventKind.NEW_MESSAGE, event_for(watcher_conversation, "new-message.json"))
            assert requests.get(f"{connector.url}/healthz", timeout=5).status_code == 200
        assert len(watcher.wait_for(10, timeout=15)) == 10
    finally:
        stop.set()
        thread.join(10)
    assert flooder.wait_closed(5), "the flooding connection was left open"
    assert connector.worker_pids() == workers_before, "the worker was killed and replaced"
    assert {name for name, _ in watcher.events} == {EventKind.NEW_MESSAGE}
    names = {data["conversation_name"] for _, data in watcher.events}
    assert names == {normalize_conversation_name(watcher_conversation)}
    watcher.close()


def test_an_oversized_long_polling_post_is_answered_at_once(connector):
    opened = requests.get(f"{connector.url}/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=5)
    sid = json.loads(opened.text[1:])["sid"]
    url = f"{connector.url}/socket.io/?EIO=4&transport=polling&sid={sid}"

    too_large = requests.post(url, data="4" + "x" * 200_000, timeout=5)
    chunked = requests.post(url, data=iter([b"40", b"{}"]), timeout=5)

    assert too_large.status_code == 413 and chunked.status_code == 413
    assert "Content-Length" in too_large.json()["error"]["message"]


def test_a_client_that_stops_answering_pings_is_closed(stack):
    connector = stack.ui_connector(SOCKET_PING_INTERVAL_SECONDS="1", SOCKET_PING_TIMEOUT_SECONDS="1")
    silent = RawSocketIO(connector.url, register(connector.url))
    silent.ws.settimeout(10)
    assert silent.ws.recv().startswith("40")  # connected; from now on it reads nothing and answers nothing
    time.sleep(9)  # a ping after 1 s, no pong within 1 s, and a sweep every 5 s

    try:  # what it had not read (a ping or two), then the end: a read that times out fails the test
        while silent.ws.recv() != "":
            pass
    except (websocket.WebSocketConnectionClosedException, OSError):
        pass
    assert requests.get(f"{connector.url}/healthz", timeout=5).status_code == 200
