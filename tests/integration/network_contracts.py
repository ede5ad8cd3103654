"""Contracts attached to a running test network (tests/integration/network.py) by the tests
that need them: StakingRewards (staking CLI and web page) and StorageChallenges (whose
address every node must be restarted with)."""

from __future__ import annotations

import dataclasses

from backend.chain.challenges import StorageChallengesContract
from backend.chain.compiler import Artifacts
from backend.chain.rewards import RewardsParameters, StakingRewardsContract, deploy_rewards
from nodes.config import NodeConfig
from tests.contracts.blob_registry_env import fresh_client
from tests.integration.network import Network

SUBSIDY_SOURCE_WAL = 10**15
"""FROST the subsidy source holds and approves to the rewards contract (1,000,000 WAL)."""


def attach_rewards(
    network: Network,
    artifacts: Artifacts,
    *,
    subsidy_seed: bytes,
    subsidy_rate: int,
    burn_share_bps: int = 1_000,
) -> StakingRewardsContract:
    """StakingRewards attached to the network's Staking (it rewards from 2 epochs on), paying
    `subsidy_rate` FROST per epoch from a fresh account of `subsidy_seed`; deployed by the
    network's owner (the chain client that deployed its contracts)."""
    chain, wal = network.env.chain, network.env.wal
    subsidies = fresh_client(chain, wal, chain.with_account, subsidy_seed, SUBSIDY_SOURCE_WAL)
    deployed = deploy_rewards(
        chain,
        artifacts.abi("StakingRewards"),
        artifacts.bytecode("StakingRewards"),
        wal=wal.address,
        staking=network.env.staking.address,
        registry=network.env.registry.address,
        subsidy_source=subsidies.address,
        owner=chain.address,
        parameters=RewardsParameters(subsidy_rate=subsidy_rate, burn_share_bps=burn_share_bps),
    )
    subsidies.transact(wal.functions.approve(deployed.address, SUBSIDY_SOURCE_WAL))
    network.env.staking.set_rewards(deployed.address)
    return deployed


def attach_challenges(
    network: Network, artifacts: Artifacts, window: int
) -> StorageChallengesContract:
    """StorageChallenges for the network (answer window in blocks); every node restarted
    with its address configured."""
    contract = network.env.deploy_challenges(artifacts, window)
    for node in network.nodes:
        node.stop()
        config = NodeConfig.load(node.config_path)
        dataclasses.replace(config, challenges=contract.address).save(node.config_path)
        node.start()
    for node in network.nodes:
        node.wait_ready()
    return contract
