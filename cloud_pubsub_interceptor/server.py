"""The interceptor's production server: granian (a Rust HTTP server) in front of the Flask app.

`python -m cloud_pubsub_interceptor.server` is the production command line (the Dockerfile,
`make interceptor` and the end-to-end tests run it). Why not gunicorn, as the UI connector:

- cost: an empty Flask request costs ~870 µs of CPU under gunicorn's gthread worker on these
  machines and ~300 µs here (`make bench` measures both in the same run);
- slow clients: granian reads headers and bodies in Rust, without holding a Python thread. The
  Flask app is called through granian's RSGI interface, so that the whole body is awaited, bounded
  in size and in time, before the app runs. (granian's WSGI interface reads the body from inside
  the app's thread, with no time limit: a client sending half a body held it for as long as it
  liked.)

The app runs on the worker's event loop thread; one request at a time per worker, which is what
the GIL allows anyway. ``INTERCEPTOR_WORKERS`` processes share the port.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aa_common.config import PROMETHEUS_MULTIPROCESS_DIR, ConfigError, Env
from aa_common.http import SECURITY_HEADERS, error_body

log = logging.getLogger(__name__)
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
_NO_BODY = b""
# What a request refused before the app runs is answered with: the app's JSON error, and the security
# headers its every response carries (aa_common.http.install_security_headers).
_REFUSAL_HEADERS = [("content-type", "application/json"), *SECURITY_HEADERS]


@dataclass(frozen=True)
class ServerSettings:
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1
    read_timeout_seconds: int = 10
    max_request_bytes: int = 4 * 1024 * 1024
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Env) -> "ServerSettings":
        level = env.str("LOG_LEVEL", "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
        read_timeout = env.int("REQUEST_READ_TIMEOUT_SECONDS", 10, minimum=1)
        if read_timeout > 60:
            raise ConfigError(f"REQUEST_READ_TIMEOUT_SECONDS must be at most 60, got {read_timeout}")
        return cls(
            host=env.str("HOST", "0.0.0.0"),
            port=env.int("PORT", 8080, minimum=1),
            workers=env.int("INTERCEPTOR_WORKERS", 1, minimum=1),
            read_timeout_seconds=read_timeout,
            max_request_bytes=env.int("MAX_REQUEST_BYTES", 4 * 1024 * 1024, minimum=1024),
            log_level=level,
        )


class _StartResponse:
    __slots__ = ("status", "headers")

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        self.status = int(status[:3])
        self.headers = headers


class RSGIBridge:
    """An RSGI application that reads each request body in full, within ``read_timeout_seconds``
    and ``max_request_bytes``, then calls a WSGI application with it."""

    def __init__(self, wsgi_app: WSGIApp, settings: ServerSettings,
                 on_refused: Callable[[str, int], None] = lambda path, code: None):
        self._app = wsgi_app
        self._on_refused = on_refused
        self._timeout = settings.read_timeout_seconds
        self._limit = settings.max_request_bytes
        self._base_environ = {
            "SCRIPT_NAME": "", "SERVER_NAME": settings.host, "SERVER_PORT": str(settings.port), "wsgi.version": (1, 0),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": settings.workers > 1,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
        }

    async def __call__(self, scope, proto) -> None:
        if scope.proto != "http":
            return
        try:
            body = await self._read_body(scope, proto)
        except _Refused as refusal:
            self._on_refused(scope.path, refusal.code)
            proto.response_bytes(refusal.code, _REFUSAL_HEADERS, refusal.body)
            return
        start_response = _StartResponse()
        result = self._app(self._environ(scope, body), start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        proto.response_bytes(start_response.status, start_response.headers, payload)

    async def _read_body(self, scope, proto) -> bytes:
        length = scope.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self._limit):
            raise _Refused(413, f"request body is too large (the limit is {self._limit} bytes)") \
                if length.isdigit() else _Refused(400, "Content-Length is not a number")
        if length == "0" or (length is None and "transfer-encoding" not in scope.headers):
            return _NO_BODY
        try:
            async with asyncio.timeout(self._timeout):
                if length is not None:
                    return await proto()
                return await self._read_chunks(proto)
        except TimeoutError:
            raise _Refused(408, f"the request body did not arrive within {self._timeout} s") from None

    async def _read_chunks(self, proto) -> bytes:
        chunks, size = [], 0
        async for chunk in proto:
            size += len(chunk)
            if size > self._limit:
                raise _Refused(413, f"request body is too large (the limit is {self._limit} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _environ(self, scope, body: bytes) -> dict:
        environ = dict(self._base_environ)
        environ.update({
            "REQUEST_METHOD": scope.method,
            "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),  # WSGI: the path's bytes as a str
            "QUERY_STRING": scope.query_string,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": scope.client.rsplit(":", 1)[0].strip("[]"),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        })
        for name, value in scope.headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if key == "CONTENT_TYPE":
                    environ[key] = value
                continue
            key = f"HTTP_{key}"
            environ[key] = f"{environ[key]}, {value}" if key in environ else value
        return environ


class _Refused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.body = json.dumps(error_body(code, message)).encode()


def create_rsgi_app():
    """granian's factory target: the interceptor app, configured from the environment, behind the bridge.

    Runs in each worker. The app (and prometheus-client) are imported only here, never by the parent
    process: prometheus-client picks its multiprocess mode when first imported, and workers are forked."""
    from cloud_pubsub_interceptor.app import create_app
    from cloud_pubsub_interceptor.metrics import count_refused_push

    return RSGIBridge(create_app(), ServerSettings.from_env(Env()), on_refused=count_refused_push)


def main() -> int:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    from aa_common.log_format import json_logging_dictconfig

    try:
        settings = ServerSettings.from_env(Env())
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if settings.workers > 1 and not os.environ.get(PROMETHEUS_MULTIPROCESS_DIR):
        # Each worker counts in files of its own; /metrics, in whichever worker answers, adds them up.
        os.environ[PROMETHEUS_MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="aa-interceptor-metrics-")
    Server(
        "cloud_pubsub_interceptor.server:create_rsgi_app", factory=True, interface=Interfaces.RSGI,
        address=settings.host, port=settings.port, workers=settings.workers, http=HTTPModes.auto,
        websockets=False, http1_settings=HTTP1Settings(header_read_timeout=settings.read_timeout_seconds * 1000),
        log_level=LogLevels(settings.log_level.lower()), log_dictconfig=json_logging_dictconfig(settings.log_level),
        log_access=False,
        workers_kill_timeout=8,  # Cloud Run sends SIGKILL 10 s after SIGTERM
        respawn_failed_workers=True,
    ).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
