"""The UI connector's OpenAPI description, built from the code it describes: registration, the
``/conversation-name`` mappings, every method of the Dialogflow proxy's allow-list, the desktop page
and the health routes; the Socket.IO API at ``/socket.io/`` has an AsyncAPI document (``ui_connector.asyncapi``).

``python -m ui_connector.openapi [--check] [PATH]`` writes it to docs/api/ui-connector.openapi.json (or checks it).
"""
from __future__ import annotations

import sys
from typing import Any

from aa_common.api_documents import JSON, CommittedDocument
from aa_common.openapi import (
    CONVERSATION_NAME_SCHEMA,
    DOCUMENT_ROUTE,
    OpenApiDocument,
    add_common_routes,
    body_limit_errors,
    json_content,
    json_response,
    redis_unavailable,
    string_matching,
)
from ui_connector.conversation_names import MAX_KEY_LENGTH
from ui_connector.desktop_page import PAGE_POLICY, SOCKETIO_CLIENT_FILES
from ui_connector.dialogflow_proxy import (
    ALLOWED_METHODS,
    API_VERSIONS,
    LOCATION_ID,
    PLACEHOLDER,
    PROJECT_ID,
    RESOURCE_ID,
)
from ui_connector.registration import MAX_USER_LENGTH

INTEGRATION_KEY = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
                   "description": "What the platform knows the call by: a call id, a phone number, ...",
                   "examples": ["call-4711"]}


def build() -> dict[str, Any]:
    document = OpenApiDocument(
        "Agent Assist UI connector",
        "Gives agent desktops short-lived JWTs, maps platform call ids to Dialogflow conversations and "
        "proxies the Dialogflow REST calls a desktop makes. Desktops receive the conversation events over "
        "Socket.IO at `/socket.io/`, which `/asyncapi.json` describes.")
    jwt = document.security_scheme("desktopJwt", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A token from `/register` or `/register-app`. The bare token, without `Bearer `, is "
                       "accepted too."})
    _add_registration(document)
    _add_conversation_names(document, jwt)
    _add_proxy(document, jwt)
    _add_desktop_page(document)
    document.add("GET", "/status", {"operationId": "status", "summary": "Up, and how many conversations this "
                                    "instance watches; nothing about the deployment.", "responses": {
        "200": json_response("Up.", {"type": "object", "required": ["status", "conversations"], "properties": {
            "status": {"const": "ok"}, "conversations": {"type": "integer", "minimum": 0}}}),
    }})
    document.add("GET", "/asyncapi.json", {"operationId": "asyncapi", "summary": "The AsyncAPI 3.0 document of the "
                                          "Socket.IO API at `/socket.io/`.", "responses": {
        "200": json_response("The document.", {"type": "object"}),
    }})
    add_common_routes(document, "Redis answers and the Pub/Sub listener is turning")
    return document.as_dict()


def _refused(document: OpenApiDocument, why: str) -> dict[str, Any]:
    return {**document.error(401, why), "headers": {"WWW-Authenticate": {"required": True, "schema": {
        "type": "string"}}}}


def _uri_too_long(document: OpenApiDocument) -> dict[str, dict[str, Any]]:
    """gunicorn's own refusal (``ui_connector.worker``), for the operations whose URL a caller makes long."""
    return {"414": document.error(414, "The request line is longer than gunicorn's `limit_request_line`.")}


def _too_many(document: OpenApiDocument, what: str) -> dict[str, Any]:
    return document.error(429, f"Too many {what} in this minute, counted on every instance together.",
                          retry_after=True)


def _add_registration(document: OpenApiDocument) -> None:
    token = document.schema("Token", {"type": "object", "required": ["token"], "properties": {"token": {
        "type": "string", "description": "An HS256 JWT with `exp`, `iat`, `iss`, `aud`, `project` and, when a "
                                         "user was named, `sub`."}}})
    user = {"type": ["string", "null"], "description": f"The desktop identity, the token's `sub` (its first "
                                                       f"{MAX_USER_LENGTH} characters)."}
    answers = {
        "200": json_response("Registered.", token),
        "400": document.error(400, "The body is not a JSON object, or a user is not a string; the message says "
                                   "which."),
        **body_limit_errors(document),
        "429": _too_many(document, "failed registrations from this client (`REGISTER_FAILURES_PER_MINUTE`)"),
        **redis_unavailable(document, "registrations are counted there"),
    }
    document.add("POST", "/register", {
        "operationId": "register",
        "summary": "A desktop's platform credential for a JWT.",
        "description": "`check_auth` (ui_connector/auth.py) or the `AUTH_OPTION` provider judges the "
                       "`Authorization` header. A request without one is refused and not counted as a failure.",
        "security": document.security_scheme("platformCredential", {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "Whatever the desktop's platform issues, passed to `check_auth` as it is."}),
        "requestBody": {"required": False, "content": json_content({"type": "object", "properties": {
            "user": user, "userId": {**user, "description": "Read when `user` is absent or empty."}}})},
        "responses": {**answers, "401": _refused(document, "The credential was not accepted, or there is none.")},
    })
    document.add("POST", "/register-app", {
        "operationId": "registerApp",
        "summary": "An application's account credentials for a JWT (`APP_AUTH_OPTION=Twilio`).",
        "requestBody": {"required": True, "content": json_content({
            "type": "object", "required": ["accountSid", "authToken"],
            "properties": {"accountSid": {"type": "string"}, "authToken": {"type": "string"}, "user": user}})},
        "responses": {
            **answers,
            "401": _refused(document, "The account credentials were not accepted (or `APP_AUTH_OPTION` is unset)."),
            "415": document.error(415, "The `Content-Type` is not JSON."),
        },
    })


def _add_conversation_names(document: OpenApiDocument, jwt: list[dict[str, list]]) -> None:
    """The three methods of ``/conversation-name``, each counted against the caller's lookup budget."""
    key = {"name": "conversationIntegrationKey", "in": "query", "required": True, "schema": INTEGRATION_KEY}
    common = {
        "400": document.error(400, "A missing or malformed field; the message names it."),
        "401": _refused(document, "No valid JWT."),
        "429": _too_many(document, "requests from this desktop identity (`CONVERSATION_NAME_LOOKUPS_PER_MINUTE`)"),
        **redis_unavailable(document, "mappings are kept there"),
    }
    stored_elsewhere = "another desktop identity stored this key"
    document.add("POST", "/conversation-name", {
        "operationId": "setConversationName", "summary": "Map an integration key to a conversation.",
        "security": jwt,
        "requestBody": {"required": True, "content": json_content({
            "type": "object", "required": ["conversationIntegrationKey", "conversationName"],
            "properties": {"conversationIntegrationKey": INTEGRATION_KEY, "conversationName": CONVERSATION_NAME_SCHEMA},
        })},
        "responses": {
            "200": json_response("Stored, for `CONVERSATION_NAME_TTL_SECONDS`: the key and the name.", {
                "type": "object", "minProperties": 1, "maxProperties": 1,
                "additionalProperties": CONVERSATION_NAME_SCHEMA}, links=_same_key_links()),
            **common,
            "403": document.error(403, f"The conversation is of another project, or {stored_elsewhere}."),
            **body_limit_errors(document),
        },
    })
    document.add("GET", "/conversation-name", {
        "operationId": "getConversationName", "summary": "The conversation an integration key is mapped to.",
        "security": jwt, "parameters": [key],
        "responses": {
            "200": json_response("The name, or `\"\"` when the key is not mapped.", {
                "type": "object", "required": ["conversationName"], "properties": {
                    "conversationName": {"anyOf": [CONVERSATION_NAME_SCHEMA, {"const": ""}]}}}),
            **common,
            **_uri_too_long(document),
        },
    })
    document.add("DELETE", "/conversation-name", {
        "operationId": "deleteConversationName", "summary": "Remove a mapping this desktop identity stored.",
        "security": jwt, "parameters": [key],
        "responses": {
            "200": json_response("Removed.", {"type": "object", "required": ["deleted"],
                                              "properties": {"deleted": {"const": True}}}),
            **common,
            "403": document.error(403, f"{stored_elsewhere.capitalize()}."),
            "404": document.error(404, "Nothing is stored for this key."),
            **_uri_too_long(document),
        },
    })


def _same_key_links() -> dict[str, Any]:
    """What a stored mapping leads to: reading it and removing it, by the key it was stored under."""
    return {operation: {"operationId": operation, "parameters": {
        "conversationIntegrationKey": "$request.body#/conversationIntegrationKey"}}
        for operation in ("getConversationName", "deleteConversationName")}


def _add_proxy(document: OpenApiDocument, jwt: list[dict[str, list]]) -> None:
    """One operation per allow-listed method, with and without a location, as Dialogflow names them."""
    responses = {status: document.response(f"Proxy{status.capitalize()}", response)
                 for status, response in _proxy_responses(document).items()}
    body = {"required": False, "content": json_content({"type": "object"})}
    for method, template, name in ALLOWED_METHODS:
        for located in (False, True):
            path = "/{version}/projects/{project}" + ("/locations/{location}" if located else "") + f"/{template}"
            operation = {
                "operationId": f"projects.{'locations.' if located else ''}{name}",
                "summary": f"Dialogflow's `{name}`, proxied.",
                "security": jwt,
                "parameters": [_proxy_parameter(document, part) for part in PLACEHOLDER.findall(path)],
                "responses": responses,
            }
            if method in ("POST", "PATCH"):
                operation["requestBody"] = body
            document.add(method, path, operation)


def _proxy_parameter(document: OpenApiDocument, name: str) -> dict[str, str]:
    """A path part as ``dialogflow_proxy.match`` takes it: any other is a 404."""
    schema = {
        "version": {"enum": list(API_VERSIONS)},
        "project": string_matching(PROJECT_ID, examples=["my-project"]),
        "location": string_matching(LOCATION_ID, examples=["global"]),
    }.get(name) or string_matching(RESOURCE_ID, examples=["C1"])
    return document.parameter(name, {"name": name, "in": "path", "required": True, "schema": schema})


def _proxy_responses(document: OpenApiDocument) -> dict[str, Any]:
    upstream = {"$ref": "#/components/schemas/Error"}
    return {
        "200": json_response("Dialogflow's answer, unchanged, with only its `Content-Type`, `Cache-Control` and "
                             "`Retry-After` headers.", {"type": "object"}),
        "401": _refused(document, "No valid JWT."),
        "403": json_response("The project is not `GCP_PROJECT_ID`, or Dialogflow refused the call.", upstream),
        "404": json_response("An identifier in the path has characters no Dialogflow name has, or Dialogflow "
                             "has no such resource.", upstream),
        **body_limit_errors(document),
        **_uri_too_long(document),
        "502": document.error(502, "Dialogflow is unreachable, or the connector cannot authenticate to it."),
        "504": document.error(504, "Dialogflow did not answer in full within `DIALOGFLOW_TIMEOUT_SECONDS`."),
        "default": json_response("Any other answer of Dialogflow's, unchanged.", upstream),
    }


def _add_desktop_page(document: OpenApiDocument) -> None:
    policy = {"Content-Security-Policy": {"required": True, "schema": {"const": PAGE_POLICY}}}
    page = {"text/html": {"schema": {"type": "string"}}}
    document.add("GET", "/", {"operationId": "desktopPage", "summary": "The agent desktop page.", "responses": {
        "200": {"description": "The page.", "headers": policy, "content": page},
    }})
    document.add("GET", "/vendor/{name}", {
        "operationId": "socketioClient", "summary": "The npm Socket.IO client the page loads.",
        "parameters": [{"name": "name", "in": "path", "required": True,
                        "schema": {"enum": sorted(SOCKETIO_CLIENT_FILES)}}],
        "responses": {
            "200": {"description": "The file.", "content": {
                media_type: {"schema": {"type": "object" if media_type == JSON else "string"}}
                for media_type in sorted(set(SOCKETIO_CLIENT_FILES.values()))}},
            "404": document.error(404, "Not a file of the client, or the client is not installed (`npm install`)."),
            **_uri_too_long(document),
        },
    })


DOCUMENT = CommittedDocument(build, "ui-connector.openapi.json", DOCUMENT_ROUTE, "ui_connector.openapi")

if __name__ == "__main__":
    sys.exit(DOCUMENT.main())
