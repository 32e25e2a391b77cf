"""Production server settings: `gunicorn --config python:ui_connector.gunicorn_conf`.

One gevent worker per instance: Socket.IO keeps per-connection state in the process,
so instances (not workers) are the unit of scale, and Cloud Run's session affinity
keeps a long-polling client on its instance. `worker_connections` is the number of
concurrent connections the worker holds; deploy sets Cloud Run's concurrency to it.
The Dockerfile, `make ui-connector` and the end-to-end tests all run exactly this.
"""
import os

wsgi_app = "ui_connector.app:create_app()"
bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
worker_class = "gevent"
workers = 1
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
timeout = 60
graceful_timeout = 8  # Cloud Run sends SIGKILL 10 s after SIGTERM
keepalive = 75
accesslog = None
errorlog = "-"
control_socket_disable = True  # no runtime management socket: nothing uses it, and instances would share its path
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
