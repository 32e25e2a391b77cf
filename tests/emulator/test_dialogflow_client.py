"""The official google-cloud-dialogflow client (REST transport) against the emulator running under
its gunicorn command line: proof that the emulator speaks Dialogflow's wire format."""

from __future__ import annotations

import google.auth.credentials
import pytest
import requests
from google.api_core import exceptions
from google.cloud import dialogflow_v2, dialogflow_v2beta1
from google.protobuf import field_mask_pb2

pytestmark = pytest.mark.e2e

PARENT = "projects/client-proj/locations/global"


class Clients:
    def __init__(self, dialogflow, url: str) -> None:
        options = {
            "credentials": google.auth.credentials.AnonymousCredentials(),
            "transport": "rest",
            "client_options": {"api_endpoint": url},
        }
        self.conversations = dialogflow.ConversationsClient(**options)
        self.participants = dialogflow.ParticipantsClient(**options)
        self.answer_records = dialogflow.AnswerRecordsClient(**options)
        self.profiles = dialogflow.ConversationProfilesClient(**options)


@pytest.mark.parametrize("dialogflow", [dialogflow_v2, dialogflow_v2beta1], ids=["v2", "v2beta1"])
def test_a_conversation_with_suggestions_and_feedback(emulator_server, dialogflow):
    df = Clients(dialogflow, emulator_server.url)
    Role = dialogflow.Participant.Role

    profile = df.profiles.get_conversation_profile(name=f"{PARENT}/conversationProfiles/airline")
    conversation = df.conversations.create_conversation(
        parent=PARENT, conversation=dialogflow.Conversation(conversation_profile=profile.name)
    )
    assert conversation.lifecycle_state == dialogflow.Conversation.LifecycleState.IN_PROGRESS
    agent = df.participants.create_participant(
        parent=conversation.name, participant=dialogflow.Participant(role=Role.HUMAN_AGENT)
    )
    customer = df.participants.create_participant(
        parent=conversation.name, participant=dialogflow.Participant(role=Role.END_USER)
    )

    response = df.participants.analyze_content(
        participant=customer.name,
        text_input=dialogflow.TextInput(text="I need to change my flight to Friday.", language_code="en-US"),
    )

    assert isinstance(response, dialogflow.AnalyzeContentResponse)
    assert response.message.participant_role == Role.END_USER
    assert response.message.content == "I need to change my flight to Friday."
    results = response.human_agent_suggestion_results
    assert results[0].suggest_articles_response.article_answers[0].title == "Change a booking"
    faq = results[1].suggest_faq_answers_response.faq_answers[0]
    assert faq.question == "How do I change my flight?"
    assert results[2].suggest_smart_replies_response.smart_reply_answers[0].reply
    assert results[3].suggest_knowledge_assist_response.knowledge_assist_answer.suggested_query.query_text

    record = df.answer_records.update_answer_record(
        answer_record=dialogflow.AnswerRecord(
            name=faq.answer_record, answer_feedback=dialogflow.AnswerFeedback(clicked=True)
        ),
        update_mask=field_mask_pb2.FieldMask(paths=["answer_feedback"]),
    )
    assert record.answer_feedback.clicked
    feedback = requests.get(f"{emulator_server.url}/emulator/feedback", timeout=5).json()["feedback"]
    assert {"answerRecord": faq.answer_record, "answerFeedback": {"clicked": True}}.items() <= feedback[-1].items()

    df.participants.analyze_content(
        participant=agent.name, text_input=dialogflow.TextInput(text="Sure, which day?", language_code="en-US")
    )
    replies = df.participants.suggest_smart_replies(parent=agent.name)
    assert replies.smart_reply_answers and replies.context_size == 2
    messages = list(df.conversations.list_messages(parent=conversation.name))
    assert [m.content for m in messages] == ["Sure, which day?", "I need to change my flight to Friday."]
    summary = df.conversations.suggest_conversation_summary(conversation=conversation.name)
    assert summary.summary.text_sections["situation"] == "The customer asked about changing a flight."

    completed = df.conversations.complete_conversation(name=conversation.name)
    assert completed.lifecycle_state == dialogflow.Conversation.LifecycleState.COMPLETED
    assert completed.end_time >= completed.start_time


@pytest.mark.parametrize("dialogflow", [dialogflow_v2, dialogflow_v2beta1], ids=["v2", "v2beta1"])
def test_errors_become_the_clients_typed_exceptions(emulator_server, dialogflow):
    df = Clients(dialogflow, emulator_server.url)
    with pytest.raises(exceptions.NotFound, match=r"Conversation .*/conversations/nope not found"):
        df.conversations.get_conversation(name=f"{PARENT}/conversations/nope")
    with pytest.raises(exceptions.BadRequest, match="conversation_profile"):
        df.conversations.create_conversation(parent=PARENT, conversation=dialogflow.Conversation())


def test_participants_update_and_list_in_the_location_less_form(emulator_server):
    df = Clients(dialogflow_v2, emulator_server.url)
    conversation = df.conversations.create_conversation(
        parent="projects/client-proj",
        conversation=dialogflow_v2.Conversation(
            conversation_profile="projects/client-proj/conversationProfiles/p"
        ),
    )
    customer = df.participants.create_participant(
        parent=conversation.name,
        participant=dialogflow_v2.Participant(role=dialogflow_v2.Participant.Role.END_USER),
    )

    updated = df.participants.update_participant(
        participant=dialogflow_v2.Participant(name=customer.name, obfuscated_external_user_id="user-7"),
        update_mask=field_mask_pb2.FieldMask(paths=["obfuscated_external_user_id"]),
    )

    assert conversation.name.startswith("projects/client-proj/conversations/")
    assert updated.obfuscated_external_user_id == "user-7"
    assert [p.name for p in df.participants.list_participants(parent=conversation.name)] == [customer.name]
