"""The UI connector's app factory: wires configuration, Redis, tokens, fan-out and routes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Flask, jsonify
from flask_cors import CORS
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from aa_common.config import Env
from aa_common.event_store import EventStore
from aa_common.http import health_blueprint, install_error_handlers
from aa_common.logs import configure_logging
from aa_common.redis_client import connect_redis
from ui_connector.auth_providers import PlatformChecks, app_check, user_check
from ui_connector.config import ConnectorConfig
from ui_connector.conversation_names import ConversationNames, conversation_name_routes
from ui_connector.desktop_page import desktop_page_routes
from ui_connector.dialogflow_proxy import DialogflowClient, dialogflow_proxy_routes
from ui_connector.fanout import ConversationFanout
from ui_connector.jwt_secret import load_jwt_secret
from ui_connector.registration import RegistrationAttempts, registration_routes
from ui_connector.sockets import DesktopNamespace
from ui_connector.tokens import TokenService
from ui_connector.websocket_writes import WholeFrameWrites


@dataclass
class ConnectorServices:
    config: ConnectorConfig
    tokens: TokenService
    user_check: Callable[[str], bool]
    app_check: Callable[[object], bool]
    registration_attempts: RegistrationAttempts
    conversation_names: ConversationNames
    fanout: ConversationFanout
    socketio: SocketIO
    dialogflow: DialogflowClient


def create_app(config: ConnectorConfig | None = None, redis_client: redis.Redis | None = None,
               pubsub_client: redis.Redis | None = None) -> Flask:
    """App factory: ``gunicorn 'ui_connector.app:create_app()'`` reads the environment."""
    if config is None:
        env = Env()
        configure_logging(env, env.str("GCP_PROJECT_ID"))
        config = ConnectorConfig.from_env(env)
    secret = load_jwt_secret(config.jwt_secret_key_path, config.jwt_secret_name, config.project_id)
    client = redis_client or connect_redis(config.redis)

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    app.config["SECRET_KEY"] = secret
    if config.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxy_hops, x_proto=config.trusted_proxy_hops)
    origins = config.cors_allowed_origins
    CORS(app, origins=origins or [], expose_headers=["Retry-After"])
    socketio = SocketIO(app, async_mode="gevent", always_connect=True, manage_session=True,
                        cors_allowed_origins=_socketio_origins(origins), max_http_buffer_size=64 * 1024)
    app.wsgi_app = WholeFrameWrites(app.wsgi_app)

    tokens = TokenService(secret, config.tokens, config.project_id)
    fanout = ConversationFanout(
        EventStore(client, config.retention),
        pubsub_client or connect_redis(config.redis, blocking_reads=True),
        emit=lambda event, payload, sid: socketio.emit(event, payload, to=sid),
        spawn=socketio.start_background_task,
        sleep=socketio.sleep,
    )
    checks = PlatformChecks(config.auth)
    app.extensions["ui_connector"] = ConnectorServices(
        config=config,
        tokens=tokens,
        user_check=user_check(config.auth, checks),
        app_check=app_check(config.auth, checks),
        registration_attempts=RegistrationAttempts(client, config.register_failures_per_minute),
        conversation_names=ConversationNames(client, secret, config.conversation_name_ttl_seconds),
        fanout=fanout,
        socketio=socketio,
        dialogflow=DialogflowClient(config.dialogflow_api_endpoint, config.dialogflow_timeout_seconds,
                                    use_google_credentials=config.dialogflow_auth == "google"),
    )
    socketio.on_namespace(DesktopNamespace(tokens, fanout, config.project_id))

    install_error_handlers(app)

    def check_ready() -> None:
        client.ping()
        fanout.check_listener()

    app.register_blueprint(health_blueprint(check_ready))
    app.register_blueprint(registration_routes)
    app.register_blueprint(conversation_name_routes)
    app.register_blueprint(dialogflow_proxy_routes)
    app.register_blueprint(desktop_page_routes)

    # Unauthenticated: says nothing about the deployment (no project id) beyond being up.
    @app.get("/status")
    def status():
        return jsonify(status="ok", conversations=len(fanout.watching()))

    return app


def _socketio_origins(origins: list[str]) -> list[str] | str | None:
    """Socket.IO's CORS setting: None means same-origin only (an empty list would allow every origin)."""
    if "*" in origins:
        return "*"
    return origins or None
