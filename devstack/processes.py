"""Starting and stopping the local stack's processes: a private redis-server and the services
under their production gunicorn command lines. Used by `make dev` and the end-to-end tests."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

INTERCEPTOR_COMMAND = [str(BIN / "python"), "-m", "cloud_pubsub_interceptor.server"]
UI_CONNECTOR_COMMAND = [str(BIN / "gunicorn"), "--config", "python:ui_connector.gunicorn_conf"]


def stop_process_group(process: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM the process's group (a server and its workers or JVM), SIGKILL it after ``timeout``."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CLUSTER_BUS_OFFSET = 10000  # a cluster node also listens on its port + 10000, for its peers


def free_cluster_port() -> int:
    """A free port whose cluster bus port is free (and exists) too."""
    while True:
        port = free_port()
        if port + CLUSTER_BUS_OFFSET > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + CLUSTER_BUS_OFFSET))
            except OSError:
                continue
        return port


def wait_until(check, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class RedisServer:
    """A redis-server of our own on a free port, so it can be stopped and restarted at will.

    ``persistent`` keeps an append-only file across restarts, as a production Redis with
    persistence would; without it, a restart starts empty.
    """

    def __init__(self, port: int | None = None, persistent: bool = False, extra_args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self._persistent = persistent
        self._extra_args = extra_args
        self._dir = tempfile.mkdtemp(prefix="aa-redis-")
        self._process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        executable = shutil.which("redis-server")
        if not executable:
            raise RuntimeError("redis-server is not installed; `make install` installs it")
        command = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--dir", self._dir, "--appendonly", "yes" if self._persistent else "no", *self._extra_args]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(self._answers, 10, f"redis-server on port {self.port}")
        except BaseException:  # a timeout, or Ctrl-C while it starts
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None

    def kill(self) -> None:
        """SIGKILL: the server dies as a crashed machine would, without a word to its peers."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class RedisReplica(RedisServer):
    """A replica of ``primary``, as Memorystore's standard tier keeps one."""

    def __init__(self, primary: RedisServer):
        super().__init__(persistent=True, extra_args=("--replicaof", "127.0.0.1", str(primary.port)))
        self.primary = primary

    def start(self) -> "RedisReplica":
        super().start()
        wait_until(lambda: _info(self.port, "master_link_status") == "up", 20, f"replica {self.port} to sync")
        return self


class LocalRedisCluster:
    """A Redis Cluster on loopback: ``masters`` primaries, each with ``replicas`` replicas, and a node
    timeout short enough for a failover drill to finish in seconds."""

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1000):
        self._shape = (masters, replicas)
        args = ("--cluster-enabled", "yes", "--cluster-node-timeout", str(node_timeout_ms),
                "--cluster-config-file", "nodes.conf")
        self.nodes = {node.port: node for node in
                      (RedisServer(free_cluster_port(), persistent=True, extra_args=args)
                       for _ in range(masters * (1 + replicas)))}

    @property
    def ports(self) -> list[int]:
        return list(self.nodes)

    def start(self) -> "LocalRedisCluster":
        try:
            for node in self.nodes.values():
                node.start()
            addresses = [f"127.0.0.1:{port}" for port in self.nodes]
            subprocess.run(["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas",
                            str(self._shape[1]), "--cluster-yes"], check=True, capture_output=True, timeout=60)
            wait_until(self._settled, 60, "the cluster to be ready")
        except BaseException:
            self.remove()
            raise
        return self

    def _settled(self) -> bool:
        return all(_info(port, "cluster_state", "cluster") == "ok" for port in self.nodes) and all(
            _info(port, "master_link_status") in (None, "up") for port in self.nodes)

    def remove(self) -> None:
        for node in self.nodes.values():
            node.remove()


def _info(port: int, field: str, section: str = "replication") -> str | None:
    """One field of INFO (or of CLUSTER INFO with ``section="cluster"``) of the server on ``port``."""
    command = ["redis-cli", "-p", str(port)] + (["cluster", "info"] if section == "cluster" else ["info", section])
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in output.splitlines():
        name, _, value = line.strip().partition(":")
        if name == field:
            return value
    return None


class Service:
    """One service under its production command line, on its own port, with its own log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: str | Path,
                 port: int | None = None):
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"{name}.log"
        self._command = command
        self._env = {**os.environ, **env, "PORT": str(self.port)}
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "Service":
        log = open(self.log_path, "ab")
        self._process = subprocess.Popen(self._command, cwd=REPO_ROOT, env=self._env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        try:
            wait_until(lambda: self._exited() or http_ok(f"{self.url}/healthz"), timeout, f"{self.name} to answer")
        except BaseException:  # a timeout, or Ctrl-C while it starts
            self.stop()
            raise
        if self._exited():
            raise RuntimeError(f"{self.name} exited at start-up; see {self.log_path}:\n{self.log_tail()}")
        return self

    def stop(self) -> None:
        stop_process_group(self._process, timeout=25)
        self._process = None

    @property
    def pid(self) -> int:
        """The server's main process (gunicorn's or granian's master)."""
        return self._process.pid

    def signal(self, signum: int) -> None:
        """Signal the main process only, as Cloud Run signals a container's PID 1."""
        self._process.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        return self._process.wait(timeout)

    def worker_pids(self) -> list[int]:
        """The server's worker processes (its children), for tests and benchmarks that watch them."""
        if self._process is None:
            return []
        master = self._process.pid
        try:
            return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        except OSError:
            return []

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
