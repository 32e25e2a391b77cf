"""Properties of event ids (Redis stream ids) wherever the code parses them: ``parse_event_id``, a join's
``lastEventId``, a viewer's cursor, the resume cursors, and the replay's exclusive range; and the
AsyncAPI document's EventId pattern accepts what the code does."""
from __future__ import annotations

import fakeredis
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aa_common.config import RetentionSettings
from aa_common.event_store import EventStore, parse_event_id, stream_key
from tests.unit.test_conversation_name_properties import conversation_names
from ui_connector.asyncapi import build_document
from ui_connector.resume import ResumeCursors
from ui_connector.sockets import JoinRequest
from ui_connector.viewers import Viewer

FAST = settings(max_examples=200, deadline=None)
MAX_PART = 2**64 - 1
parts = st.integers(0, MAX_PART)
positions = st.tuples(parts, parts).filter(lambda pair: pair != (MAX_PART, MAX_PART))
event_ids = positions.map(lambda pair: f"{pair[0]}-{pair[1]}")
# Text near the shape of an id: runs of digits (ASCII and others: Python's \d takes both, Redis only
# ASCII) around a dash or something like one, and other pieces of ids.
digit_runs = st.text(st.sampled_from("07٣１"), min_size=1, max_size=3) | st.just("18446744073709551616")
near_ids = (st.builds(str.__add__, digit_runs, st.sampled_from(["-", "--", " -", "+", ""])).flatmap(
    lambda start: digit_runs.map(start.__add__))
    | st.lists(st.sampled_from(["0", "7", "-", "+", " ", "\n", "e"]), max_size=6).map("".join))


@FAST
@given(positions)
def test_an_id_parses_into_its_two_numbers(position):
    assert parse_event_id(f"{position[0]}-{position[1]}") == position


@FAST
@given(st.text() | near_ids | st.integers() | st.none())
def test_anything_else_is_a_value_error_and_what_parses_is_a_stream_id(value):
    try:
        position = parse_event_id(value)
    except ValueError:
        return
    assert value.isascii() and position == tuple(int(part) for part in value.split("-"))
    assert all(0 <= part <= MAX_PART for part in position)


@pytest.fixture(scope="module")
def documented_event_id():
    return jsonschema_rs.Draft7Validator(build_document()["components"]["schemas"]["EventId"])


@FAST
@given(value=st.text() | near_ids | event_ids)
def test_what_the_code_accepts_the_document_does(documented_event_id, value):
    try:
        parse_event_id(value)
    except ValueError:
        return
    assert documented_event_id.is_valid(value)


@FAST
@given(st.one_of(st.none(), st.text() | near_ids | event_ids, st.integers(), st.lists(st.text())))
def test_a_join_takes_exactly_the_last_event_ids_that_parse(last_event_id):
    message = {"conversationName": "projects/p/conversations/c", "lastEventId": last_event_id}
    try:
        if last_event_id is not None:
            parse_event_id(last_event_id)
    except ValueError:
        with pytest.raises(ValueError):
            JoinRequest(message)
        return
    assert JoinRequest(message).last_event_id == last_event_id


@FAST
@given(event_ids, st.lists(event_ids, max_size=20))
def test_a_viewer_is_sent_each_event_once_in_order(cursor, arriving):
    viewer = Viewer("sid", "eio", cursor)
    sent = [event_id for event_id in arriving if viewer.advance(event_id, parse_event_id(event_id))]
    expected, highest = [], parse_event_id(cursor)
    for event_id in arriving:
        if parse_event_id(event_id) > highest:
            expected.append(event_id)
            highest = parse_event_id(event_id)
    assert sent == expected
    assert viewer.cursor == (expected[-1] if expected else cursor)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(conversation_names(), event_ids, max_size=5))
def test_resume_cursors_come_back_as_saved(fake_redis, cursors):
    resume = ResumeCursors(fake_redis, ttl_seconds=60)
    resume.save("token-id", cursors)
    for conversation, cursor in cursors.items():
        assert resume.load("token-id", conversation) == cursor


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sets(st.tuples(st.integers(1, 2**48), st.integers(0, 2**20)), min_size=1, max_size=15),
       st.tuples(st.integers(0, 2**48), st.integers(0, 2**20)))
def test_the_replay_reads_exactly_the_events_after_a_cursor(fake_redis, stored, cursor):
    """The replay's exclusive range (Redis's order) and the viewers' cursors (parse_event_id's) agree."""
    fake_redis.flushall()
    store = EventStore(fake_redis, RetentionSettings(seconds=60, max_events_per_conversation=100))
    ids = [f"{ms}-{seq}" for ms, seq in sorted(stored)]
    for event_id in ids:
        fake_redis.xadd(stream_key("projects/p/conversations/c"), {"payload": "{}"}, id=event_id)
    after = f"{cursor[0]}-{cursor[1]}"
    replayed = [event.event_id for event in store.read_after("projects/p/conversations/c", after, len(ids))]
    assert replayed == [event_id for event_id in ids if parse_event_id(event_id) > parse_event_id(after)]
