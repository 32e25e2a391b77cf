"""The local stack as `make dev` runs it: a desktop calls Dialogflow through the proxy, and the
notifications come back over the real Pub/Sub emulator's push subscriptions."""
from __future__ import annotations

import json
import os

import pytest
import requests

from devstack.pubsub_emulator import find_emulator
from devstack.stack import LocalStack
from tests.support import Desktop, register, short_name

pytestmark = [pytest.mark.e2e, pytest.mark.pubsub_emulator]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    if find_emulator() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the Pub/Sub emulator must be installed in CI (Google Cloud CLI pubsub-emulator component)")
        pytest.skip("the Google Cloud CLI's Pub/Sub emulator is not installed")
    stack = LocalStack(state_dir=tmp_path_factory.mktemp("local-stack"), use_pubsub_emulator=True).start()
    yield stack
    stack.stop()


class DesktopSession:
    """What a desktop does over REST: register, then call Dialogflow through the proxy."""

    def __init__(self, connector_url: str):
        self.url = connector_url
        self.token = register(connector_url)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, f"{self.url}/v2beta1/{path}", json=body, timeout=15,
                                    headers={"Authorization": f"Bearer {self.token}"})
        assert response.ok, response.text
        return response.json()


def test_analyze_content_through_the_proxy_reaches_a_joined_desktop_via_pubsub(local_stack):
    connector = local_stack.url("ui-connector")
    session = DesktopSession(connector)
    parent = f"projects/{local_stack.project}/locations/global"
    conversation = session.call("POST", f"{parent}/conversations",
                                {"conversationProfile": f"{parent}/conversationProfiles/p1"})["name"]
    customer = session.call("POST", f"{conversation}/participants", {"role": "END_USER"})["name"]
    desktop = Desktop(connector, session.token)
    assert desktop.join(conversation) == (True, short_name(conversation))

    session.call("POST", f"{customer}:analyzeContent",
                 {"textInput": {"text": "I need to change my flight to Friday", "languageCode": "en-US"}})

    events = {name: json.loads(payload["data"]) for name, payload in desktop.wait_for(3, timeout=30)}
    assert events["conversation-lifecycle-event"]["type"] == "CONVERSATION_STARTED"
    message = events["new-message-event"]["newMessagePayload"]
    assert message["content"] == "I need to change my flight to Friday" and message["participantRole"] == "END_USER"
    assert events["human-agent-assistant-event"]["suggestionResults"]
    published = requests.get(f"{local_stack.url('dialogflow-emulator')}/emulator/notifications", timeout=10).json()
    destinations = {entry["destination"] for entry in published["notifications"]}
    assert all(local_stack.pubsub.host_port in destination for destination in destinations)
    desktop.close()
