"""Errors as Google APIs return them: a ``google.rpc.Status`` body with the matching HTTP code."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

log = logging.getLogger(__name__)

HTTP_CODES = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "INTERNAL": 500,
    "UNIMPLEMENTED": 501,
}


class ApiError(Exception):
    """An error the API answers with; ``status`` is a ``google.rpc.Code`` name."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def http_code(self) -> int:
        return HTTP_CODES[self.status]


def invalid_argument(message: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", message)


def not_found(kind: str, name: str) -> ApiError:
    return ApiError("NOT_FOUND", f"{kind} {name} not found.")


def status_response(http_code: int, status: str, message: str) -> tuple[Response, int]:
    body = {"error": {"code": http_code, "message": message, "status": status, "details": []}}
    return jsonify(body), http_code


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return status_response(error.http_code, error.status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if isinstance(error, (NotFound, MethodNotAllowed)):
            # Google APIs answer an unknown path or verb with 404, as a missing method.
            return status_response(404, "NOT_FOUND", f"Method not found: {request.method} {request.path}")
        code = error.code or 500
        status = "INVALID_ARGUMENT" if 400 <= code < 500 else "INTERNAL"
        return status_response(code, status, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return status_response(500, "INTERNAL", "Internal error encountered.")
