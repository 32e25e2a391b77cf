"""The OpenAPI descriptions: valid OpenAPI 3.1, committed as the code generates them, served as
committed, and naming exactly the routes each Flask app has."""
from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from werkzeug.exceptions import HTTPException

from aa_common.events import EVENT_TYPES
from aa_common.api_documents import render
from cloud_pubsub_interceptor import openapi as interceptor_openapi
from ui_connector import dialogflow_proxy
from ui_connector import openapi as connector_openapi

SERVICES = {
    "interceptor": (interceptor_openapi, "make_interceptor"),
    "ui-connector": (connector_openapi, "make_connector"),
}
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Flask answers them for every route by itself
PROXY_ENDPOINT = "dialogflow_proxy.proxy"


@pytest.fixture(params=list(SERVICES))
def service(request):
    module, app_fixture = SERVICES[request.param]
    return module, request.getfixturevalue(app_fixture)()


def test_the_committed_description_is_what_the_code_generates(service):
    module, _ = service

    assert module.DOCUMENT.main(["--check"]) == 0, "run `make api-docs` and commit docs/api/"
    assert module.DOCUMENT.path.read_text() == render(module.build())


def test_the_service_serves_the_committed_description(service):
    module, app = service
    response = app.test_client().get("/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_data(as_text=True) == module.DOCUMENT.path.read_text()


def test_the_description_is_valid_openapi_3_1(service):
    module, _ = service
    document = module.build()

    assert document["openapi"].startswith("3.1.")
    assert [str(error) for error in OPENAPI_31_VALIDATOR.iter_errors(document)] == []
    for schema in _schemas(document):
        jsonschema_rs.meta.validate(schema)
    operations = [result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()]
    assert len(operations) == sum(len(item) for item in document["paths"].values())


def test_every_route_is_described_and_every_described_operation_is_routed(service):
    module, app = service
    document = module.build()
    adapter = app.url_map.bind("localhost")
    reached, unrouted = set(), []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            concrete = _sample_path(document, path, operation)
            try:
                endpoint, _ = adapter.match(concrete, method.upper())
                if endpoint == PROXY_ENDPOINT:
                    dialogflow_proxy.match(method.upper(), concrete)  # its catch-all rule serves the allow-list only
            except (HTTPException, dialogflow_proxy.UnknownRoute, dialogflow_proxy.MethodNotAllowed):
                unrouted.append(f"{method.upper()} {path}")
                continue
            reached.add((endpoint, method.upper()))

    assert unrouted == [], "described, but not routed"
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if not _static(rule.endpoint)
              for method in rule.methods - IGNORED_METHODS}
    assert routes - reached == set(), "routes the description lacks"


def test_every_operation_documents_its_errors_in_the_services_shape(service):
    module, _ = service
    document = module.build()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                response = _resolve(document, response)
                if status.startswith(("4", "5")) or status == "default":
                    assert "application/json" in response["content"], (method, path, status)


def _static(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def _sample_path(document: dict, path: str, operation: dict) -> str:
    """``path`` with each parameter replaced by its first example (or allowed value)."""
    parameters = {parameter["name"]: parameter["schema"]
                  for parameter in (_resolve(document, p) for p in operation.get("parameters", []))
                  if parameter["in"] == "path"}

    def sample(placeholder: re.Match) -> str:
        schema = parameters[placeholder[1]]
        return (schema.get("examples") or schema["enum"])[0]

    return re.sub(r"\{(\w+)\}", sample, path)


def _resolve(document: dict, value: dict) -> dict:
    """A ``#/components/<kind>/<name>`` reference's target, or ``value`` itself."""
    while "$ref" in value:
        _, kind, name = value["$ref"].removeprefix("#/").split("/")
        value = document["components"][kind][name]
    return value


def _schemas(document: dict) -> list[Any]:
    """Every schema object of the document, wherever it is."""
    found = []

    def walk(value: Any, key: str | None = None) -> None:
        if key == "schema" or key == "contentSchema":
            found.append(value)
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    return found + list(document["components"]["schemas"].values())


def test_the_documented_push_example_is_a_push_the_interceptor_stores(make_interceptor):
    document = interceptor_openapi.build()
    client = make_interceptor().test_client()
    for data_type in EVENT_TYPES:
        body = document["paths"][f"/{data_type}"]["post"]["requestBody"]["content"]["application/json"]
        for example in body["examples"].values():
            assert client.post(f"/{data_type}", json=example["value"]).status_code == 204, data_type
