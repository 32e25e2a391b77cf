"""MAX_REQUEST_BYTES holds whatever the framing: a chunked body (no Content-Length) over the limit
is a 413 in the shared JSON error shape, never cut to the limit and processed; one within it is
processed whole. Socket.IO long-polling, which Engine.IO limits itself, keeps working."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import socketio

from aa_common.conversations import normalize_conversation_name
from aa_common.events import EventKind
from aa_common.http import SECURITY_HEADERS
from tests.support import Desktop, envelope, event_for, new_conversation, register
from ui_connector.sockets import JOIN_CONVERSATION

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
INTERCEPTOR_LIMIT = 4 * MiB
CONNECTOR_LIMIT = 1 * MiB
ROUTE = EventKind.NEW_MESSAGE


def chunked(body: bytes, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``body`` as requests sends a generator: Transfer-Encoding: chunked, no Content-Length."""
    for start in range(0, len(body), chunk):
        yield body[start:start + chunk]


def padded_push(conversation: str, message_id: str, size: int) -> bytes:
    """A valid wrapped push of exactly ``size`` bytes (an attribute carries the padding)."""
    event = event_for(conversation, "new-message.json")
    body = json.dumps(envelope(event, message_id, attributes={"pad": ""})).encode()
    return json.dumps(envelope(event, message_id, attributes={"pad": "x" * (size - len(body))})).encode()


def assert_too_large(response: requests.Response, limit: int) -> None:
    assert response.status_code == 413, response.text[:300]
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (413, "PAYLOAD_TOO_LARGE")
    assert str(limit) in error["message"] and "Traceback" not in response.text
    assert {name: response.headers.get(name) for name, _ in SECURITY_HEADERS} == dict(SECURITY_HEADERS), \
        "refused before the app, and still with every response's security headers"


class RecordingUpstream:
    """A stand-in for Dialogflow that records what reaches it and answers 200 {}."""

    def __init__(self):
        self.requests: list[dict] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def upstream():
    server = RecordingUpstream()
    yield server
    server.close()


@pytest.fixture(scope="module")
def proxying_connector(stack, upstream):
    return stack.ui_connector(DIALOGFLOW_API_ENDPOINT=upstream.url, DIALOGFLOW_AUTH="none")


def trailing_spaces(conversation: str, message_id: str, size: int) -> bytes:
    """A valid push followed by whitespace up to ``size`` bytes: still valid JSON if cut at the limit."""
    body = json.dumps(envelope(event_for(conversation, "new-message.json"), message_id)).encode()
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("build", [padded_push, trailing_spaces])
def test_a_chunked_push_over_the_limit_is_413_and_not_stored(interceptor, connector, build):
    conversation = new_conversation()
    desktop = Desktop(connector.url, register(connector.url))
    desktop.join(conversation)

    response = requests.post(f"{interceptor.url}/{ROUTE}", timeout=30, headers={"Content-Type": "application/json"},
                             data=chunked(build(conversation, "too-big", 5 * MiB)))

    assert_too_large(response, INTERCEPTOR_LIMIT)
    assert desktop.settle() == []
    desktop.close()


@pytest.mark.parametrize("size", [2048, INTERCEPTOR_LIMIT])
def test_a_chunked_push_within_the_limit_is_stored_whole(interceptor, connector, size):
    conversation = new_conversation()
    desktop = Desktop(connector.url, register(connector.url))
    desktop.join(conversation)

    response = requests.post(f"{interceptor.url}/{ROUTE}", timeout=30, headers={"Content-Type": "application/json"},
                             data=chunked(padded_push(conversation, f"chunked-{size}", size)))

    assert response.status_code == 204, response.text[:300]
    [(_, payload)] = desktop.wait_for(1)
    assert payload["message_id"] == f"chunked-{size}"
    desktop.close()


def test_a_chunked_proxied_call_over_the_limit_is_413_and_not_forwarded(proxying_connector, upstream):
    url = proxying_connector.url
    token = register(url)
    path = "/v2/projects/my-proj/locations/global/conversations/C1/participants/P1:analyzeContent"
    body = b'{"textInput": {"text": "' + b"x" * (CONNECTOR_LIMIT + CONNECTOR_LIMIT // 4) + b'"}}'
    sent_before = len(upstream.requests)

    response = requests.post(url + path, data=chunked(body), timeout=30,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})

    assert_too_large(response, CONNECTOR_LIMIT)
    assert len(upstream.requests) == sent_before


def test_a_chunked_proxied_call_within_the_limit_is_forwarded_whole(proxying_connector, upstream):
    url = proxying_connector.url
    path = "/v2/projects/my-proj/locations/global/conversations/C1/participants/P1:analyzeContent"
    body = b'{"textInput": {"text": "' + b"y" * (CONNECTOR_LIMIT - 100) + b'"}}'

    response = requests.post(url + path, data=chunked(body), timeout=30,
                             headers={"Authorization": f"Bearer {register(url)}", "Content-Type": "application/json"})

    assert response.status_code == 200, response.text[:300]
    assert upstream.requests[-1]["body"] == body


def test_a_chunked_register_over_the_limit_is_413(connector):
    response = requests.post(f"{connector.url}/register", data=chunked(b"{" + b" " * (2 * MiB) + b"}"), timeout=30,
                             headers={"Authorization": "Bearer desk-token", "Content-Type": "application/json"})
    assert_too_large(response, CONNECTOR_LIMIT)


def test_socketio_long_polling_still_joins_and_receives(interceptor, connector):
    conversation = new_conversation()
    received = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on(EventKind.NEW_MESSAGE, lambda payload: received.set())
    client.connect(connector.url, auth={"token": register(connector.url)}, transports=["polling"], wait_timeout=10)
    try:
        assert client.transport() == "polling"
        joined = client.call(JOIN_CONVERSATION, conversation, timeout=10)
        assert joined == (True, normalize_conversation_name(conversation))
        body = padded_push(conversation, "over-polling", 2048)
        assert requests.post(f"{interceptor.url}/{ROUTE}", data=body, timeout=10).status_code == 204
        assert received.wait(10)
    finally:
        client.disconnect()
