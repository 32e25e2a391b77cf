"""Production server settings: `gunicorn --config python:ui_connector.gunicorn_conf`.

One gevent worker per instance: Socket.IO keeps per-connection state in the process,
so instances (not workers) are the unit of scale, and Cloud Run's session affinity
keeps a long-polling client on its instance. `worker_connections` is the number of
concurrent connections the worker holds; deploy sets Cloud Run's concurrency to it.
The Dockerfile, `make ui-connector` and the end-to-end tests all run exactly this.
"""
from aa_common.gunicorn_defaults import (  # noqa: F401  (gunicorn reads these module globals)
    accesslog, bind, control_socket_disable, env_int, errorlog, graceful_timeout, keepalive, loglevel, timeout)

wsgi_app = "ui_connector.app:create_app()"
worker_class = "gevent"
workers = 1
worker_connections = env_int("GUNICORN_WORKER_CONNECTIONS", 1000)
