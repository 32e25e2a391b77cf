"""Feedback on suggested answers: answerRecords.patch, as the agent desktop sends it."""

from __future__ import annotations

import pytest

from .conftest import PROJECT


@pytest.fixture
def faq_answer(api, customer) -> dict:
    results = api.say(customer, "How do I get a refund?")["humanAgentSuggestionResults"]
    return results[1]["suggestFaqAnswersResponse"]["faqAnswers"][0]


def test_feedback_is_recorded_and_echoed(api, client, faq_answer):
    feedback = {"clicked": True, "clickTime": "2026-02-26T19:14:02.000Z", "correctnessLevel": "FULLY_CORRECT"}

    response = api.feedback(faq_answer["answerRecord"], feedback)

    assert response.status_code == 200
    assert response.json["name"] == faq_answer["answerRecord"]
    assert response.json["answerFeedback"] == feedback
    recorded_answer = response.json["agentAssistantRecord"]["faqAnswer"]
    assert recorded_answer["question"] == faq_answer["question"]
    received = client.get("/emulator/feedback").json["feedback"]
    assert [(f["answerRecord"], f["answerFeedback"]) for f in received] == [(faq_answer["answerRecord"], feedback)]


def test_feedback_is_listed_in_the_order_received(api, client, customer):
    results = api.say(customer, "Can I pick a window seat?")["humanAgentSuggestionResults"]
    article = results[0]["suggestArticlesResponse"]["articleAnswers"][0]["answerRecord"]
    reply = results[2]["suggestSmartRepliesResponse"]["smartReplyAnswers"][0]["answerRecord"]

    api.feedback(article, {"displayed": True})
    api.feedback(reply, {"clicked": True})
    api.feedback(article, {"clicked": True})

    received = client.get("/emulator/feedback").json["feedback"]
    assert [(f["answerRecord"], f["answerFeedback"]) for f in received] == [
        (article, {"displayed": True}),
        (reply, {"clicked": True}),
        (article, {"clicked": True}),
    ]


def test_feedback_through_the_location_less_name(api, client, faq_answer):
    record_id = faq_answer["answerRecord"].rsplit("/", 1)[1]
    response = api.feedback(f"projects/{PROJECT}/answerRecords/{record_id}", {"clicked": True})
    assert response.status_code == 200
    assert response.json["name"] == f"projects/{PROJECT}/answerRecords/{record_id}"
    assert client.get("/emulator/feedback").json["feedback"][0]["answerRecord"] == faq_answer["answerRecord"]


@pytest.mark.parametrize(
    "record",
    [
        f"projects/{PROJECT}/locations/global/answerRecords/unknown",
        "projects/other-project/locations/global/answerRecords/RECORD",
        f"projects/{PROJECT}/locations/us-central1/answerRecords/RECORD",
    ],
)
def test_unknown_answer_record_is_404(api, client, faq_answer, record):
    record = record.replace("RECORD", faq_answer["answerRecord"].rsplit("/", 1)[1])
    response = api.feedback(record, {"clicked": True})
    assert response.status_code == 404
    assert response.json["error"]["message"] == f"AnswerRecord {record} not found."
    assert client.get("/emulator/feedback").json["feedback"] == []


@pytest.mark.parametrize(
    "mask,body",
    [
        ("", {"answerFeedback": {"clicked": True}}),
        ("name", {"answerFeedback": {"clicked": True}}),
        ("answerFeedback", {}),
        ("answerFeedback", {"answerFeedback": "clicked"}),
    ],
)
def test_bad_feedback_requests_are_400(api, client, faq_answer, mask, body):
    response = client.patch(api.url(f"{faq_answer['answerRecord']}?updateMask={mask}"), json=body)
    assert response.status_code == 400
    assert client.get("/emulator/feedback").json["feedback"] == []


def test_snake_case_update_mask_is_accepted(api, faq_answer):
    assert api.feedback(faq_answer["answerRecord"], {"clicked": True}, mask="answer_feedback").status_code == 200
