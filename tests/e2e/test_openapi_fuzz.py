"""schemathesis against the running services, from the descriptions they serve: no answer is a 5xx,
and every answer is one the description documents (status, content type, headers, body schema), as
are the answers to bad input, undocumented methods and missing credentials. Bounded by a fixed seed
and number of examples per operation. Its settings, and why two checks are off: schemathesis.toml."""
from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from devstack.processes import BIN
from devstack.stack import DIALOGFLOW_EMULATOR_COMMAND
from tests.support import register

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20260226  # a fixed seed: the same cases every run (pass another with --seed to explore by hand)
PROXY_OPERATIONS = r"^/\{version\}/"


def fuzzed_project() -> str:
    """The project the configuration sends proxied calls and stored mappings to."""
    [connector] = tomllib.loads(CONFIG.read_text())["project"]
    return connector["parameters"]["path.project"]


# Both fuzzed services run on a Redis of this module's own (module_stack): failed registrations count per
# client address, 127.0.0.1 for every test, and the fuzzer's would lock other modules' desktops out.
@pytest.fixture(scope="module")
def fuzzed_interceptor(module_stack):
    _, stack = module_stack
    return stack.interceptor()


@pytest.fixture(scope="module")
def fuzzed_connector(module_stack):
    """A connector of that project, proxying to the Dialogflow emulator, with rate limits the fuzzer's
    pace does not reach (their 429s are described, and tested on their own)."""
    _, stack = module_stack
    emulator = stack.start("dialogflow-emulator", DIALOGFLOW_EMULATOR_COMMAND)
    return stack.ui_connector(GCP_PROJECT_ID=fuzzed_project(), DIALOGFLOW_API_ENDPOINT=emulator.url,
                              DIALOGFLOW_AUTH="none", CONVERSATION_NAME_LOOKUPS_PER_MINUTE="1000000",
                              REGISTER_FAILURES_PER_MINUTE="1000000")


def run_schemathesis(service_url: str, workdir: Path, *options: str, jwt: str = "") -> None:
    command = [str(BIN / "st"), "--config-file", str(CONFIG), "run", f"{service_url}/openapi.json",
               "--seed", str(SEED), "--no-color", *options]
    result = subprocess.run(command, cwd=workdir, env={**os.environ, "FUZZ_JWT": jwt}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-30000:] + result.stderr[-3000:]


def test_the_interceptor_answers_as_described(fuzzed_interceptor, tmp_path):
    run_schemathesis(fuzzed_interceptor.url, tmp_path, "--max-examples", "100")


def test_the_connector_answers_as_described(fuzzed_connector, tmp_path):
    """Every phase, the stateful one too: a stored mapping read and removed by its key."""
    run_schemathesis(fuzzed_connector.url, tmp_path, "--max-examples", "50",
                     "--exclude-path-regex", PROXY_OPERATIONS, jwt=register(fuzzed_connector.url, "fuzzer"))


def test_the_dialogflow_proxy_answers_as_described_with_the_emulator_upstream(fuzzed_connector, tmp_path):
    """Not stateful: Dialogflow names resources by full name, which no link can pass on as a path part;
    so most generated ids name nothing, and the emulator's 404 comes back, as described."""
    run_schemathesis(fuzzed_connector.url, tmp_path, "--max-examples", "10", "--include-path-regex",
                     PROXY_OPERATIONS, "--phases", "examples,coverage,fuzzing", jwt=register(fuzzed_connector.url))
