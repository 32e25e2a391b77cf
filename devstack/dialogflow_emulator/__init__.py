"""A Dialogflow emulator for local development and tests.

It serves the part of the Dialogflow v2/v2beta1 REST API an agent desktop uses, keeps its state in
memory, suggests answers from a small airline knowledge base and publishes the notifications real
Dialogflow would. Run it with ``gunicorn --config python:devstack.dialogflow_emulator.gunicorn_conf``.
"""

from __future__ import annotations

from flask import Flask

from .config import EmulatorConfig
from .errors import install_error_handlers
from .publisher import Publisher
from .routes import register_routes
from .routes.api import EMULATOR
from .service import DialogflowEmulator


def create_app(config: EmulatorConfig | None = None) -> Flask:
    """App factory; without ``config`` the environment configures it (see ``EmulatorConfig.from_env``)."""
    config = config or EmulatorConfig.from_env()
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the fields in Dialogflow's order
    EMULATOR.install(app, DialogflowEmulator(config, Publisher.from_config(config)))
    install_error_handlers(app)
    register_routes(app)
    return app
