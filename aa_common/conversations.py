"""Dialogflow conversation names and the form both services key them by.

Dialogflow names a conversation either ``projects/P/conversations/C`` or
``projects/P/locations/L/conversations/C``; both name the same conversation, and
desktops join with either, so everything in Redis is keyed by the short form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,127}"
# Also the patterns of the AsyncAPI document (anchored there), so valid ECMA-262 too: no named groups.
CONVERSATION_NAME_PATTERN = rf"projects/({_SEGMENT})(?:/locations/({_SEGMENT}))?/conversations/({_SEGMENT})"
CONVERSATION_KEY_PATTERN = rf"projects/{_SEGMENT}/conversations/{_SEGMENT}"
_CONVERSATION_NAME = re.compile(CONVERSATION_NAME_PATTERN)


class InvalidConversationName(ValueError):
    """The text is not a Dialogflow conversation name."""


@dataclass(frozen=True)
class ConversationName:
    project: str
    conversation: str
    location: str | None = None

    @classmethod
    def parse(cls, name: object) -> "ConversationName":
        if not isinstance(name, str) or not name:
            raise InvalidConversationName("conversation name must be a non-empty string")
        match = _CONVERSATION_NAME.fullmatch(name)
        if not match:
            raise InvalidConversationName(
                "conversation name must look like projects/<project>/conversations/<id> "
                "or projects/<project>/locations/<location>/conversations/<id>"
            )
        project, location, conversation = match.groups()
        return cls(project, conversation, location)

    @property
    def key(self) -> str:
        """The location-free form that Redis keys and desktop payloads use."""
        return f"projects/{self.project}/conversations/{self.conversation}"


def normalize_conversation_name(name: object) -> str:
    """Return the location-free form of a conversation name, or raise InvalidConversationName."""
    return ConversationName.parse(name).key
