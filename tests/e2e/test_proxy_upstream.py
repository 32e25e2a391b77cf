"""The running UI connector against a misbehaving Dialogflow stand-in that speaks HTTP: the whole
proxied call is bounded by DIALOGFLOW_TIMEOUT_SECONDS whatever the upstream's pace, no cookie an
upstream sets is kept or passed on, and only the allow-listed response headers reach a desktop."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support import register

pytestmark = pytest.mark.e2e

TIMEOUT_SECONDS = 3
TRICKLE_INTERVAL = 0.5  # a byte every half second: each read is quick, the whole answer is not
PARENT = "/v2/projects/my-proj/locations/global"
BODY = json.dumps({"name": "projects/my-proj/locations/global/conversations/C1"}).encode()


class Upstream:
    """Answers by the conversation id in the path: ``chatty`` with cookies and revealing headers,
    ``trickle-body`` and ``trickle-headers`` one byte at a time. Records each request's headers."""

    def __init__(self):
        self.requests: list[dict] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                upstream.requests.append({"path": self.path, "headers": dict(self.headers)})
                try:
                    if "trickle-headers" in self.path:
                        self._trickle(self._head(len(BODY)) + BODY)
                    elif "trickle-body" in self.path:
                        self.wfile.write(self._head(len(BODY) * 4))
                        self._trickle(BODY * 4)
                    else:
                        self.wfile.write(self._head(len(BODY)) + BODY)
                except OSError:  # the connector gave up and closed the connection
                    pass

            def _head(self, length: int) -> bytes:
                status = "429 Too Many Requests" if "limited" in self.path else "200 OK"
                return (f"HTTP/1.1 {status}\r\n"
                        "Content-Type: application/json; charset=UTF-8\r\n"
                        f"Content-Length: {length}\r\n"
                        "Server: ESF-stand-in\r\n"
                        "Set-Cookie: upstream-session=abc123; Path=/\r\n"
                        "X-Upstream-Trace: internal-trace-42\r\n"
                        "X-Frame-Options: SAMEORIGIN\r\n"
                        "Cache-Control: private\r\n"
                        "Retry-After: 7\r\n"
                        "Vary: Origin, X-Origin\r\n"
                        "\r\n").encode()

            def _trickle(self, data: bytes) -> None:
                for index in range(len(data)):
                    self.wfile.write(data[index:index + 1])
                    self.wfile.flush()
                    time.sleep(TRICKLE_INTERVAL)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def upstream():
    server = Upstream()
    yield server
    server.close()


@pytest.fixture(scope="module")
def proxy(stack, upstream):
    return stack.ui_connector(DIALOGFLOW_API_ENDPOINT=upstream.url, DIALOGFLOW_AUTH="none",
                              DIALOGFLOW_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS))


def get(proxy, conversation: str, user: str = "agent-1", token: str | None = None) -> requests.Response:
    token = token or register(proxy.url, user)
    return requests.get(f"{proxy.url}{PARENT}/conversations/{conversation}", timeout=60,
                        headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("conversation", ["trickle-body", "trickle-headers"])
def test_a_trickling_upstream_is_a_504_at_the_deadline(proxy, conversation):
    token = register(proxy.url)
    started = time.monotonic()
    response = get(proxy, conversation, token=token)
    elapsed = time.monotonic() - started

    assert response.status_code == 504, response.text[:300]
    assert response.json()["error"]["status"] == "DEADLINE_EXCEEDED"
    assert TIMEOUT_SECONDS - 0.5 < elapsed < TIMEOUT_SECONDS + 2, f"answered after {elapsed:.1f} s"


def test_the_connector_keeps_no_cookie_an_upstream_sets(proxy, upstream):
    assert get(proxy, "chatty", user="agent-1").status_code == 200
    assert get(proxy, "chatty", user="agent-2").status_code == 200

    later = upstream.requests[-1]
    assert later["path"].endswith("/conversations/chatty")
    assert "Cookie" not in later["headers"], "one desktop's call carried the cookie another's call was given"


@pytest.mark.parametrize("conversation", ["chatty", "limited"])
def test_only_allow_listed_response_headers_reach_the_desktop(proxy, conversation):
    response = get(proxy, conversation)

    assert response.status_code == (429 if conversation == "limited" else 200)
    assert response.content == BODY
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.headers["Cache-Control"] == "private"
    assert response.headers["Retry-After"] == "7"
    assert "Set-Cookie" not in response.headers
    assert "ESF-stand-in" not in response.headers.get("Server", "")
    assert "X-Upstream-Trace" not in response.headers
    assert response.headers.get("X-Frame-Options") == "DENY", "the connector's own value, not the upstream's"
    assert "X-Origin" not in response.headers.get("Vary", "")
