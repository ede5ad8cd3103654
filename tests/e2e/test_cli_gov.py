"""`walrus gov` as a user runs it, against real node processes: a proposal raises the
storage horizon, and afterwards `walrus info` shows it and a store the old limit refused
is accepted by the contracts and the nodes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.deployment import Deployment
from backend.chain.devnet import dev_accounts
from backend.chain.governance import DEVNET_GOVERNANCE, warp
from tests.e2e.cli_harness import one_line_error, run, wallet_env
from tests.integration.network import Network

NEW_HORIZON = 80
NEW_EPOCH_SECONDS = 321


@pytest.fixture(scope="module")
def governed_deployment(
    network: Network,
    deployment: Deployment,
    chain: ChainClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The test network's Staking and BlobRegistry, handed to the devnet timelock as a
    deployment does, plus the devnet governor (the chain is restored after the module)."""
    timelock = deployment.address("WalrusTimelock")
    for contract in (network.env.staking.contract, network.env.registry.contract):
        chain.transact(contract.functions.transferOwnership(timelock))
    governed = Deployment(
        chain_id=deployment.chain_id,
        deploy_block=deployment.deploy_block,
        abi_hash=deployment.abi_hash,
        contracts={
            **deployment.contracts,
            "Staking": network.env.staking.address,
            "BlobRegistry": network.env.registry.address,
        },
    )
    path = tmp_path_factory.mktemp("gov") / "deployment.json"
    path.write_text(json.dumps(governed.to_json()))
    return path


@pytest.fixture(scope="module")
def holder_env(network: Network, governed_deployment: Path) -> dict[str, str]:
    """Dev account 0: the community reserve, 43% of WAL, enough for the 4% quorum."""
    return wallet_env(network, governed_deployment, bytes(dev_accounts(1)[0].key))


@pytest.fixture(scope="module")
def user_env(network: Network, governed_deployment: Path) -> dict[str, str]:
    """The network's user: holds WAL to pay for storage but never delegated votes."""
    return wallet_env(network, governed_deployment)


def ok(*args: str, env: dict[str, str]) -> str:
    result = run(*args, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_a_passed_proposal_changes_what_clients_and_nodes_accept(
    holder_env: dict[str, str],
    user_env: dict[str, str],
    chain: ChainClient,
    wal: Contract,
    tmp_path: Path,
) -> None:
    assert "delegated to" in ok("gov", "delegate", env=holder_env)
    old_horizon = json.loads(ok("info", "--json", env=user_env))["max_epochs_ahead"]
    assert old_horizon < NEW_HORIZON
    blob = tmp_path / "long-lived.bin"
    blob.write_bytes(os.urandom(5_000))
    refused = one_line_error(
        run("store", str(blob), "--epochs", str(old_horizon + 1), env=user_env)
    )
    assert f"between 1 and {old_horizon}" in refused

    proposal = json.loads(
        ok(
            "gov",
            "propose",
            "--set",
            f"max_epochs_ahead={NEW_HORIZON}",
            "--set",
            f"epoch_duration={NEW_EPOCH_SECONDS}",
            "--description",
            "Longer storage horizon",
            "--json",
            env=holder_env,
        )
    )
    proposal_id = proposal["proposal_id"]
    assert len(proposal["calls"]) == 2
    early = one_line_error(run("gov", "vote", proposal_id, "--support", "for", env=holder_env))
    assert "is pending" in early

    warp(chain, DEVNET_GOVERNANCE.voting_delay + 1)
    voted = json.loads(
        ok("gov", "vote", proposal_id[:8], "--support", "for", "--json", env=holder_env)
    )
    holder = dev_accounts(1)[0].address
    assert voted["weight"] == wal.functions.balanceOf(holder).call() > 0
    not_yet = one_line_error(run("gov", "queue", proposal_id, env=holder_env))
    assert "is active" in not_yet

    warp(chain, DEVNET_GOVERNANCE.voting_period + 1)
    assert "executable from" in ok("gov", "queue", proposal_id, env=holder_env)
    too_early = one_line_error(run("gov", "execute", proposal_id, env=holder_env))
    assert "TimelockUnexpectedOperationState" in too_early
    assert json.loads(ok("info", "--json", env=user_env))["max_epochs_ahead"] == old_horizon

    warp(chain, DEVNET_GOVERNANCE.timelock_delay + 1)
    assert "executed" in ok("gov", "execute", proposal_id, env=holder_env)
    listed = json.loads(ok("gov", "list", "--json", env=user_env))
    assert [(p["proposal_id"], p["state"]) for p in listed] == [(proposal_id, "executed")]
    parameters = json.loads(ok("gov", "params", "--json", env=user_env))
    assert parameters["epoch_duration"] == NEW_EPOCH_SECONDS
    assert parameters["max_epochs_ahead"] == NEW_HORIZON

    assert json.loads(ok("info", "--json", env=user_env))["max_epochs_ahead"] == NEW_HORIZON
    stored = json.loads(
        ok("store", str(blob), "--epochs", str(old_horizon + 1), "--json", env=user_env)
    )
    assert stored["status"] == "newlyCreated"
    assert run("read", "--", stored["blob_id"], env=user_env).stdout == blob.read_bytes()


def test_voting_without_voting_power_is_one_line(
    holder_env: dict[str, str], user_env: dict[str, str], chain: ChainClient
) -> None:
    ok("gov", "delegate", env=holder_env)
    proposal = json.loads(ok("gov", "propose", "--set", "min_stake=5", "--json", env=holder_env))
    assert proposal["description"] == "Set min_stake=5"
    warp(chain, DEVNET_GOVERNANCE.voting_delay + 1)
    refused = one_line_error(
        run("gov", "vote", proposal["proposal_id"], "--support", "against", env=user_env)
    )
    assert "no voting power" in refused and "walrus gov delegate" in refused


def test_bad_gov_input_is_one_line(holder_env: dict[str, str]) -> None:
    """(Value parsing and type bounds are covered in tests/contracts/test_governance_parameters.)"""
    unknown = one_line_error(run("gov", "propose", "--set", "n_replicas=3", env=holder_env))
    assert "unknown parameter 'n_replicas'" in unknown and "epoch_duration" in unknown
    shards = one_line_error(run("gov", "propose", "--set", "n_shards=16", env=holder_env))
    assert "fixed at deployment" in shards
    missing = one_line_error(run("gov", "execute", "12345678", env=holder_env))
    assert "matches no proposal" in missing
    support = one_line_error(run("gov", "vote", "1234", "--support", "maybe", env=holder_env))
    assert "for, against or abstain" in support
