"""The per-session packet budget and the packet checks of the Socket.IO guard."""
from __future__ import annotations

import json

import pytest

from ui_connector.socket_guard import EventBudget, _event_problem
from ui_connector.sockets import JOIN_CONVERSATION, LEAVE_CONVERSATION


def test_a_burst_passes_then_the_rate_applies():
    budget = EventBudget(rate=20, burst=100, now=0.0)
    assert all(budget.take(0.0) for _ in range(100))
    assert not budget.take(0.0)
    assert budget.take(0.05)  # one more after 1/20 s
    assert not budget.take(0.05)


def test_a_quiet_session_gets_its_whole_burst_back_and_no_more():
    budget = EventBudget(rate=20, burst=100, now=0.0)
    for _ in range(100):
        budget.take(0.0)
    assert sum(budget.take(3600.0) for _ in range(150)) == 100


@pytest.mark.parametrize("packet,problem", [
    ("2" + json.dumps([JOIN_CONVERSATION, "projects/p/conversations/c"]), None),
    ("21" + json.dumps([LEAVE_CONVERSATION, {"conversationName": "x"}]), None),
    ('2["connect",{"token":"x"}]', "reserved event name"),
    ('2/other,7["disconnect"]', "reserved event name"),
    ('2{"not":"a list"}', "malformed packet"),
    ("2[]", "malformed packet"),
    ("2[42]", "malformed packet"),
])
def test_event_packets_are_checked(packet, problem):
    """Socket.IO packets as the guard sees them: the Engine.IO message payload, without its leading 4."""
    assert _event_problem(packet) == problem


def test_an_undecodable_event_packet_raises_value_error():
    with pytest.raises(ValueError):
        _event_problem(f'2["{JOIN_CONVERSATION}"')
