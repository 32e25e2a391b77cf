"""The UI connector's metrics (served at /metrics by ``aa_common.metrics``)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from aa_common.metrics import LAG_BUCKETS

DESKTOPS = Gauge("aa_desktops_connected", "Desktops with an authenticated Socket.IO connection to this instance.",
                 multiprocess_mode="livesum")
CONVERSATIONS = Gauge("aa_conversations_watched", "Conversations with at least one viewer on this instance.",
                      multiprocess_mode="livesum")
JOINS = Counter("aa_joins", "join-conversation requests, by outcome (joined, or the refusal's code).", ["outcome"])
LEAVES = Counter("aa_leaves", "leave-conversation requests, by outcome (left, or the refusal's code).", ["outcome"])
DELIVERED = Counter("aa_events_delivered", "Events sent to desktops, live or replayed, by event name.", ["event"])
REPLAYED = Counter("aa_events_replayed", "Events sent to desktops from the stream: on join, resume or catch-up.")
DELIVERY_LAG_SECONDS = Histogram("aa_delivery_lag_seconds",
                                 "From an event being stored in Redis to its live delivery to this instance's viewers.",
                                 buckets=LAG_BUCKETS)
CATCH_UPS = Counter("aa_catch_ups", "Viewers caught up from the stream after the Redis Pub/Sub connection came back.")
