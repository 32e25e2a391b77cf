"""Concurrent requests to the emulator under gunicorn: nothing lost, notifications in message order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from aa_common.events import EventKind

pytestmark = pytest.mark.e2e

PARENT = "projects/busy-proj/locations/global"
TURNS_EACH = 10


def post(url: str, body: dict) -> dict:
    response = requests.post(url, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def test_concurrent_turns_are_all_kept_and_notified_in_the_order_they_were_stored(emulator_server):
    api = f"{emulator_server.url}/v2"
    conversation = post(
        f"{api}/{PARENT}/conversations", {"conversationProfile": f"{PARENT}/conversationProfiles/p"}
    )["name"]
    participants = [
        post(f"{api}/{conversation}/participants", {"role": role})["name"]
        for role in ("END_USER", "HUMAN_AGENT", "END_USER", "HUMAN_AGENT")
    ]

    def talk(speaker: int) -> None:
        for turn in range(TURNS_EACH):
            post(f"{api}/{participants[speaker]}:analyzeContent", {"textInput": {"text": f"{speaker}-{turn}"}})

    with ThreadPoolExecutor(len(participants)) as pool:
        list(pool.map(talk, range(len(participants))))

    messages = requests.get(f"{api}/{conversation}/messages?pageSize=1000", timeout=10).json()["messages"]
    assert len(messages) == len(participants) * TURNS_EACH
    for speaker, participant in enumerate(participants):
        own = [m["content"] for m in reversed(messages) if m["participant"] == participant]
        assert own == [f"{speaker}-{turn}" for turn in range(TURNS_EACH)]
    notifications = requests.get(f"{emulator_server.url}/emulator/notifications", timeout=10).json()[
        "notifications"
    ]
    notified = [
        n["data"]["newMessagePayload"]["name"]
        for n in notifications
        if n["conversation"] == conversation and n["kind"] == EventKind.NEW_MESSAGE
    ]
    assert notified == [m["name"] for m in reversed(messages)]
