"""Production server settings: `gunicorn --config python:cloud_pubsub_interceptor.gunicorn_conf`.

The Dockerfile, `make interceptor` and the end-to-end tests all run exactly this.
"""
from aa_common.gunicorn_defaults import (  # noqa: F401  (gunicorn reads these module globals)
    accesslog, bind, control_socket_disable, env_int, errorlog, graceful_timeout, keepalive, logger_class, loglevel,
    timeout)

wsgi_app = "cloud_pubsub_interceptor.app:create_app()"
worker_class = "gthread"
workers = env_int("GUNICORN_WORKERS", 1)
threads = env_int("GUNICORN_THREADS", 16)
