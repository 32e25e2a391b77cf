"""The one log line format of both services: a JSON object Cloud Logging reads.

Standard library only, so that gunicorn's configuration can load it before its gevent worker
monkey-patches; request details (the trace) are added by ``aa_common.logs``.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line: ``severity``, ``message``, ``time``, ``logger``, any ``extra={...}``
    fields, and ``stack_trace`` for an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "logger": record.name,
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")})
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def json_logging_dictconfig(level: str) -> dict:
    """A ``logging.config.dictConfig`` sending the root logger to stdout as JSON, with granian's own
    loggers propagating to it (for the interceptor's server, before the app configures logging)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": CloudLoggingFormatter}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "root": {"level": level.upper(), "handlers": ["stdout"]},
        "loggers": {"_granian": {"handlers": [], "propagate": True},
                    "granian.access": {"handlers": [], "propagate": True}},
    }


def log_gevent_errors() -> None:
    """Send what gevent's hub would print about a failed greenlet (a plain-text traceback on
    stderr) to the log instead."""
    import gevent

    hub = gevent.get_hub()
    logger = logging.getLogger("gevent")

    def print_exception(context, kind, value, traceback) -> None:
        logger.error("a greenlet failed: %s", kind.__name__ if kind else "error",
                     exc_info=(kind, value, traceback) if kind else None)

    hub.print_exception = print_exception
