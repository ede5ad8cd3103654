"""Availability per storage node: storage challenges passed / failed (StorageChallenges),
this epoch's challenge, and the recovery backlog each node reports on ``/metrics``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import requests

from backend.chain.challenges import CONTRACT_NAME, NodeRecord, StorageChallengesContract
from backend.chain.compiler import compile_contracts
from backend.chain.rewards import StakingRewardsContract
from backend.core import routes
from backend.sdk.client import Client

BACKLOG_METRIC = "walrus_node_recovery_backlog"
REWARDS = "StakingRewards"


@dataclass(frozen=True)
class NodeAvailability:
    node_id: int
    url: str
    shards: int
    challenges_passed: int | None
    """Over all rounds (None without a StorageChallenges contract)."""
    challenges_failed: int | None
    """Over all closed rounds."""
    current_challenge: str
    """``none``, ``open``, ``answered``, ``missed`` (deadline passed) or ``n/a``."""
    reward_weight_bps: int | None
    """This epoch's weight so far (10,000 = full rewards)."""
    recovery_backlog: int | None
    """Blobs the node is recovering (None when its /metrics does not answer)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def recovery_backlog(url: str, timeout: float = 5.0) -> int | None:
    """The node's `walrus_node_recovery_backlog` gauge, or None if it cannot be read."""
    try:
        response = requests.get(url.rstrip("/") + routes.METRICS, timeout=timeout)
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    for line in response.text.splitlines():
        if line.startswith(BACKLOG_METRIC + " "):
            try:
                return int(float(line.split()[1]))
            except (IndexError, ValueError):
                return None
    return None


def node_availability(
    client: Client, challenges: StorageChallengesContract | None
) -> list[NodeAvailability]:
    """One row per committee member of the current epoch."""
    epoch = client.staking.current_epoch()
    if epoch == 0:
        return []
    committee = client.staking.committee(epoch)
    now = int(client.chain.w3.eth.get_block("latest")["timestamp"])
    deadline = challenges.round_of(epoch).deadline if challenges is not None else 0
    rows = []
    for node_id, shards in zip(committee.node_ids, committee.shard_counts, strict=True):
        node = client.node(node_id)
        passed = failed = weight = None
        state = "n/a"
        if challenges is not None:
            record = challenges.node_record(node_id)
            passed, failed = record.passed, record.failed
            weight = challenges.reward_weight_bps(epoch, node_id)
            challenge = challenges.challenge_of(epoch, node_id)
            if challenge is None:
                state = "none"
            elif challenge.answered:
                state = "answered"
            else:
                state = "missed" if now > deadline else "open"
        rows.append(
            NodeAvailability(
                node_id,
                node.url,
                shards,
                passed,
                failed,
                state,
                weight,
                recovery_backlog(node.url, client.node_timeout),
            )
        )
    return rows


def challenges_of_network(client: Client) -> StorageChallengesContract | None:
    """The StorageChallenges contract StakingRewards weighs rewards by (its availability
    score), or None when no rewards contract or no score is attached."""
    rewards_address = client.staking.rewards_address()
    if rewards_address is None:
        return None
    artifacts = compile_contracts()
    rewards = StakingRewardsContract.at(client.chain, rewards_address, artifacts.abi(REWARDS))
    score = rewards.availability_score()
    if score is None:
        return None
    return StorageChallengesContract.at(client.chain, score, artifacts.abi(CONTRACT_NAME))


def challenge_records(client: Client) -> dict[int, NodeRecord]:
    """Challenges passed / failed per node id ({} without a challenge contract)."""
    challenges = challenges_of_network(client)
    if challenges is None:
        return {}
    return {node.node_id: challenges.node_record(node.node_id) for node in client.staking.nodes()}
