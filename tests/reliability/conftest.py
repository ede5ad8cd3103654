"""The reliability suite (issue 13) runs only with `make test-reliability`
(WALRUS_RELIABILITY=1): it kills processes, fuzzes every endpoint and takes minutes, so the
default `make test` does not collect it.

Fixtures: ``client`` (module) an SDK client of the ``network`` test user; ``backend``
(module) a not yet started :class:`BackendProcess` (`walrus serve` against the network,
``ensure_running()`` / ``kill()``); ``scenarios`` (session): the :class:`ScenarioLog` each
test adds its counts to; saved to tests/reliability/results.json when the session ends
(rendered into docs/reliability.md by ``python -m tests.reliability.render``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from backend.chain.compiler import Artifacts
from backend.sdk.client import Client
from tests.e2e.cli_harness import cli_env  # noqa: F401  (fixture)
from tests.integration.network import Network
from tests.integration.user_client import FAULT_NODE_TIMEOUT, network_client, publish_node_urls
from tests.reliability.backend_process import BackendProcess
from tests.reliability.scenarios import ScenarioLog

ENABLED = os.environ.get("WALRUS_RELIABILITY") == "1"
collect_ignore_glob = [] if ENABLED else ["test_*.py"]


@pytest.fixture(scope="session")
def scenarios() -> Iterator[ScenarioLog]:
    log = ScenarioLog()
    try:
        yield log
    finally:
        log.save()


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    publish_node_urls(network)
    return network_client(network, artifacts, node_timeout=FAULT_NODE_TIMEOUT)


@pytest.fixture(scope="module")
def backend(
    cli_env: dict[str, str],  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BackendProcess]:
    directory = tmp_path_factory.mktemp("backend")
    process = BackendProcess(cli_env, directory / "serve.log", directory / "data")
    try:
        yield process
    finally:
        process.stop()
