"""The push endpoints: one route per Dialogflow notification topic."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, current_app, request

from aa_common.events import EVENT_TYPES
from aa_common.http import json_error
from cloud_pubsub_interceptor.push import InvalidPush, read_push, to_event
from cloud_pubsub_interceptor.push_auth import CertsUnavailable, PushForbidden, PushUnauthenticated

log = logging.getLogger(__name__)
push_routes = Blueprint("push", __name__)


def _receive(data_type: str):
    services = current_app.extensions["interceptor"]
    counters = services.counters

    if services.verifier is not None:
        try:
            services.verifier.verify(request.headers.get("Authorization", ""))
        except PushUnauthenticated as error:
            return _refuse(data_type, 401, str(error), "unauthenticated")
        except PushForbidden as error:
            return _refuse(data_type, 403, str(error), "forbidden")
        except CertsUnavailable as error:
            return _refuse(data_type, 503, str(error), "auth_unavailable", {"Retry-After": "5"})

    try:
        event = to_event(read_push(request.get_data(cache=False), request.headers), data_type)
    except InvalidPush as error:
        return _refuse(data_type, 400, str(error), "invalid")

    try:
        result = services.store.append(event)
    except redis.RedisError as error:
        log.error("Redis did not take the event; Pub/Sub will redeliver",
                  extra={"route": data_type, "message_id": event.message_id, "error": type(error).__name__})
        counters.count(data_type, "redis_unavailable")
        return json_error(503, "event store unavailable; retry later", {"Retry-After": "5"})

    outcome = "duplicate" if result.duplicate else "stored"
    counters.count(data_type, outcome)
    log.info("push %s", outcome, extra={"route": data_type, "message_id": event.message_id,
                                         "conversation": event.conversation_name, "event_id": result.event_id})
    return Response(status=204)


def _refuse(data_type: str, code: int, reason: str, outcome: str, headers: dict[str, str] | None = None):
    current_app.extensions["interceptor"].counters.count(data_type, outcome)
    log.warning("push refused: %s", reason, extra={"route": data_type, "status": code})
    return json_error(code, reason, headers)


def _register(data_type: str) -> None:
    push_routes.add_url_rule(f"/{data_type}", endpoint=data_type, view_func=lambda: _receive(data_type),
                             methods=["POST"])


for _data_type in EVENT_TYPES:
    _register(_data_type)
