"""Endpoints for tests and people, outside Dialogflow's API: what the emulator received and sent."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .api import emulator

blueprint = Blueprint("inspection", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/emulator/feedback")
def feedback():
    """Answer-record feedback received, oldest first."""
    return jsonify({"feedback": emulator().feedback()})


@blueprint.get("/emulator/notifications")
def notifications():
    """Every notification published, oldest first, with where it went and whether it arrived."""
    return jsonify({"notifications": emulator().notifications()})


@blueprint.post("/emulator/reset")
def reset():
    """Forgets all conversations, answer records, feedback and notifications."""
    emulator().reset()
    return jsonify({})
