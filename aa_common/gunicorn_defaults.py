"""Server settings both services' gunicorn configurations share (imported, never run, by them).

Kept free of application imports: gunicorn loads this before its gevent worker monkey-patches.
"""
import os


def env_int(name: str, default: int) -> int:
    """A whole-number setting, or a start-up error that names the variable."""
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{env_int('PORT', 8080)}"
timeout = 60
graceful_timeout = 8  # Cloud Run sends SIGKILL 10 s after SIGTERM
# The time a client has to send a request's headers (gunicorn's gevent worker bounds that read by its
# keep-alive time), and so the idle time allowed on a kept-alive connection too.
keepalive = env_int("REQUEST_READ_TIMEOUT_SECONDS", 10)
accesslog = None
errorlog = "-"
control_socket_disable = True  # no runtime management socket: nothing uses it, and instances would share its path
loglevel = os.environ.get("LOG_LEVEL", "info").strip().lower() or "info"
if loglevel not in {"debug", "info", "warning", "error", "critical"}:
    raise SystemExit(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {loglevel!r}")
logger_class = "aa_common.gunicorn_logging.JsonLogger"  # gunicorn's own lines as JSON too
