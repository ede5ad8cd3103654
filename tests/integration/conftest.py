"""Fixtures for node integration tests: `network`, a running 4-node storage network."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from tests.contracts.blob_registry_env import restore_chain_after
from tests.integration.network import Network, start_network


@pytest.fixture(scope="module")
def network(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Network]:
    """4 node processes over 8 shards on fresh contracts; the chain is restored at the end."""
    restore = restore_chain_after(chain)
    next(restore)
    running = start_network(chain, artifacts, wal, client_for, tmp_path_factory.mktemp("net"))
    try:
        yield running
    finally:
        running.stop()
        next(restore, None)
