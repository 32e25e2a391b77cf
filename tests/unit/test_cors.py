"""CORS is limited to the configured desktop origins."""
import pytest


@pytest.mark.parametrize("origins,origin,allowed", [
    ("", "https://desk.example.com", False),
    ("https://desk.example.com", "https://desk.example.com", True),
    ("https://desk.example.com", "https://evil.example.com", False),
    ("https://a.example.com,https://desk.example.com", "https://desk.example.com", True),
])
def test_rest_preflight(make_connector, origins, origin, allowed):
    client = make_connector(CORS_ALLOWED_ORIGINS=origins).test_client()
    response = client.options("/register", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "Authorization"})
    assert (response.headers.get("Access-Control-Allow-Origin") == origin) is allowed


@pytest.mark.parametrize("origins,origin,allowed", [
    ("", "https://evil.example.com", False),
    ("https://desk.example.com", "https://desk.example.com", True),
    ("https://desk.example.com", "https://evil.example.com", False),
])
def test_socketio_handshake(make_connector, origins, origin, allowed):
    client = make_connector(CORS_ALLOWED_ORIGINS=origins).test_client()
    response = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": origin})
    assert (response.status_code == 200) is allowed
