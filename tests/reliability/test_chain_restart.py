"""Anvil restarted from its state dump (issue 13): a dedicated anvil runs with ``--state FILE``
(load at start, dump at exit). With 4 node processes and `walrus serve` (with its indexer)
following it, anvil is stopped (SIGTERM by pid: it writes the dump), restarted on the same
port from the dump, and:

- the block history and the logs survive (same head, same registry logs): the cursors of
  the nodes and of the indexer stay valid;
- blobs stored before read back identical (SDK and aggregator);
- nothing is replayed twice: each node's events_applied counter and the indexer's rows
  do not change across the restart;
- a store after the restart certifies, the indexer lists it, and each node applies exactly
  the new events (as many per store as before the restart).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment, deploy, devnet_config
from backend.chain.devnet import Devnet, start_anvil
from backend.sdk.client import Client
from tests.e2e.cli_harness import network_cli_env
from tests.integration.network import Network, start_network, wait_until
from tests.reliability.backend_process import BackendProcess
from tests.reliability.scenarios import ScenarioLog

CATEGORY = "Faults"
DOWN_SECONDS = 5.0
EVENTS_APPLIED = re.compile(r"^walrus_node_events_applied_total (\d+)$", re.MULTILINE)


class RestartableChain:
    """anvil with a state file, on one port for its whole life."""

    def __init__(self, directory: Path) -> None:
        self.state_path = directory / "anvil-state.json"
        self.log_path = directory / "anvil.log"
        self.devnet: Devnet = start_anvil(state_path=self.state_path, log_path=self.log_path)
        self.port = self.devnet.info.port

    def restart(self) -> float:
        """SIGTERM (anvil dumps its state), then start again from the dump; seconds down."""
        self.devnet.stop()
        stopped = time.monotonic()
        assert self.state_path.stat().st_size > 0, "anvil wrote no state dump"
        time.sleep(DOWN_SECONDS)  # the nodes' and the indexer's RPC calls fail meanwhile
        self.devnet = start_anvil(self.port, state_path=self.state_path, log_path=self.log_path)
        return time.monotonic() - stopped

    def stop(self) -> None:
        self.devnet.stop()


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableChain]:
    chain = RestartableChain(tmp_path_factory.mktemp("restartable-anvil"))
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture(scope="module")
def own_network(
    restartable: RestartableChain,
    artifacts: Artifacts,
    dev_accounts: list[LocalAccount],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Network, Deployment]]:
    chain = ChainClient.connect(
        restartable.devnet.url, dev_accounts[0].key, error_abis=artifacts.all_abis()
    )
    deployment = deploy(chain, artifacts, devnet_config(dev_accounts))
    wal = deployment.contract(chain, artifacts, "WAL")
    clients: dict[bytes, ChainClient] = {}

    def client_for(key: bytes) -> ChainClient:
        if key not in clients:
            clients[key] = chain.with_account(key)
        return clients[key]

    network = start_network(
        chain, artifacts, wal, client_for, tmp_path_factory.mktemp("restart-net")
    )
    try:
        yield network, deployment
    finally:
        network.stop()


@pytest.fixture(scope="module")
def serve(
    own_network: tuple[Network, Deployment],
    artifacts: Artifacts,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BackendProcess]:
    """`walrus serve` with its indexer (SQLite in its data dir) against the network."""
    network, _ = own_network
    directory = tmp_path_factory.mktemp("restart-serve")
    env = network_cli_env(network, artifacts, directory)
    process = BackendProcess(env, directory / "serve.log", directory / "data")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def events_applied(network: Network) -> dict[int, int]:
    counts = {}
    for node in network.nodes:
        text = requests.get(node.url + "/metrics", timeout=10).text
        found = EVENTS_APPLIED.search(text)
        assert found is not None, "node /metrics has no walrus_node_events_applied_total"
        counts[node.node_id] = int(found.group(1))
    return counts


def indexed_tokens(serve: BackendProcess) -> list[int]:
    answer = requests.get(f"{serve.url}/v1/index/blobs?status=all&limit=100", timeout=10)
    assert answer.status_code == 200, answer.text
    return [int(blob["tokenId"]) for blob in answer.json()["blobs"]]


def index_caught_up(serve: BackendProcess) -> bool:
    status = requests.get(f"{serve.url}/v1/index/status", timeout=10).json()
    return bool(status["nextBlock"] > status["headBlock"] and status["lastError"] is None)


def registry_logs(chain: ChainClient, address: ChecksumAddress) -> list[tuple[int, str]]:
    logs = chain.w3.eth.get_logs({"address": address, "fromBlock": 0, "toBlock": "latest"})
    return [(int(log["blockNumber"]), bytes(log["transactionHash"]).hex()) for log in logs]


def settled(network: Network, serve: BackendProcess) -> dict[int, int]:
    """Wait until the index and every node follower have applied the chain's head."""
    wait_until(lambda: index_caught_up(serve), timeout=60, what="the indexer to catch up")
    deadline = time.monotonic() + 60
    previous = events_applied(network)
    while time.monotonic() < deadline:
        time.sleep(2.0)  # a few follower polls
        current = events_applied(network)
        if current == previous:
            return current
        previous = current
    raise AssertionError(f"node followers still applying events after 60 s: {previous}")


def test_nodes_and_indexer_resume_after_anvil_restarts_from_its_dump(
    restartable: RestartableChain,
    own_network: tuple[Network, Deployment],
    serve: BackendProcess,
    artifacts: Artifacts,
    scenarios: ScenarioLog,
) -> None:
    network, _ = own_network
    chain = network.env.chain
    restarts = scenarios.scenario(CATEGORY, "anvil restarted from its state dump")
    reads = scenarios.scenario(CATEGORY, "blob stored before an anvil restart read after it")
    client = Client.connect(
        network.user, artifacts, network.env.staking.address, network.env.registry.address
    )
    before = {}
    for size in (5_000, 70_000, 1):
        data = os.urandom(size)
        before[client.store(data).blob_id] = data
    counts_before = settled(network, serve)
    tokens_before = indexed_tokens(serve)
    head_before = chain.block_number()
    logs_before = registry_logs(chain, network.env.registry.address)
    assert len(tokens_before) == len(before)

    down = restartable.restart()
    restarts.run()
    chain.reset_nonces()

    # block history and logs came back with the state: the cursors stay valid
    assert chain.block_number() == head_before
    assert registry_logs(chain, network.env.registry.address) == logs_before
    counts_after = settled(network, serve)
    assert counts_after == counts_before, "a node applied events twice after the restart"
    assert sorted(indexed_tokens(serve)) == sorted(tokens_before)

    for blob_id, data in before.items():
        via_sdk = client.read(blob_id)
        answer = requests.get(f"{serve.url}/v1/blobs/{blob_id}", timeout=60)
        identical = via_sdk == data and answer.status_code == 200 and answer.content == data
        reads.run(failed=not identical, lost=0 if identical else 1)
        assert identical

    after = os.urandom(33_333)
    stored = client.store(after)
    assert stored.token_id is not None
    assert client.registry.blob_info(stored.token_id).is_certified
    counts_final = settled(network, serve)
    tokens_final = indexed_tokens(serve)
    assert sorted(tokens_final) == sorted([*tokens_before, stored.token_id])
    for node_id, count in counts_final.items():
        # one store after the restart: as many events as each store before it, not more
        assert (count - counts_after[node_id]) * len(before) == counts_before[node_id], node_id
    assert client.read(stored.blob_id) == after
    restarts.note = (
        f"down {down:.1f} s; head {head_before} and {len(logs_before)} registry logs kept; "
        "node and index cursors resumed, no event applied twice"
    )
