"""/conversation-name: integration keys stored as an HMAC with a TTL, never in clear."""
from __future__ import annotations

import hashlib
import logging

import pytest

from ui_connector.services import connector


@pytest.fixture
def client(make_connector):
    app = make_connector()
    token = connector(app).tokens.issue("agent")
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return test_client


NAME = "projects/my-proj/locations/global/conversations/C1"


def test_set_get_delete_round_trip(client):
    stored = client.post("/conversation-name", json={"conversationIntegrationKey": "+15551234567",
                                                    "conversationName": NAME})
    assert stored.status_code == 200 and stored.get_json() == {"+15551234567": NAME}
    found = client.get("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"})
    assert found.get_json() == {"conversationName": NAME}
    assert client.delete("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"}).status_code == 200
    missing = client.get("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"})
    assert missing.get_json() == {"conversationName": ""}
    gone = client.delete("/conversation-name", query_string={"conversationIntegrationKey": "+15551234567"})
    assert gone.status_code == 404


def test_keys_are_stored_keyed_hashed_with_a_ttl_and_never_logged(client, fake_redis, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/conversation-name", json={"conversationIntegrationKey": "+15551234567", "conversationName": NAME})
    [key] = fake_redis.keys("aa:conversation-name:*")
    assert "15551234567" not in key
    assert hashlib.sha256(b"+15551234567").hexdigest() not in key
    assert 0 < fake_redis.ttl(key) <= 86400
    assert "15551234567" not in caplog.text


@pytest.mark.parametrize("body,status,problem", [
    ({"conversationName": NAME}, 400, "conversationIntegrationKey is required"),
    ({"conversationIntegrationKey": "k"}, 400, "conversation name"),
    ({"conversationIntegrationKey": "k", "conversationName": "C1"}, 400, "conversation name"),
    ({"conversationIntegrationKey": "k" * 600, "conversationName": NAME}, 400, "longer than"),
    ({"conversationIntegrationKey": "k", "conversationName": "projects/other/conversations/C1"}, 403, "another project"),
    ([1, 2], 400, "JSON object"),
])
def test_bad_requests(client, body, status, problem):
    response = client.post("/conversation-name", json=body)
    assert response.status_code == status and problem in response.get_json()["error"]["message"]


def test_get_needs_a_key(client):
    assert client.get("/conversation-name").status_code == 400


KEY = "+15557654321"
OTHER_NAME = "projects/my-proj/locations/global/conversations/C2"


@pytest.fixture
def connector_app(make_connector):
    return make_connector(CONVERSATION_NAME_LOOKUPS_PER_MINUTE="5")


@pytest.fixture
def desktop(connector_app):
    """A test client carrying a fresh token for ``user`` (None: registered without a user)."""
    def as_user(user: str | None):
        test_client = connector_app.test_client()
        token = connector(connector_app).tokens.issue(user)
        test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return test_client
    return as_user


def set_name(client, name: str = NAME, key: str = KEY):
    return client.post("/conversation-name", json={"conversationIntegrationKey": key, "conversationName": name})


def get_name(client, key: str = KEY):
    return client.get("/conversation-name", query_string={"conversationIntegrationKey": key})


def delete_name(client, key: str = KEY):
    return client.delete("/conversation-name", query_string={"conversationIntegrationKey": key})


def test_only_the_identity_that_stored_a_mapping_may_change_it(desktop):
    alice, bob = desktop("alice"), desktop("bob")
    assert set_name(alice).status_code == 200

    for refused in (set_name(bob, OTHER_NAME), delete_name(bob)):
        assert refused.status_code == 403
        assert refused.get_json()["error"]["message"] == "this mapping was stored by another desktop identity"
    assert get_name(bob).get_json() == {"conversationName": NAME}  # reading stays open to the project
    assert set_name(desktop("alice"), OTHER_NAME).status_code == 200  # alice again, with a renewed token
    assert get_name(bob).get_json() == {"conversationName": OTHER_NAME}
    assert delete_name(alice).status_code == 200
    assert set_name(bob).status_code == 200  # once deleted, the key is free for anyone


def test_tokens_without_a_user_share_one_identity(desktop):
    assert set_name(desktop(None)).status_code == 200
    assert set_name(desktop(None), OTHER_NAME).status_code == 200
    assert set_name(desktop("alice")).status_code == 403
    assert delete_name(desktop(None)).status_code == 200


def test_the_owner_is_stored_keyed_hashed_with_the_mapping(desktop, fake_redis):
    set_name(desktop("alice@example.com"))
    [key] = fake_redis.keys("aa:conversation-name:*")
    stored = fake_redis.hgetall(key)
    assert stored["name"] == NAME and "alice" not in stored["owner"]
    assert 0 < fake_redis.ttl(key) <= 86400


def test_a_mapping_stored_before_owners_were_recorded_is_read_and_may_be_replaced(connector_app, desktop, fake_redis):
    names = connector(connector_app).conversation_names
    fake_redis.set(names.key_of(KEY), NAME, ex=600)  # the value an earlier version stored

    assert get_name(desktop("bob")).get_json() == {"conversationName": NAME}
    assert set_name(desktop("bob"), OTHER_NAME).status_code == 200
    assert set_name(desktop("alice"), NAME).status_code == 403  # bob owns it now


def test_lookups_are_limited_per_identity(desktop):
    alice = desktop("alice")
    assert [get_name(alice).status_code for _ in range(5)] == [200] * 5

    limited = get_name(alice)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert get_name(desktop("alice")).status_code == 429  # a new token is still alice
    assert get_name(desktop("bob")).status_code == 200


def test_each_token_without_a_user_has_a_lookup_budget_of_its_own(desktop):
    anonymous = desktop(None)
    assert [get_name(anonymous).status_code for _ in range(6)] == [200] * 5 + [429]
    assert get_name(desktop(None)).status_code == 200


def test_setting_and_deleting_count_as_lookups_too(desktop):
    """Their answers (404, 403) also tell whether a key is mapped."""
    alice = desktop("alice")
    statuses = [delete_name(alice, f"+1555000000{n}").status_code for n in range(5)]
    assert statuses == [404] * 5
    assert set_name(alice).status_code == 429


def test_mappings_survive_a_jwt_key_rotation(make_connector, secret_file, tmp_path):
    """After rotation the previous secret is JWT_PREVIOUS_SECRET_KEY_PATH: mappings keyed under it
    are still found, still owned, and move to the current secret when their owner writes them."""
    before = make_connector()
    as_alice_before = connector(before).tokens.issue("alice")
    assert _post(before, as_alice_before, NAME).status_code == 200

    rotated_secret = tmp_path / "rotated_jwt_secret_key"
    rotated_secret.write_text("a-new-secret-version-" + "x" * 40)
    after = make_connector(JWT_SECRET_KEY_PATH=str(rotated_secret), JWT_PREVIOUS_SECRET_KEY_PATH=str(secret_file))
    as_alice, as_bob = (connector(after).tokens.issue(user) for user in ("alice", "bob"))

    assert _get(after, as_bob) == NAME
    assert _post(after, as_bob, OTHER_NAME).status_code == 403
    assert _post(after, as_alice, OTHER_NAME).status_code == 200
    only_current = make_connector(JWT_SECRET_KEY_PATH=str(rotated_secret))
    assert _get(only_current, connector(only_current).tokens.issue("bob")) == OTHER_NAME


def _post(app, token: str, name: str):
    return app.test_client().post("/conversation-name", json={"conversationIntegrationKey": KEY, "conversationName": name},
                                  headers={"Authorization": f"Bearer {token}"})


def _get(app, token: str) -> str:
    response = app.test_client().get("/conversation-name", query_string={"conversationIntegrationKey": KEY},
                                     headers={"Authorization": f"Bearer {token}"})
    return response.get_json()["conversationName"]


def test_a_key_held_by_another_identity_under_either_secret_is_neither_taken_nor_half_deleted(
        make_connector, secret_file, tmp_path):
    """Mid-rotation, old instances still write under the previous secret: bob's mapping there and
    alice's under the current one. Alice may neither delete nor overwrite the key: bob's part is not hers,
    and a refusal changes nothing."""
    rotated_secret = tmp_path / "rotated_jwt_secret_key"
    rotated_secret.write_text("a-new-secret-version-" + "y" * 40)
    old_instance = make_connector()
    new_only = make_connector(JWT_SECRET_KEY_PATH=str(rotated_secret))
    assert _post(old_instance, connector(old_instance).tokens.issue("bob"), NAME).status_code == 200
    assert _post(new_only, connector(new_only).tokens.issue("alice"), OTHER_NAME).status_code == 200

    rotating = make_connector(JWT_SECRET_KEY_PATH=str(rotated_secret), JWT_PREVIOUS_SECRET_KEY_PATH=str(secret_file))
    as_alice = connector(rotating).tokens.issue("alice")
    refused = rotating.test_client().delete("/conversation-name", query_string={"conversationIntegrationKey": KEY},
                                            headers={"Authorization": f"Bearer {as_alice}"})
    assert refused.status_code == 403
    assert _get(rotating, as_alice) == OTHER_NAME, "nothing was removed"
    assert _post(rotating, as_alice, NAME).status_code == 403
