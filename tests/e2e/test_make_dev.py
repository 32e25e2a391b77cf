"""`make dev` (python -m devstack) stops every process it started, however and whenever it is stopped."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from devstack.processes import REPO_ROOT, wait_until

pytestmark = pytest.mark.e2e


def processes_with(marker: str) -> list[int]:
    """Processes whose environment carries the marker: everything the run started, in any session."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def start_dev(marker: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "devstack"], cwd=REPO_ROOT, env={**os.environ, "AA_DEV_RUN": marker},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def read_until_ready(process: subprocess.Popen) -> str:
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Press Ctrl-C to stop." in line:
            return "".join(lines)
    raise AssertionError("make dev exited before it was ready:\n" + "".join(lines))


@pytest.mark.parametrize("signum,when", [
    (signal.SIGINT, "started"), (signal.SIGHUP, "started"), (signal.SIGINT, "starting"), (signal.SIGTERM, "starting"),
])
def test_stopping_make_dev_leaves_no_process_behind(signum, when):
    marker = f"run-{uuid.uuid4().hex}"
    process = start_dev(marker)
    if when == "started":
        output = read_until_ready(process)
        desktop_url = next(line.split()[-1] for line in output.splitlines() if "Agent desktop page" in line)
        assert requests.get(desktop_url, timeout=10).status_code == 200
    else:
        wait_until(lambda: len(processes_with(marker)) >= 3, 30, "make dev to start some services")
    if signum == signal.SIGTERM:
        process.send_signal(signum)  # as `kill PID` does
    else:
        os.killpg(process.pid, signum)  # as the terminal does, to the foreground process group

    process.wait(60)
    wait_until(lambda: not processes_with(marker), 15, "every process make dev started to exit")


def test_the_local_stack_listens_on_loopback_only():
    marker = f"run-{uuid.uuid4().hex}"
    process = start_dev(marker)
    try:
        output = read_until_ready(process)
        ports = [line.split("http://127.0.0.1:")[1].split()[0].strip("/") for line in output.splitlines()
                 if "http://127.0.0.1:" in line]
        listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
        for port in set(ports):
            local_addresses = {row.split()[1] for row in listening if row.split()[3] == "0A"
                               and int(row.split()[1].split(":")[1], 16) == int(port)}
            assert local_addresses and all(address.startswith("0100007F:") for address in local_addresses), port
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(60)
