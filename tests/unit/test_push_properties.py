"""Properties of push parsing (cloud_pubsub_interceptor/push.py): any JSON object either becomes an Event
or is refused with the documented 400, never an exception; valid pushes round-trip, wrapped or not."""
from __future__ import annotations

import base64
import json

import fakeredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aa_common.config import Env
from aa_common.conversations import normalize_conversation_name
from aa_common.events import EventKind
from cloud_pubsub_interceptor.app import create_app
from cloud_pubsub_interceptor.config import InterceptorConfig
from cloud_pubsub_interceptor.push import MESSAGE_ID_HEADER, PUBLISH_TIME_HEADER, InvalidPush, read_push, to_event
from tests.unit.test_conversation_name_properties import conversation_names

FAST = settings(max_examples=150, deadline=None)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                                max_size=4),
                           max_leaves=12)
message_ids = st.text(min_size=1, max_size=256).filter(str.strip)
attributes = st.dictionaries(st.sampled_from(["participant_role", "message_id", "other"]), st.text(), max_size=3)
# A Dialogflow notification: its conversation and whatever else; never a top-level "message", which
# would make an unwrapped push look wrapped (no Dialogflow notification has one).
notifications = st.builds(lambda name, rest: {**rest, "conversation": name}, conversation_names(),
                          st.dictionaries(st.text().filter(lambda key: key not in ("conversation", "message")),
                                          json_values, max_size=4))


def b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


# Objects shaped like envelopes reach past the first checks: a message of the usual fields, each anything.
envelope_fields = st.sampled_from(["data", "messageId", "message_id", "publishTime", "attributes"])
envelopes = st.fixed_dictionaries({"message": st.dictionaries(
    envelope_fields, json_values | notifications.map(b64) | json_values.map(b64), max_size=5)})
headers = st.dictionaries(st.sampled_from([MESSAGE_ID_HEADER, PUBLISH_TIME_HEADER, "participant_role"]),
                          st.text(), max_size=3)


@FAST
@given(st.dictionaries(st.text(), json_values) | envelopes | notifications, headers, st.sampled_from(EventKind))
def test_any_json_object_is_an_event_or_refused_never_an_exception(body, header_values, kind):
    try:
        event = to_event(read_push(json.dumps(body).encode(), header_values), kind)
    except InvalidPush as refusal:
        assert str(refusal)
        return
    assert event.data_type == kind
    assert event.conversation_name == normalize_conversation_name(event.conversation_name)


@pytest.fixture(scope="module")
def interceptor():
    app = create_app(InterceptorConfig.from_env(Env({})), redis_client=fakeredis.FakeRedis(decode_responses=True))
    return app.test_client()


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.text(), json_values) | envelopes, kind=st.sampled_from(EventKind))
def test_the_route_answers_204_or_the_documented_400(interceptor, body, kind):
    response = interceptor.post(f"/{kind}", data=json.dumps(body))
    assert response.status_code in (204, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        error = response.get_json()["error"]
        assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT") and error["message"]


def expect_event(event, notification: dict, kind: EventKind, message_id: str, publish_time: str, sent: dict):
    assert event.conversation_name == normalize_conversation_name(notification["conversation"])
    assert json.loads(event.data) == notification
    assert (event.data_type, event.message_id) == (kind, message_id)
    assert event.publish_time == publish_time or (not publish_time and event.publish_time.endswith("Z"))
    carried = {field: sent.get(attribute) for field, attribute in kind.attribute_fields.items()}
    assert {field: getattr(event, field) for field in carried} == carried
    assert json.loads(event.to_json()) == {name: value for name, value in vars(event).items() if value is not None}


@FAST
@given(notifications, st.sampled_from(EventKind), message_ids, st.text(), attributes)
def test_a_wrapped_push_round_trips(notification, kind, message_id, publish_time, sent):
    envelope = {"message": {"data": b64(notification), "messageId": message_id, "publishTime": publish_time,
                            "attributes": sent}, "subscription": "projects/p/subscriptions/s"}
    event = to_event(read_push(json.dumps(envelope).encode(), {}), kind)
    expect_event(event, notification, kind, message_id, publish_time, sent)


@FAST
@given(notifications, st.sampled_from(EventKind), message_ids, st.text(), attributes)
def test_an_unwrapped_push_round_trips(notification, kind, message_id, publish_time, sent):
    header_values = {MESSAGE_ID_HEADER: message_id, PUBLISH_TIME_HEADER: publish_time, **sent}
    event = to_event(read_push(json.dumps(notification).encode(), header_values), kind)
    expect_event(event, notification, kind, message_id, publish_time, sent)
