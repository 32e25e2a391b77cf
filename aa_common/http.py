"""HTTP plumbing both services share: JSON errors, request size limits, JSON bodies, security
headers and health routes."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from itertools import accumulate
from typing import Any

import redis
from flask import Blueprint, Flask, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

# The google.rpc.Code name of each HTTP status the services answer with (Google's own HTTP mapping).
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    414: "INVALID_ARGUMENT",  # a request line over the HTTP server's limit
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RESOURCE_EXHAUSTED",
    431: "INVALID_ARGUMENT",  # headers over the HTTP server's limit
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(code: int, message: str) -> dict[str, Any]:
    """A ``google.rpc.Status``-shaped error, the shape Google's REST APIs (and so the proxy) return."""
    return {"error": {"code": code, "message": message, "status": STATUS_NAMES.get(code, "UNKNOWN")}}


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


MAX_JSON_DEPTH = 64
_NOT_A_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")
_NESTING_STEPS = bytes.maketrans(b"[{]}", bytes([1, 1, 255, 255]))  # 255 reads as -1 as a signed byte


def json_object(required: bool = True) -> dict:
    """The request body as a JSON object, whatever its Content-Type; a 400 naming the problem otherwise.

    The one way routes read a JSON body. Beyond ``json.loads``, it refuses bodies nested deeper
    than MAX_JSON_DEPTH (the decoder would recurse until RecursionError) and strings that are
    not proper text: JSON may escape a lone UTF-16 surrogate (``"\\ud800"``), which no UTF-8
    encoding of the string later (an HMAC, a Redis key, a log line) can represent.
    An empty body is ``{}`` when not ``required``.
    """
    body = request.get_data(cache=True)
    if not body.strip():
        if required:
            raise BadRequest("request body is empty; expected a JSON object")
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    if _nesting_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text)
    except ValueError as error:
        raise BadRequest(f"request body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object")
    _require_proper_text(value)
    return value


def _nesting_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, counted without parsing it.

    Escaped backslashes and quotes are dropped, then every other quote delimits a string, whose
    brackets do not count. Linear, and in C but for the running sum: ~70 ms for a MiB of brackets.
    """
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    steps = memoryview(outside_strings.translate(_NESTING_STEPS, _NOT_A_BRACKET)).cast("b")
    return max(accumulate(steps), default=0)


def _require_proper_text(value: object) -> None:
    """Every string (and object key) of a decoded JSON value must encode as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("request body has a string that is not valid text "
                         "(a lone UTF-16 surrogate escape such as \\ud800)") from None


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


# On every response unless it sets its own: nothing is sniffed into another type, no address
# leaks in a Referer, and nothing (a JSON error rendered as a page, say) runs or shows in a frame.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
)


class DefaultHeaders:
    """WSGI middleware: adds ``headers`` the response lacks, to every response of the wrapped app,
    Flask's and those of middleware such as Socket.IO's, which never reach Flask's hooks."""

    def __init__(self, app, headers: tuple[tuple[str, str], ...]):
        self._app = app
        self._headers = headers

    def __call__(self, environ, start_response):
        def start_with_defaults(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            missing = [(name, value) for name, value in self._headers if name.lower() not in present]
            return start_response(status, [*headers, *missing], exc_info)

        return self._app(environ, start_with_defaults)


def install_security_headers(app: Flask) -> None:
    """SECURITY_HEADERS on every response; install it after anything else that wraps ``app.wsgi_app``."""
    app.wsgi_app = DefaultHeaders(app.wsgi_app, SECURITY_HEADERS)


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
