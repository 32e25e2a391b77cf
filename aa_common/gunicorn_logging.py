"""gunicorn's own log lines (start-up, worker boots and exits, errors) as JSON, like the services'.

Named by ``logger_class`` in the gunicorn configurations. Access lines stay off unless
``accesslog`` is set (Cloud Run logs every request already, and a line per push or per
poll is what the metrics are for); when set, they are JSON too, and carry query strings.
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from aa_common.log_format import CloudLoggingFormatter


class JsonLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(CloudLoggingFormatter())

    def _compute_access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)
