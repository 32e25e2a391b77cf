"""Bad pushes get a 4xx JSON error that names the problem; the interceptor keeps serving, and a
valid push right after still reaches the desktop."""
from __future__ import annotations

import base64
import json

import pytest
import requests

from aa_common.events import EventKind
from tests.support import Desktop, envelope, event_for, new_conversation, push, register

pytestmark = pytest.mark.e2e

ROUTE = EventKind.NEW_MESSAGE
VALID_EVENT = {"conversation": "projects/my-proj/locations/global/conversations/C1", "type": "NEW_MESSAGE"}


def wrapped(**message_fields) -> bytes:
    message = {"data": base64.b64encode(json.dumps(VALID_EVENT).encode()).decode(), "messageId": "1",
               "publishTime": "2026-02-26T19:13:55.749Z"}
    message.update(message_fields)
    return json.dumps({"message": {k: v for k, v in message.items() if v is not None}}).encode()


def wrapped_event(event) -> bytes:
    data = event if isinstance(event, bytes) else json.dumps(event).encode()
    return wrapped(data=base64.b64encode(data).decode())


BAD_PUSHES = [
    ("no body", "POST", ROUTE, b"", 400, "body is empty"),
    ("blank body", "POST", ROUTE, b"  \n ", 400, "body is empty"),
    ("not JSON", "POST", ROUTE, b"hello", 400, "not JSON"),
    ("truncated JSON", "POST", ROUTE, b'{"message": {"data": ', 400, "not JSON"),
    ("JSON array", "POST", ROUTE, b"[1, 2]", 400, "no 'message'"),
    ("no message", "POST", ROUTE, b'{"subscription": "s"}', 400, "no 'message'"),
    ("message not an object", "POST", ROUTE, b'{"message": "hi"}', 400, "'message' must be an object"),
    ("no data", "POST", ROUTE, wrapped(data=None), 400, "'message.data' is missing"),
    ("empty data", "POST", ROUTE, wrapped(data=""), 400, "'message.data' is missing"),
    ("data not base64", "POST", ROUTE, wrapped(data="%%% not base64 %%%"), 400, "not valid base64"),
    ("data not UTF-8", "POST", ROUTE, wrapped_event(b"\xff\xfe\x00bad"), 400, "not UTF-8"),
    ("data not JSON", "POST", ROUTE, wrapped_event(b"conversation=C1"), 400, "event data is not JSON"),
    ("data a JSON list", "POST", ROUTE, wrapped_event([VALID_EVENT]), 400, "must be a JSON object"),
    ("no conversation", "POST", ROUTE, wrapped_event({"type": "NEW_MESSAGE"}), 400, "no 'conversation'"),
    ("conversation not text", "POST", ROUTE, wrapped_event({"conversation": 12}), 400, "'conversation' is invalid"),
    ("conversation malformed", "POST", ROUTE, wrapped_event({"conversation": "conversations/C1"}), 400,
     "'conversation' is invalid"),
    ("conversation with extra path", "POST", ROUTE,
     wrapped_event({"conversation": "projects/p/conversations/C1/messages/M"}), 400, "'conversation' is invalid"),
    ("conversation with a space", "POST", ROUTE, wrapped_event({"conversation": "projects/p/conversations/C 1"}),
     400, "'conversation' is invalid"),
    ("no message id", "POST", ROUTE, wrapped(messageId=None), 400, "no message id"),
    ("message id too long", "POST", ROUTE, wrapped(messageId="9" * 300), 400, "longer than 256"),
    ("attributes not an object", "POST", ROUTE, wrapped(attributes=["a"]), 400, "'message.attributes'"),
    ("attributes an empty list", "POST", ROUTE, wrapped(attributes=[]), 400, "'message.attributes'"),
    ("attributes false", "POST", ROUTE, wrapped(attributes=False), 400, "'message.attributes'"),
    ("deeply nested JSON", "POST", ROUTE, b"[" * 100000 + b"]" * 100000, 400, "not JSON"),
    ("oversized body", "POST", ROUTE, b"{" + b" " * (4 * 1024 * 1024 + 1) + b"}", 413, "too large"),
    ("wrong method", "GET", ROUTE, b"", 405, "not allowed"),
    ("unknown route", "POST", "new-messages-event", wrapped(), 404, "not found"),
]


@pytest.mark.parametrize("case,method,route,body,status,problem", BAD_PUSHES, ids=[case[0] for case in BAD_PUSHES])
def test_bad_push_gets_a_clear_4xx(interceptor, case, method, route, body, status, problem):
    response = requests.request(method, f"{interceptor.url}/{route}", data=body, timeout=30,
                                headers={"Content-Type": "application/json"})

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == status
    assert problem.lower() in error["message"].lower()
    assert "Traceback" not in response.text


def test_the_interceptor_keeps_serving_valid_pushes_after_bad_ones(interceptor, connector):
    for _, method, route, body, _, _ in BAD_PUSHES:
        requests.request(method, f"{interceptor.url}/{route}", data=body, timeout=30)
    conversation = new_conversation()
    agent = Desktop(connector.url, register(connector.url))
    agent.join(conversation)

    assert push(interceptor.url, ROUTE, event_for(conversation, "new-message.json"), "after-bad").status_code == 204
    agent.wait_for(1)
    assert agent.message_ids() == ["after-bad"]
    metrics = requests.get(f"{interceptor.url}/metrics", timeout=10).text.splitlines()
    assert any(line.startswith("aa_pushes_total{") and f'route="{ROUTE}"' in line
               and 'outcome="invalid"' in line for line in metrics)
    agent.close()


def test_unwrapped_push_with_metadata_headers_and_form_content_type(interceptor, connector):
    """The "no wrapper" form, as the Pub/Sub emulator sends it: raw event, metadata in headers."""
    conversation = new_conversation()
    agent = Desktop(connector.url, register(connector.url))
    agent.join(conversation)

    response = requests.post(
        f"{interceptor.url}/{ROUTE}", data=json.dumps(event_for(conversation, "new-message.json")), timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded", "x-goog-pubsub-message-id": "unwrapped-1",
                 "x-goog-pubsub-publish-time": "2026-02-26T19:13:56Z",
                 "x-goog-pubsub-subscription-name": "projects/my-proj/subscriptions/s"})

    assert response.status_code == 204
    [(_, payload)] = agent.wait_for(1)
    assert payload["message_id"] == "unwrapped-1" and payload["publish_time"] == "2026-02-26T19:13:56Z"
    agent.close()


def test_a_neighbours_bad_envelope_fields_do_not_change_a_valid_one(interceptor):
    body = envelope(VALID_EVENT, attributes={})
    assert requests.post(f"{interceptor.url}/{ROUTE}", json=body, timeout=10).status_code == 204


def test_null_attributes_are_no_attributes(interceptor):
    body = envelope(VALID_EVENT)
    body["message"]["attributes"] = None
    assert requests.post(f"{interceptor.url}/{ROUTE}", json=body, timeout=10).status_code == 204


DEEPLY_NESTED = b"[" * 100000 + b"]" * 100000
LONE_SURROGATE_KEY = (b'{"conversationIntegrationKey": "\\ud800", '
                      b'"conversationName": "projects/my-proj/conversations/C1"}')
BAD_CONNECTOR_BODIES = [
    ("register, deeply nested", "/register", DEEPLY_NESTED, "nested deeper than"),
    ("register-app, deeply nested", "/register-app", DEEPLY_NESTED, "nested deeper than"),
    ("conversation-name, deeply nested", "/conversation-name", DEEPLY_NESTED, "nested deeper than"),
    ("conversation-name, lone surrogate key", "/conversation-name", LONE_SURROGATE_KEY, "not valid text"),
    ("register, lone surrogate user", "/register", b'{"user": "agent \\udc00"}', "not valid text"),
    ("register, lone surrogate object key", "/register", b'{"\\ud800": 1}', "not valid text"),
    ("register, not JSON", "/register", b'{"user": ', "not JSON"),
    ("register-app, not UTF-8", "/register-app", b'{"accountSid": "\xff\xfe"}', "not UTF-8"),
    ("conversation-name, a JSON list", "/conversation-name", b"[1, 2]", "must be a JSON object"),
]


@pytest.mark.parametrize("case,path,body,problem", BAD_CONNECTOR_BODIES, ids=[case[0] for case in BAD_CONNECTOR_BODIES])
def test_bad_connector_bodies_get_a_400_naming_the_problem_and_log_no_trace(connector, case, path, body, problem):
    headers = {"Authorization": f"Bearer {register(connector.url)}", "Content-Type": "application/json"}
    logged_before = connector.log_path.stat().st_size

    response = requests.post(f"{connector.url}{path}", data=body, headers=headers, timeout=30)

    assert response.status_code == 400, response.text
    assert problem in response.json()["error"]["message"]
    log = connector.log_path.read_bytes()[logged_before:].decode(errors="replace")
    assert "Traceback" not in response.text + log and "unhandled error" not in log


SERVER_REFUSALS = [
    ("request line over the limit", f"/conversation-name?conversationIntegrationKey={'k' * 5000}", {}, 414,
     "Request Line is too large"),
    ("header over the limit", "/healthz", {"X-Big": "b" * 9000}, 431, "limit request headers fields size"),
]


@pytest.mark.parametrize("case,path,headers,status,problem", SERVER_REFUSALS, ids=[c[0] for c in SERVER_REFUSALS])
def test_what_the_connectors_http_server_refuses_gets_a_json_error_too(connector, case, path, headers, status,
                                                                       problem):
    response = requests.get(f"{connector.url}{path}", headers=headers, timeout=10)

    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == status
    assert problem in response.json()["error"]["message"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
