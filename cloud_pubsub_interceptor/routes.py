"""The push endpoints: one route per Dialogflow notification topic."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

import redis
from flask import Blueprint, Response, request

from aa_common.event_store import NotReplicated
from aa_common.events import Event, EventKind
from aa_common.http import json_error
from cloud_pubsub_interceptor.metrics import ACK_LAG_SECONDS, PUSH_SECONDS, PUSHES, Outcome
from cloud_pubsub_interceptor.push import InvalidPush, read_push, to_event
from cloud_pubsub_interceptor.services import interceptor
from cloud_pubsub_interceptor.push_auth import CertsUnavailable, PushForbidden, PushUnauthenticated

log = logging.getLogger(__name__)
push_routes = Blueprint("push", __name__)


def _receive(kind: EventKind):
    started = time.perf_counter()
    response, outcome = _handle(kind)
    PUSHES.labels(kind, outcome).inc()
    PUSH_SECONDS.labels(kind).observe(time.perf_counter() - started)
    return response


def _handle(kind: EventKind) -> tuple[object, str]:
    services = interceptor()
    if services.verifier is not None:
        try:
            services.verifier.verify(request.headers.get("Authorization", ""))
        except PushUnauthenticated as error:
            return _refuse(kind, 401, str(error)), Outcome.UNAUTHENTICATED
        except PushForbidden as error:
            return _refuse(kind, 403, str(error)), Outcome.FORBIDDEN
        except CertsUnavailable as error:
            return _refuse(kind, 503, str(error), {"Retry-After": "5"}), Outcome.AUTH_UNAVAILABLE

    try:
        event = to_event(read_push(request.get_data(cache=False), request.headers), kind)
    except InvalidPush as error:
        return _refuse(kind, 400, str(error)), Outcome.INVALID

    try:
        result = services.store.append(event)
    except NotReplicated as error:
        log.warning("the replicas did not confirm the event in time; Pub/Sub will redeliver",
                    extra={"route": kind, "message_id": event.message_id, "reason": str(error)})
        return json_error(503, "event not yet replicated; retry later", {"Retry-After": "1"}), Outcome.NOT_REPLICATED
    except redis.RedisError as error:
        log.error("Redis did not take the event; Pub/Sub will redeliver",
                  extra={"route": kind, "message_id": event.message_id, "error": type(error).__name__})
        return json_error(503, "event store unavailable; retry later", {"Retry-After": "5"}), Outcome.REDIS_UNAVAILABLE

    _observe_ack_lag(kind, event)
    outcome = Outcome.DUPLICATE if result.duplicate else Outcome.STORED
    log.debug("push %s", outcome, extra={"route": kind, "message_id": event.message_id,
                                     "conversation": event.conversation_name, "event_id": result.event_id})
    return Response(status=204), outcome


def _observe_ack_lag(kind: EventKind, event: Event) -> None:
    try:
        published = datetime.fromisoformat(event.publish_time)
    except ValueError:
        return  # Pub/Sub always sends one; a hand-made push may not
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    ACK_LAG_SECONDS.labels(kind).observe(max(0.0, time.time() - published.timestamp()))


def _refuse(kind: EventKind, code: int, reason: str, headers: dict[str, str] | None = None):
    log.warning("push refused: %s", reason, extra={"route": kind, "status": code})
    return json_error(code, reason, headers)


def _register(kind: EventKind) -> None:
    push_routes.add_url_rule(f"/{kind}", endpoint=kind.value, view_func=lambda: _receive(kind), methods=["POST"])


for _kind in EventKind:
    _register(_kind)
