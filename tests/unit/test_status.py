"""GET /status: anyone may ask, so it names nothing about the deployment."""
from __future__ import annotations


def test_status_answers_without_the_project_id(make_connector):
    client = make_connector().test_client()
    response = client.get("/status")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "conversations": 0}
    assert "my-proj" not in response.get_data(as_text=True)
