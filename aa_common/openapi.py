"""What both services' OpenAPI 3.1 descriptions share: the document and its Google-shaped errors, the
answers to oversized and slow bodies, and the health, metrics and description routes.

Each service builds its document from its own code (``cloud_pubsub_interceptor.openapi``,
``ui_connector.openapi``), serves it at ``GET /openapi.json`` and has it committed in docs/api/
(``aa_common.api_documents``); tests/unit/test_openapi.py fails while the committed file, the code
and the Flask routes disagree.
"""
from __future__ import annotations

from typing import Any

from aa_common.api_documents import JSON, anchored, package_version
from aa_common.conversations import CONVERSATION_NAME_PATTERN
from aa_common.http import SECURITY_HEADERS, STATUS_NAMES

OPENAPI_VERSION = "3.1.0"
DOCUMENT_ROUTE = "/openapi.json"
Schema = dict[str, Any]

ERROR_SCHEMA: Schema = {
    "description": "A `google.rpc.Status`, the shape Google's REST APIs give their errors.",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "status"],
        "properties": {
            "code": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status."},
            "message": {"type": "string", "minLength": 1, "description": "What is wrong, for a person to read."},
            "status": {"type": "string", "description": "The `google.rpc.Code` name of the status."},
            "details": {"type": "array", "items": {"type": "object"}, "description": "Only from Google's APIs."},
        },
    }},
}
RETRY_AFTER = {"description": "Seconds to wait before trying again.", "required": True,
               "schema": {"type": "integer", "minimum": 0}}


def string_matching(regex: str, **keywords: Any) -> Schema:
    """A string schema: the whole of ``regex`` (see ``anchored``)."""
    return {"type": "string", "pattern": anchored(regex), **keywords}


CONVERSATION_NAME_SCHEMA = string_matching(
    CONVERSATION_NAME_PATTERN, description="A Dialogflow conversation name, with or without its location.",
    examples=["projects/my-project/locations/global/conversations/C1", "projects/my-project/conversations/C1"])


def json_content(schema: Schema, **media_type: Any) -> dict[str, Any]:
    return {JSON: {"schema": schema, **media_type}}


def json_response(description: str, schema: Schema, **response: Any) -> dict[str, Any]:
    return {"description": description, "content": json_content(schema), **response}


class OpenApiDocument:
    """An OpenAPI document being built: operations added by path and method, components as they are used."""

    def __init__(self, title: str, description: str):
        headers = ", ".join(f"`{name}: {value}`" for name, value in SECURITY_HEADERS)
        self._paths: dict[str, dict[str, Any]] = {}
        self._components: dict[str, dict[str, Any]] = {
            "schemas": {"Error": ERROR_SCHEMA}, "responses": {}, "parameters": {}, "headers": {},
            "securitySchemes": {}}
        self._document = {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": title,
                "version": package_version(),
                "license": {"name": "Apache 2.0", "identifier": "Apache-2.0"},
                "description": (f"{description}\n\nEvery error is JSON shaped like Google's (`Error`). Every "
                                f"response carries {headers} unless it sets its own `Content-Security-Policy`."),
            },
            "paths": self._paths,
            "components": self._components,
        }

    def add(self, method: str, path: str, operation: dict[str, Any]) -> None:
        operations = self._paths.setdefault(path, {})
        if method.lower() in operations:
            raise ValueError(f"{method} {path} is described twice")
        operations[method.lower()] = operation

    def schema(self, name: str, schema: Schema) -> Schema:
        """Keep ``schema`` as a component; the reference to it."""
        return self._component("schemas", name, schema)

    def response(self, name: str, response: dict[str, Any]) -> dict[str, str]:
        return self._component("responses", name, response)

    def parameter(self, name: str, parameter: dict[str, Any]) -> dict[str, str]:
        return self._component("parameters", name, parameter)

    def security_scheme(self, name: str, scheme: dict[str, Any]) -> list[dict[str, list]]:
        """Keep the scheme as a component; the security requirement that names it."""
        self._component("securitySchemes", name, scheme)
        return [{name: []}]

    def error(self, code: int, description: str, retry_after: bool = False) -> dict[str, Any]:
        """A response of the services' own error for ``code``; ``retry_after`` when it always says when to retry."""
        error = self.schema(f"Error{code}", {"allOf": [{"$ref": "#/components/schemas/Error"}, {"properties": {
            "error": {"properties": {"code": {"const": code}, "status": {"const": STATUS_NAMES[code]}}}}}]})
        response = json_response(description, error)
        if retry_after:
            response["headers"] = {"Retry-After": self._component("headers", "Retry-After", RETRY_AFTER)}
        return response

    def _component(self, kind: str, name: str, value: dict[str, Any]) -> dict[str, str]:
        if self._components[kind].setdefault(name, value) != value:
            raise ValueError(f"two different components are named {kind}/{name}")
        return {"$ref": f"#/components/{kind}/{name}"}

    def as_dict(self) -> dict[str, Any]:
        return {**self._document, "components": {kind: items for kind, items in self._components.items() if items}}


def body_limit_errors(document: OpenApiDocument) -> dict[str, dict[str, Any]]:
    """What ``aa_common.http.BodyLimit`` answers, before any route sees the request."""
    return {
        "408": document.error(408, "The request body did not arrive in time."),
        "413": document.error(413, "The request body is larger than `MAX_REQUEST_BYTES`."),
    }


def redis_unavailable(document: OpenApiDocument, what: str) -> dict[str, dict[str, Any]]:
    """The answer when Redis does not (``aa_common.http.install_error_handlers``)."""
    return {"503": document.error(503, f"Redis is unavailable: {what}; retry after `Retry-After`.", retry_after=True)}


def add_common_routes(document: OpenApiDocument, readiness: str) -> None:
    """The routes both services serve: ``/healthz``, ``/readyz`` (``readiness`` says what it checks),
    ``/metrics`` and the description itself."""
    def status(value: str) -> Schema:
        return {"type": "object", "required": ["status"], "properties": {"status": {"const": value}}}

    document.add("GET", "/healthz", {"operationId": "healthz", "summary": "Liveness: the process answers.",
                                     "responses": {"200": json_response("Alive.", status("ok"))}})
    document.add("GET", "/readyz", {"operationId": "readyz", "summary": f"Readiness: {readiness}.", "responses": {
        "200": json_response("Ready.", status("ready")),
        "503": document.error(503, "Not ready: a dependency is unavailable (the logs say which)."),
    }})
    document.add("GET", "/metrics", {"operationId": "metrics", "summary": "Prometheus metrics.", "responses": {
        "200": {"description": "The Prometheus text exposition format.",
                "content": {"text/plain": {"schema": {"type": "string"}}}},
    }})
    document.add("GET", DOCUMENT_ROUTE, {"operationId": "openapi", "summary": "This description.", "responses": {
        "200": json_response("The OpenAPI 3.1 description of this service.", {"type": "object"}),
    }})
