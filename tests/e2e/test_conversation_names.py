"""/conversation-name on running connectors: a mapping belongs to the desktop identity that
stored it, and lookups are limited per identity across every instance sharing Redis."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.support import PROJECT, register

pytestmark = pytest.mark.e2e

LIMIT = 5
NAME = f"projects/{PROJECT}/locations/global/conversations/C-owned"


@pytest.fixture(scope="module")
def two_connectors(stack):
    return [stack.ui_connector(CONVERSATION_NAME_LOOKUPS_PER_MINUTE=str(LIMIT)) for _ in range(2)]


def new_user() -> str:
    return f"agent-{uuid.uuid4().hex[:8]}"


def call(method: str, url: str, token: str, key: str, name: str | None = None) -> requests.Response:
    """POST stores ``key`` → ``name``; GET and DELETE name the key in the query string."""
    headers = {"Authorization": f"Bearer {token}"}
    if method == "POST":
        body = {"conversationIntegrationKey": key, "conversationName": name}
        return requests.post(f"{url}/conversation-name", json=body, headers=headers, timeout=10)
    return requests.request(method, f"{url}/conversation-name", params={"conversationIntegrationKey": key},
                            headers=headers, timeout=10)


def test_another_desktop_cannot_overwrite_or_delete_a_mapping_on_any_instance(two_connectors):
    first, second = (connector.url for connector in two_connectors)
    key = f"+1555{uuid.uuid4().int % 10**7:07d}"
    owner, other = register(first, new_user()), register(second, new_user())
    assert call("POST", first, owner, key, NAME).status_code == 200

    assert call("POST", second, other, key, NAME.replace("C-owned", "C-hijacked")).status_code == 403
    assert call("DELETE", second, other, key).status_code == 403
    assert call("GET", second, other, key).json() == {"conversationName": NAME}
    assert call("DELETE", second, owner, key).status_code == 200


def test_lookups_are_limited_per_identity_across_instances(two_connectors):
    user = new_user()
    tokens = [register(connector.url, user) for connector in two_connectors]  # one identity, one token each
    answers = [call("GET", two_connectors[n % 2].url, tokens[n % 2], f"+1555000{n:04d}") for n in range(LIMIT + 2)]

    assert [answer.status_code for answer in answers] == [200] * LIMIT + [429, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].json()["error"]["message"].startswith("too many conversation-name lookups")
    other = register(two_connectors[1].url, new_user())
    assert call("GET", two_connectors[1].url, other, "+15550000000").status_code == 200


def test_enumerating_a_phone_number_space_stops_at_the_default_limit(connector):
    """The review's probe: 1,000 lookups from one desktop. Only the first 60 are answered."""
    token = register(connector.url, new_user())
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        statuses = [session.get(f"{connector.url}/conversation-name", timeout=10,
                                params={"conversationIntegrationKey": f"+1555{n:07d}"}).status_code
                    for n in range(1000)]
    assert statuses.count(200) == 60 and set(statuses[60:]) == {429}
