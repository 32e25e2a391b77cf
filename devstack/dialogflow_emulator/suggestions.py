"""Agent Assist suggestions computed from the knowledge base, in Dialogflow's response shapes.

Every suggested answer gets an answer record, so the agent desktop can send feedback on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import knowledge_base
from .knowledge_base import Match
from .names import Scope
from .store import COMPLETED, Conversation, Message, Store

JsonObject = dict[str, Any]

DEFAULT_CONTEXT_SIZE = 20
MAX_ANSWERS = 2
KNOWLEDGE_BASE_ID = "airline-faq"
SUMMARY_MODEL_VERSION = "2.0"
# The generator a conversation's ``suggestions:generate`` answers from (any generator id exists).
FREE_FORM_GENERATOR_ID = "next-step"


@dataclass(frozen=True)
class SuggestionContext:
    """The messages a suggestion is computed from: up to ``latestMessage``, at most ``contextSize`` of them."""

    scope: Scope  # with its location, as answer records and message names in suggestions are
    conversation_name: str
    window: tuple[Message, ...]  # oldest first

    @classmethod
    def of(
        cls, conversation: Conversation, latest: Message | None = None, context_size: int = 0
    ) -> SuggestionContext:
        messages = conversation.messages
        if latest is not None:
            messages = messages[: messages.index(latest) + 1]
        size = context_size if context_size > 0 else DEFAULT_CONTEXT_SIZE
        return cls(conversation.scope, conversation.name, tuple(messages[-size:]))

    @property
    def latest_message_name(self) -> str | None:
        if not self.window:
            return None
        return f"{self.conversation_name}/messages/{self.window[-1].id}"

    @property
    def customer_text(self) -> str | None:
        """What the customer last wrote in the window: the text suggestions answer."""
        return next((m.content for m in reversed(self.window) if m.role == "END_USER"), None)

    def response(self, fields: JsonObject) -> JsonObject:
        """A suggestion response: ``fields`` plus the latest message and context size it was computed on."""
        body = dict(fields)
        if self.latest_message_name:
            body["latestMessage"] = self.latest_message_name
        body["contextSize"] = len(self.window)
        return body


class SuggestionEngine:
    def __init__(self, store: Store) -> None:
        self._store = store

    def end_user_turn(self, context: SuggestionContext) -> list[JsonObject]:
        """The SuggestionResults Dialogflow computes for a human agent when the customer speaks."""
        return [
            {"suggestArticlesResponse": self.articles(context)},
            {"suggestFaqAnswersResponse": self.faq_answers(context)},
            {"suggestSmartRepliesResponse": self.smart_replies(context)},
            {"suggestKnowledgeAssistResponse": self.knowledge_assist(context)},
        ]

    def articles(self, context: SuggestionContext) -> JsonObject:
        answers = [self._article(context.scope, m) for m in _matches(context)[:MAX_ANSWERS]]
        return context.response({"articleAnswers": answers})

    def faq_answers(self, context: SuggestionContext) -> JsonObject:
        answers = [self._faq(context.scope, m) for m in _matches(context)[:MAX_ANSWERS]]
        return context.response({"faqAnswers": answers})

    def smart_replies(self, context: SuggestionContext) -> JsonObject:
        matches = _matches(context)
        answers = [
            {"reply": reply, "confidence": matches[0].confidence, "answerRecord": self._record(context.scope, {})}
            for reply in (matches[0].topic.smart_replies if matches else ())
        ]
        return context.response({"smartReplyAnswers": answers})

    def knowledge_assist(self, context: SuggestionContext) -> JsonObject:
        matches = _matches(context)
        if not matches:
            return context.response({})
        topic = matches[0].topic
        answer = {
            "suggestedQuery": {"queryText": topic.search_query},
            "suggestedQueryAnswer": {
                "answerText": topic.answer,
                "generativeSource": {
                    "snippets": [{"uri": topic.uri, "text": topic.snippet, "title": topic.title}]
                },
            },
            "answerRecord": self._record(context.scope, {}),
        }
        return context.response({"knowledgeAssistAnswer": answer})

    def conversation_summary(self, context: SuggestionContext, lifecycle_state: str) -> JsonObject:
        if not context.window:
            return context.response({"summary": {}})
        turns = [(m.role, m.content) for m in context.window]
        sections = summarize(turns, completed=lifecycle_state == COMPLETED)
        summary = {
            "text": "\n".join(f"{name.title()}: {text}" for name, text in sections.items()),
            "textSections": sections,
            "sortedTextSections": [{"section": name, "summary": text} for name, text in sections.items()],
            "answerRecord": self._record(context.scope, {}),
            "baselineModelVersion": SUMMARY_MODEL_VERSION,
        }
        return context.response({"summary": summary})

    def generator_suggestions(self, context: SuggestionContext) -> JsonObject:
        """A GenerateSuggestionsResponse: the free-form generator's advice for the customer's last turn."""
        answers = []
        if context.customer_text is not None:
            suggestion = _free_form(context.customer_text)
            answers.append({
                "generatorSuggestion": suggestion,
                "sourceGenerator": f"{context.scope.prefix}/generators/{FREE_FORM_GENERATOR_ID}",
                "answerRecord": self._record(context.scope, {"generatorSuggestion": suggestion}),
            })
        body: JsonObject = {"generatorSuggestionAnswers": answers}
        if context.latest_message_name:
            body["latestMessage"] = context.latest_message_name
        return body

    def search_knowledge(self, scope: Scope, query: str) -> JsonObject:
        matches = knowledge_base.match(query)[:MAX_ANSWERS]
        answers = [
            {
                "answer": m.topic.answer,
                "answerType": "FAQ",
                "answerSources": [{"title": m.topic.title, "uri": m.topic.uri, "snippet": m.topic.snippet}],
                "answerRecord": self._record(scope, {}),
            }
            for m in matches
        ]
        return {"answers": answers, "rewrittenQuery": matches[0].topic.search_query}

    def _article(self, scope: Scope, match: Match) -> JsonObject:
        topic = match.topic
        answer = {
            "title": topic.title,
            "uri": topic.uri,
            "snippets": [topic.snippet],
            "confidence": match.confidence,
            "metadata": {"document_display_name": topic.title},
        }
        return {**answer, "answerRecord": self._record(scope, {"articleSuggestionAnswer": answer})}

    def _faq(self, scope: Scope, match: Match) -> JsonObject:
        topic = match.topic
        answer = {
            "answer": topic.answer,
            "confidence": match.confidence,
            "question": topic.question,
            "source": f"projects/{scope.project}/knowledgeBases/{KNOWLEDGE_BASE_ID}/documents/{topic.key}",
            "metadata": {},
        }
        return {**answer, "answerRecord": self._record(scope, {"faqAnswer": answer})}

    def _record(self, scope: Scope, agent_assistant_record: JsonObject) -> str:
        return self._store.create_answer_record(scope, agent_assistant_record)


# The participant-level methods, ``POST .../participants/P/suggestions:{method}``.
PARTICIPANT_METHODS: dict[str, Callable[[SuggestionEngine, SuggestionContext], JsonObject]] = {
    "suggestArticles": SuggestionEngine.articles,
    "suggestFaqAnswers": SuggestionEngine.faq_answers,
    "suggestSmartReplies": SuggestionEngine.smart_replies,
    "suggestKnowledgeAssist": SuggestionEngine.knowledge_assist,
}


def generate_stateless(generator: JsonObject, turns: list[tuple[str, str]]) -> JsonObject:
    """A GeneratorSuggestion: a summary for summarization generators, otherwise free-form advice."""
    if "summarizationContext" in generator:
        sections = summarize(turns, completed=False)
        return {
            "summarySuggestion": {"summarySections": [{"section": k, "summary": v} for k, v in sections.items()]}
        }
    return _free_form(next((text for role, text in reversed(turns) if role == "END_USER"), ""))


def _free_form(customer_text: str) -> JsonObject:
    """A free-form GeneratorSuggestion: the agent's next step for what the customer wrote."""
    return {"freeFormSuggestion": {"response": knowledge_base.match(customer_text)[0].topic.agent_action}}


def summarize(turns: Iterable[tuple[str, str]], completed: bool) -> dict[str, str]:
    """Situation, action and resolution sections, from ``(role, text)`` turns."""
    turns = list(turns)
    customer_turns = [text for role, text in turns if role == "END_USER"]
    agent_turns = [text for role, text in turns if role in ("HUMAN_AGENT", "AUTOMATED_AGENT")]
    phrases = list(
        dict.fromkeys(m.topic.summary_phrase for text in customer_turns for m in knowledge_base.match(text))
    )
    return {
        "situation": f"The customer asked about {_join(phrases)}."
        if phrases
        else "The customer has not written yet.",
        "action": f"The agent replied in {len(agent_turns)} message(s)."
        if agent_turns
        else "The agent has not replied yet.",
        "resolution": "The conversation has ended." if completed else "The conversation is still in progress.",
    }


def _matches(context: SuggestionContext) -> list[Match]:
    text = context.customer_text
    return [] if text is None else knowledge_base.match(text)


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
