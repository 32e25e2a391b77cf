"""The events desktops receive: each kind from its Pub/Sub topic to its Socket.IO name, and the
payload fields desktops read.

Every other place that names a kind imports it from here: the interceptor's routes, the UI
connector's packets and its AsyncAPI document, the desktop page (through the template), the local
stack's topics and push subscriptions. ``deploy/`` is bash and cannot import it;
``tests/deploy/test_event_kinds.py`` compares its defaults with these.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType

import orjson


class EventKind(StrEnum):
    """A kind of Dialogflow notification. Its value is at once the Socket.IO event desktops receive,
    the interceptor route its topic's subscription pushes to, and the event's ``data_type``.

    ``default_topic`` is the Pub/Sub topic id that ``deploy/`` and the local stack create for it
    (operators may choose another with ``topic_variable``); ``dialogflow_type`` the message
    Dialogflow publishes; ``attribute_fields`` the event fields filled from the Pub/Sub message's
    attributes (event field -> attribute name).
    """

    SUGGESTION = ("human-agent-assistant-event", "aa-new-suggestion", "HumanAgentAssistantEvent",
                  "Agent Assist suggestions (articles, FAQ answers, smart replies, ...) for the conversation.")
    NEW_MESSAGE = ("new-message-event", "aa-new-message", "ConversationEvent",
                   "A message added to the conversation (ConversationEvent of type NEW_MESSAGE).")
    LIFECYCLE = ("conversation-lifecycle-event", "aa-conversation-lifecycle", "ConversationEvent",
                 "The conversation started or finished, needs a human agent, or hit an unrecoverable error.")
    RECOGNITION = ("new-recognition-result-notification-event", "aa-new-recognition-result", "ConversationEvent",
                   "An intermediate transcript of a participant speaking (ConversationEvent of type "
                   "NEW_RECOGNITION_RESULT).",
                   {"participant_role": "participant_role", "new_recognition_result_message_id": "message_id"})

    default_topic: str
    dialogflow_type: str
    summary: str
    attribute_fields: Mapping[str, str]

    def __new__(cls, name: str, default_topic: str, dialogflow_type: str, summary: str,
                attribute_fields: Mapping[str, str] | None = None) -> EventKind:
        kind = str.__new__(cls, name)
        kind._value_ = name
        kind.default_topic = default_topic
        kind.dialogflow_type = dialogflow_type
        kind.summary = summary
        kind.attribute_fields = MappingProxyType(dict(attribute_fields or {}))
        return kind

    @property
    def topic_variable(self) -> str:
        """The environment variable that names this kind's topic, in ``deploy/`` and the local stack."""
        return f"{self.name}_TOPIC_ID"


EVENT_TYPES = tuple(kind.value for kind in EventKind)


def _about(description: str) -> dict[str, str]:
    return {"description": description}


@dataclass(frozen=True)
class Event:
    """One Dialogflow notification as desktops receive it.

    The UI connector adds ``event_id`` (the Redis stream id) on delivery so a desktop can resume
    after it. Each field's description is the one the AsyncAPI document gives desktops.
    """

    conversation_name: str = field(metadata=_about(
        "The conversation, without its location: projects/<project>/conversations/<id>."))
    data: str = field(metadata=_about(
        "The Dialogflow notification as the JSON text Dialogflow published; desktops parse it."))
    data_type: str = field(metadata=_about("The kind of notification: the Socket.IO event it came as."))
    publish_time: str = field(metadata=_about("When Pub/Sub received the notification (RFC 3339)."))
    message_id: str = field(metadata=_about("The Pub/Sub message id, unique per topic."))
    ack_time: str = field(metadata=_about("When the interceptor stored the notification (RFC 3339, UTC)."))
    participant_role: str | None = field(default=None, metadata=_about(
        "The role of the participant speaking (END_USER, HUMAN_AGENT, ...): the message attribute participant_role."))
    new_recognition_result_message_id: str | None = field(default=None, metadata=_about(
        "The message the transcript belongs to: the message attribute message_id."))

    def to_json(self) -> str:
        present = {name: value for name in _FIELD_NAMES if (value := getattr(self, name)) is not None}
        return orjson.dumps(present).decode()


_FIELD_NAMES = tuple(field.name for field in fields(Event))
