"""Logging for both services: JSON lines (``aa_common.log_format``) on stdout and, where
LOGGING_FILE is set, in that file too, each tied to its request's trace."""
from __future__ import annotations

import logging
import re
import sys

from flask import has_request_context, request

from aa_common.config import ConfigError, Env
from aa_common.log_format import CloudLoggingFormatter

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})")
_CLOUD_TRACE = re.compile(r"(?P<trace>[0-9a-fA-F]{32})(?:/(?P<span>\d{1,20}))?(?:;o=(?P<sampled>[01]))?")


def trace_fields(headers, project_id: str) -> dict[str, object]:
    """Cloud Logging's trace fields from W3C ``traceparent`` or ``X-Cloud-Trace-Context``, for
    correlating a log line with its request. Malformed headers give nothing."""
    parent = _TRACEPARENT.fullmatch(headers.get("traceparent", "").strip())
    if parent and parent["trace"] != "0" * 32:
        return {"logging.googleapis.com/trace": f"projects/{project_id}/traces/{parent['trace']}",
                "logging.googleapis.com/spanId": parent["span"],
                "logging.googleapis.com/trace_sampled": int(parent["flags"], 16) & 1 == 1}
    cloud = _CLOUD_TRACE.fullmatch(headers.get("X-Cloud-Trace-Context", "").strip())
    if cloud:
        fields: dict[str, object] = {"logging.googleapis.com/trace": f"projects/{project_id}/traces/{cloud['trace']}"}
        if cloud["span"]:
            fields["logging.googleapis.com/spanId"] = f"{int(cloud['span']):016x}"
        if cloud["sampled"]:
            fields["logging.googleapis.com/trace_sampled"] = cloud["sampled"] == "1"
        return fields
    return {}


class RequestTrace(logging.Filter):
    """Adds the current request's trace fields to every record logged while it is handled."""

    def __init__(self, project_id: str):
        super().__init__()
        self._project_id = project_id

    def filter(self, record: logging.LogRecord) -> bool:
        if self._project_id and has_request_context():
            for name, value in trace_fields(request.headers, self._project_id).items():
                setattr(record, name, value)
        return True


def configure_logging(env: Env, project_id: str = "") -> None:
    """Send the root logger to stdout and, where LOGGING_FILE is set, to that file too."""
    level = env.str("LOG_LEVEL", "INFO").upper()
    if level not in LEVELS:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    logging_file = env.str("LOGGING_FILE")
    if logging_file:
        handlers.append(logging.FileHandler(logging_file))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(CloudLoggingFormatter())
        handler.addFilter(RequestTrace(project_id))
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a log line too, not plain text on stderr
