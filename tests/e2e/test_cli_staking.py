"""Delegation, rewards and price votes through the `walrus` CLI (a subprocess) against the
4-node test network with a StakingRewards contract attached: stake, request a withdrawal,
withdraw with rewards, `walrus rewards`, `walrus info --nodes`, and `walrus node vote` by
every operator changing the price that the next `walrus store` pays."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backend.chain.compiler import Artifacts
from backend.chain.rewards import StakingRewardsContract
from backend.core.params import encoded_length
from tests.e2e.cli_harness import network_cli_env, one_line_error, run
from tests.integration.network import Network
from tests.integration.network_contracts import attach_rewards
from tests.integration.user_client import publish_node_urls

SUBSIDY = 10**12
"""1,000 WAL of subsidy per epoch, so rewards flow without storage payments too."""
MIB = 2**20


@pytest.fixture(scope="module")
def rewards(network: Network, artifacts: Artifacts) -> StakingRewardsContract:
    """StakingRewards attached to the network's Staking (it rewards from 2 epochs on)."""
    return attach_rewards(
        network, artifacts, subsidy_seed=b"cli-staking-subsidies", subsidy_rate=SUBSIDY
    )


@pytest.fixture(scope="module")
def cli_env(
    network: Network,
    artifacts: Artifacts,
    rewards: StakingRewardsContract,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    publish_node_urls(network)
    directory = tmp_path_factory.mktemp("cli-staking")
    return network_cli_env(network, artifacts, directory, StakingRewards=rewards.address)


def as_operator(cli_env: dict[str, str], network: Network, index: int) -> dict[str, str]:
    account = network.env.operators[index].account
    assert account is not None
    return {**cli_env, "WALRUS_PRIVATE_KEY": bytes(account.key).hex()}


def ok_json(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr.decode()
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_votes_change_the_price_the_next_store_pays(
    cli_env: dict[str, str], network: Network, tmp_path: Path
) -> None:
    staking = network.env.staking
    old = staking.prices()
    new_storage, new_write = old.storage_price * 3, old.write_price * 2
    for index, node_id in enumerate(network.env.node_ids):
        voted = run(
            "node",
            "vote",
            "--node",
            str(node_id),
            "--storage-price",
            str(new_storage),
            "--write-price",
            str(new_write),
            "--capacity",
            str(10**12),
            env=as_operator(cli_env, network, index),
        )
        assert voted.returncode == 0, voted.stderr.decode()
    not_operator = one_line_error(
        run(
            "node",
            "vote",
            "--node",
            str(network.env.node_ids[0]),
            "--storage-price",
            "1",
            "--write-price",
            "1",
            "--capacity",
            "1",
            env=cli_env,
        )
    )
    assert "StakingNotOperator" in not_operator
    assert staking.prices().storage_price == old.storage_price  # only from the next epoch

    network.env.next_epoch()

    info = ok_json(run("info", "--json", env=cli_env))
    assert info["storage_price_frost_per_mib_epoch"] == new_storage
    assert info["write_price_frost_per_mib"] == new_write
    source = tmp_path / "priced.bin"
    source.write_bytes(os.urandom(300_000))
    stored = ok_json(run("store", str(source), "--epochs", "2", "--json", env=cli_env))
    mib = -(-encoded_length(network.n_shards, 300_000) // MIB)
    assert stored["cost"] == mib * (2 * new_storage + new_write)


def test_stake_withdraw_and_rewards_through_the_cli(
    cli_env: dict[str, str], network: Network, rewards: StakingRewardsContract
) -> None:
    env = network.env
    node_id = env.node_ids[1]
    staked = ok_json(
        run("stake", "--node", str(node_id), "--amount", str(10**9), "--json", env=cli_env)
    )
    position = int(staked["position_id"])
    assert staked["activation_epoch"] == env.epoch() + 1

    unknown = one_line_error(run("stake", "--node", "999", "--amount", "5", env=cli_env))
    assert "StakingUnknownNode" in unknown and "999" in unknown
    zero = run("stake", "--node", str(node_id), "--amount", "0", env=cli_env)
    assert zero.returncode == 2 and b"Traceback" not in zero.stderr

    # Let the position be active in a rewarded epoch (rewards start 2 epochs after attaching).
    while env.epoch() < rewards.first_epoch():
        env.next_epoch()
    requested = ok_json(
        run("request-withdraw-stake", "--position", str(position), "--json", env=cli_env)
    )
    withdraw_epoch = env.epoch() + 1
    assert requested["withdraw_epoch"] == withdraw_epoch
    early = one_line_error(run("withdraw-stake", "--position", str(position), env=cli_env))
    assert "StakingWithdrawalNotReady" in early and str(withdraw_epoch) in early

    env.next_epoch()  # the position's last active epoch is distributed

    shown = ok_json(run("rewards", "--json", env=cli_env))
    [mine] = [p for p in shown["positions"] if p["position_id"] == position]
    assert mine["pending_rewards"] > 0
    text = run("rewards", env=cli_env).stdout.decode()
    assert f"position {position}:" in text and "total claimable" in text

    nodes = json.loads(run("info", "--nodes", "--json", env=cli_env).stdout)
    by_id = {node["node_id"]: node for node in nodes}
    assert by_id[node_id]["shards"] > 0 and by_id[node_id]["reward_per_epoch"] > 0
    assert by_id[node_id]["apy"] is None  # devnet epochs last seconds: no yearly figure
    assert by_id[node_id]["stake"] == 10**12  # the withdrawn part no longer counts
    shown_text = run("info", "--nodes", env=cli_env).stdout.decode()
    assert "per epoch (epochs too short for an APY)" in shown_text and "APY est." not in shown_text

    wal = env.wal.functions
    before = int(wal.balanceOf(network.user.address).call())
    withdrawn = ok_json(run("withdraw-stake", "--position", str(position), "--json", env=cli_env))
    assert withdrawn["stake"] == 10**9
    assert withdrawn["rewards"] == mine["pending_rewards"]
    after = int(wal.balanceOf(network.user.address).call())
    assert after == before + 10**9 + int(mine["pending_rewards"])
    gone = one_line_error(run("withdraw-stake", "--position", str(position), env=cli_env))
    assert "StakingUnknownPosition" in gone

    # Operators claim their commission (0 here: commission 0) without error.
    claimed = ok_json(run("rewards", "--claim", "--json", env=as_operator(cli_env, network, 1)))
    assert claimed["claimed_frost"] == claimed["total_frost"]
