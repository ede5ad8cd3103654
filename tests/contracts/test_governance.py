"""WalrusGovernor + WalrusTimelock on the devnet deployment: the timelock owns every
parameter setter and a proposal goes propose -> vote -> queue -> (delay) -> execute."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import DeployConfig, Deployment, deploy, devnet_config
from backend.chain.governance import (
    DEVNET_GOVERNANCE,
    Call,
    Governance,
    ProposalState,
    VoteSupport,
    enact_on_devnet,
    proposal_id,
    warp,
)
from backend.chain.registry import BlobRegistryContract
from backend.chain.staking import StakingContract
from tests.contracts.blob_registry_env import reverts

pytestmark = pytest.mark.usefixtures("snapshot")


@pytest.fixture
def governance(chain: ChainClient, deployment: Deployment, artifacts: Artifacts) -> Governance:
    """Signing as dev account 0, which holds the community reserve (43% of WAL)."""
    return Governance.of(chain, deployment, artifacts)


@pytest.fixture
def staking(chain: ChainClient, deployment: Deployment, artifacts: Artifacts) -> StakingContract:
    return StakingContract.at(chain, deployment.address("Staking"), artifacts.abi("Staking"))


@pytest.fixture
def registry(
    chain: ChainClient, deployment: Deployment, artifacts: Artifacts
) -> BlobRegistryContract:
    return BlobRegistryContract.at(
        chain, deployment.address("BlobRegistry"), artifacts.abi("BlobRegistry")
    )


def set_epoch_duration(staking: StakingContract, seconds: int) -> Call:
    calldata = staking.contract.encode_abi("setEpochDuration", [seconds])
    return Call(staking.address, 0, bytes(Web3.to_bytes(hexstr=calldata)))


def set_max_epochs_ahead(registry: BlobRegistryContract, epochs: int) -> Call:
    calldata = registry.contract.encode_abi("setMaxEpochsAhead", [epochs])
    return Call(registry.address, 0, bytes(Web3.to_bytes(hexstr=calldata)))


def test_the_timelock_owns_every_setter_and_the_deployer_nothing(
    chain: ChainClient,
    deployment: Deployment,
    artifacts: Artifacts,
    governance: Governance,
    staking: StakingContract,
    registry: BlobRegistryContract,
) -> None:
    timelock = deployment.address("WalrusTimelock")
    ownable = [
        name
        for name in deployment.contracts
        if {"owner", "transferOwnership"}
        <= {entry.get("name") for entry in artifacts.abi(name) if entry["type"] == "function"}
    ]
    assert {"Staking", "BlobRegistry", "StakingRewards"} <= set(ownable)
    for name in ownable:
        contract = deployment.contract(chain, artifacts, name)
        assert chain.call(contract.functions.owner()) == timelock, name
    roles = governance.timelock.functions
    admin = chain.call(roles.DEFAULT_ADMIN_ROLE())
    proposer = chain.call(roles.PROPOSER_ROLE())
    assert not chain.call(roles.hasRole(admin, chain.address))
    assert chain.call(roles.hasRole(proposer, governance.governor.address))
    assert not chain.call(roles.hasRole(proposer, chain.address))
    with reverts("OwnableUnauthorizedAccount", chain.address):
        staking.set_epoch_duration(5)
    with reverts("OwnableUnauthorizedAccount", chain.address):
        registry.set_max_epochs_ahead(5)
    with reverts("OwnableUnauthorizedAccount", chain.address):
        staking.set_committee_parameters(min_stake=1, max_committee_size=1, max_shard_share_bps=1)


def test_governor_counts_seconds_like_wal(governance: Governance, chain: ChainClient) -> None:
    assert chain.call(governance.governor.functions.CLOCK_MODE()) == "mode=timestamp"
    assert governance.voting_delay() == DEVNET_GOVERNANCE.voting_delay
    assert governance.voting_period() == DEVNET_GOVERNANCE.voting_period
    assert governance.timelock_delay() == DEVNET_GOVERNANCE.timelock_delay


def test_proposal_lifecycle_changes_the_parameters(
    governance: Governance, staking: StakingContract, registry: BlobRegistryContract
) -> None:
    old_duration = staking.epoch_info().duration
    governance.delegate()
    calls = [set_epoch_duration(staking, old_duration + 77), set_max_epochs_ahead(registry, 9)]
    description = "Longer epochs, shorter storage horizon"
    proposal = governance.propose(calls, description)
    assert proposal.proposal_id == proposal_id(calls, description)
    assert proposal.calls == calls
    assert governance.state(proposal.proposal_id) is ProposalState.PENDING
    with reverts("GovernorUnexpectedProposalState"):
        governance.cast_vote(proposal.proposal_id, VoteSupport.FOR)

    warp(governance.client, governance.voting_delay() + 1)
    assert governance.state(proposal.proposal_id) is ProposalState.ACTIVE
    weight = governance.cast_vote(proposal.proposal_id, VoteSupport.FOR, "yes")
    assert weight == governance.votes(governance.client.address) > 0
    assert governance.tally(proposal.proposal_id).for_ == weight
    with reverts("GovernorUnexpectedProposalState"):
        governance.queue(proposal)

    warp(governance.client, governance.voting_period() + 1)
    assert governance.state(proposal.proposal_id) is ProposalState.SUCCEEDED
    eta = governance.queue(proposal)
    assert governance.state(proposal.proposal_id) is ProposalState.QUEUED
    with reverts("TimelockUnexpectedOperationState"):
        governance.execute(proposal)
    assert staking.epoch_info().duration == old_duration

    warp(governance.client, governance.timelock_delay() + 1)
    assert int(governance.client.w3.eth.get_block("latest")["timestamp"]) >= eta
    governance.execute(proposal)
    assert governance.state(proposal.proposal_id) is ProposalState.EXECUTED
    assert staking.epoch_info().duration == old_duration + 77
    assert registry.max_epochs_ahead() == 9
    assert [p.proposal_id for p in governance.proposals()] == [proposal.proposal_id]
    with reverts("GovernorUnexpectedProposalState"):
        governance.execute(proposal)


def test_voting_without_voting_power_is_refused_by_name(
    governance: Governance,
    staking: StakingContract,
    dev_accounts: list[LocalAccount],
    client_for: Callable[[LocalAccount], ChainClient],
) -> None:
    governance.delegate()
    proposal = governance.propose([set_epoch_duration(staking, 123)], "no power")
    warp(governance.client, governance.voting_delay() + 1)
    holder = client_for(dev_accounts[7])  # holds 1,000,000 WAL but never delegated
    voter = governance.as_account(holder)
    assert voter.wal.functions.balanceOf(holder.address).call() > 0
    with reverts("WalrusGovernorNoVotingPower"):
        voter.cast_vote(proposal.proposal_id, VoteSupport.FOR)
    # Delegating now is too late: the snapshot was taken before.
    voter.delegate()
    with reverts("WalrusGovernorNoVotingPower"):
        voter.cast_vote(proposal.proposal_id, VoteSupport.AGAINST)


def test_a_defeated_proposal_cannot_be_queued(
    governance: Governance, staking: StakingContract
) -> None:
    governance.delegate()
    proposal = governance.propose([set_epoch_duration(staking, 99)], "rejected")
    warp(governance.client, governance.voting_delay() + 1)
    governance.cast_vote(proposal.proposal_id, VoteSupport.AGAINST)
    warp(governance.client, governance.voting_period() + 1)
    assert governance.state(proposal.proposal_id) is ProposalState.DEFEATED
    with reverts("GovernorUnexpectedProposalState"):
        governance.queue(proposal)


def test_enact_on_devnet_helper(governance: Governance, staking: StakingContract) -> None:
    enact_on_devnet(governance, [set_epoch_duration(staking, 4242)], "helper")
    assert staking.epoch_info().duration == 4242


def test_keep_deployer_owner_leaves_setters_direct(
    chain: ChainClient, artifacts: Artifacts, dev_accounts: list[LocalAccount]
) -> None:
    base = devnet_config(dev_accounts)
    config = DeployConfig(allocations=base.allocations, keep_deployer_owner=True)
    own = deploy(chain, artifacts, config)
    staking = StakingContract.at(chain, own.address("Staking"), artifacts.abi("Staking"))
    staking.set_epoch_duration(11)
    assert staking.epoch_info().duration == 11


def test_governor_fits_the_size_limit(artifacts: Artifacts) -> None:
    assert artifacts.get("WalrusGovernor").deployed_size <= 24_576
