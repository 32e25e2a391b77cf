"""``/conversation-name``: map an integration key (a call id, a phone number) to a conversation name.

For platforms that cannot hand the Dialogflow conversation name to the agent desktop
directly. Keys are stored as an HMAC keyed with the JWT secret (a plain hash of a
phone number is trivially reversed), expire after CONVERSATION_NAME_TTL_SECONDS, and
are never logged.
"""
from __future__ import annotations

import hashlib
import hmac

import redis
from flask import Blueprint, current_app, jsonify, request

from aa_common.conversations import ConversationName, InvalidConversationName
from aa_common.http import json_error, json_object
from ui_connector.tokens import jwt_required

conversation_name_routes = Blueprint("conversation_names", __name__)
MAX_KEY_LENGTH = 512


class ConversationNames:
    def __init__(self, client: redis.Redis, secret: str, ttl_seconds: int):
        self._client = client
        self._secret = secret.encode()
        self._ttl = ttl_seconds

    def _key(self, integration_key: str) -> str:
        digest = hmac.new(self._secret, integration_key.encode(), hashlib.sha256).hexdigest()
        return f"aa:conversation-name:{digest}"

    def set(self, integration_key: str, conversation_name: str) -> None:
        self._client.set(self._key(integration_key), conversation_name, ex=self._ttl)

    def get(self, integration_key: str) -> str | None:
        return self._client.get(self._key(integration_key))

    def delete(self, integration_key: str) -> bool:
        return bool(self._client.delete(self._key(integration_key)))


def _integration_key(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("conversationIntegrationKey is required")
    if len(value) > MAX_KEY_LENGTH:
        raise ValueError(f"conversationIntegrationKey is longer than {MAX_KEY_LENGTH} characters")
    return value


def _names() -> ConversationNames:
    return current_app.extensions["ui_connector"].conversation_names


@conversation_name_routes.post("/conversation-name")
@jwt_required
def set_conversation_name():
    body = json_object()
    try:
        key = _integration_key(body.get("conversationIntegrationKey"))
        name = ConversationName.parse(body.get("conversationName"))
    except (ValueError, InvalidConversationName) as error:
        return json_error(400, str(error))
    if name.project != current_app.extensions["ui_connector"].config.project_id:
        return json_error(403, "conversationName belongs to another project")
    _names().set(key, body["conversationName"])
    return jsonify({key: body["conversationName"]})


@conversation_name_routes.get("/conversation-name")
@jwt_required
def get_conversation_name():
    try:
        key = _integration_key(request.args.get("conversationIntegrationKey"))
    except ValueError as error:
        return json_error(400, str(error))
    return jsonify(conversationName=_names().get(key) or "")


@conversation_name_routes.delete("/conversation-name")
@jwt_required
def delete_conversation_name():
    try:
        key = _integration_key(request.args.get("conversationIntegrationKey"))
    except ValueError as error:
        return json_error(400, str(error))
    if not _names().delete(key):
        return json_error(404, "no conversation name is stored for that key")
    return jsonify(deleted=True)
