"""The desktop page's files: what they are served as does not depend on the machine's MIME table."""
from __future__ import annotations

import mimetypes

import pytest


@pytest.mark.parametrize("name,media_type", [("socket.io.min.js", "text/javascript"),
                                             ("socket.io.min.js.map", "application/json")])
def test_the_socketio_client_files_have_their_own_media_types(make_connector, monkeypatch, name, media_type):
    monkeypatch.setattr(mimetypes, "guess_type", lambda *args, **kwargs: ("application/x-unknown", None))

    response = make_connector().test_client().get(f"/vendor/{name}")

    assert response.status_code == 200
    assert response.mimetype == media_type


def test_other_vendor_names_are_a_json_404(make_connector):
    response = make_connector().test_client().get("/vendor/socket.io.js")

    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == "NOT_FOUND"
