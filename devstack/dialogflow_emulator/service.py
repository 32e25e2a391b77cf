"""What the emulated Dialogflow methods do: state changes, suggestions and the notifications they cause.

Every method runs under one lock, so concurrent requests see consistent state and notifications
are queued in the order their changes happened. Methods take the request's ``Scope`` and answer
with resources named in that form; notifications always name resources with their location.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aa_common.events import EventKind

from . import pagination
from .config import EmulatorConfig
from .errors import ApiError, invalid_argument, not_found
from .names import CONVERSATION_ID, CONVERSATION_PROFILE_NAME, MESSAGE_NAME, Scope, new_id, rfc3339, utc_now
from .publisher import Notification, Publisher
from .resources import conversation_json, message_json, participant_json
from .store import COMPLETED, Conversation, Message, Participant, Store
from .suggestions import PARTICIPANT_METHODS, SuggestionContext, SuggestionEngine, generate_stateless

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class NewMessage:
    participant_id: str
    content: str
    language_code: str
    send_time: datetime | None


class DialogflowEmulator:
    def __init__(self, config: EmulatorConfig, publisher: Publisher) -> None:
        self.config = config
        self._publisher = publisher
        self._lock = threading.Lock()
        self._store = Store()
        self._suggestions = SuggestionEngine(self._store)

    # Conversations

    def create_conversation(self, scope: Scope, profile: str, conversation_id: str | None) -> JsonObject:
        if not CONVERSATION_PROFILE_NAME.fullmatch(profile):
            raise invalid_argument(
                f"conversation.conversation_profile is not a conversation profile name: {profile!r}"
            )
        if conversation_id is not None and not CONVERSATION_ID.fullmatch(conversation_id):
            raise invalid_argument(
                f"conversation_id {conversation_id!r} must match [a-zA-Z][a-zA-Z0-9_-]* "
                "and be 3 to 64 characters long."
            )
        with self._lock:
            conversation_id = conversation_id or new_id()
            if self._store.has_conversation(scope, conversation_id):
                raise ApiError(
                    "ALREADY_EXISTS",
                    f"Conversation {scope.prefix}/conversations/{conversation_id} already exists.",
                )
            conversation = Conversation(scope.full(), conversation_id, profile, start_time=utc_now())
            self._store.add_conversation(conversation)
            self._publish_lifecycle(conversation, "CONVERSATION_STARTED")
            return conversation_json(conversation, scope)

    def get_conversation(self, scope: Scope, conversation_id: str) -> JsonObject:
        with self._lock:
            return conversation_json(self._store.conversation(scope, conversation_id), scope)

    def complete_conversation(self, scope: Scope, conversation_id: str) -> JsonObject:
        """Completes the conversation; completing it again changes nothing and notifies no one."""
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            if conversation.lifecycle_state != COMPLETED:
                conversation.lifecycle_state = COMPLETED
                conversation.end_time = utc_now()
                self._publish_lifecycle(conversation, "CONVERSATION_FINISHED")
            return conversation_json(conversation, scope)

    # Messages

    def list_messages(self, scope: Scope, conversation_id: str, offset: int, size: int) -> JsonObject:
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            newest_first = [message_json(conversation.id, m, scope) for m in reversed(conversation.messages)]
            return pagination.page("messages", newest_first, offset, size)

    def batch_create_messages(self, scope: Scope, conversation_id: str, messages: list[NewMessage]) -> JsonObject:
        """Adds messages (a conversation's history, say) without notifying anyone; all or none."""
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            authors = [conversation.participant(m.participant_id, scope) for m in messages]
            created = [
                self._add_message(conversation, author, m.content, m.language_code, m.send_time)
                for author, m in zip(authors, messages, strict=True)
            ]
            return {"messages": [message_json(conversation.id, m, scope) for m in created]}

    # Participants

    def create_participant(self, scope: Scope, conversation_id: str, role: str, details: JsonObject) -> JsonObject:
        if role == "ROLE_UNSPECIFIED":
            raise invalid_argument("participant.role must be HUMAN_AGENT, AUTOMATED_AGENT or END_USER.")
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            participant = Participant(new_id(), role, details)
            conversation.participants[participant.id] = participant
            return participant_json(conversation.id, participant, scope)

    def get_participant(self, scope: Scope, conversation_id: str, participant_id: str) -> JsonObject:
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            return participant_json(conversation.id, conversation.participant(participant_id, scope), scope)

    def list_participants(self, scope: Scope, conversation_id: str, offset: int, size: int) -> JsonObject:
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            participants = [
                participant_json(conversation.id, p, scope) for p in conversation.participants.values()
            ]
            return pagination.page("participants", participants, offset, size)

    def update_participant(
        self, scope: Scope, conversation_id: str, participant_id: str, changes: JsonObject
    ) -> JsonObject:
        """Sets the fields in ``changes``; a None value clears the field."""
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            participant = conversation.participant(participant_id, scope)
            for field, value in changes.items():
                if value is None:
                    participant.details.pop(field, None)
                else:
                    participant.details[field] = value
            return participant_json(conversation.id, participant, scope)

    def analyze_content(
        self,
        scope: Scope,
        conversation_id: str,
        participant_id: str,
        text: str,
        language_code: str,
        send_time: datetime | None,
    ) -> JsonObject:
        """Records the participant's text, notifies it, and for a customer turn suggests answers."""
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            participant = conversation.participant(participant_id, scope)
            if conversation.lifecycle_state == COMPLETED:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Conversation {scope.prefix}/conversations/{conversation.id} is completed.",
                )
            message = self._add_message(conversation, participant, text, language_code, send_time)
            self._publish_new_message(conversation, message)
            suggestions: list[JsonObject] = []
            if participant.role == "END_USER":
                suggestions = self._suggestions.end_user_turn(SuggestionContext.of(conversation))
                self._publish_suggestions(conversation, participant, suggestions)
            return {
                "replyText": "",
                "message": message_json(conversation.id, message, scope),
                "humanAgentSuggestionResults": suggestions,
                "endUserSuggestionResults": [],
            }

    # Suggestions

    def suggest(
        self,
        method: str,
        scope: Scope,
        conversation_id: str,
        participant_id: str,
        latest_message: str,
        context_size: int,
    ) -> JsonObject:
        """One of the participant-level ``suggestions:{method}`` methods (``PARTICIPANT_METHODS``)."""
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            conversation.participant(participant_id, scope)
            context = self._context(conversation, latest_message, context_size)
            return PARTICIPANT_METHODS[method](self._suggestions, context)

    def suggest_conversation_summary(
        self, scope: Scope, conversation_id: str, latest_message: str, context_size: int
    ) -> JsonObject:
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            context = self._context(conversation, latest_message, context_size)
            return self._suggestions.conversation_summary(context, conversation.lifecycle_state)

    def generate_suggestions(self, scope: Scope, conversation_id: str, latest_message: str) -> JsonObject:
        with self._lock:
            conversation = self._store.conversation(scope, conversation_id)
            return self._suggestions.generator_suggestions(self._context(conversation, latest_message, 0))

    def search_knowledge(self, scope: Scope, query: str, conversation_id: str | None = None) -> JsonObject:
        """Answers ``query`` from the knowledge base; a named conversation must exist."""
        with self._lock:
            if conversation_id is not None:
                self._store.conversation(scope, conversation_id)
            return self._suggestions.search_knowledge(scope, query)

    @staticmethod
    def generate_stateless_suggestion(generator: JsonObject, turns: list[tuple[str, str]]) -> JsonObject:
        return {"generatorSuggestion": generate_stateless(generator, turns)}

    # Answer records

    def update_answer_feedback(self, scope: Scope, record_id: str, feedback: JsonObject) -> JsonObject:
        with self._lock:
            record = self._store.answer_record(scope, record_id)
            record.answer_feedback = feedback
            self._store.feedback.append(
                {"answerRecord": record.name, "answerFeedback": feedback, "receiveTime": rfc3339(utc_now())}
            )
            return {
                "name": f"{scope.prefix}/answerRecords/{record.id}",
                "answerFeedback": feedback,
                "agentAssistantRecord": record.agent_assistant_record,
            }

    # Inspection

    def feedback(self) -> list[JsonObject]:
        with self._lock:
            return list(self._store.feedback)

    def notifications(self) -> list[JsonObject]:
        return self._publisher.deliveries()

    def reset(self) -> None:
        with self._lock:
            self._store = Store()
            self._suggestions = SuggestionEngine(self._store)
            self._publisher.clear()

    # Helpers

    @staticmethod
    def _add_message(
        conversation: Conversation,
        participant: Participant,
        content: str,
        language_code: str,
        send_time: datetime | None,
    ) -> Message:
        now = utc_now()
        message = Message(
            new_id(), participant.id, participant.role, content, language_code, now, send_time or now
        )
        conversation.messages.append(message)
        return message

    def _context(self, conversation: Conversation, latest_message: str, context_size: int) -> SuggestionContext:
        latest = None
        if latest_message:
            match = MESSAGE_NAME.fullmatch(latest_message)
            if not match:
                raise invalid_argument(f"latest_message is not a message name: {latest_message!r}")
            latest = conversation.message(match.group(2)) if match.group(1) == conversation.id else None
            if latest is None:
                raise not_found("Message", latest_message)
        return SuggestionContext.of(conversation, latest, context_size)

    def _publish_lifecycle(self, conversation: Conversation, event_type: str) -> None:
        name = conversation.name
        self._publisher.publish(Notification(EventKind.LIFECYCLE, name, {"conversation": name, "type": event_type}))

    def _publish_new_message(self, conversation: Conversation, message: Message) -> None:
        name = conversation.name
        payload = message_json(conversation.id, message, conversation.scope)
        event = {"conversation": name, "type": "NEW_MESSAGE", "newMessagePayload": payload}
        self._publisher.publish(Notification(EventKind.NEW_MESSAGE, name, event))

    def _publish_suggestions(
        self, conversation: Conversation, speaker: Participant, results: list[JsonObject]
    ) -> None:
        """A HumanAgentAssistantEvent for the human agent (the speaker when there is none yet)."""
        name = conversation.name
        target = conversation.participant_with_role("HUMAN_AGENT") or speaker
        event = {
            "conversation": name,
            "participant": f"{name}/participants/{target.id}",
            "suggestionResults": results,
        }
        self._publisher.publish(Notification(EventKind.SUGGESTION, name, event))
