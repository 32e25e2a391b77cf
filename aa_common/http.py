"""HTTP plumbing both services share: JSON errors, request size limits and health routes."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable

import redis
from flask import Blueprint, Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

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


def error_body(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}}


def json_error(code: int, message: str, headers: dict[str, str] | None = None):
    """A ``google.rpc.Status``-shaped error, the shape Google's REST APIs (and so the proxy) return."""
    return jsonify(error_body(code, message)), code, headers or {}


def json_error_response(code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The same error as a WSGI response, for middleware that answers before Flask does."""
    return Response(json.dumps(error_body(code, message)), status=code, headers=headers,
                    mimetype="application/json")


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
