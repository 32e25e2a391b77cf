"""Prometheus metrics both services serve at ``GET /metrics``.

Each service defines its metrics in its own ``metrics`` module; Redis call latency, which
both have, is here. With several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set, as the
interceptor's server does for ``INTERCEPTOR_WORKERS`` > 1) every process writes its values
to that directory and ``/metrics`` adds them up, whichever process answers.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess

from aa_common.config import PROMETHEUS_MULTIPROCESS_DIR
# Loopback Redis answers in ~0.1 ms, Memorystore in ~0.5 ms; the client gives up at 2 s.
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# From an event's publication to a desktop: milliseconds normally, seconds when Pub/Sub retries.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

REDIS_SECONDS = Histogram("aa_redis_command_duration_seconds", "Time spent in Redis calls, by what the call does.",
                          ["command"], buckets=FAST_BUCKETS)


@contextmanager
def timed_redis(command: str) -> Iterator[None]:
    """Observe the duration of the Redis call inside, whether it succeeds or raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        REDIS_SECONDS.labels(command).observe(time.perf_counter() - started)


def metrics_blueprint() -> Blueprint:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def metrics():
        return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)

    return blueprint


def _registry() -> CollectorRegistry:
    if not os.environ.get(PROMETHEUS_MULTIPROCESS_DIR):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
