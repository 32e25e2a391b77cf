"""Production server settings: `gunicorn --config python:ui_connector.gunicorn_conf`.

One gevent worker per instance: Socket.IO keeps per-connection state in the process,
so instances (not workers) are the unit of scale, and Cloud Run's session affinity
keeps a long-polling client on its instance. `worker_connections` is the number of
requests the worker serves at once, the same as Cloud Run's concurrency: the Socket.IO
sessions it admits (`SOCKET_MAX_CONNECTIONS`, each a long-polling request or a WebSocket
being opened; an open WebSocket holds none, see `websocket_transport`) plus room for health
checks, registration and the proxy, so those keep answering when every session slot is taken.
The Dockerfile, `make ui-connector` and the end-to-end tests all run exactly this.
"""
from aa_common.gunicorn_defaults import (  # noqa: F401  (gunicorn reads these module globals)
    accesslog, bind, control_socket_disable, env_int, errorlog, graceful_timeout, keepalive, logger_class, loglevel,
    timeout)
from aa_common.log_format import log_gevent_errors

wsgi_app = "ui_connector.app:create_app()"
worker_class = "ui_connector.worker.ConnectorWorker"  # gevent, plus a clean stop for desktops
workers = 1
HTTP_HEADROOM = 100
worker_connections = env_int("GUNICORN_WORKER_CONNECTIONS", env_int("SOCKET_MAX_CONNECTIONS", 1000) + HTTP_HEADROOM)


def post_worker_init(worker) -> None:
    log_gevent_errors()
