"""The Dialogflow REST calls a desktop makes, forwarded with the service's own Google credentials.

Only the listed methods of the configured project pass; the desktop's JWT stays here and the
call goes out over REST (never gRPC: this runs under gevent). Upstream status and body come
back unchanged, with only the ``ANSWER_HEADERS``; the connector keeps no cookie an upstream sets
(one session serves every desktop). The whole call, from connecting to the answer's last byte,
has ``DIALOGFLOW_TIMEOUT_SECONDS``: then it is a 504, and an unreachable upstream a 502, both
shaped like Google's own errors.
"""
from __future__ import annotations

import http.cookiejar
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass

import requests
from flask import Blueprint, Response, request

from aa_common.http import json_error
from ui_connector.services import connector
from ui_connector.tokens import jwt_required

log = logging.getLogger(__name__)
dialogflow_proxy_routes = Blueprint("dialogflow_proxy", __name__)

GLOBAL_ENDPOINT = "https://dialogflow.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
# What each part of a proxied path may be. The OpenAPI description (ui_connector/openapi.py) is built
# from these and from ALLOWED_METHODS, so what it documents is what ``match`` lets through.
API_VERSIONS = ("v2", "v2beta1")
RESOURCE_ID = r"[A-Za-z0-9][A-Za-z0-9._~-]*"
PROJECT_ID = rf"{RESOURCE_ID}(?::{RESOURCE_ID})?"  # domain-scoped projects: example.com:my-project
LOCATION_ID = r"[a-z][a-z0-9-]{0,62}"
_PATH = re.compile(
    rf"/(?P<version>{'|'.join(API_VERSIONS)})/projects/(?P<project>{PROJECT_ID})"
    rf"(?:/locations/(?P<location>{LOCATION_ID}))?/(?P<method_path>.+)"
)
# (HTTP method, path under projects/P[/locations/L]/ where each {placeholder} is a RESOURCE_ID, its name in
# Google's REST discovery documents without projects./locations.). tests/unit/test_proxy_allow_list.py
# checks it against those documents.
ALLOWED_METHODS = [
    ("POST", "conversations", "conversations.create"),
    ("GET", "conversations/{conversation}", "conversations.get"),
    ("POST", "conversations/{conversation}:complete", "conversations.complete"),
    ("GET", "conversations/{conversation}/messages", "conversations.messages.list"),
    ("POST", "conversations/{conversation}/messages:batchCreate", "conversations.messages.batchCreate"),
    ("POST", "conversations/{conversation}/participants", "conversations.participants.create"),
    ("GET", "conversations/{conversation}/participants", "conversations.participants.list"),
    ("GET", "conversations/{conversation}/participants/{participant}", "conversations.participants.get"),
    ("PATCH", "conversations/{conversation}/participants/{participant}", "conversations.participants.patch"),
    ("POST", "conversations/{conversation}/participants/{participant}:analyzeContent",
     "conversations.participants.analyzeContent"),
    *[("POST", f"conversations/{{conversation}}/participants/{{participant}}/suggestions:{kind}",
       f"conversations.participants.suggestions.{kind}")
      for kind in ("suggestArticles", "suggestFaqAnswers", "suggestSmartReplies", "suggestKnowledgeAssist")],
    ("POST", "conversations/{conversation}/suggestions:suggestConversationSummary",
     "conversations.suggestions.suggestConversationSummary"),
    ("POST", "conversations/{conversation}/suggestions:generate", "conversations.suggestions.generate"),
    ("POST", "conversations/{conversation}/suggestions:searchKnowledge", "conversations.suggestions.searchKnowledge"),
    ("POST", "suggestions:searchKnowledge", "suggestions.searchKnowledge"),
    ("POST", "statelessSuggestion:generate", "statelessSuggestion.generate"),
    ("PATCH", "answerRecords/{answerRecord}", "answerRecords.patch"),
    ("GET", "conversationProfiles/{conversationProfile}", "conversationProfiles.get"),
    ("GET", "conversationModels/{conversationModel}", "conversationModels.get"),
    ("GET", "generators/{generator}", "generators.get"),
]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _path_pattern(template: str) -> re.Pattern:
    """The regular expression a path template stands for: its text, each placeholder a RESOURCE_ID."""
    parts = PLACEHOLDER.split(template)  # text, name, text, name, ..., text
    return re.compile("".join(RESOURCE_ID if index % 2 else re.escape(part) for index, part in enumerate(parts)))


_ALLOWED = [(method, _path_pattern(template), name) for method, template, name in ALLOWED_METHODS]
_FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language")
# The upstream response headers a desktop gets: what the body is, whether a cache may keep it
# (Google marks answers private), and when to retry a 429 or 503. Everything else (Set-Cookie,
# Server, X-*, Google's Vary and framing headers) describes Google's hop, not the connector's.
ANSWER_HEADERS = ("Content-Type", "Cache-Control", "Retry-After")


@dataclass(frozen=True)
class ProxiedCall:
    name: str
    project: str
    location: str | None


class UnknownRoute(Exception):
    pass


class MethodNotAllowed(Exception):
    """A listed path, with another HTTP method than those in ``allowed``."""

    def __init__(self, path: str, allowed: list[str]):
        super().__init__(path)
        self.allowed = allowed


def match(method: str, path: str) -> ProxiedCall:
    parsed = _PATH.fullmatch(path)
    listed = _listed(parsed["method_path"]) if parsed else []
    for listed_method, name in listed:
        if listed_method == method:
            return ProxiedCall(name, parsed["project"], parsed["location"])
    if listed:
        raise MethodNotAllowed(path, [listed_method for listed_method, _ in listed])
    raise UnknownRoute(path)


def allowed_methods(path: str) -> list[str]:
    """The HTTP methods the allow-list has for ``path``; none for a path it does not list."""
    parsed = _PATH.fullmatch(path)
    return [method for method, _ in _listed(parsed["method_path"])] if parsed else []


def _listed(method_path: str) -> list[tuple[str, str]]:
    return [(method, name) for method, pattern, name in _ALLOWED if pattern.fullmatch(method_path)]


@dataclass(frozen=True)
class UpstreamAnswer:
    status: int
    headers: list[tuple[str, str]]  # only ANSWER_HEADERS
    body: bytes


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The shared session serves every desktop: a cookie one call was given must reach no other."""

    def set_ok(self, cookie, request) -> bool:
        return False

    def return_ok(self, cookie, request) -> bool:
        return False


class DialogflowClient:
    """Sends requests to Dialogflow's REST endpoint for a location, authenticated as the service."""

    def __init__(self, endpoint_override: str, timeout_seconds: float, use_google_credentials: bool):
        self._override = endpoint_override
        self._timeout = timeout_seconds
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
            self._session.cookies.set_policy(_NoCookies())
        return self._session

    def send(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> UpstreamAnswer:
        """The whole exchange within the timeout, else ``requests.Timeout``."""
        return _Exchange(self.session(), method, url, body, headers, self._timeout).run()


class _Exchange:
    """One upstream call, bounded as a whole.

    requests' timeout bounds each socket read, not the call: an upstream sending a byte a second
    would hold the desktop as long as it liked. So the call runs in a thread of its own (a greenlet
    under gevent) that the caller waits for until the deadline, then abandons. Abandoning a call
    whose answer has begun shuts its connection down, which ends the thread at once; one still
    waiting for the status line ends at its next read timeout.
    """

    def __init__(self, session: requests.Session, method: str, url: str, body: bytes, headers: dict[str, str],
                 timeout: float):
        self._call = (session, method, url, body, headers)
        self._timeout = timeout
        self._finished = threading.Event()
        self._lock = threading.Lock()  # orders abandoning against the thread releasing its connection
        self._response: requests.Response | None = None  # while the thread reads the answer
        self._abandoned = False
        self._answer: UpstreamAnswer | None = None
        self._error: BaseException | None = None

    def run(self) -> UpstreamAnswer:
        threading.Thread(target=self._exchange, daemon=True).start()
        if not self._finished.wait(self._timeout):
            self._abandon()
            raise requests.Timeout(f"no whole answer within {self._timeout} s")
        if self._error is not None:
            raise self._error
        if self._answer is None:  # the thread was stopped from outside (the worker shutting down)
            raise requests.ConnectionError("the call to Dialogflow ended without an answer")
        return self._answer

    def _exchange(self) -> None:
        session, method, url, body, headers = self._call
        try:
            response = session.request(method, url, data=body or None, headers=headers, timeout=self._timeout,
                                       allow_redirects=False, stream=True)
            with self._lock:
                self._response = response
                if self._abandoned:
                    return
            passed = [(name, response.headers[name]) for name in ANSWER_HEADERS if name in response.headers]
            self._answer = UpstreamAnswer(response.status_code, passed, response.content)
        except Exception as error:  # the caller maps it to 502 or 504; nothing may die silently here
            self._error = error
        finally:
            self._release()
            self._finished.set()

    def _release(self) -> None:
        """Back to the pool when read whole, else closed; from this thread only (see ``_abandon``)."""
        with self._lock:
            response, self._response = self._response, None
        if response is not None:
            response.close()

    def _abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            if self._response is not None:
                _shut_down(self._response)


def _shut_down(response: requests.Response) -> None:
    """Ends a read in progress on another thread: a shut-down socket reads as closed.

    (Closing the response there instead would race that thread's own buffered read.)
    """
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed by the upstream
            pass


PROXY_RULE = "/<version>/projects/<path:rest>"


@dialogflow_proxy_routes.route(PROXY_RULE, methods=["GET", "POST", "PATCH"], provide_automatic_options=False)
@jwt_required
def proxy(version: str, rest: str):
    services = connector()
    try:
        call = match(request.method, request.path)
    except UnknownRoute:
        return _not_served()
    except MethodNotAllowed as error:
        return json_error(405, f"{request.method} is not allowed on {request.path}",
                          {"Allow": ", ".join(error.allowed)})
    if call.project != services.config.project_id:
        return json_error(403, f"project {call.project!r} is not the project this connector serves")
    return _forward(services.dialogflow, call)


@dialogflow_proxy_routes.route(PROXY_RULE, methods=["OPTIONS"])
def proxy_options(version: str, rest: str):
    """What a proxied path allows, the allow-list's methods rather than the catch-all rule's; no JWT needed,
    as a CORS preflight carries none (flask-cors adds its headers to this answer)."""
    allowed = allowed_methods(request.path)
    if not allowed:
        return _not_served()
    return Response(status=200, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})


def _not_served():
    return json_error(404, f"{request.method} {request.path} is not a Dialogflow method this proxy serves")


def _forward(client: DialogflowClient, call: ProxiedCall) -> Response | tuple:
    url = client.endpoint(call.location) + request.full_path.rstrip("?")
    headers = {name: request.headers[name] for name in _FORWARDED_REQUEST_HEADERS if name in request.headers}
    body = request.get_data()  # read first: an oversized body is the caller's 413, not an upstream error
    started = time.monotonic()
    try:
        answer = client.send(request.method, url, body, headers)
    except requests.Timeout:
        log.warning("Dialogflow timed out", extra={"method": call.name})
        return json_error(504, f"Dialogflow did not answer {call.name} in time")
    except requests.RequestException as error:
        log.warning("Dialogflow unreachable", extra={"method": call.name, "error": type(error).__name__})
        return json_error(502, f"Dialogflow is unreachable for {call.name}")
    except Exception as error:  # credentials that cannot be loaded or refreshed, whatever the library raises
        log.error("cannot authenticate to Dialogflow", extra={"method": call.name, "error": type(error).__name__})
        return json_error(502, "the connector cannot authenticate to Dialogflow; see its logs")
    log.debug("proxied %s", call.name, extra={"method": call.name, "status": answer.status,
                                              "latency_ms": round((time.monotonic() - started) * 1000)})
    return Response(answer.body, status=answer.status, headers=answer.headers)
