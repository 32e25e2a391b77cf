"""The WebSocket transport over loopback TCP, the other end speaking WebSocket with wsproto's client."""
from __future__ import annotations

import time

import gevent
import gevent.event
import pytest
from gevent import socket
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.frame_protocol import CloseReason

from ui_connector.websocket_transport import HandshakeRefused, WebSocketConnection, handshake_response

LIMIT = 64 * 1024
OPTIONS = {"max_message_size": LIMIT, "read_timeout_seconds": 5, "write_timeout_seconds": 5,
           "max_backlog_bytes": 64 * 1024 * 1024}
MESSAGES_OVER_THE_SOCKET_BUFFERS = 200  # of 100 kB: loopback TCP buffers hold a few MB


class Peer:
    """The desktop's end: frames out with wsproto's client connection, events back."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.protocol = Connection(ConnectionType.CLIENT)
        self._text = ""  # a text message arriving in parts

    def send(self, *events) -> None:
        self.sock.sendall(b"".join(self.protocol.send(event) for event in events))

    def events(self, timeout: float = 5) -> list:
        """What the server sent until the connection ended, each message whole."""
        received: list = []
        with gevent.Timeout(timeout):
            while data := self.sock.recv(65536):
                self._take(data, received)
        return received

    def next_events(self, count: int, timeout: float = 5) -> list:
        received: list = []
        with gevent.Timeout(timeout):
            while len(received) < count:
                self._take(self.sock.recv(65536), received)
        return received

    def _take(self, data: bytes, received: list) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events():
            if isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    received.append(TextMessage(self._text))
                    self._text = ""
            else:
                received.append(event)


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """Both ends of a loopback TCP connection (a Unix socket pair resets differently)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    return server, client


class Served:
    """A served server end: what it was handed, and whether it said it ended."""

    def __init__(self, **options):
        server_sock, client_sock = tcp_pair()
        self.ws = WebSocketConnection(server_sock, **{**OPTIONS, **options})
        server_sock.close()  # the connection keeps a socket of its own, as when gunicorn closes the request's
        self.peer = Peer(client_sock)
        self.messages: list = []
        self.ended = gevent.event.Event()
        self.ws.serve(self.messages.append, self.ended.set)

    def wait_for(self, count: int) -> list:
        with gevent.Timeout(5):
            while len(self.messages) < count:
                gevent.sleep(0.01)
        return self.messages


def test_the_handshake_answer_carries_the_rfc_6455_accept_token():
    environ = {"REQUEST_METHOD": "GET", "HTTP_SEC_WEBSOCKET_VERSION": "13",
               "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ=="}
    answer = handshake_response(environ)
    assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer
    assert b"Sec-WebSocket-Extensions" not in answer  # permessage-deflate declined


@pytest.mark.parametrize("change, named", [
    ({"REQUEST_METHOD": "POST"}, "GET"),
    ({"HTTP_SEC_WEBSOCKET_VERSION": "8"}, "Sec-WebSocket-Version"),
    ({"HTTP_SEC_WEBSOCKET_KEY": "short"}, "Sec-WebSocket-Key"),
    ({"HTTP_SEC_WEBSOCKET_KEY": "bm90IHNpeHRlZW4gYnl0ZXMgbG9uZw=="}, "Sec-WebSocket-Key"),
])
def test_a_bad_handshake_is_refused_with_the_header_it_gets_wrong(change, named):
    environ = {"REQUEST_METHOD": "GET", "HTTP_SEC_WEBSOCKET_VERSION": "13",
               "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==", **change}
    with pytest.raises(HandshakeRefused, match=named):
        handshake_response(environ)


def test_fragmented_messages_arrive_whole_and_in_order():
    served = Served()
    served.peer.send(TextMessage("4he", message_finished=False), TextMessage("llo"),
                     BytesMessage(b"\x01\x02", message_finished=False), BytesMessage(b"\x03"), TextMessage("42"))
    assert served.wait_for(3) == ["4hello", b"\x01\x02\x03", "42"]


def test_a_ping_is_answered_and_messages_go_out_in_the_order_sent():
    served = Served()
    served.peer.send(Ping(b"are you there"))
    for index in range(3):
        served.ws.send(f"4event-{index}")
    events = served.peer.next_events(4)
    assert Pong(b"are you there") in events
    assert [event.data for event in events if isinstance(event, TextMessage)] == ["4event-0", "4event-1", "4event-2"]


def test_a_message_over_the_limit_closes_the_connection_with_1009_however_it_is_fragmented():
    served = Served()
    fragment = "x" * (LIMIT // 4)
    served.peer.send(*(TextMessage(fragment, message_finished=False) for _ in range(5)))
    events = served.peer.events()
    assert served.ended.wait(5)
    assert [event.code for event in events if isinstance(event, CloseConnection)] == [CloseReason.MESSAGE_TOO_BIG]
    assert served.messages == []


def test_a_close_from_the_desktop_is_answered_and_ends_the_connection():
    served = Served()
    served.peer.send(CloseConnection(code=CloseReason.NORMAL_CLOSURE))
    assert served.ended.wait(5)
    assert [type(event) for event in served.peer.events()] == [CloseConnection]


def test_closing_sends_a_close_frame_then_ends_the_tcp_connection_without_waiting_for_the_answer():
    served = Served()
    served.ws.close()
    events = served.peer.events()  # returns at the end of the stream: the desktop never answered
    assert [event.code for event in events] == [CloseReason.NORMAL_CLOSURE]
    assert served.ended.wait(5)
    served.ws.send("4too late")  # ignored, no error


def test_a_desktop_reading_slowly_gets_everything_in_order_without_holding_up_the_sender():
    served = Served()
    payload = "4" + "y" * 100_000
    for index in range(MESSAGES_OVER_THE_SOCKET_BUFFERS):
        served.ws.send(f"{index}:{payload}")  # returns at once even though the desktop reads nothing yet
    received = served.peer.next_events(MESSAGES_OVER_THE_SOCKET_BUFFERS, timeout=20)
    assert [event.data.split(":")[0] for event in received] == [str(i) for i in range(MESSAGES_OVER_THE_SOCKET_BUFFERS)]
    assert not served.ended.is_set()


def test_a_desktop_that_stops_reading_is_disconnected_once_its_backlog_is_over_the_bound():
    served = Served(max_backlog_bytes=1_000_000)
    for _ in range(MESSAGES_OVER_THE_SOCKET_BUFFERS):
        served.ws.send("4" + "z" * 100_000)
    assert served.ended.wait(5)
    assert served.ws.closing


def test_a_desktop_that_vanishes_ends_the_connection():
    served = Served()
    served.peer.sock.close()
    assert served.ended.wait(5)


def test_a_message_handler_that_fails_closes_the_connection_instead_of_leaving_it_unread():
    server_sock, client_sock = tcp_pair()
    ws = WebSocketConnection(server_sock, **OPTIONS)
    ended = gevent.event.Event()

    def failing(message):
        raise RuntimeError("a bug")

    ws.serve(failing, ended.set)
    Peer(client_sock).send(TextMessage("40"))
    assert ended.wait(5)
    assert client_sock.recv(1024) == b""  # the desktop sees the end and reconnects


def test_what_the_desktop_sent_just_before_its_close_frame_is_handed_on():
    served = Served()
    served.peer.send(TextMessage('42["leave-conversation","c"]'), TextMessage("41"),
                     CloseConnection(code=CloseReason.NORMAL_CLOSURE))  # socket.io-client's disconnect()
    assert served.ended.wait(5)
    assert served.messages == ['42["leave-conversation","c"]', "41"]


def test_a_backlog_that_overflows_while_it_is_written_still_ends_the_connection():
    served = Served(max_backlog_bytes=2_000_000)
    chunk = "4" + "x" * 100_000
    while not served.ended.is_set() and not served.ws.closing:
        served.ws.send(chunk)
        gevent.sleep(0)  # the flushing greenlet gets to wait for the socket meanwhile
    served.peer.sock.settimeout(5)
    while served.peer.sock.recv(1 << 20):  # the desktop reads again: the stream ends
        pass
    assert served.ended.wait(5)


def test_a_desktop_that_half_closes_with_a_backlog_is_let_go_after_the_write_timeout_without_spinning():
    served = Served(write_timeout_seconds=1)
    for _ in range(MESSAGES_OVER_THE_SOCKET_BUFFERS):
        served.ws.send("4" + "w" * 100_000)
    served.peer.sock.shutdown(socket.SHUT_WR)  # the desktop's end of the stream; it reads nothing more
    cpu_before = time.process_time()
    assert served.ended.wait(5)
    assert time.process_time() - cpu_before < 0.5  # it waited for the socket rather than read in a loop


def test_after_closing_what_the_desktop_sends_is_read_away_and_a_ping_is_not_answered():
    served = Served()
    for _ in range(MESSAGES_OVER_THE_SOCKET_BUFFERS):  # a backlog keeps the connection open while it closes
        served.ws.send("4" + "b" * 100_000)
    served.ws.close()
    served.peer.send(Ping(b"late"), *(TextMessage('42["flood"]') for _ in range(1000)))
    events = served.peer.events(timeout=10)
    assert served.ended.wait(5)
    assert served.messages == [] and Pong(b"late") not in events
