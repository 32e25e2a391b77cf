"""The UI connector's gunicorn worker: gunicorn's gevent worker, plus a clean stop for desktops.

On SIGTERM (Cloud Run replacing the instance) gunicorn's worker stops accepting and waits up to
``graceful_timeout`` for open connections to end, which WebSockets never do by themselves: it
waited 8 s and cut them. This worker first closes every desktop's transport (socket.io clients
reconnect by themselves after a transport close, unlike after a Socket.IO DISCONNECT), so the
process exits as soon as they are gone, and every desktop is already on its way to another instance.
"""
from __future__ import annotations

import gevent
from gunicorn.workers.ggevent import GeventWorker

from ui_connector.services import connector


class ConnectorWorker(GeventWorker):
    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        gevent.spawn(self._drain)

    def _drain(self) -> None:
        connector(self.wsgi).guard.drain()
