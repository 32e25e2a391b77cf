"""Server settings: `gunicorn --config python:devstack.dialogflow_emulator.gunicorn_conf`.

State lives in memory, so there is exactly one worker process; its threads share the state. The
app must be loaded in the worker (no ``preload_app``): its notification publisher thread starts
with it and would not survive the fork.
"""

import logging
import os

wsgi_app = "devstack.dialogflow_emulator:create_app()"
bind = f"127.0.0.1:{os.environ.get('PORT', '8086')}"
worker_class = "gthread"
workers = 1
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 30
graceful_timeout = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's control socket has one default path per user, which several local servers would share.
control_socket_disable = True


def on_starting(server) -> None:
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
