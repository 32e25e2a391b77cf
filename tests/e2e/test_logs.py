"""Every line either service writes is one JSON object Cloud Logging reads, tied to its request's trace."""
from __future__ import annotations

import json

import pytest
import requests
import socketio

from aa_common.events import EventKind
from tests.support import PROJECT, RawSocketIO, envelope, event_for, new_conversation, push, register
from ui_connector.sockets import JOIN_CONVERSATION

pytestmark = pytest.mark.e2e
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def log_entries(service) -> list[dict]:
    lines = [line for line in service.log_path.read_text().splitlines() if line.strip()]
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"{service.name} wrote a line that is not JSON: {line[:300]!r}")
    assert all({"severity", "message", "time", "logger"} <= entry.keys() for entry in entries)
    return entries


def test_the_connector_writes_only_json_from_start_to_stop(stack):
    connector = stack.ui_connector()
    token = register(connector.url)
    for packet in (f'42["{JOIN_CONVERSATION}"', "4Z", '451-["x",{"_placeholder":true,"num":0}]'):
        raw = RawSocketIO(connector.url, token)
        raw.next_packet()
        raw.send(packet)
        raw.wait_closed(5)
    refused = socketio.Client(reconnection=False)
    refused.connect(connector.url, auth={"token": "bad"}, transports=["websocket"])
    refused.disconnect()
    requests.post(f"{connector.url}/register", timeout=10)

    connector.stop()

    entries = log_entries(connector)
    messages = " ".join(entry["message"] for entry in entries)
    assert "Booting worker" in messages and "malformed packet" in messages  # gunicorn's and ours
    assert not any("stack_trace" in entry for entry in entries)


def test_the_interceptor_writes_only_json_with_the_trace_of_each_request(stack):
    interceptor = stack.interceptor()
    conversation = new_conversation()
    for _ in range(20):
        push(interceptor.url, EventKind.NEW_MESSAGE, event_for(conversation, "new-message.json"))
    requests.post(f"{interceptor.url}/{EventKind.NEW_MESSAGE}", data=b"not json", timeout=10,
                  headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    requests.post(f"{interceptor.url}/{EventKind.NEW_MESSAGE}", data=b"{}", timeout=10,
                  headers={"X-Cloud-Trace-Context": f"{TRACE.upper()}/123;o=1"})
    requests.post(f"{interceptor.url}/{EventKind.NEW_MESSAGE}", json=envelope(b"[]"), timeout=10,
                  headers={"traceparent": f"00-{TRACE}-zz-01 \"injected\": true"})

    interceptor.stop()

    entries = log_entries(interceptor)
    assert len(entries) < 20, "a line per push at INFO: the metrics count pushes"
    refusals = [entry for entry in entries if entry["message"].startswith("push refused")]
    assert [entry.get("logging.googleapis.com/trace") for entry in refusals] == [
        f"projects/{PROJECT}/traces/{TRACE}", f"projects/{PROJECT}/traces/{TRACE.upper()}", None]
    assert refusals[0]["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
    assert refusals[1]["logging.googleapis.com/spanId"] == f"{123:016x}"
