import pytest

from aa_common.config import ConfigError, Env, RedisSettings
from ui_connector.config import ConnectorConfig
from ui_connector.jwt_secret import load_jwt_keys


def test_the_project_is_required():
    with pytest.raises(ConfigError, match="GCP_PROJECT_ID must be set"):
        ConnectorConfig.from_env(Env({}))


def test_skip_auth_needs_an_explicit_insecure_opt_in():
    with pytest.raises(ConfigError, match="ALLOW_INSECURE_AUTH_SKIP=true"):
        ConnectorConfig.from_env(Env({"GCP_PROJECT_ID": "p", "AUTH_OPTION": "Skip"}))
    config = ConnectorConfig.from_env(Env({"GCP_PROJECT_ID": "p", "AUTH_OPTION": "Skip",
                                           "ALLOW_INSECURE_AUTH_SKIP": "true"}))
    assert config.auth.option == "Skip"


@pytest.mark.parametrize("env,problem", [
    ({"AUTH_OPTION": "Okta"}, "AUTH_OPTION must be one of"),
    ({"AUTH_OPTION": "Salesforce"}, "SALESFORCE_ORGANIZATION_ID"),
    ({"AUTH_OPTION": "GenesysCloud"}, "GENESYS_CLOUD_ORGANIZATION_ID"),
    ({"AUTH_OPTION": "OIDC", "OIDC_ISSUER": "https://idp"}, "OIDC_ISSUER and OIDC_AUDIENCE"),
    ({"APP_AUTH_OPTION": "Twilio"}, "TWILIO_ACCOUNT_SID"),
    ({"REDISPORT": "six"}, "REDISPORT must be a whole number"),
    ({"JWT_LIFETIME_MINUTES": "0"}, "JWT_LIFETIME_MINUTES must be at least 1"),
    ({"ALLOW_INSECURE_AUTH_SKIP": "maybe"}, "must be true or false"),
    ({"REDIS_TLS_CA_CERT": "/nonexistent/ca.pem"}, "is not a file"),
])
def test_bad_settings_are_named(env, problem):
    with pytest.raises(ConfigError, match=problem):
        ConnectorConfig.from_env(Env({"GCP_PROJECT_ID": "p", **env}))


def test_redis_settings_cover_memorystore_auth_and_tls(tmp_path):
    ca = tmp_path / "server-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = RedisSettings.from_env(Env({"REDISHOST": "10.0.0.3", "REDISPORT": "6378", "REDIS_PASSWORD": "auth",
                                           "REDIS_TLS_CA_CERT": str(ca)}))
    assert (settings.host, settings.port, settings.password, settings.tls) == ("10.0.0.3", 6378, "auth", True)


def test_the_secret_is_stripped(tmp_path):
    path = tmp_path / "key"
    path.write_text("\n  s3cret-with-enough-length-to-pass-the-warning \n")
    assert load_jwt_keys(str(path), "", "", "p").current.secret == "s3cret-with-enough-length-to-pass-the-warning"


@pytest.mark.parametrize("content", ["", " \n\t"])
def test_an_empty_secret_refuses_to_start(tmp_path, content):
    path = tmp_path / "key"
    path.write_text(content)
    with pytest.raises(ConfigError, match="empty"):
        load_jwt_keys(str(path), "", "", "p").current.secret


def test_push_service_account_without_audience_is_refused():
    from cloud_pubsub_interceptor.config import InterceptorConfig
    with pytest.raises(ConfigError, match="PUSH_AUDIENCE"):
        InterceptorConfig.from_env(Env({"PUSH_SERVICE_ACCOUNT": "invoker@p.iam.gserviceaccount.com"}))


@pytest.mark.parametrize("host,checked", [("10.0.0.3", False), ("redis.internal.example", True)])
def test_tls_hostname_check_defaults_off_for_ip_addresses(host, checked):
    assert RedisSettings.from_env(Env({"REDISHOST": host, "REDIS_TLS": "true"})).tls_check_hostname is checked


class TestSecretManager:
    """JWT_SECRET_NAME: the real Secret Manager client (REST) against a local fake of its API."""

    @pytest.fixture
    def client(self, fake_http):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import secretmanager

        fake_http.default = (404, {"error": {"code": 404, "message": "Secret version not found", "status": "NOT_FOUND"}})
        return secretmanager.SecretManagerServiceClient(
            transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": fake_http.url})

    @staticmethod
    def serve(fake_http, name: str, value: bytes, resolved: str | None = None) -> None:
        """Answer an access of ``name``; ``resolved`` is the numbered version Secret Manager names for an alias."""
        import base64
        fake_http.routes[f"/v1/{name}:access"] = (200, {"name": resolved or name,
                                                       "payload": {"data": base64.b64encode(value).decode()}})

    def test_the_version_before_the_latest_is_the_previous_key(self, fake_http, client, tmp_path):
        self.serve(fake_http, "projects/p/secrets/aa-jwt/versions/latest", b"the-current-key-long-enough-to-use!",
                   resolved="projects/123/secrets/aa-jwt/versions/7")
        self.serve(fake_http, "projects/123/secrets/aa-jwt/versions/6", b"the-previous-key-long-enough-to-use")
        keys = load_jwt_keys(str(tmp_path / "absent"), "", "aa-jwt", "p", secret_manager=client)
        assert keys.current.secret.startswith("the-current") and keys.previous.secret.startswith("the-previous")

    def test_a_disabled_previous_version_means_no_previous_key(self, fake_http, client, tmp_path):
        self.serve(fake_http, "projects/p/secrets/aa-jwt/versions/latest", b"the-current-key-long-enough-to-use!",
                   resolved="projects/123/secrets/aa-jwt/versions/7")
        fake_http.routes["/v1/projects/123/secrets/aa-jwt/versions/6:access"] = (400, {"error": {
            "code": 400, "message": "is in DISABLED state", "status": "FAILED_PRECONDITION"}})
        keys = load_jwt_keys(str(tmp_path / "absent"), "", "aa-jwt", "p", secret_manager=client)
        assert keys.previous is None

    def test_mounted_files_give_the_current_and_previous_keys(self, tmp_path):
        current, previous = tmp_path / "current", tmp_path / "previous"
        current.write_text("current-key-long-enough-for-no-warning\n")
        previous.write_text("previous-key-long-enough-for-no-warning\n")
        keys = load_jwt_keys(str(current), str(previous), "", "p")
        assert (keys.current.secret, keys.previous.secret) == ("current-key-long-enough-for-no-warning",
                                                               "previous-key-long-enough-for-no-warning")
        assert load_jwt_keys(str(current), str(tmp_path / "absent"), "", "p").previous is None

    def test_the_secret_is_fetched_by_name_and_stripped(self, fake_http, client, tmp_path):
        self.serve(fake_http, "projects/p/secrets/aa-jwt/versions/latest", b" a-key-from-secret-manager-long-enough \n")
        secret = load_jwt_keys(str(tmp_path / "absent"), "", "aa-jwt", "p", secret_manager=client).current.secret
        assert secret == "a-key-from-secret-manager-long-enough"
        assert [request["method"] for request in fake_http.requests] == ["GET"]

    def test_a_full_version_name_is_used_as_is(self, fake_http, client, tmp_path):
        name = "projects/other/secrets/aa-jwt/versions/3"
        self.serve(fake_http, name, b"version-three-of-the-key-long-enough!")
        assert load_jwt_keys(str(tmp_path / "absent"), "", name, "p", secret_manager=client).current.secret.startswith("version-three")

    def test_an_empty_secret_refuses_to_start(self, fake_http, client, tmp_path):
        self.serve(fake_http, "projects/p/secrets/aa-jwt/versions/latest", b"  \n")
        with pytest.raises(ConfigError, match="empty"):
            load_jwt_keys(str(tmp_path / "absent"), "", "aa-jwt", "p", secret_manager=client).current.secret

    def test_no_access_is_a_clear_start_up_error(self, fake_http, client, tmp_path):
        fake_http.default = (403, {"error": {"code": 403, "message": "Permission denied", "status": "PERMISSION_DENIED"}})
        with pytest.raises(ConfigError, match="secretAccessor"):
            load_jwt_keys(str(tmp_path / "absent"), "", "aa-jwt", "p", secret_manager=client).current.secret
