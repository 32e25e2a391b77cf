"""The UI connector's app factory: wires configuration, Redis, tokens, fan-out and routes."""
from __future__ import annotations

import logging
from functools import partial

import gevent
import redis
from flask import Flask, jsonify
from flask_cors import CORS
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from aa_common.config import Env
from aa_common.event_store import EventStore
from aa_common.http import health_blueprint, install_body_limit, install_error_handlers, install_security_headers
from aa_common.logs import configure_logging
from aa_common.metrics import metrics_blueprint
from aa_common.redis_client import connect_redis
from ui_connector import openapi
from ui_connector.asyncapi import asyncapi_routes
from ui_connector.auth_providers import PlatformChecks, app_check, user_check
from ui_connector.config import ConnectorConfig
from ui_connector.conversation_names import ConversationNames, conversation_name_routes
from ui_connector.deadlines import Deadlines
from ui_connector.desktop_page import desktop_page_routes
from ui_connector.dialogflow_proxy import DialogflowClient, dialogflow_proxy_routes
from ui_connector.engineio_sessions import serve_websockets_directly, wait_written
from ui_connector.fanout import ConversationFanout
from ui_connector.jwt_secret import load_jwt_keys
from ui_connector.listener import ClusterShards, Router, SingleNode
from ui_connector.pubsub_reads import read_within_with_gevent, wait_readable_with_gevent
from ui_connector.rate_limits import WindowCounter
from ui_connector.registration import registration_routes
from ui_connector.resume import ResumeCursors
from ui_connector.services import CONNECTOR, ConnectorServices
from ui_connector.socket_guard import EngineIOGate, SocketGuard
from ui_connector.sockets import DesktopNamespace
from ui_connector.tokens import TokenService


def create_app(config: ConnectorConfig | None = None, redis_client: redis.Redis | None = None,
               pubsub_client: redis.Redis | None = None) -> Flask:
    """App factory: ``gunicorn 'ui_connector.app:create_app()'`` reads the environment."""
    if config is None:
        env = Env()
        configure_logging(env, env.str("GCP_PROJECT_ID"))
        config = ConnectorConfig.from_env(env)
    keys = load_jwt_keys(config.jwt_secret_key_path, config.jwt_previous_secret_key_path, config.jwt_secret_name,
                         config.project_id)
    client = redis_client or connect_redis(config.redis)

    app = Flask(__name__, static_folder=None)
    read_within = partial(gevent.Timeout, config.request_read_timeout_seconds, TimeoutError)
    install_body_limit(app, config.max_request_bytes, read_within)
    app.config["SECRET_KEY"] = keys.current.secret
    if config.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxy_hops, x_proto=config.trusted_proxy_hops)
    origins = config.cors_allowed_origins
    CORS(app, origins=origins or [], expose_headers=["Retry-After"])
    limits = config.socket_limits
    socketio = SocketIO(app, async_mode="gevent", always_connect=True, manage_session=False,
                        cors_allowed_origins=_socketio_origins(origins), max_http_buffer_size=limits.max_message_bytes,
                        ping_interval=limits.ping_interval_seconds, ping_timeout=limits.ping_timeout_seconds,
                        monitor_clients=False,  # SocketGuard.sweep does it, at a fraction of the wake-ups
                        logger=_quiet_logger("socketio.server"), engineio_logger=_quiet_logger("engineio.server"))
    serve_websockets_directly(socketio.server.eio, limits.max_backlog_bytes)
    deadlines = Deadlines(spawn=socketio.start_background_task, sleep=socketio.sleep)
    guard = SocketGuard(socketio.server, limits, deadlines, sleep=socketio.sleep)
    app.wsgi_app = EngineIOGate(app.wsgi_app, socketio.server.eio, app, guard, limits, read_within)
    install_security_headers(app)

    tokens = TokenService(keys, config.tokens, config.project_id)
    fanout = ConversationFanout(
        EventStore(client, config.retention, config.redis),
        _pubsub_router(config, client, pubsub_client),
        send=socketio.server.eio.send,
        wait_written=partial(wait_written, socketio.server.eio),
        spawn=socketio.start_background_task,
        sleep=socketio.sleep,
        wait_readable=wait_readable_with_gevent,
        read_within=read_within_with_gevent,
    )
    checks = PlatformChecks(config.auth)
    CONNECTOR.install(app, ConnectorServices(
        config=config,
        tokens=tokens,
        user_check=user_check(config.auth, checks),
        app_check=app_check(config.auth, checks),
        registration_attempts=WindowCounter(client, "aa:register-failures:", config.register_failures_per_minute),
        conversation_names=ConversationNames(client, [key.secret for key in keys.all()],
                                             config.conversation_name_ttl_seconds,
                                             config.conversation_name_lookups_per_minute),
        fanout=fanout,
        socketio=socketio,
        deadlines=deadlines,
        guard=guard,
        dialogflow=DialogflowClient(config.dialogflow_api_endpoint, config.dialogflow_timeout_seconds,
                                    use_google_credentials=config.dialogflow_auth == "google"),
    ))
    desktops = DesktopNamespace(tokens, fanout, ResumeCursors(client, config.resume_cursor_ttl_seconds),
                                config.project_id, guard, deadlines, config.connection_max_age_seconds)
    socketio.on_namespace(desktops)

    install_error_handlers(app)

    def check_ready() -> None:
        client.ping()
        fanout.check_listener()

    app.register_blueprint(health_blueprint(check_ready))
    app.register_blueprint(metrics_blueprint())
    app.register_blueprint(openapi.DOCUMENT.blueprint("openapi"))
    app.register_blueprint(registration_routes)
    app.register_blueprint(conversation_name_routes)
    app.register_blueprint(dialogflow_proxy_routes)
    app.register_blueprint(desktop_page_routes)
    app.register_blueprint(asyncapi_routes)

    # Unauthenticated: says nothing about the deployment (no project id) beyond being up.
    @app.get("/status")
    def status():
        return jsonify(status="ok", conversations=len(fanout.watching()))

    return app


def _pubsub_router(config: ConnectorConfig, client, pubsub_client: redis.Redis | None) -> Router:
    """Classic Pub/Sub on a connection of its own; on a cluster, sharded Pub/Sub on each primary's."""
    if config.redis.cluster:
        return ClusterShards(client, config.redis)
    return SingleNode(pubsub_client or connect_redis(config.redis, pubsub=True))


def _quiet_logger(name: str) -> logging.Logger:
    """python-socketio and python-engineio log every packet, tokens included, at INFO, and add a plain-text
    handler to a logger they are not given: hand them ours, which only passes warnings on, as JSON."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    return logger


def _socketio_origins(origins: list[str]) -> list[str] | str | None:
    """Socket.IO's CORS setting: None means same-origin only (an empty list would allow every origin)."""
    if "*" in origins:
        return "*"
    return origins or None
