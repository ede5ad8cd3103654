"""Shared session fixtures: a real anvil, compiled contracts, a full deployment.

Everything is real: anvil is the npm binary on a free port of 127.0.0.1, started once per
test session and stopped by its pid at the end (also when tests fail); contracts are
compiled from contracts/src (through the contracts/out cache) and deployed by the same
code as `walrus devnet deploy`.

Fixtures (all session-scoped unless noted):

- ``anvil``            the running :class:`~backend.chain.devnet.Devnet` (``.url``, ``.pid``)
- ``artifacts``        compiled :class:`~backend.chain.compiler.Artifacts` (``.abi(name)``,
                       ``.bytecode(name)``, ``.abi_hash``)
- ``dev_accounts``     the ten prefunded anvil accounts (eth-account ``LocalAccount``)
- ``chain``            :class:`~backend.chain.client.ChainClient` signing as dev account 0,
                       decoding reverts against every compiled contract's errors
- ``client_for``       ``client_for(account_or_key)`` -> ChainClient for another account
- ``deploy_contract``  ``deploy_contract(name, *constructor_args, sender=None)`` -> web3
                       ``Contract`` freshly deployed (e.g. test harnesses)
- ``deployment``       :class:`~backend.chain.deployment.Deployment` of all STEPS with
                       devnet allocations (dev accounts 0-4 hold the WAL allocations, every
                       dev account got 1,000,000 WAL from the user drop)
- ``wal``              the deployed WAL as a web3 ``Contract``
- ``snapshot``         (function scope) reverts the chain to its state before the test
                       (``evm_snapshot`` / ``evm_revert``); use it for tests that change state
                       others rely on
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import Deployment, deploy, devnet_config
from backend.chain.devnet import Devnet, start_anvil
from backend.chain.devnet import dev_accounts as make_dev_accounts
from tests.contracts.blob_registry_env import restore_chain_after
from tests.integration.network import Network, start_network


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """A fresh anvil (prague, chain id 31337) on a free port, stopped by pid at the end."""
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    devnet = start_anvil(log_path=log)
    try:
        yield devnet
    finally:
        devnet.stop()


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    """Every contract under contracts/src, compiled once (cached in contracts/out)."""
    return compile_contracts()


@pytest.fixture(scope="session")
def dev_accounts() -> list[LocalAccount]:
    """The ten prefunded dev accounts (10,000 ETH each), keys from anvil's mnemonic."""
    return make_dev_accounts()


@pytest.fixture(scope="session")
def chain(anvil: Devnet, artifacts: Artifacts, dev_accounts: list[LocalAccount]) -> ChainClient:
    """Client signing as dev account 0; reverts raise ContractRevert with decoded names."""
    return ChainClient.connect(anvil.url, dev_accounts[0].key, error_abis=artifacts.all_abis())


@pytest.fixture(scope="session")
def client_for(chain: ChainClient) -> Callable[[LocalAccount | str | bytes], ChainClient]:
    """Factory: a client on the same chain signing as another account (or private key)."""
    clients: dict[bytes, ChainClient] = {}

    def make(account: LocalAccount | str | bytes) -> ChainClient:
        key = bytes(account.key) if isinstance(account, LocalAccount) else account
        cache_key = key if isinstance(key, bytes) else key.encode()
        if cache_key not in clients:
            clients[cache_key] = chain.with_account(key)
        return clients[cache_key]

    return make


@pytest.fixture(scope="session")
def deploy_contract(
    chain: ChainClient,
    artifacts: Artifacts,
    client_for: Callable[[LocalAccount | str | bytes], ChainClient],
) -> Callable[..., Contract]:
    """Factory: ``deploy_contract(name, *args, sender=None)`` deploys a fresh instance."""

    def make(name: str, *args: Any, sender: LocalAccount | None = None) -> Contract:
        client = chain if sender is None else client_for(sender)
        contract, _ = client.deploy(artifacts.abi(name), artifacts.bytecode(name), *args)
        return contract

    return make


@pytest.fixture(scope="session")
def deployment(
    chain: ChainClient, artifacts: Artifacts, dev_accounts: list[LocalAccount]
) -> Deployment:
    """All contracts deployed as `walrus devnet deploy` does, with devnet WAL allocations."""
    return deploy(chain, artifacts, devnet_config(dev_accounts))


@pytest.fixture(scope="session")
def wal(chain: ChainClient, artifacts: Artifacts, deployment: Deployment) -> Contract:
    """The deployed WAL token."""
    return deployment.contract(chain, artifacts, "WAL")


@pytest.fixture
def snapshot(chain: ChainClient) -> Iterator[None]:
    """Undo every chain change the test makes (evm_snapshot before, evm_revert after)."""
    snapshot_id = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield
    finally:
        chain.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
        chain.reset_nonces()


@pytest.fixture(scope="module")
def network(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Network]:
    """4 node processes over 8 shards (tests/integration/network.py) on fresh contracts;
    the chain is restored when the module ends. Used by integration and e2e tests."""
    restore = restore_chain_after(chain)
    next(restore)
    running = start_network(chain, artifacts, wal, client_for, tmp_path_factory.mktemp("net"))
    try:
        yield running
    finally:
        running.stop()
        next(restore, None)
