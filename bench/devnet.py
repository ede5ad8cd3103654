"""The chain benches' shared setup: a fresh anvil with the full deployment, stopped on exit."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import Deployment, deploy, devnet_config
from backend.chain.devnet import dev_accounts, start_anvil


@dataclass
class DeployedDevnet:
    url: str
    chain: ChainClient
    """Dev account 0 (the deployer), with every contract's errors decoded by name."""
    deployment: Deployment
    artifacts: Artifacts
    accounts: list[LocalAccount]


@contextmanager
def deployed_devnet() -> Iterator[DeployedDevnet]:
    """Compile the contracts, start anvil (its log in a temporary directory) and deploy the
    devnet configuration; anvil is stopped by its pid on exit."""
    artifacts = compile_contracts()
    accounts = dev_accounts()
    with tempfile.TemporaryDirectory(prefix="walrus-bench-") as scratch:
        devnet = start_anvil(log_path=Path(scratch) / "anvil.log")
        try:
            chain = ChainClient.connect(
                devnet.url, accounts[0].key, error_abis=artifacts.all_abis()
            )
            deployment = deploy(chain, artifacts, devnet_config(accounts))
            yield DeployedDevnet(devnet.url, chain, deployment, artifacts, accounts)
        finally:
            devnet.stop()
