"""A typed home for an app's services: the app factory installs them once, routes read them back.

Flask keeps extensions in ``app.extensions``, a dict keyed by strings; ``ServiceSlot`` keeps that key
and its type in one place, so a route writes ``CONNECTOR.get().tokens`` and a type checker follows it.
"""
from __future__ import annotations

from typing import Generic, TypeVar

from flask import Flask, current_app

Services = TypeVar("Services")


class ServiceSlot(Generic[Services]):
    def __init__(self, name: str):
        self.name = name

    def install(self, app: Flask, services: Services) -> Services:
        app.extensions[self.name] = services
        return services

    def get(self, app: Flask | None = None) -> Services:
        """The services of ``app``, or of the app handling the current request."""
        return (app or current_app).extensions[self.name]
