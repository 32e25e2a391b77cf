"""Knowledge search, stateless generators and feedback on suggested answers."""

from __future__ import annotations

from flask import jsonify

from ..errors import invalid_argument
from ..names import CONVERSATION_PROFILE_NAME, GENERATOR_NAME, Scope
from ..store import ROLES
from ..validation import JsonObject, enum_field, json_body, list_field, object_field, string_field, update_mask
from .api import DialogflowBlueprint, emulator

blueprint = DialogflowBlueprint("knowledge", __name__)


@blueprint.rpc("/suggestions:searchKnowledge", "POST")
def search_knowledge(scope: Scope):
    return jsonify(emulator().search_knowledge(scope, _search_query(json_body())))


@blueprint.rpc("/conversations/<id:conversation>/suggestions:searchKnowledge", "POST")
def search_knowledge_in_conversation(scope: Scope, conversation: str):
    query = _search_query(json_body())
    return jsonify(emulator().search_knowledge(scope, query, conversation_id=conversation))


@blueprint.rpc("/statelessSuggestion:generate", "POST", location_required=True)
def generate_stateless_suggestion(scope: Scope):
    body = json_body()
    generator = object_field(body, "generator")
    generator_name = string_field(body, "generatorName")
    if not generator and not generator_name:
        raise invalid_argument("One of generator or generator_name is required.")
    if generator_name and not GENERATOR_NAME.fullmatch(generator_name):
        raise invalid_argument(f"generator_name is not a generator name: {generator_name!r}")
    context = object_field(body, "conversationContext")
    turns = [
        _turn(entry, f"conversation_context.message_entries[{index}]")
        for index, entry in enumerate(list_field(context, "messageEntries", "conversation_context"))
    ]
    return jsonify(emulator().generate_stateless_suggestion(generator, turns))


@blueprint.rpc("/answerRecords/<id:record>", "PATCH")
def update_answer_record(scope: Scope, record: str):
    if "answerFeedback" not in update_mask():
        raise invalid_argument("update_mask must contain answer_feedback.")
    feedback = object_field(json_body(), "answerFeedback", "answer_record", required=True)
    return jsonify(emulator().update_answer_feedback(scope, record, feedback))


def _search_query(body: JsonObject) -> str:
    query = string_field(object_field(body, "query", required=True), "text", "query", required=True)
    profile = string_field(body, "conversationProfile", required=True)
    if not CONVERSATION_PROFILE_NAME.fullmatch(profile):
        raise invalid_argument(f"conversation_profile is not a conversation profile name: {profile!r}")
    string_field(body, "sessionId", required=True)
    return query


def _turn(entry: object, path: str) -> tuple[str, str]:
    if not isinstance(entry, dict):
        raise invalid_argument(f"Invalid value at '{path}': expected a JSON object.")
    return enum_field(entry, "role", ROLES, path), string_field(entry, "text", path)
