"""The AsyncAPI document of the Socket.IO API: committed as the code builds it, valid AsyncAPI 3.0, served."""
from __future__ import annotations

import inspect
import json
from pathlib import Path

import jsonschema_rs
import pytest

from aa_common.events import EVENT_TYPES
from tests.asyncapi_contract import SocketContract
from ui_connector.asyncapi import CLIENT_EVENTS, DOCUMENT_PATH, build_document, document_json, main
from ui_connector.sockets import JOIN_CONVERSATION, UNAUTHENTICATED_EVENT, DesktopNamespace, Refusal, event_name

# The official JSON Schema of AsyncAPI 3.0.0 documents (npm @asyncapi/specs, installed by `make install`).
ASYNCAPI_SCHEMA = Path(__file__).resolve().parents[2] / "node_modules/@asyncapi/specs/schemas/3.0.0.json"


def refs(node: object):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_the_committed_document_is_the_one_the_code_builds():
    assert main(["--check"]) == 0, "run `python -m ui_connector.asyncapi` and commit docs/api/"
    assert DOCUMENT_PATH.read_text() == document_json()


def test_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "stale.json"
    stale.write_text(document_json().replace(JOIN_CONVERSATION, "join"))
    assert main(["--check", str(stale)]) == 1
    assert main(["--check", str(tmp_path / "missing.json")]) == 1
    assert main([str(stale)]) == 0 and stale.read_text() == document_json()


def test_the_document_is_valid_asyncapi_3():
    assert ASYNCAPI_SCHEMA.is_file(), "npm's @asyncapi/specs is missing: run `make install`"
    validator = jsonschema_rs.validator_for(json.loads(ASYNCAPI_SCHEMA.read_text()))
    errors = [str(error) for error in validator.iter_errors(build_document())]
    assert not errors, "\n\n".join(errors)


def test_every_reference_resolves():
    document = build_document()
    for ref in refs(document):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
            node = node[part]


def test_every_client_event_the_connector_answers_is_documented():
    answered = {event_name(handler) for name, handler in inspect.getmembers(DesktopNamespace, inspect.isfunction)
                if name.startswith("on_") and name not in ("on_connect", "on_disconnect")}
    assert {event.name for event in CLIENT_EVENTS} == answered
    assert SocketContract(build_document()).acknowledged_events() == answered


def test_the_server_events_are_the_event_kinds_and_unauthenticated():
    assert SocketContract(build_document()).server_events() == {*EVENT_TYPES, UNAUTHENTICATED_EVENT}


def test_refusal_codes_are_documented_with_their_meaning():
    refusal = build_document()["components"]["schemas"]["Refusal"]["items"][2]
    assert refusal["enum"] == [code.value for code in Refusal]
    assert all(code.meaning in refusal["description"] for code in Refusal)


@pytest.mark.parametrize("answer", [[True, "projects/p/conversations/c"],
                                    [False, "a reason", Refusal.INVALID_ARGUMENT.value]])
def test_acks_validate(answer):
    SocketContract(build_document()).check_ack(JOIN_CONVERSATION, answer)


@pytest.mark.parametrize("answer", [[True, "projects/p/locations/l/conversations/c"], [True], [False, "a reason"],
                                    [False, "a reason", "NOT_A_CODE"], [True, "projects/p/conversations/c", 1]])
def test_malformed_acks_do_not_validate(answer):
    with pytest.raises(jsonschema_rs.ValidationError):
        SocketContract(build_document()).check_ack(JOIN_CONVERSATION, answer)


def test_the_connector_serves_the_document(make_connector):
    response = make_connector().test_client().get("/asyncapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_data(as_text=True) == document_json()
