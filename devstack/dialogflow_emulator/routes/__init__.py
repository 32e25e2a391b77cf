"""The emulator's HTTP routes."""

from __future__ import annotations

from flask import Flask

from . import configuration, conversations, inspection, knowledge, participants
from .api import ResourceIdConverter


def register_routes(app: Flask) -> None:
    app.url_map.converters["id"] = ResourceIdConverter
    for module in (conversations, participants, knowledge, configuration, inspection):
        app.register_blueprint(module.blueprint)
