"""The events desktops receive: their Socket.IO names and the payload fields they read."""
from __future__ import annotations

from dataclasses import dataclass, fields

import orjson

HUMAN_AGENT_ASSISTANT_EVENT = "human-agent-assistant-event"
NEW_MESSAGE_EVENT = "new-message-event"
CONVERSATION_LIFECYCLE_EVENT = "conversation-lifecycle-event"
NEW_RECOGNITION_RESULT_EVENT = "new-recognition-result-notification-event"

EVENT_TYPES = (
    HUMAN_AGENT_ASSISTANT_EVENT,
    NEW_MESSAGE_EVENT,
    CONVERSATION_LIFECYCLE_EVENT,
    NEW_RECOGNITION_RESULT_EVENT,
)


@dataclass(frozen=True)
class Event:
    """One Dialogflow notification as desktops receive it.

    ``data`` stays the JSON text Dialogflow published (desktops parse it themselves),
    ``conversation_name`` is the location-free name. The UI connector adds ``event_id``
    (the Redis stream id) on delivery so a desktop can resume after it.
    """

    conversation_name: str
    data: str
    data_type: str
    publish_time: str
    message_id: str
    ack_time: str
    participant_role: str | None = None
    new_recognition_result_message_id: str | None = None

    def to_json(self) -> str:
        present = {name: value for name in _FIELD_NAMES if (value := getattr(self, name)) is not None}
        return orjson.dumps(present).decode()


_FIELD_NAMES = tuple(field.name for field in fields(Event))
