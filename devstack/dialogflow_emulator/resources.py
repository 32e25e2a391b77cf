"""Dialogflow resources in their JSON form: the stored ones, named in the form a request used, and
canned configuration resources (profiles, models, generators) that exist under any id."""

from __future__ import annotations

from typing import Any

from aa_common.events import EventKind

from .config import EmulatorConfig
from .names import Scope, rfc3339
from .store import Conversation, Message, Participant

JsonObject = dict[str, Any]

CANNED_TIME = "2026-01-01T00:00:00.000Z"
LANGUAGE_CODE = "en-US"
SUGGESTION_FEATURES = (
    "ARTICLE_SUGGESTION",
    "FAQ",
    "SMART_REPLY",
    "KNOWLEDGE_ASSIST",
    "CONVERSATION_SUMMARIZATION",
)


def conversation_json(conversation: Conversation, scope: Scope) -> JsonObject:
    body: JsonObject = {
        "name": f"{scope.prefix}/conversations/{conversation.id}",
        "lifecycleState": conversation.lifecycle_state,
        "conversationProfile": conversation.profile,
        "startTime": rfc3339(conversation.start_time),
    }
    if conversation.end_time is not None:
        body["endTime"] = rfc3339(conversation.end_time)
    return body


def participant_json(conversation_id: str, participant: Participant, scope: Scope) -> JsonObject:
    name = f"{scope.prefix}/conversations/{conversation_id}/participants/{participant.id}"
    return {"name": name, "role": participant.role, **participant.details}


def message_json(conversation_id: str, message: Message, scope: Scope) -> JsonObject:
    conversation = f"{scope.prefix}/conversations/{conversation_id}"
    return {
        "name": f"{conversation}/messages/{message.id}",
        "content": message.content,
        "languageCode": message.language_code,
        "participant": f"{conversation}/participants/{message.participant_id}",
        "participantRole": message.role,
        "createTime": rfc3339(message.create_time),
        "sendTime": rfc3339(message.send_time),
        "messageAnnotation": {"containEntities": False},
    }


def conversation_profile_json(scope: Scope, profile_id: str, config: EmulatorConfig) -> JsonObject:
    """A profile whose notification topics are the ones the emulator publishes to."""

    def notifications(kind: EventKind) -> JsonObject:
        return {"topic": config.topic_name(kind, scope.project), "messageFormat": "JSON"}

    features = [
        {
            "suggestionFeature": {"type": feature},
            "enableEventBasedSuggestion": feature != "CONVERSATION_SUMMARIZATION",
        }
        for feature in SUGGESTION_FEATURES
    ]
    return {
        "name": f"{scope.prefix}/conversationProfiles/{profile_id}",
        "displayName": f"Emulated profile {profile_id}",
        "createTime": CANNED_TIME,
        "updateTime": CANNED_TIME,
        "humanAgentAssistantConfig": {
            "notificationConfig": notifications(EventKind.SUGGESTION),
            "humanAgentSuggestionConfig": {"featureConfigs": features},
        },
        "notificationConfig": notifications(EventKind.LIFECYCLE),
        "newMessageEventNotificationConfig": notifications(EventKind.NEW_MESSAGE),
        "newRecognitionResultNotificationConfig": notifications(EventKind.RECOGNITION),
        "languageCode": LANGUAGE_CODE,
        "timeZone": "UTC",
    }


def conversation_model_json(scope: Scope, model_id: str) -> JsonObject:
    return {
        "name": f"{scope.prefix}/conversationModels/{model_id}",
        "displayName": f"Emulated smart reply model {model_id}",
        "createTime": CANNED_TIME,
        "datasets": [],
        "state": "DEPLOYED",
        "languageCode": LANGUAGE_CODE,
        "smartReplyModelMetadata": {"trainingModelType": "SMART_REPLY_DUAL_ENCODER_MODEL"},
    }


def generator_json(scope: Scope, generator_id: str) -> JsonObject:
    return {
        "name": f"{scope.prefix}/generators/{generator_id}",
        "description": f"Emulated free-form generator {generator_id}",
        "freeFormContext": {"text": "Suggest the agent's next step for the customer's request."},
        "triggerEvent": "END_OF_UTTERANCE",
        "createTime": CANNED_TIME,
        "updateTime": CANNED_TIME,
    }
