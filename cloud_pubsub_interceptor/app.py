"""The interceptor's app factory."""
from __future__ import annotations

from flask import Flask

from aa_common.config import Env
from aa_common.event_store import EventStore
from aa_common.http import health_blueprint, install_body_limit, install_error_handlers, install_security_headers
from aa_common.logs import configure_logging
from aa_common.metrics import metrics_blueprint
from aa_common.redis_client import connect_redis
from cloud_pubsub_interceptor import openapi
from cloud_pubsub_interceptor.config import InterceptorConfig
from cloud_pubsub_interceptor.push_auth import PushVerifier
from cloud_pubsub_interceptor.routes import push_routes
from cloud_pubsub_interceptor.services import INTERCEPTOR, InterceptorServices


def create_app(config: InterceptorConfig | None = None, redis_client=None) -> Flask:
    """App factory: ``gunicorn 'cloud_pubsub_interceptor.app:create_app()'`` reads the environment."""
    env = Env()
    if config is None:
        configure_logging(env, env.str("GCP_PROJECT_ID"))
        config = InterceptorConfig.from_env(env)
    client = redis_client or connect_redis(config.redis)

    app = Flask(__name__)
    install_body_limit(app, config.max_request_bytes)
    INTERCEPTOR.install(app, InterceptorServices(
        store=EventStore(client, config.retention, config.redis),
        verifier=PushVerifier(config.push_auth) if config.push_auth.enabled else None,
    ))
    install_error_handlers(app)
    install_security_headers(app)
    app.register_blueprint(push_routes)
    app.register_blueprint(health_blueprint(client.ping))
    app.register_blueprint(metrics_blueprint())
    app.register_blueprint(openapi.DOCUMENT.blueprint("openapi"))

    return app
