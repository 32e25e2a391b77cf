"""HTTP plumbing both services share: JSON errors, request size limits and health routes."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import redis
from flask import Blueprint, Flask, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(code: int, message: str) -> dict[str, Any]:
    """A ``google.rpc.Status``-shaped error, the shape Google's REST APIs (and so the proxy) return."""
    return {"error": {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}}


def json_error(code: int, message: str, headers: dict[str, str] | None = None):
    """``error_body`` as a Flask view's answer."""
    return jsonify(error_body(code, message)), code, headers or {}


def json_error_response(code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """``error_body`` as a WSGI response, for middleware that answers before Flask does."""
    return Response(json.dumps(error_body(code, message)), status=code, headers=headers,
                    mimetype="application/json")


_READ_SIZE = 64 * 1024


class BodyLimit:
    """WSGI middleware: a request body over ``limit`` bytes is a 413, whatever its framing, and one that
    does not arrive within ``read_within`` is a 408.

    The body is read into memory before the app runs (see ``buffer_body``), so the app never sees a
    body cut at the limit (which is what Werkzeug's own limit does to a stream it cannot measure),
    and a client trickling its body holds nothing past the deadline. Plain WSGI, no server internals.
    """

    def __init__(self, app: Callable, limit: int, read_within: Callable[[], AbstractContextManager] = nullcontext):
        self._app = app
        self._limit = limit
        self._read_within = read_within

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            within_limit = buffer_body(environ, self._limit, self._read_within)
        except TimeoutError:
            log.warning("request body too slow", extra={"path": environ.get("PATH_INFO", "")})
            return json_error_response(408, "the request body did not arrive in time")(environ, start_response)
        if not within_limit:
            log.warning("request body over the limit", extra={"path": environ.get("PATH_INFO", ""),
                                                               "limit": self._limit})
            message = f"request body is too large (the limit is {self._limit} bytes)"
            return json_error_response(413, message)(environ, start_response)
        return self._app(environ, start_response)


def buffer_body(environ: dict, limit: int, read_within: Callable[[], AbstractContextManager] = nullcontext) -> bool:
    """Replace ``wsgi.input`` by the whole body, read within the ``read_within`` context (which raises
    TimeoutError when time is up). False, with nothing read, when a declared Content-Length is over
    ``limit``; False when a body without one (chunked) passes ``limit``, of which at most ``limit + 1``
    bytes are read. A chunked body is recognised by its Transfer-Encoding or by
    ``wsgi.input_terminated``, the marker a server sets when its input stream ends with the body."""
    declared = environ.get("CONTENT_LENGTH", "").strip()
    if declared:
        if not declared.isdigit():
            return True  # not a length: Werkzeug treats it as no body
        if int(declared) > limit:
            return False
        size = int(declared)
    elif _unmeasured_body(environ):
        size = limit + 1
    else:
        return True
    if size:
        with read_within():
            body = _read_at_most(environ["wsgi.input"], size)
        if len(body) > limit:
            return False
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
    return True


def _unmeasured_body(environ: dict) -> bool:
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or bool(environ.get("wsgi.input_terminated"))


def _read_at_most(stream, size: int) -> bytes:
    """Up to ``size`` bytes of ``stream``; WSGI servers may return fewer than asked before the end."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = stream.read(min(remaining, _READ_SIZE))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def install_body_limit(app: Flask, limit: int, read_within: Callable[[], AbstractContextManager] = nullcontext) -> None:
    """Both services' request size limit, ``MAX_REQUEST_BYTES``: see ``BodyLimit``.

    Installed on the Flask app's own WSGI callable, so whatever middleware wraps it later
    (Engine.IO's, in the UI connector) decides first which requests reach it.
    """
    app.wsgi_app = BodyLimit(app.wsgi_app, limit, read_within)


def install_error_handlers(app: Flask) -> None:
    """Every error leaves as JSON: Redis trouble as a retryable 503, an unexpected error logged
    with its trace and never shown."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        headers = dict(error.get_response().headers)
        headers.pop("Content-Type", None)
        headers.pop("Content-Length", None)
        return json_error(error.code or 500, error.description or error.name, headers)

    @app.errorhandler(redis.RedisError)
    def redis_unavailable(error: redis.RedisError):
        log.warning("Redis unavailable", extra={"error": type(error).__name__})
        return json_error(503, "temporarily unavailable; retry", {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error")
        return json_error(500, "internal error; see the service logs")


def health_blueprint(check_ready: Callable[[], None]) -> Blueprint:
    """``/healthz``: the process answers. ``/readyz``: ``check_ready`` (Redis reachable, ...) passes."""
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz():
        try:
            check_ready()
        except Exception as error:  # readiness reports any dependency failure, whatever its type
            log.warning("not ready: %s", error, extra={"reason": type(error).__name__})
            return json_error(503, "not ready: a dependency is unavailable; see the service logs")
        return jsonify(status="ready")

    return blueprint
