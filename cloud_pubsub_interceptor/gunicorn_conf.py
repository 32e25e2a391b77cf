"""Production server settings: `gunicorn --config python:cloud_pubsub_interceptor.gunicorn_conf`.

The Dockerfile, `make interceptor` and the end-to-end tests all run exactly this.
"""
import os

wsgi_app = "cloud_pubsub_interceptor.app:create_app()"
bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = 60
graceful_timeout = 8  # Cloud Run sends SIGKILL 10 s after SIGTERM
keepalive = 75
accesslog = None
errorlog = "-"
control_socket_disable = True  # no runtime management socket: nothing uses it, and instances would share its path
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
