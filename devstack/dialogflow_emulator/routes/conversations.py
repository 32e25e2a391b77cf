"""Conversations and their messages."""

from __future__ import annotations

from flask import jsonify, request

from ..errors import invalid_argument
from ..names import PARTICIPANT_NAME, Scope
from ..resources import LANGUAGE_CODE
from ..service import NewMessage
from ..validation import (
    JsonObject,
    enum_field,
    int_field,
    json_body,
    list_field,
    object_field,
    page_request,
    string_field,
    timestamp_field,
)
from .api import DialogflowBlueprint, emulator

MAX_BATCH_MESSAGES = 1000
TRIGGER_EVENTS = ("TRIGGER_EVENT_UNSPECIFIED", "END_OF_UTTERANCE", "MANUAL_CALL", "CUSTOMER_MESSAGE", "AGENT_MESSAGE")

blueprint = DialogflowBlueprint("conversations", __name__)


@blueprint.rpc("/conversations", "POST")
def create_conversation(scope: Scope):
    profile = string_field(json_body(), "conversationProfile", "conversation", required=True)
    return jsonify(emulator().create_conversation(scope, profile, request.args.get("conversationId")))


@blueprint.rpc("/conversations/<id:conversation>", "GET")
def get_conversation(scope: Scope, conversation: str):
    return jsonify(emulator().get_conversation(scope, conversation))


@blueprint.rpc("/conversations/<id:conversation>:complete", "POST")
def complete_conversation(scope: Scope, conversation: str):
    json_body()  # CompleteConversationRequest has no body fields, but malformed JSON is still an error
    return jsonify(emulator().complete_conversation(scope, conversation))


@blueprint.rpc("/conversations/<id:conversation>/messages", "GET")
def list_messages(scope: Scope, conversation: str):
    offset, size = page_request()
    return jsonify(emulator().list_messages(scope, conversation, offset, size))


@blueprint.rpc("/conversations/<id:conversation>/messages:batchCreate", "POST")
def batch_create_messages(scope: Scope, conversation: str):
    entries = list_field(json_body(), "requests")
    if not entries:
        raise invalid_argument("requests is required.")
    if len(entries) > MAX_BATCH_MESSAGES:
        raise invalid_argument(f"At most {MAX_BATCH_MESSAGES} requests are allowed in one batch.")
    messages = [_new_message(entry, f"requests[{index}]", conversation) for index, entry in enumerate(entries)]
    return jsonify(emulator().batch_create_messages(scope, conversation, messages))


@blueprint.rpc("/conversations/<id:conversation>/suggestions:suggestConversationSummary", "POST")
def suggest_conversation_summary(scope: Scope, conversation: str):
    body = json_body()
    latest, size = string_field(body, "latestMessage"), int_field(body, "contextSize")
    return jsonify(emulator().suggest_conversation_summary(scope, conversation, latest, size))


@blueprint.rpc("/conversations/<id:conversation>/suggestions:generate", "POST")
def generate_suggestions(scope: Scope, conversation: str):
    body = json_body()
    for event in list_field(body, "triggerEvents"):
        enum_field({"triggerEvents": event}, "triggerEvents", TRIGGER_EVENTS)
    return jsonify(emulator().generate_suggestions(scope, conversation, string_field(body, "latestMessage")))


def _new_message(entry: object, path: str, conversation_id: str) -> NewMessage:
    if not isinstance(entry, dict):
        raise invalid_argument(f"Invalid value at '{path}': expected a JSON object.")
    parent = string_field(entry, "parent", path)
    if parent and not parent.endswith(f"/conversations/{conversation_id}"):
        raise invalid_argument(f"{path}.parent {parent!r} is not the conversation in the URL.")
    message: JsonObject = object_field(entry, "message", path, required=True)
    message_path = f"{path}.message"
    participant = string_field(message, "participant", message_path, required=True)
    match = PARTICIPANT_NAME.fullmatch(participant)
    if not match or match.group(1) != conversation_id:
        raise invalid_argument(
            f"{message_path}.participant {participant!r} is not a participant of this conversation."
        )
    return NewMessage(
        participant_id=match.group(2),
        content=string_field(message, "content", message_path, required=True),
        language_code=string_field(message, "languageCode", message_path) or LANGUAGE_CODE,
        send_time=timestamp_field(message, "sendTime", message_path),
    )
