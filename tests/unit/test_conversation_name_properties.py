"""Properties of conversation-name normalisation (aa_common/conversations.py): idempotent, location-free,
the same for both forms of a name, anything else refused; and the AsyncAPI document's patterns accept
exactly what the code does."""
from __future__ import annotations

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aa_common.conversations import (CONVERSATION_KEY_PATTERN, CONVERSATION_NAME_PATTERN, ConversationName,
                                     InvalidConversationName, normalize_conversation_name)
from ui_connector.asyncapi import build_document

FAST = settings(max_examples=300, deadline=None)
_FIRST = "ABCXYZabcxyz0189"
_REST = _FIRST + "._:~-"


def segments() -> st.SearchStrategy[str]:
    """A project, location or conversation id as the names allow: a letter or digit, then up to 127 more."""
    return st.builds(str.__add__, st.sampled_from(_FIRST), st.text(_REST, max_size=127))


def conversation_names() -> st.SearchStrategy[str]:
    """Valid names, with or without a location."""
    return st.builds(lambda project, place, conversation: f"projects/{project}"
                     + (f"/locations/{place}" if place is not None else "") + f"/conversations/{conversation}",
                     segments(), st.none() | segments(), segments())


# Text near the shape of a name: its words, slashes, and odd characters, so that some of it almost parses.
near_names = st.lists(st.sampled_from(["projects", "locations", "conversations", "/", "p", "-", ".", " ", "\n",
                                       "é", "٣", "", "a" * 130]), max_size=9).map("".join)


@FAST
@given(conversation_names())
def test_normalising_is_idempotent_and_drops_the_location(name):
    key = normalize_conversation_name(name)
    assert normalize_conversation_name(key) == key
    assert "/locations/" not in key
    parsed = ConversationName.parse(name)
    assert key == f"projects/{parsed.project}/conversations/{parsed.conversation}"


@FAST
@given(segments(), segments(), segments())
def test_both_forms_of_a_name_are_one_conversation(project, location, conversation):
    short = f"projects/{project}/conversations/{conversation}"
    assert normalize_conversation_name(f"projects/{project}/locations/{location}/conversations/{conversation}") == short
    assert normalize_conversation_name(short) == short


@FAST
@given(st.text() | near_names | conversation_names().map(lambda name: name + "/"))
def test_anything_else_is_refused_with_invalid_conversation_name(text):
    try:
        key = normalize_conversation_name(text)
    except InvalidConversationName:
        return
    assert key == normalize_conversation_name(key)


@given(st.none() | st.integers() | st.lists(st.text()) | st.dictionaries(st.text(), st.text()))
@settings(max_examples=50, deadline=None)
def test_what_is_not_text_is_refused(value):
    with pytest.raises(InvalidConversationName):
        normalize_conversation_name(value)


@pytest.fixture(scope="module")
def documented():
    schemas = build_document()["components"]["schemas"]
    return {pattern: jsonschema_rs.Draft7Validator(schemas[name])
            for name, pattern in (("ConversationName", CONVERSATION_NAME_PATTERN),
                                  ("ConversationKey", CONVERSATION_KEY_PATTERN))}


@FAST
@given(text=st.text() | near_names | conversation_names())
def test_the_documented_patterns_accept_exactly_what_the_code_does(documented, text):
    try:
        key = normalize_conversation_name(text)
    except InvalidConversationName:
        key = None
    assert documented[CONVERSATION_NAME_PATTERN].is_valid(text) == (key is not None)
    assert documented[CONVERSATION_KEY_PATTERN].is_valid(text) == (key == text)
