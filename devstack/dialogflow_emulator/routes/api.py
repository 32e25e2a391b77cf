"""Routing for Dialogflow REST paths: both API versions, with and without a location."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint
from werkzeug.routing import BaseConverter

from aa_common.services import ServiceSlot

from ..names import Scope
from ..service import DialogflowEmulator

EMULATOR: ServiceSlot[DialogflowEmulator] = ServiceSlot("dialogflow_emulator")
_VERSION = "<any(v2, v2beta1):version>"


class ResourceIdConverter(BaseConverter):
    """One resource id: a path segment up to a ``:customVerb`` suffix."""

    regex = r"[^/:]+"


def emulator() -> DialogflowEmulator:
    return EMULATOR.get()


class DialogflowBlueprint(Blueprint):
    def rpc(self, rule: str, method: str, *, location_required: bool = False) -> Callable:
        """Serve ``view(scope, **ids)`` at ``/{v2,v2beta1}/projects/P[/locations/L]{rule}``.

        ``rule`` uses ``<id:...>`` placeholders; ``location_required`` drops the location-less form,
        for methods Dialogflow only offers under a location.
        """

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def endpoint(version: str, project: str, location: str | None = None, **ids: str) -> Any:
                return view(Scope(project, location), **ids)

            self.add_url_rule(
                f"/{_VERSION}/projects/<project>/locations/<location>{rule}",
                view_func=endpoint,
                methods=[method],
            )
            if not location_required:
                self.add_url_rule(f"/{_VERSION}/projects/<project>{rule}", view_func=endpoint, methods=[method])
            return view

        return register
