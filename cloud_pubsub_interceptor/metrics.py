"""The interceptor's metrics (served at /metrics by ``aa_common.metrics``)."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

from aa_common.events import EVENT_TYPES
from aa_common.metrics import FAST_BUCKETS, LAG_BUCKETS


class Outcome:
    """The ``outcome`` label of ``aa_pushes_total``: what became of a push."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # a redelivery of a message already stored: acknowledged, not stored again
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    AUTH_UNAVAILABLE = "auth_unavailable"
    REDIS_UNAVAILABLE = "redis_unavailable"
    NOT_REPLICATED = "not_replicated"  # stored on the primary, not confirmed by the replicas in time: 503
    TOO_LARGE = "too_large"
    TOO_SLOW = "too_slow"


PUSHES = Counter("aa_pushes", "Pub/Sub pushes received, by route and outcome.", ["route", "outcome"])
PUSH_SECONDS = Histogram("aa_push_duration_seconds", "Time to handle a push, from its body to the answer.",
                         ["route"], buckets=FAST_BUCKETS)
ACK_LAG_SECONDS = Histogram("aa_pubsub_ack_lag_seconds",
                            "From Pub/Sub's publishTime to the push being acknowledged (stored or duplicate).",
                            ["route"], buckets=LAG_BUCKETS)


def count_refused_push(path: str, code: int) -> None:
    """Pushes the server refused before the app saw them (too large, too slow) count as pushes too."""
    route = path.strip("/")
    if route in EVENT_TYPES:
        PUSHES.labels(route, Outcome.TOO_SLOW if code == 408 else Outcome.TOO_LARGE).inc()
