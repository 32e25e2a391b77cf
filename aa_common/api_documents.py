"""What the machine-readable API documents have in common: the OpenAPI descriptions of both services'
REST APIs (built with ``aa_common.openapi``) and the AsyncAPI document of the Socket.IO API
(``ui_connector.asyncapi``). Each is built from code, committed in docs/api/ as the code renders it,
served as those same bytes, and written, or checked, by ``python -m <its module> [--check] [PATH]``.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Blueprint, Response

DOCS_DIR = Path(__file__).resolve().parents[1] / "docs" / "api"
JSON = "application/json"


def package_version() -> str:
    """The version every document states: the project's."""
    return metadata.version("agent-assist-backend")


def anchored(pattern: str) -> str:
    """A JSON Schema pattern (unanchored, ECMA-262) for the whole of ``pattern``, which must be valid
    ECMA-262 as well as Python: no named groups, say."""
    return f"^(?:{pattern})$"


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class CommittedDocument:
    """One document of docs/api/: ``build`` renders it, ``GET route`` serves it, and ``module``, run with
    ``python -m``, writes it there (``main``)."""

    def __init__(self, build: Callable[[], dict[str, Any]], filename: str, route: str, module: str):
        self._build = build
        self.path = DOCS_DIR / filename
        self.route = route
        self._command = f"python -m {module}"

    @functools.cached_property
    def text(self) -> str:
        """The document as committed and as served, byte for byte."""
        return render(self._build())

    def blueprint(self, name: str) -> Blueprint:
        blueprint = Blueprint(name, __name__)
        blueprint.add_url_rule(self.route, "document", lambda: Response(self.text, mimetype=JSON), methods=["GET"])
        return blueprint

    def main(self, argv: list[str] | None = None) -> int:
        """Write the document to its committed place (or PATH), or with ``--check`` exit 1 when the file
        there is not what the code renders."""
        parser = argparse.ArgumentParser(prog=self._command, description="Write this document, or check it.")
        parser.add_argument("--check", action="store_true", help="compare instead of writing")
        parser.add_argument("path", nargs="?", type=Path, default=self.path)
        args = parser.parse_args(argv)
        if args.check:
            if not args.path.is_file() or args.path.read_text() != self.text:
                print(f"{args.path} is not what the code builds; run `{self._command}`", file=sys.stderr)
                return 1
            return 0
        args.path.parent.mkdir(parents=True, exist_ok=True)
        args.path.write_text(self.text)
        return 0
