"""HTTP plumbing both services share: JSON errors, request size limits, JSON bodies, security
headers and health routes."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from itertools import accumulate

import redis
from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def json_error(code: int, message: str, headers: dict[str, str] | None = None):
    """A ``google.rpc.Status``-shaped error, the shape Google's REST APIs (and so the proxy) return."""
    body = {"error": {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}}
    return jsonify(body), code, headers or {}


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

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return json_error(413, f"request body is too large (the limit is {limit} bytes)")

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
