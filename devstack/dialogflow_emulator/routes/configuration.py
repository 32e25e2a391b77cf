"""Configuration resources an agent desktop reads: canned, so that any id exists."""

from __future__ import annotations

from flask import jsonify

from ..names import Scope
from ..resources import conversation_model_json, conversation_profile_json, generator_json
from .api import DialogflowBlueprint, emulator

blueprint = DialogflowBlueprint("configuration", __name__)


@blueprint.rpc("/conversationProfiles/<id:profile>", "GET")
def get_conversation_profile(scope: Scope, profile: str):
    return jsonify(conversation_profile_json(scope, profile, emulator().config))


@blueprint.rpc("/conversationModels/<id:model>", "GET")
def get_conversation_model(scope: Scope, model: str):
    return jsonify(conversation_model_json(scope, model))


@blueprint.rpc("/generators/<id:generator>", "GET", location_required=True)
def get_generator(scope: Scope, generator: str):
    return jsonify(generator_json(scope, generator))
