"""JSON-lines logging that Cloud Logging reads: ``severity``, ``message`` and the request's trace."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from flask import has_request_context, request

from aa_common.config import ConfigError, Env

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line; ``extra={...}`` fields are kept as structured fields."""

    def __init__(self, project_id: str = ""):
        super().__init__()
        self._project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "logger": record.name,
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")})
        trace = _trace_of_current_request(self._project_id)
        if trace:
            entry["logging.googleapis.com/trace"] = trace
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _trace_of_current_request(project_id: str) -> str | None:
    if not (project_id and has_request_context()):
        return None
    header = request.headers.get("X-Cloud-Trace-Context", "")
    trace_id = header.split("/", 1)[0]
    return f"projects/{project_id}/traces/{trace_id}" if trace_id else None


def configure_logging(env: Env, project_id: str = "") -> None:
    """Send the root logger to stdout and, where LOGGING_FILE is set, to that file too."""
    formatter = CloudLoggingFormatter(project_id)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    logging_file = env.str("LOGGING_FILE")
    if logging_file:
        handlers.append(logging.FileHandler(logging_file))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    level = env.str("LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
    root.setLevel(level)
