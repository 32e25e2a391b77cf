"""One way to read a JSON request body: anything undecodable, too deep or not proper text is a 400."""
from __future__ import annotations

import pytest
from flask import Flask, jsonify

from aa_common.http import MAX_JSON_DEPTH, install_error_handlers, json_object


@pytest.fixture
def client():
    app = Flask(__name__)
    install_error_handlers(app)

    @app.post("/required")
    def required():
        return jsonify(json_object())

    @app.post("/optional")
    def optional():
        return jsonify(json_object(required=False))

    return app.test_client()


def nested(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b"[]" + b"}" * (depth - 1)


@pytest.mark.parametrize("body,expected", [
    (b'{"user": "agent"}', {"user": "agent"}),
    (b'{"emoji": "\\ud83d\\ude00"}', {"emoji": "\N{GRINNING FACE}"}),  # a surrogate pair is one character
    (b'{"text": "\\\\ud800"}', {"text": "\\ud800"}),  # an escaped backslash: six ordinary characters
    (b'{"brackets": "[[[[{{{{"}', {"brackets": "[[[[{{{{"}),  # inside a string, brackets do not nest
    ("{\"name\": \"Zoë\"}".encode(), {"name": "Zoë"}),
])
def test_valid_bodies_are_read_whatever_the_content_type(client, body, expected):
    response = client.post("/required", data=body, content_type="text/plain")
    assert response.status_code == 200 and response.get_json() == expected


def test_nesting_up_to_the_limit_is_read_and_one_level_more_is_refused(client):
    assert client.post("/required", data=nested(MAX_JSON_DEPTH)).status_code == 200
    response = client.post("/required", data=nested(MAX_JSON_DEPTH + 1))
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == f"request body is nested deeper than {MAX_JSON_DEPTH} levels"


@pytest.mark.parametrize("path,body,problem", [
    ("/required", b"", "request body is empty; expected a JSON object"),
    ("/required", b"  \n", "request body is empty; expected a JSON object"),
    ("/optional", b"[1]", "request body must be a JSON object"),
    ("/required", b'"text"', "request body must be a JSON object"),
    ("/required", b"{'single': 'quotes'}", "request body is not JSON"),
    ("/required", b'{"a": 1} trailing', "request body is not JSON"),
    ("/required", b'{"a": "\xc3"}', "request body is not UTF-8 text"),
    ("/required", b'{"a": "\xed\xa0\x80"}', "request body is not UTF-8 text"),  # a surrogate encoded as bytes
    ("/required", b'{"a": ["\\udfff"]}', "not valid text"),
    ("/required", b'{"a": {"\\ud800x": 1}}', "not valid text"),
    ("/required", b"[" * 100000, "nested deeper than"),
])
def test_bad_bodies_get_a_400_naming_the_problem(client, path, body, problem):
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert problem in response.get_json()["error"]["message"]


def test_an_empty_optional_body_is_an_empty_object(client):
    response = client.post("/optional")
    assert response.status_code == 200 and response.get_json() == {}
