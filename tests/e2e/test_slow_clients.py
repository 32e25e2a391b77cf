"""Clients that send half a request and wait, or stop reading, hold nothing for long and stop no one else."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from aa_common.events import EventKind
from tests.support import Desktop, RawSocketIO, event_for, new_conversation, push, register
from ui_connector.sockets import JOIN_CONVERSATION

pytestmark = pytest.mark.e2e
READ_TIMEOUT = 2


def half_requests(url: str, count: int, with_body: bool) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    opened = []
    for _ in range(count):
        connection = socket.create_connection((host, int(port)), timeout=10)
        if with_body:
            connection.sendall(f"POST /{EventKind.NEW_MESSAGE} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                               .encode() + b'{"mess')
        else:
            connection.sendall(f"POST /{EventKind.NEW_MESSAGE} HTTP/1.1\r\nHost: x\r\nContent-Le".encode())
        opened.append(connection)
    return opened


def cut_off_within(connections: list[socket.socket], seconds: float) -> list[bytes]:
    """What each connection got before the server closed it; fails if one is still open after ``seconds``."""
    answers = []
    deadline = time.monotonic() + seconds
    for connection in connections:
        connection.settimeout(max(0.1, deadline - time.monotonic()))
        received = b""
        try:
            while chunk := connection.recv(4096):
                received += chunk
        except TimeoutError:
            pytest.fail(f"a half-sent request was still open after {seconds} s")
        except ConnectionResetError:
            pass
        answers.append(received)
        connection.close()
    return answers


@pytest.fixture(scope="module")
def patient_interceptor(stack):
    return stack.interceptor(REQUEST_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT))


@pytest.fixture(scope="module")
def patient_connector(stack):
    return stack.ui_connector(REQUEST_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT))


@pytest.mark.parametrize("with_body", [False, True], ids=["half the headers", "half the body"])
def test_the_interceptor_keeps_taking_pushes_past_slow_clients(patient_interceptor, with_body):
    slow = half_requests(patient_interceptor.url, 40, with_body)  # more than any thread pool it could have

    for _ in range(5):
        response = push(patient_interceptor.url, EventKind.NEW_MESSAGE,
                        event_for(new_conversation(), "new-message.json"), timeout=READ_TIMEOUT)
        assert response.status_code == 204

    answers = cut_off_within(slow, READ_TIMEOUT + 3)
    if with_body:
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers[0][:200]


def test_the_connector_keeps_answering_past_slow_clients(patient_connector):
    slow = half_requests(patient_connector.url, 200, with_body=False)

    assert requests.get(f"{patient_connector.url}/healthz", timeout=READ_TIMEOUT).status_code == 200

    cut_off_within(slow, READ_TIMEOUT + 3)


@pytest.mark.parametrize("path", ["/register", "/conversation-name", "/socket.io/?EIO=4&transport=polling&sid=x"])
def test_a_trickled_body_to_the_connector_gets_408_in_time(patient_connector, path):
    host, port = patient_connector.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    connection.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{".encode())
    for _ in range(READ_TIMEOUT * 2 + 2):  # a byte every half second: each read succeeds, the whole does not
        try:
            connection.sendall(b" ")
        except OSError:
            break
        time.sleep(0.5)

    assert cut_off_within([connection], 3)[0].startswith(b"HTTP/1.1 408")


def test_a_desktop_that_stops_reading_is_let_go_and_a_reading_one_gets_everything(stack, interceptor):
    """A desktop that stopped reading (a laptop lid closed) is disconnected once what waits for it
    passes SOCKET_MAX_BACKLOG_BYTES; another desktop of the same conversation misses nothing."""
    connector = stack.ui_connector(SOCKET_MAX_BACKLOG_BYTES=str(1024 * 1024))
    conversation = new_conversation()
    token = register(connector.url)
    stuck = RawSocketIO(connector.url, token)
    assert stuck.next_packet().startswith("0")  # connected
    stuck.emit(JOIN_CONVERSATION, conversation, ack_id=1)
    assert stuck.next_packet().startswith("31")  # joined; from now on it reads nothing
    reader = Desktop(connector.url, token)
    reader.join(conversation)

    event = event_for(conversation, "new-message.json")
    event["newMessagePayload"]["content"] = "c" * 100_000
    sent = [f"big-{index}" for index in range(200)]  # 20 MB: more than loopback's socket buffers and the bound
    session = requests.Session()
    for count, message_id in enumerate(sent, 1):  # at the pace the reading desktop takes them
        assert push(interceptor.url, EventKind.NEW_MESSAGE, event, message_id, session=session).status_code == 204
        reader.wait_for(count, timeout=30)
    assert reader.message_ids() == sent
    events = 0
    while (packet := stuck.next_packet(timeout=30)) is not None:  # what it had been sent, then the end
        events += packet.startswith("2")
    assert events < len(sent)
    reader.close()
