"""What the interceptor's routes reach: built by the app factory, read with ``interceptor()``."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from aa_common.event_store import EventStore
from aa_common.services import ServiceSlot
from cloud_pubsub_interceptor.push_auth import PushVerifier


@dataclass
class InterceptorServices:
    store: EventStore
    verifier: PushVerifier | None


INTERCEPTOR: ServiceSlot[InterceptorServices] = ServiceSlot("interceptor")


def interceptor(app: Flask | None = None) -> InterceptorServices:
    """The services of ``app``, or of the app serving the current request."""
    return INTERCEPTOR.get(app)
