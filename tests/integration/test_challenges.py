"""Storage challenges answered by real node processes: honest nodes pass every challenge on
their own, a node that deleted its data (and is down) fails and its reward weight drops to 0;
the dashboard shows it. 4 nodes, 8 shards."""

from __future__ import annotations

import json
import shutil

import pytest

from backend.chain.challenges import MAX_BPS, StorageChallengesContract
from backend.chain.compiler import Artifacts
from backend.chain.rewards import deploy_rewards
from backend.sdk.availability_dashboard import node_availability
from backend.sdk.client import Client
from backend.sdk.node_client import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from tests.e2e.cli_harness import run
from tests.e2e.test_cli_verify import verify_env
from tests.integration.network import Network, wait_until
from tests.integration.network_contracts import attach_challenges
from tests.integration.user_client import network_client

__all__ = ["verify_env"]

WINDOW = 60


@pytest.fixture(scope="module")
def challenges(network: Network, artifacts: Artifacts) -> StorageChallengesContract:
    """StorageChallenges for the network; every node restarted with its address configured."""
    return attach_challenges(network, artifacts, WINDOW)


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return network_client(
        network, artifacts, node_timeout=DEFAULT_TIMEOUT, node_retries=DEFAULT_RETRIES
    )


def test_honest_nodes_pass_and_a_node_without_its_data_fails(
    network: Network,
    challenges: StorageChallengesContract,
    client: Client,
    verify_env: dict[str, str],
    artifacts: Artifacts,
) -> None:
    for size in (10_000, 123_456, 777):
        encoded, registered = network.register(bytes(range(256)) * (size // 256) + b"x")
        network.upload(encoded)
        network.certify(encoded, registered)
    lazy = network.nodes[2]
    lazy.stop()
    shutil.rmtree(lazy.data_dir)  # it deleted everything and does not come back
    honest = [node for node in network.nodes if node is not lazy]

    env = network.env
    epoch = env.epoch()
    issued = challenges.issue_challenges(epoch)
    assert sorted(event.node_id for event in issued) == sorted(env.node_ids)

    def all_honest_answered() -> bool:
        return all(
            challenges.challenge_of(epoch, node.node_id).answered  # type: ignore[union-attr]
            for node in honest
        )

    wait_until(all_honest_answered, timeout=30, what="the running nodes to answer")
    rows = {row.node_id: row for row in node_availability(client, challenges)}
    assert rows[lazy.node_id].current_challenge == "open"
    assert all(rows[node.node_id].current_challenge == "answered" for node in honest)

    env.advance(WINDOW + 1)
    failed = challenges.close_challenges(epoch)
    assert [event.node_id for event in failed] == [lazy.node_id]
    assert challenges.reward_weight_bps(epoch, lazy.node_id) == 0
    for node in honest:
        assert challenges.reward_weight_bps(epoch, node.node_id) == MAX_BPS
        assert challenges.node_record(node.node_id).passed == 1

    rows = {row.node_id: row for row in node_availability(client, challenges)}
    assert (rows[lazy.node_id].challenges_failed, rows[lazy.node_id].current_challenge) == (
        1,
        "missed",
    )
    assert rows[lazy.node_id].recovery_backlog is None  # its /metrics does not answer
    for node in honest:
        row = rows[node.node_id]
        assert (row.challenges_passed, row.challenges_failed, row.reward_weight_bps) == (
            1,
            0,
            MAX_BPS,
        )
        assert row.recovery_backlog == 0

    shown = run("availability", "--challenges", challenges.address, "--json", env=verify_env)
    assert shown.returncode == 0, shown.stderr.decode()
    by_node = {row["node_id"]: row for row in json.loads(shown.stdout)}
    assert by_node[lazy.node_id]["challenges_failed"] == 1
    assert by_node[lazy.node_id]["reward_weight_bps"] == 0
    table = run("availability", "--challenges", challenges.address, env=verify_env)
    assert "missed" in table.stdout.decode() and "answered" in table.stdout.decode()

    # once StakingRewards weighs rewards by these challenges, `walrus info --nodes` shows them
    chain = network.env.chain
    rewards = deploy_rewards(
        chain,
        artifacts.abi("StakingRewards"),
        artifacts.bytecode("StakingRewards"),
        wal=network.env.wal.address,
        staking=env.staking.address,
        registry=env.registry.address,
        subsidy_source=None,
        owner=chain.address,
    )
    env.staking.set_rewards(rewards.address)
    rewards.set_availability_score(challenges.address)
    nodes = json.loads(run("info", "--nodes", "--json", env=verify_env).stdout)
    by_id = {node["node_id"]: node for node in nodes}
    assert (by_id[lazy.node_id]["challenges_passed"], by_id[lazy.node_id]["challenges_failed"]) == (
        0,
        1,
    )
    assert all(by_id[node.node_id]["challenges_passed"] == 1 for node in honest)
    text = run("info", "--nodes", env=verify_env).stdout.decode()
    assert "challenges 0 passed / 1 failed" in text
