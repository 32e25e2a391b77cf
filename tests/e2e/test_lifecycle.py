"""A connection's life: never cut by the platform, resumed without the client's help, refreshed in-band."""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests

from aa_common.events import EventKind
from tests.support import PROJECT, Desktop, NodeDesktop, event_for, new_conversation, push, register
from ui_connector.sockets import REFRESH_TOKEN, Refusal

pytestmark = pytest.mark.e2e


def push_numbered(interceptor, conversation: str, prefix: str, count: int) -> list[str]:
    ids = [f"{prefix}-{index}-{time.monotonic_ns()}" for index in range(count)]
    for message_id in ids:
        assert push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"),
                    message_id).status_code == 204
    return ids


def test_sigterm_closes_transports_and_desktops_resume_on_the_replacement(stack, interceptor):
    first = stack.ui_connector()
    conversation = new_conversation()
    desktop = NodeDesktop(first.url, register(first.url), conversation)
    desktop.wait_joined(1)
    before = push_numbered(interceptor, conversation, "before", 3)
    desktop.wait_for_events(3)

    stopping = time.monotonic()
    first.stop()
    stopped_after = time.monotonic() - stopping
    replacement = stack.ui_connector(port=first.port)
    desktop.wait_joined(2)
    after = push_numbered(interceptor, conversation, "after", 2)
    desktop.wait_for_events(5)
    time.sleep(0.5)

    assert stopped_after < 8, f"the connector took {stopped_after:.1f} s to stop; Cloud Run kills it at 10 s"
    assert desktop.of("disconnect") == ["transport close"], "socket.io clients only reconnect by themselves after that"
    assert desktop.events() == before + after, "each event once, in order: the rejoin resumed, it did not replay"
    assert "Worker graceful timeout" not in first.log_path.read_text()
    desktop.close()
    replacement.stop()


def test_sigterm_does_not_wait_for_a_keep_alive_connection_between_requests(stack):
    """A browser keeps its connection to /register open for its next request. On SIGTERM the connector
    closes it rather than wait out its keep-alive timeout, which can outlast Cloud Run's 10 s grace."""
    connector = stack.ui_connector(REQUEST_READ_TIMEOUT_SECONDS="30")
    idle = socket.create_connection(("127.0.0.1", connector.port), timeout=5)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: connector\r\n\r\n")
    assert _read_response(idle).startswith(b"HTTP/1.1 200")

    connector.stop()
    assert idle.recv(4096) == b"", "the connector closed the idle connection"
    # gunicorn's master kills a worker still waiting at the graceful timeout: it never says it exits.
    assert "Worker exiting" in connector.log_path.read_text(), "the worker ended by itself"
    idle.close()


def test_sigterm_answers_a_request_in_flight_and_closes_its_connection_after(stack):
    """A proxied call still running at SIGTERM gets its answer; its keep-alive connection then closes
    instead of waiting for a next request, and the worker ends by itself."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _SlowUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    connector = stack.ui_connector(REQUEST_READ_TIMEOUT_SECONDS="30", DIALOGFLOW_AUTH="none",
                                   DIALOGFLOW_API_ENDPOINT=f"http://127.0.0.1:{upstream.server_address[1]}")
    call = socket.create_connection(("127.0.0.1", connector.port), timeout=15)
    call.sendall(f"GET /v2/projects/{PROJECT}/conversations/C1 HTTP/1.1\r\nHost: connector\r\n"
                 f"Authorization: Bearer {register(connector.url)}\r\n\r\n".encode())
    time.sleep(0.3)  # the call is with the upstream now

    connector.stop()
    answer = b""
    while chunk := call.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(_SlowUpstream.BODY)
    assert "Worker exiting" in connector.log_path.read_text(), "the worker ended by itself"
    call.close()
    upstream.shutdown()


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response with a Content-Length (its head and body may come in separate reads)."""
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    head, _, body = response.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


class _SlowUpstream(BaseHTTPRequestHandler):
    BODY = b'{"name": "projects/my-proj/conversations/C1"}'

    def do_GET(self):
        time.sleep(1.5)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)

    def log_message(self, *args):
        pass


def test_connections_are_closed_before_their_maximum_age_and_resume(stack, interceptor):
    connector = stack.ui_connector(CONNECTION_MAX_AGE_SECONDS="2")
    conversation = new_conversation()
    desktop = NodeDesktop(connector.url, register(connector.url), conversation)
    desktop.wait_joined(1)
    sent: list[str] = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        sent += push_numbered(interceptor, conversation, "steady", 1)
        time.sleep(0.2)
    desktop.wait_for_events(len(sent))
    time.sleep(0.5)

    assert len(desktop.of("disconnect")) >= 2 and set(desktop.of("disconnect")) == {"transport close"}
    assert desktop.events() == sent
    desktop.close()


def test_a_rejoin_with_the_same_token_resumes_and_a_new_token_replays(connector, interceptor):
    conversation = new_conversation()
    token = register(connector.url)
    first = Desktop(connector.url, token)
    first.join(conversation)
    seen = push_numbered(interceptor, conversation, "seen", 3)
    first.wait_for(3)
    first.close()
    missed = push_numbered(interceptor, conversation, "missed", 1)

    again = Desktop(connector.url, token)
    again.join(conversation)
    newcomer = Desktop(connector.url, register(connector.url))
    newcomer.join(conversation)

    assert again.settle() and again.message_ids() == missed
    assert newcomer.settle() and newcomer.message_ids() == seen + missed
    again.close()
    newcomer.close()


def short_lived_token(secret: str, seconds: int, user: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": "aa-ui-connector", "aud": "aa-agent-desktop", "iat": now, "exp": now + seconds,
              "project": PROJECT, "jti": f"short-{now}-{seconds}"}
    if user:
        claims["sub"] = user
    return jwt.encode(claims, secret, algorithm="HS256")


def test_refresh_token_moves_the_connections_expiry(connector, interceptor, jwt_secret_file):
    secret = jwt_secret_file.read_text().strip()
    conversation = new_conversation()
    agent = Desktop(connector.url, short_lived_token(secret, 3, user="agent-1"))
    agent.join(conversation)

    fresh = register(connector.url, user="agent-1")
    ok, new_exp = agent.client.call(REFRESH_TOKEN, fresh, timeout=10)
    time.sleep(6)  # past the first token's expiry
    push_numbered(interceptor, conversation, "later", 1)

    assert ok is True and new_exp == jwt.decode(fresh, options={"verify_signature": False})["exp"]
    assert agent.wait_for(1) and agent.events[-1][0] == EventKind.NEW_MESSAGE
    assert agent.client.connected
    agent.close()


def test_refresh_token_refuses_bad_and_foreign_tokens(connector):
    agent = Desktop(connector.url, register(connector.url, user="agent-1"))
    assert agent.client.call(REFRESH_TOKEN, "not-a-jwt", timeout=10)[::2] == (False, Refusal.UNAUTHENTICATED)
    assert agent.client.call(REFRESH_TOKEN, {"token": register(connector.url, user="agent-2")},
                             timeout=10)[::2] == (False, Refusal.PERMISSION_DENIED)
    assert requests.get(f"{connector.url}/healthz", timeout=5).status_code == 200
    agent.close()
