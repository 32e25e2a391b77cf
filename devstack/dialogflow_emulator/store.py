"""The emulator's state: conversations with their participants and messages, answer records and
the feedback they received. Plain data, kept in memory; ``DialogflowEmulator`` serialises access."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import not_found
from .names import Scope, new_id

ROLES = ("ROLE_UNSPECIFIED", "HUMAN_AGENT", "AUTOMATED_AGENT", "END_USER")
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


@dataclass
class Participant:
    id: str
    role: str
    # The other Participant fields (obfuscatedExternalUserId, documentsMetadataFilters, ...) as sent.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    id: str
    participant_id: str
    role: str
    content: str
    language_code: str
    create_time: datetime
    send_time: datetime


@dataclass
class Conversation:
    scope: Scope  # always with its location
    id: str
    profile: str
    start_time: datetime
    lifecycle_state: str = IN_PROGRESS
    end_time: datetime | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)  # oldest first

    @property
    def name(self) -> str:
        """The full name, with location, as notifications carry it."""
        return f"{self.scope.prefix}/conversations/{self.id}"

    def participant(self, participant_id: str, scope: Scope) -> Participant:
        try:
            return self.participants[participant_id]
        except KeyError:
            raise not_found(
                "Participant", f"{scope.prefix}/conversations/{self.id}/participants/{participant_id}"
            ) from None

    def message(self, message_id: str) -> Message | None:
        return next((message for message in self.messages if message.id == message_id), None)

    def participant_with_role(self, role: str) -> Participant | None:
        return next((p for p in self.participants.values() if p.role == role), None)


@dataclass
class AnswerRecord:
    scope: Scope  # always with its location
    id: str
    agent_assistant_record: dict[str, Any]
    answer_feedback: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.scope.prefix}/answerRecords/{self.id}"


class Store:
    """Every resource the emulator holds, keyed by ``(project, location, id)``."""

    def __init__(self) -> None:
        self.conversations: dict[tuple[str, str, str], Conversation] = {}
        self.answer_records: dict[tuple[str, str, str], AnswerRecord] = {}
        self.feedback: list[dict[str, Any]] = []

    def add_conversation(self, conversation: Conversation) -> None:
        self.conversations[_key(conversation.scope, conversation.id)] = conversation

    def has_conversation(self, scope: Scope, conversation_id: str) -> bool:
        return _key(scope, conversation_id) in self.conversations

    def conversation(self, scope: Scope, conversation_id: str) -> Conversation:
        try:
            return self.conversations[_key(scope, conversation_id)]
        except KeyError:
            raise not_found("Conversation", f"{scope.prefix}/conversations/{conversation_id}") from None

    def create_answer_record(self, scope: Scope, agent_assistant_record: dict[str, Any]) -> str:
        record = AnswerRecord(scope.full(), new_id(), agent_assistant_record)
        self.answer_records[_key(record.scope, record.id)] = record
        return record.name

    def answer_record(self, scope: Scope, record_id: str) -> AnswerRecord:
        try:
            return self.answer_records[_key(scope, record_id)]
        except KeyError:
            raise not_found("AnswerRecord", f"{scope.prefix}/answerRecords/{record_id}") from None


def _key(scope: Scope, resource_id: str) -> tuple[str, str, str]:
    return scope.project, scope.location_id, resource_id
