"""Server settings both services' gunicorn configurations share (imported, never run, by them).

Kept free of application imports: gunicorn loads this before its gevent worker monkey-patches.
"""
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8080')}"
timeout = 60
graceful_timeout = 8  # Cloud Run sends SIGKILL 10 s after SIGTERM
keepalive = 75
accesslog = None
errorlog = "-"
control_socket_disable = True  # no runtime management socket: nothing uses it, and instances would share its path
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
