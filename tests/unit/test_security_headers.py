"""Security headers: every response of both services, and the desktop page's own policy."""
from __future__ import annotations

import pytest

from aa_common.events import EventKind

EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


@pytest.mark.parametrize("method,path", [
    ("GET", "/healthz"),
    ("GET", "/status"),
    ("GET", "/no-such-route"),
    ("POST", "/register"),
    ("GET", "/conversation-name"),
    ("GET", "/static/desktop.js"),
    ("GET", "/socket.io/?EIO=4&transport=polling"),
])
def test_every_connector_response_carries_them(make_connector, method, path):
    response = make_connector().test_client().open(path, method=method)
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get(name) == value, (name, response.status_code)


@pytest.mark.parametrize("method,path", [("GET", "/healthz"), ("GET", "/metrics"),
                                         ("POST", f"/{EventKind.NEW_MESSAGE}"), ("GET", "/no-such-route")])
def test_every_interceptor_response_carries_them(make_interceptor, method, path):
    response = make_interceptor().test_client().open(path, method=method, data=b"{}")
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get(name) == value, (name, response.status_code)


def test_the_desktop_page_allows_exactly_what_it_loads(make_connector):
    response = make_connector().test_client().get("/")
    policy = dict(directive.split(" ", 1) for directive in response.headers["Content-Security-Policy"].split("; "))
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",  # /static/*.js and /vendor/socket.io.min.js
        "style-src": "'self'",
        "img-src": "'self' data:",  # the empty data: icon
        "connect-src": "'self'",  # REST and the Socket.IO WebSocket, same origin
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    assert response.headers["X-Frame-Options"] == "DENY"
    assert len(response.headers.getlist("Content-Security-Policy")) == 1
