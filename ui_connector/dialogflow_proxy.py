"""The Dialogflow REST calls a desktop makes, forwarded with the service's own Google credentials.

Only the listed methods of the configured project pass; the desktop's JWT stays here and the
call goes out over REST (never gRPC: this runs under gevent). Upstream status and body come
back unchanged; a timeout is a 504 and an unreachable upstream a 502, both shaped like
Google's own errors.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import requests
from flask import Blueprint, Response, current_app, request

from aa_common.http import json_error
from ui_connector.tokens import jwt_required

log = logging.getLogger(__name__)
dialogflow_proxy_routes = Blueprint("dialogflow_proxy", __name__)

GLOBAL_ENDPOINT = "https://dialogflow.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_ID = r"[A-Za-z0-9][A-Za-z0-9._~-]*"
_PATH = re.compile(
    rf"/(?P<version>v2|v2beta1)/projects/(?P<project>{_ID}(?::{_ID})?)"
    rf"(?:/locations/(?P<location>[a-z][a-z0-9-]{{0,62}}))?/(?P<method_path>.+)"
)
# (HTTP method, path under projects/P[/locations/L]/, its name in Google's REST discovery documents
# without projects./locations.). tests/unit/test_proxy_allow_list.py checks it against those documents.
ALLOWED_METHODS = [
    ("POST", rf"conversations", "conversations.create"),
    ("GET", rf"conversations/{_ID}", "conversations.get"),
    ("POST", rf"conversations/{_ID}:complete", "conversations.complete"),
    ("GET", rf"conversations/{_ID}/messages", "conversations.messages.list"),
    ("POST", rf"conversations/{_ID}/messages:batchCreate", "conversations.messages.batchCreate"),
    ("POST", rf"conversations/{_ID}/participants", "conversations.participants.create"),
    ("GET", rf"conversations/{_ID}/participants", "conversations.participants.list"),
    ("GET", rf"conversations/{_ID}/participants/{_ID}", "conversations.participants.get"),
    ("PATCH", rf"conversations/{_ID}/participants/{_ID}", "conversations.participants.patch"),
    ("POST", rf"conversations/{_ID}/participants/{_ID}:analyzeContent", "conversations.participants.analyzeContent"),
    *[("POST", rf"conversations/{_ID}/participants/{_ID}/suggestions:{kind}",
       f"conversations.participants.suggestions.{kind}")
      for kind in ("suggestArticles", "suggestFaqAnswers", "suggestSmartReplies", "suggestKnowledgeAssist")],
    ("POST", rf"conversations/{_ID}/suggestions:suggestConversationSummary",
     "conversations.suggestions.suggestConversationSummary"),
    ("POST", rf"conversations/{_ID}/suggestions:generate", "conversations.suggestions.generate"),
    ("POST", rf"conversations/{_ID}/suggestions:searchKnowledge", "conversations.suggestions.searchKnowledge"),
    ("POST", r"suggestions:searchKnowledge", "suggestions.searchKnowledge"),
    ("POST", r"statelessSuggestion:generate", "statelessSuggestion.generate"),
    ("PATCH", rf"answerRecords/{_ID}", "answerRecords.patch"),
    ("GET", rf"conversationProfiles/{_ID}", "conversationProfiles.get"),
    ("GET", rf"conversationModels/{_ID}", "conversationModels.get"),
    ("GET", rf"generators/{_ID}", "generators.get"),
]
_ALLOWED = [(method, re.compile(pattern), name) for method, pattern, name in ALLOWED_METHODS]
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade", "content-encoding", "content-length"}
_FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language")


@dataclass(frozen=True)
class ProxiedCall:
    name: str
    project: str
    location: str | None


class UnknownRoute(Exception):
    pass


class MethodNotAllowed(Exception):
    pass


def match(method: str, path: str) -> ProxiedCall:
    parsed = _PATH.fullmatch(path)
    if not parsed:
        raise UnknownRoute(path)
    known_path = False
    for allowed_method, pattern, name in _ALLOWED:
        if pattern.fullmatch(parsed["method_path"]):
            known_path = True
            if allowed_method == method:
                return ProxiedCall(name, parsed["project"], parsed["location"])
    raise MethodNotAllowed(path) if known_path else UnknownRoute(path)


class DialogflowClient:
    """Sends requests to Dialogflow's REST endpoint for a location, authenticated as the service."""

    def __init__(self, endpoint_override: str, timeout_seconds: float, use_google_credentials: bool):
        self._override = endpoint_override
        self._timeout = (5.0, timeout_seconds)
        self._use_credentials = use_google_credentials
        self._session: requests.Session | None = None

    def endpoint(self, location: str | None) -> str:
        if self._override:
            return self._override
        if location in (None, "global"):
            return GLOBAL_ENDPOINT
        return f"https://{location}-dialogflow.googleapis.com"

    def session(self) -> requests.Session:
        if self._session is None:
            if self._use_credentials:
                import google.auth
                from google.auth.transport.requests import AuthorizedSession

                credentials, _ = google.auth.default(scopes=SCOPES)
                self._session = AuthorizedSession(credentials)
            else:
                self._session = requests.Session()
        return self._session

    def send(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.session().request(method, url, data=body or None, headers=headers, timeout=self._timeout,
                                      allow_redirects=False)


@dialogflow_proxy_routes.route("/<version>/projects/<path:rest>", methods=["GET", "POST", "PATCH"])
@jwt_required
def proxy(version: str, rest: str):
    services = current_app.extensions["ui_connector"]
    try:
        call = match(request.method, request.path)
    except UnknownRoute:
        return json_error(404, f"{request.method} {request.path} is not a Dialogflow method this proxy serves")
    except MethodNotAllowed:
        return json_error(405, f"{request.method} is not allowed on {request.path}")
    if call.project != services.config.project_id:
        return json_error(403, f"project {call.project!r} is not the project this connector serves")
    return _forward(services.dialogflow, call)


def _forward(client: DialogflowClient, call: ProxiedCall) -> Response | tuple:
    url = client.endpoint(call.location) + request.full_path.rstrip("?")
    headers = {name: request.headers[name] for name in _FORWARDED_REQUEST_HEADERS if name in request.headers}
    body = request.get_data()  # read first: an oversized body is the caller's 413, not an upstream error
    started = time.monotonic()
    try:
        upstream = client.send(request.method, url, body, headers)
    except requests.Timeout:
        log.warning("Dialogflow timed out", extra={"method": call.name})
        return json_error(504, f"Dialogflow did not answer {call.name} in time")
    except requests.RequestException as error:
        log.warning("Dialogflow unreachable", extra={"method": call.name, "error": type(error).__name__})
        return json_error(502, f"Dialogflow is unreachable for {call.name}")
    except Exception as error:  # credentials that cannot be loaded or refreshed, whatever the library raises
        log.error("cannot authenticate to Dialogflow", extra={"method": call.name, "error": type(error).__name__})
        return json_error(502, "the connector cannot authenticate to Dialogflow; see its logs")
    log.info("proxied %s", call.name, extra={"method": call.name, "status": upstream.status_code,
                                             "latency_ms": round((time.monotonic() - started) * 1000)})
    passed = [(name, value) for name, value in upstream.headers.items() if name.lower() not in _HOP_BY_HOP]
    return Response(upstream.content, status=upstream.status_code, headers=passed)
