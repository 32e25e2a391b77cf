"""``/register`` and ``/register-app``: a desktop proves who it is and gets a short-lived JWT."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app, jsonify, request

from aa_common.http import json_error

log = logging.getLogger(__name__)
registration_routes = Blueprint("registration", __name__)
MAX_USER_LENGTH = 256


class FailedRegistrations:
    """Counts failed registrations per client in Redis, so a guesser is slowed on every instance."""

    WINDOW_SECONDS = 60

    def __init__(self, client: redis.Redis, limit_per_minute: int):
        self._client = client
        self._limit = limit_per_minute

    def _key(self, client_address: str) -> str:
        return f"aa:register-failures:{client_address}"

    def blocked(self, client_address: str) -> bool:
        count = self._client.get(self._key(client_address))
        return count is not None and int(count) >= self._limit

    def record(self, client_address: str) -> None:
        key = self._key(client_address)
        pipeline = self._client.pipeline()
        pipeline.incr(key)
        pipeline.expire(key, self.WINDOW_SECONDS, nx=True)
        pipeline.execute()


def _issue_token_if(allowed) -> tuple:
    services = current_app.extensions["ui_connector"]
    client = request.remote_addr or "unknown"
    try:
        if services.failed_registrations.blocked(client):
            return json_error(429, "too many failed registrations; retry later",
                              {"Retry-After": str(FailedRegistrations.WINDOW_SECONDS)})
        if not allowed():
            services.failed_registrations.record(client)
            log.info("registration refused", extra={"client": client})
            return json_error(401, "could not authenticate: the credentials were not accepted",
                              {"WWW-Authenticate": "Bearer"})
    except redis.RedisError:
        return json_error(503, "temporarily unavailable; retry", {"Retry-After": "5"})
    return jsonify(token=services.tokens.issue(_user_from_body())), 200


def _user_from_body() -> str | None:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return None
    user = body.get("user") or body.get("userId")
    return user[:MAX_USER_LENGTH] if isinstance(user, str) and user else None


@registration_routes.post("/register")
def register():
    header = request.headers.get("Authorization", "")
    check = current_app.extensions["ui_connector"].user_check
    return _issue_token_if(lambda: bool(header) and check(header))


@registration_routes.post("/register-app")
def register_app():
    body = request.get_json(force=True, silent=True)
    check = current_app.extensions["ui_connector"].app_check
    return _issue_token_if(lambda: check(body))
