"""Memorystore with AUTH and in-transit encryption, played by a real redis-server with TLS: its
certificate, like Memorystore's, names the server's IP address only in the common name."""
from __future__ import annotations

import datetime
import shutil
import socket
import subprocess

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from aa_common.config import Env, RedisSettings
from aa_common.redis_client import connect_redis
from devstack.processes import free_port, wait_until

PASSWORD = "memorystore-auth-string"


def certificate(subject: str, issuer_key, public_key, issuer: str, is_ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def write_pem(path, cert=None, key=None) -> str:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return str(path)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    ca_key, server_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    ca = certificate("Test Memorystore CA", ca_key, ca_key.public_key(), "Test Memorystore CA", is_ca=True)
    server = certificate("127.0.0.1", ca_key, server_key.public_key(), "Test Memorystore CA", is_ca=False)
    paths = {"ca": write_pem(directory / "ca.pem", cert=ca), "cert": write_pem(directory / "server.pem", cert=server),
             "key": write_pem(directory / "server.key", key=server_key)}
    port = free_port()
    process = subprocess.Popen(
        [shutil.which("redis-server"), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", paths["cert"], "--tls-key-file", paths["key"], "--tls-ca-cert-file", paths["ca"],
         "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _port_open(port), 10, "redis-server with TLS")
    yield port, paths["ca"]
    process.terminate()
    process.wait(10)


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def settings(port: int, ca: str, **overrides: str) -> RedisSettings:
    env = {"REDISHOST": "127.0.0.1", "REDISPORT": str(port), "REDIS_PASSWORD": PASSWORD, "REDIS_TLS_CA_CERT": ca}
    return RedisSettings.from_env(Env({**env, **overrides}))


def test_connects_with_auth_and_tls_by_ip_address(tls_redis):
    port, ca = tls_redis
    client = connect_redis(settings(port, ca))
    assert client.ping() is True
    client.set("aa:tls-check", "ok", ex=10)
    assert client.get("aa:tls-check") == "ok"


def test_a_wrong_auth_string_is_refused(tls_redis):
    port, ca = tls_redis
    with pytest.raises(redis.AuthenticationError):
        connect_redis(settings(port, ca, REDIS_PASSWORD="wrong")).ping()


def test_a_server_certificate_from_another_ca_is_refused(tls_redis, tmp_path):
    port, _ = tls_redis
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_ca = write_pem(tmp_path / "other-ca.pem",
                         cert=certificate("Other CA", other_key, other_key.public_key(), "Other CA", is_ca=True))
    with pytest.raises(redis.ConnectionError):
        connect_redis(settings(port, other_ca)).ping()


def test_why_the_hostname_check_is_off_for_an_ip(tls_redis):
    """Python checks an IP against the certificate's alternative names only, never its CN."""
    port, ca = tls_redis
    with pytest.raises(redis.ConnectionError, match="IP address mismatch"):
        connect_redis(settings(port, ca, REDIS_TLS_CHECK_HOSTNAME="true")).ping()
