"""Participants: creation, updates, analyzeContent and the participant-level suggestion methods."""

from __future__ import annotations

import json

from flask import jsonify

from ..errors import ApiError, invalid_argument
from ..names import Scope
from ..resources import LANGUAGE_CODE
from ..store import ROLES
from ..suggestions import PARTICIPANT_METHODS
from ..validation import (
    JsonObject,
    enum_field,
    int_field,
    json_body,
    object_field,
    page_request,
    snake_case,
    string_field,
    timestamp_field,
    update_mask,
)
from .api import DialogflowBlueprint, emulator

AGENT_DESKTOP_SOURCES = (
    "AGENT_DESKTOP_SOURCE_UNSPECIFIED",
    "LIVE_PERSON",
    "GENESYS_CLOUD",
    "TWILIO",
    "SALESFORCE",
    "OTHER",
)
# Participant fields besides name and role; all of them can be updated.
DETAIL_FIELDS = (
    "sipRecordingMediaLabel",
    "obfuscatedExternalUserId",
    "documentsMetadataFilters",
    "agentDesktopSource",
)
UNSUPPORTED_INPUTS = ("audioInput", "eventInput", "suggestionInput", "intentInput")

blueprint = DialogflowBlueprint("participants", __name__)
_PARTICIPANT = "/conversations/<id:conversation>/participants/<id:participant>"


@blueprint.rpc("/conversations/<id:conversation>/participants", "POST")
def create_participant(scope: Scope, conversation: str):
    body = json_body()
    role = enum_field(body, "role", ROLES, "participant")
    return jsonify(emulator().create_participant(scope, conversation, role, _details(body)))


@blueprint.rpc(_PARTICIPANT, "GET")
def get_participant(scope: Scope, conversation: str, participant: str):
    return jsonify(emulator().get_participant(scope, conversation, participant))


@blueprint.rpc("/conversations/<id:conversation>/participants", "GET")
def list_participants(scope: Scope, conversation: str):
    offset, size = page_request()
    return jsonify(emulator().list_participants(scope, conversation, offset, size))


@blueprint.rpc(_PARTICIPANT, "PATCH")
def update_participant(scope: Scope, conversation: str, participant: str):
    mask = update_mask()
    if not mask:
        raise invalid_argument("update_mask is required.")
    unknown = sorted(mask - set(DETAIL_FIELDS))
    if unknown:
        raise invalid_argument(f"update_mask names fields that cannot be updated: {', '.join(unknown)}")
    details = _details(json_body())
    changes = {field: details.get(field) for field in mask}
    return jsonify(emulator().update_participant(scope, conversation, participant, changes))


@blueprint.rpc(f"{_PARTICIPANT}:analyzeContent", "POST")
def analyze_content(scope: Scope, conversation: str, participant: str):
    body = json_body()
    unsupported = [field for field in UNSUPPORTED_INPUTS if field in body]
    if unsupported:
        raise ApiError("UNIMPLEMENTED", f"The emulator only analyzes text_input, not {unsupported[0]}.")
    text_input = object_field(body, "textInput", required=True)
    text = string_field(text_input, "text", "text_input", required=True)
    language_code = string_field(text_input, "languageCode", "text_input") or LANGUAGE_CODE
    send_time = timestamp_field(body, "messageSendTime")
    return jsonify(emulator().analyze_content(scope, conversation, participant, text, language_code, send_time))


@blueprint.rpc(f"{_PARTICIPANT}/suggestions:<any({', '.join(PARTICIPANT_METHODS)}):method>", "POST")
def suggest(scope: Scope, conversation: str, participant: str, method: str):
    body = json_body()
    latest, size = string_field(body, "latestMessage"), int_field(body, "contextSize")
    return jsonify(emulator().suggest(method, scope, conversation, participant, latest, size))


def _details(body: JsonObject) -> JsonObject:
    """The Participant fields besides name and role, checked; unknown fields are an error, as in Dialogflow."""
    for field in body:
        if field not in ("name", "role", *DETAIL_FIELDS):
            raise invalid_argument(
                f"Invalid JSON payload received. Unknown name \"{field}\" at 'participant': Cannot find field."
            )
    details: JsonObject = {}
    for field in ("sipRecordingMediaLabel", "obfuscatedExternalUserId"):
        if field in body:
            details[field] = string_field(body, field, "participant")
    if "documentsMetadataFilters" in body:
        details["documentsMetadataFilters"] = _string_map(body, "documentsMetadataFilters")
    if "agentDesktopSource" in body:
        details["agentDesktopSource"] = enum_field(
            body, "agentDesktopSource", AGENT_DESKTOP_SOURCES, "participant"
        )
    return details


def _string_map(body: JsonObject, field: str) -> dict[str, str]:
    value = object_field(body, field, "participant")
    if not all(isinstance(item, str) for item in value.values()):
        raise invalid_argument(
            f"Invalid value at 'participant.{snake_case(field)}': map values must be strings, {json.dumps(value)}"
        )
    return value
