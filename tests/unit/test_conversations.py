import pytest

from aa_common.conversations import ConversationName, InvalidConversationName, normalize_conversation_name


@pytest.mark.parametrize("name", ["projects/p-1/conversations/C_1", "projects/p-1/locations/us-central1/conversations/C_1"])
def test_both_forms_normalise_to_the_location_free_name(name):
    assert normalize_conversation_name(name) == "projects/p-1/conversations/C_1"


def test_parse_keeps_project_location_and_id():
    parsed = ConversationName.parse("projects/my-proj/locations/global/conversations/CONV")
    assert (parsed.project, parsed.location, parsed.conversation) == ("my-proj", "global", "CONV")


@pytest.mark.parametrize("name", [None, "", 7, "projects/p/conversations/", "projects/p/conversations/C/messages/M",
                                  "projects//conversations/C", "projects/p/locations/conversations/C",
                                  " projects/p/conversations/C", "projects/p/conversations/C\n", "projects/p/conversations/C{x}"])
def test_anything_else_is_refused(name):
    with pytest.raises(InvalidConversationName):
        normalize_conversation_name(name)
