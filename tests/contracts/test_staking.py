"""Staking on anvil: nodes, stake positions, epochs, committee, shards, votes.

Every test deploys its own `Staking` (one transaction) against the session's WAL token,
so tests do not share state; operators are fresh accounts funded once per module.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.errors import ContractRevert
from backend.chain.staking import (
    CommissionUpdated,
    CommitteeParametersUpdated,
    CommitteeSelected,
    EpochChangeDone,
    EpochChangeStarted,
    EpochDurationUpdated,
    EpochParametersSelected,
    EpochState,
    EpochSyncDoneReported,
    NodeMetadataUpdated,
    NodeRegistered,
    Staked,
    StakingArgumentError,
    StakingContract,
    StakingParameters,
    VotesCast,
    WithdrawalRequested,
    Withdrawn,
    deploy_staking,
)
from backend.core.bls import FIELD_MODULUS, BlsSecretKey, aggregate_public_keys
from backend.core.intents import proof_of_possession_message
from tests.contracts.blob_registry_env import funded_account, restore_chain_fixture
from tests.contracts.permits import permit_signature, signature_parts

from .test_staking_math import capped_largest_remainder, quorum_above, quorum_below

N_SHARDS = 10
EPOCH_SECONDS = 1_000
WAL_PER_OPERATOR = 10**15
OPERATORS = 8


@dataclass
class Env:
    chain: ChainClient
    wal: Contract
    staking: StakingContract
    """Bound to the owner's account (dev account 0)."""
    operators: list[ChainClient]
    keys: list[BlsSecretKey]

    def as_operator(self, index: int) -> StakingContract:
        return self.staking.as_account(self.operators[index])

    def register(
        self,
        index: int,
        *,
        stake: int | None = None,
        capacity: int = 10**12,
        commission_bps: int = 500,
    ) -> int:
        """Register operator `index`'s node (key derived from the index), optionally stake."""
        staking = self.as_operator(index)
        node_id = staking.register_node(
            f"node-{index}",
            f"http://127.0.0.1:{9100 + index}",
            self.keys[index],
            commission_bps=commission_bps,
            capacity=capacity,
        )
        if stake is not None:
            staking.stake(node_id, stake)
        return node_id

    def advance(self, seconds: int) -> None:
        """Move the chain's clock forward (anvil) and mine a block."""
        self.chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def block_number(self) -> int:
        return self.chain.block_number()

    def next_epoch(self) -> None:
        """Let the current epoch end and start the next one."""
        if self.staking.current_epoch() > 0:
            self.advance(EPOCH_SECONDS + 1)
        self.staking.initiate_epoch_change()


restore_chain = restore_chain_fixture()


@pytest.fixture(scope="module")
def operators(
    chain: ChainClient, wal: Contract, client_for: Callable[[bytes], ChainClient]
) -> list[ChainClient]:
    """Fresh operator/staker accounts with ETH for gas and WAL to stake."""
    return [
        funded_account(chain, wal, client_for, bytes([0xD1, index + 1]) * 16, WAL_PER_OPERATOR)
        for index in range(OPERATORS)
    ]


@pytest.fixture
def make_env(
    chain: ChainClient, artifacts: Artifacts, wal: Contract, operators: list[ChainClient]
) -> Callable[..., Env]:
    """Factory: a freshly deployed Staking (parameter overrides as keyword arguments)."""

    def make(**overrides: int) -> Env:
        settings = {
            "n_shards": N_SHARDS,
            "epoch_duration": EPOCH_SECONDS,
            "storage_price": 1_000,
            "write_price": 100,
            "min_stake": 1_000,
            "max_committee_size": N_SHARDS,
            "max_shard_share_bps": 10_000,
            **overrides,
        }
        staking = deploy_staking(
            chain,
            artifacts.abi("Staking"),
            artifacts.bytecode("Staking"),
            wal.address,
            chain.address,
            StakingParameters(**settings),
        )
        for operator in operators:
            operator.transact(wal.functions.approve(staking.address, 2**255))
        keys = [BlsSecretKey.from_seed(bytes([0xB1, index]) * 16) for index in range(OPERATORS)]
        return Env(chain, wal, staking, operators, keys)

    return make


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()


def reverts(name: str) -> AbstractContextManager[Any]:
    return pytest.raises(ContractRevert, match=rf"^{name}\(")


def wal_balance(env: Env, who: str) -> int:
    return int(env.wal.functions.balanceOf(who).call())


# ---------------------------------------------------------------- nodes


def test_register_node_stores_details_and_numbers_nodes_from_one(env: Env) -> None:
    first = env.register(0, capacity=5 * 2**40, commission_bps=250)
    second = env.register(1)
    assert (first, second) == (1, 2)
    info = env.staking.node(first)
    assert info.operator == env.operators[0].address
    assert (info.name, info.http_url) == ("node-0", "http://127.0.0.1:9100")
    assert info.public_key == env.keys[0].public_key().to_eip2537()
    functions = env.staking.contract.functions
    assert env.staking.client.call(functions.nodePublicKey(first)) == info.public_key
    with reverts("StakingUnknownNode"):
        env.staking.client.call(functions.nodePublicKey(3))
    assert (info.commission_bps, info.capacity) == (250, 5 * 2**40)
    # New nodes vote the current prices until they vote otherwise.
    assert (info.storage_price_vote, info.write_price_vote) == (1_000, 100)
    events = env.staking.events.in_blocks(0, env.block_number())
    registered = [event for event in events if isinstance(event, NodeRegistered)]
    assert [event.node_id for event in registered] == [1, 2]
    assert registered[0].public_key == info.public_key
    assert env.staking.node_count() == 2


def test_proof_of_possession_message_matches_core(env: Env) -> None:
    staking = env.as_operator(0)
    key = env.keys[0]
    on_chain = staking.client.call(
        staking.contract.functions.proofOfPossessionMessage(
            staking.client.address, key.public_key().to_eip2537()
        )
    )
    expected = proof_of_possession_message(
        env.chain.chain_id, env.staking.address, staking.client.address, key.public_key()
    )
    assert bytes(on_chain) == expected
    # Layout (docs/protocol.md): intent 0, version 0, app 3, chain id, contract, operator, key.
    assert expected[:3] == bytes([0, 0, 3])
    assert len(expected) == 3 + 32 + 20 + 20 + 128


def test_forged_proof_of_possession_is_rejected(env: Env) -> None:
    staking = env.as_operator(0)
    victim_key = env.keys[1].public_key().to_eip2537()
    forged = staking.proof_of_possession(env.keys[0])  # signed by a key the caller holds
    with reverts("StakingInvalidProofOfPossession"):
        staking.register_node_with_proof("rogue", "http://x", victim_key, forged)


def test_proof_of_possession_for_another_operator_is_rejected(env: Env) -> None:
    # Operator 1 made a valid proof for itself; operator 0 tries to front-run with it.
    proof_for_1 = env.as_operator(1).proof_of_possession(env.keys[1])
    with reverts("StakingInvalidProofOfPossession"):
        env.as_operator(0).register_node_with_proof(
            "thief", "http://x", env.keys[1].public_key().to_eip2537(), proof_for_1
        )
    # The rightful operator can still register it.
    assert (
        env.as_operator(1).register_node_with_proof(
            "owner", "http://x", env.keys[1].public_key().to_eip2537(), proof_for_1
        )
        == 1
    )


def test_register_node_rejects_bad_input(env: Env) -> None:
    staking = env.as_operator(0)
    key = env.keys[0]
    public_key = key.public_key().to_eip2537()
    pop = staking.proof_of_possession(key)
    with reverts("StakingInvalidName"):
        staking.register_node_with_proof("", "http://x", public_key, pop)
    with reverts("StakingInvalidName"):
        staking.register_node_with_proof("n" * 65, "http://x", public_key, pop)
    with reverts("StakingInvalidUrl"):
        staking.register_node_with_proof("n", "", public_key, pop)
    with reverts("StakingInvalidUrl"):
        staking.register_node_with_proof("n", "h" * 257, public_key, pop)
    with reverts("StakingInvalidCommission"):
        staking.register_node_with_proof("n", "http://x", public_key, pop, commission_bps=10_001)
    with reverts("StakingInvalidPublicKey"):
        staking.register_node_with_proof("n", "http://x", public_key[:96], pop)
    with reverts("StakingInvalidPublicKey"):
        staking.register_node_with_proof("n", "http://x", bytes(128), pop)
    with reverts("StakingInvalidProofOfPossession"):
        staking.register_node_with_proof("n", "http://x", public_key, pop[:128])
    assert staking.node_count() == 0


def test_points_off_the_curve_are_named_errors(env: Env) -> None:
    staking = env.as_operator(0)
    key = env.keys[0]
    public_key = key.public_key().to_eip2537()
    pop = staking.proof_of_possession(key)
    bumped_y = public_key[:127] + bytes([public_key[127] ^ 1])
    with reverts("StakingInvalidPublicKey"):
        staking.register_node_with_proof("n", "http://x", bumped_y, pop)
    with reverts("StakingInvalidPublicKey"):
        staking.register_node_with_proof("n", "http://x", b"\xff" * 128, pop)
    with reverts("StakingInvalidProofOfPossession"):
        staking.register_node_with_proof("n", "http://x", public_key, pop[:255] + b"\x01")


def test_a_key_outside_the_subgroup_is_rejected(env: Env) -> None:
    # A point on the curve y^2 = x^3 + 4 that is (overwhelmingly likely) not in G1: the
    # pairing precompile rejects it, which the BLS library reports by name.
    p = FIELD_MODULUS
    x = 5
    while pow(x**3 + 4, (p - 1) // 2, p) != 1:
        x += 1
    y = pow(x**3 + 4, (p + 1) // 4, p)
    point = x.to_bytes(64, "big") + y.to_bytes(64, "big")
    staking = env.as_operator(0)
    pop = staking.proof_of_possession(env.keys[0])
    with reverts("BLS12381PrecompileFailed"):
        staking.register_node_with_proof("n", "http://x", point, pop)


def test_a_public_key_registers_once(env: Env) -> None:
    env.register(0)
    second = env.as_operator(1)
    # A valid proof by operator 1 for the same key (it knows the secret here).
    pop = second.proof_of_possession(env.keys[0])
    with reverts("StakingPublicKeyAlreadyRegistered"):
        second.register_node_with_proof(
            "dup", "http://x", env.keys[0].public_key().to_eip2537(), pop
        )


def test_operator_updates_metadata_commission_and_votes(env: Env) -> None:
    node_id = env.register(0)
    staking = env.as_operator(0)
    staking.set_node_metadata(node_id, "renamed", "https://node.example")
    staking.set_commission(node_id, 1_234)
    staking.cast_votes(node_id, storage_price=7, write_price=8, capacity=9)
    info = env.staking.node(node_id)
    assert (info.name, info.http_url, info.commission_bps) == (
        "renamed",
        "https://node.example",
        1_234,
    )
    assert (info.storage_price_vote, info.write_price_vote, info.capacity) == (7, 8, 9)

    other = env.as_operator(1)
    with reverts("StakingNotOperator"):
        other.set_node_metadata(node_id, "x", "http://x")
    with reverts("StakingNotOperator"):
        other.set_commission(node_id, 1)
    with reverts("StakingNotOperator"):
        other.cast_votes(node_id, storage_price=1, write_price=1, capacity=1)
    with reverts("StakingInvalidCommission"):
        staking.set_commission(node_id, 10_001)
    with reverts("StakingInvalidUrl"):
        staking.set_node_metadata(node_id, "x", "")
    with reverts("StakingUnknownNode"):
        staking.set_commission(99, 1)
    with reverts("StakingUnknownNode"):
        env.staking.node(99)


# ---------------------------------------------------------------- stake


def test_stake_moves_wal_and_counts_from_next_epoch(env: Env) -> None:
    node_id = env.register(0)
    delegator = env.as_operator(1)
    before = wal_balance(env, delegator.client.address)
    position = delegator.stake(node_id, 5_000)
    assert wal_balance(env, delegator.client.address) == before - 5_000
    assert wal_balance(env, env.staking.address) == 5_000
    assert position.activation_epoch == 1
    stored = env.staking.position(position.position_id)
    assert (stored.owner, stored.node_id, stored.amount) == (
        delegator.client.address,
        node_id,
        5_000,
    )
    assert stored.withdraw_epoch is None
    assert env.staking.node_stake_at(node_id, 0) == 0
    assert env.staking.node_stake_at(node_id, 1) == 5_000
    assert [p.position_id for p in env.staking.positions_of(delegator.client.address)] == [
        position.position_id
    ]


def test_stake_rejects_bad_input(env: Env) -> None:
    node_id = env.register(0)
    staking = env.as_operator(0)
    with reverts("StakingZeroAmount"):
        staking.stake(node_id, 0)
    with reverts("StakingUnknownNode"):
        staking.stake(42, 1)
    with reverts("ERC20InsufficientBalance"):
        staking.stake(node_id, WAL_PER_OPERATOR * 10)
    env.operators[0].transact(env.wal.functions.approve(env.staking.address, 10))
    with reverts("ERC20InsufficientAllowance"):
        staking.stake(node_id, 11)


def test_stake_activation_depends_on_the_epoch_midpoint(env: Env) -> None:
    node_id = env.register(0, stake=10_000)
    staking = env.as_operator(1)
    # In epoch 0 every stake counts from epoch 1, however late.
    env.advance(EPOCH_SECONDS * 3)
    assert staking.stake(node_id, 1).activation_epoch == 1
    env.next_epoch()
    assert env.staking.current_epoch() == 1
    early = staking.stake(node_id, 100)
    assert early.activation_epoch == 2
    env.advance(EPOCH_SECONDS // 2 + 1)
    late = staking.stake(node_id, 200)
    assert late.activation_epoch == 3
    assert env.staking.node_stake_at(node_id, 1) == 10_001
    assert env.staking.node_stake_at(node_id, 2) == 10_101
    assert env.staking.node_stake_at(node_id, 3) == 10_301
    # Late stake is not in the next committee's weight, early stake is.
    env.next_epoch()
    assert env.staking.node_stake_at(node_id, 2) == 10_101
    env.next_epoch()
    assert env.staking.node_stake_at(node_id, 3) == 10_301
    with reverts("StakingWrongEpoch"):
        env.staking.node_stake_at(node_id, 2)


def test_withdrawal_waits_for_the_epoch_boundary(env: Env) -> None:
    node_id = env.register(0, stake=10_000)
    staker = env.as_operator(1)
    position = staker.stake(node_id, 4_000)
    env.next_epoch()  # epoch 1: both positions active
    assert env.staking.node_stake_at(node_id, 1) == 14_000

    withdrawing = staker.request_withdraw(position.position_id, 4_000)
    assert withdrawing.position_id == position.position_id
    assert withdrawing.withdraw_epoch == 2
    # Still counted (and at risk) in epoch 1, gone from epoch 2.
    assert env.staking.node_stake_at(node_id, 1) == 14_000
    assert env.staking.node_stake_at(node_id, 2) == 10_000
    with reverts("StakingWithdrawalNotReady"):
        staker.withdraw(position.position_id)
    with reverts("StakingWithdrawalAlreadyRequested"):
        staker.request_withdraw(position.position_id, 1)

    env.next_epoch()
    before = wal_balance(env, staker.client.address)
    assert staker.withdraw(position.position_id) == 4_000
    assert wal_balance(env, staker.client.address) == before + 4_000
    with reverts("StakingUnknownPosition"):
        env.staking.position(position.position_id)
    with reverts("StakingUnknownPosition"):
        staker.withdraw(position.position_id)
    kinds = {type(event) for event in env.staking.events.in_blocks(0, env.block_number())}
    assert {Staked, WithdrawalRequested, Withdrawn} <= kinds


def test_partial_withdrawal_splits_the_position(env: Env) -> None:
    node_id = env.register(0)
    staker = env.as_operator(0)
    position = staker.stake(node_id, 10_000)
    split = staker.request_withdraw(position.position_id, 3_000)
    assert split.position_id != position.position_id
    assert (split.amount, split.withdraw_epoch, split.node_id) == (3_000, 1, node_id)
    remaining = env.staking.position(position.position_id)
    assert (remaining.amount, remaining.withdraw_epoch) == (7_000, None)
    # Requested in epoch 0: the 3,000 never count.
    assert env.staking.node_stake_at(node_id, 1) == 7_000
    env.next_epoch()
    assert staker.withdraw(split.position_id) == 3_000
    assert [p.amount for p in env.staking.positions_of(staker.client.address)] == [7_000]


def test_withdrawal_requested_after_the_midpoint_waits_one_more_epoch(env: Env) -> None:
    node_id = env.register(0, stake=10_000)
    staker = env.as_operator(1)
    position = staker.stake(node_id, 2_000)
    env.next_epoch()
    env.advance(EPOCH_SECONDS // 2 + 1)
    withdrawing = staker.request_withdraw(position.position_id, 2_000)
    assert withdrawing.withdraw_epoch == 3
    env.next_epoch()
    assert env.staking.node_stake_at(node_id, 2) == 12_000
    with reverts("StakingWithdrawalNotReady"):
        staker.withdraw(position.position_id)
    env.next_epoch()
    assert staker.withdraw(position.position_id) == 2_000


def test_withdrawal_rejects_bad_requests(env: Env) -> None:
    node_id = env.register(0)
    owner = env.as_operator(0)
    position = owner.stake(node_id, 1_000)
    stranger = env.as_operator(1)
    with reverts("StakingNotPositionOwner"):
        stranger.request_withdraw(position.position_id, 1)
    with reverts("StakingNotPositionOwner"):
        stranger.withdraw(position.position_id)
    with reverts("StakingUnknownPosition"):
        owner.request_withdraw(999, 1)
    with reverts("StakingZeroAmount"):
        owner.request_withdraw(position.position_id, 0)
    with reverts("StakingAmountExceedsPosition"):
        owner.request_withdraw(position.position_id, 1_001)
    with reverts("StakingWithdrawalNotRequested"):
        owner.withdraw(position.position_id)


# ---------------------------------------------------------------- epochs and committee


def test_first_epoch_needs_an_eligible_node(env: Env) -> None:
    with reverts("StakingNoEligibleNodes"):
        env.staking.initiate_epoch_change()
    node_id = env.register(0, stake=999)  # below min stake 1_000
    with reverts("StakingNoEligibleNodes"):
        env.staking.initiate_epoch_change()
    env.as_operator(0).stake(node_id, 1)
    committee = env.staking.initiate_epoch_change()
    assert (committee.epoch, committee.node_ids, committee.shard_counts) == (1, (1,), (10,))
    info = env.staking.epoch_info()
    assert (info.epoch, info.state) == (1, EpochState.SYNCING)
    functions = env.staking.contract.functions
    assert env.staking.client.call(functions.epochEndTime()) == info.end_time
    assert info.end_time == info.start_time + EPOCH_SECONDS
    assert env.staking.client.call(functions.committeeMemberIndex(1, node_id)) == [True, 0]
    assert env.staking.client.call(functions.committeeMemberIndex(1, 2)) == [False, 0]


def test_epoch_change_waits_for_the_duration_and_emits_events(env: Env) -> None:
    for index in range(4):
        env.register(index, stake=10_000)
    env.next_epoch()
    with reverts("StakingEpochNotOver"):
        env.staking.initiate_epoch_change()
    env.advance(EPOCH_SECONDS - 5)
    with reverts("StakingEpochNotOver"):
        env.staking.initiate_epoch_change()
    env.advance(10)
    start_block = env.block_number() + 1
    env.staking.initiate_epoch_change()
    events = env.staking.events.in_blocks(start_block, env.block_number())
    assert [type(event) for event in events] == [
        EpochChangeStarted,
        CommitteeSelected,
        EpochParametersSelected,
    ]
    started, selected, parameters = events
    assert isinstance(started, EpochChangeStarted) and started.epoch == 2
    assert isinstance(selected, CommitteeSelected)
    assert selected.node_ids == (1, 2, 3, 4) and sum(selected.shard_counts) == N_SHARDS
    assert isinstance(parameters, EpochParametersSelected) and parameters.epoch == 2


def test_equal_stakes_share_shards_evenly(env: Env) -> None:
    for index in range(4):
        env.register(index, stake=5_000)
    committee = env.staking.initiate_epoch_change()
    # 10 shards over 4 equal stakes: 2.5 each; the leftover two go to the lower ids.
    assert committee.shard_counts == (3, 3, 2, 2)
    assignment = env.staking.shard_assignment(1)
    assert assignment == (1, 1, 1, 2, 2, 2, 3, 3, 4, 4)
    assert env.staking.shards_of_node(3) == (6, 7)


def test_skewed_stakes_are_capped(make_env: Callable[..., Env]) -> None:
    env = make_env(max_shard_share_bps=5_000)  # at most 5 of 10 shards per node
    stakes = [100_000, 1_000, 1_000, 1_000]
    for index, amount in enumerate(stakes):
        env.register(index, stake=amount)
    committee = env.staking.initiate_epoch_change()
    assert committee.shard_counts == (5, 2, 2, 1)
    assert sum(committee.shard_counts) == N_SHARDS
    assert list(committee.shard_counts) == capped_largest_remainder(stakes, N_SHARDS, 5)


def test_cap_is_raised_when_the_committee_is_too_small(make_env: Callable[..., Env]) -> None:
    env = make_env(max_shard_share_bps=1_000)  # 1 shard per node would leave 8 unassigned
    env.register(0, stake=3_000)
    env.register(1, stake=1_000)
    committee = env.staking.initiate_epoch_change()
    assert committee.shard_counts == (5, 5)


def test_min_stake_and_max_committee_size_select_the_top_nodes(
    make_env: Callable[..., Env],
) -> None:
    env = make_env(max_committee_size=3, min_stake=2_000)
    stakes = [5_000, 1_999, 7_000, 3_000, 3_000]
    for index, amount in enumerate(stakes):
        env.register(index, stake=amount)
    committee = env.staking.initiate_epoch_change()
    # Node 2 is below min stake; of the rest the top 3 by stake, ties to the lower id,
    # listed in ascending id order.
    assert committee.node_ids == (1, 3, 4)
    assert sum(committee.shard_counts) == N_SHARDS
    assert list(committee.shard_counts) == capped_largest_remainder(
        [5_000, 7_000, 3_000], N_SHARDS, N_SHARDS
    )


def test_only_nodes_with_min_stake_are_candidates(env: Env) -> None:
    staked = env.register(0, stake=1_000)
    registered_only = env.register(1)
    below = env.register(2, stake=999)
    assert env.staking.candidate_node_ids() == {staked}
    env.as_operator(2).stake(below, 1)
    assert env.staking.candidate_node_ids() == {staked, below}
    # Withdrawing everything removes a node; it comes back with new stake.
    env.as_operator(0).request_withdraw(1, 1_000)
    env.next_epoch()
    assert env.staking.committee().node_ids == (below,)
    assert env.as_operator(0).withdraw(1) == 1_000
    assert env.staking.candidate_node_ids() == {below}
    env.as_operator(1).stake(registered_only, 5_000)
    assert env.staking.candidate_node_ids() == {below, registered_only}


def test_tiny_stake_gets_no_shard_and_is_left_out(env: Env) -> None:
    env.register(0, stake=1_000_000)
    env.register(1, stake=1_000)
    committee = env.staking.initiate_epoch_change()
    assert committee.node_ids == (1,)
    assert committee.shard_counts == (10,)


def test_shard_indices_stay_with_their_nodes_across_epochs(env: Env) -> None:
    for index in range(4):
        env.register(index, stake=5_000)
    env.next_epoch()
    assert env.staking.shard_assignment(1) == (1, 1, 1, 2, 2, 2, 3, 3, 4, 4)
    # Node 4 leaves, node 5 joins with 10,000, node 1 grows to 10,000: counts become
    # 3.33 / 1.67 / 1.67 / 3.33 -> (3, 2, 2, 3).
    env.as_operator(3).request_withdraw(4, 5_000)
    env.register(4, stake=10_000)
    env.as_operator(0).stake(1, 5_000)
    env.next_epoch()
    committee = env.staking.committee(2)
    assert (committee.node_ids, committee.shard_counts) == ((1, 2, 3, 5), (3, 2, 2, 3))
    # Nodes keep the shards they had up to their new count; only freed shards move.
    assert env.staking.shard_assignment(2) == (1, 1, 1, 2, 2, 5, 3, 3, 5, 5)


def test_random_stakes_match_the_reference_apportionment(make_env: Callable[..., Env]) -> None:
    env = make_env(max_shard_share_bps=3_000)
    rng = random.Random(5)
    stakes = [rng.randrange(1_000, 50_000) for _ in range(OPERATORS)]
    for index, amount in enumerate(stakes):
        env.register(index, stake=amount)
    for _ in range(3):
        env.next_epoch()
        committee = env.staking.committee()
        expected = capped_largest_remainder(stakes, N_SHARDS, 3)
        kept = [(i + 1, c) for i, c in enumerate(expected) if c > 0]
        assert committee.node_ids == tuple(node for node, _ in kept)
        assert committee.shard_counts == tuple(count for _, count in kept)
        assert sum(committee.shard_counts) == N_SHARDS and max(committee.shard_counts) <= 3
        extra = rng.randrange(1_000, 50_000)
        node_index = rng.randrange(OPERATORS)
        env.as_operator(node_index).stake(node_index + 1, extra)
        stakes[node_index] += extra


def test_committee_keys_and_aggregate_key(env: Env) -> None:
    for index in range(3):
        env.register(index, stake=5_000)
    env.next_epoch()
    expected = aggregate_public_keys([key.public_key() for key in env.keys[:3]])
    assert env.staking.committee_aggregate_key(1) == expected.to_eip2537()
    for member in range(3):
        assert (
            env.staking.committee_member_key(1, member)
            == env.keys[member].public_key().to_eip2537()
        )
    with reverts("StakingMemberIndexOutOfRange"):
        env.staking.committee_member_key(1, 3)
    with reverts("StakingUnknownEpoch"):
        env.staking.committee(2)
    with reverts("StakingUnknownEpoch"):
        env.staking.committee_aggregate_key(0)


def test_epoch_sync_done_completes_at_quorum_weight(env: Env) -> None:
    for index in range(4):
        env.register(index, stake=5_000)
    env.next_epoch()  # counts (3, 3, 2, 2); quorum = 10 - 3 = 7
    assert env.staking.quorum_weight() == 7
    assert env.as_operator(0).epoch_sync_done(1, 1) is False
    assert env.as_operator(1).epoch_sync_done(2, 1) is False  # 6 of 10
    assert env.staking.epoch_info().state == EpochState.SYNCING
    with reverts("StakingSyncAlreadyReported"):
        env.as_operator(0).epoch_sync_done(1, 1)
    assert env.as_operator(3).epoch_sync_done(4, 1) is True  # 8 of 10
    info = env.staking.epoch_info()
    assert (info.state, info.sync_done_weight) == (EpochState.DONE, 8)
    assert env.staking.sync_reported(1, 4) and not env.staking.sync_reported(1, 3)
    # Late reports are still recorded but do not complete it twice.
    assert env.as_operator(2).epoch_sync_done(3, 1) is False
    events = env.staking.events.in_blocks(0, env.block_number())
    assert [event.epoch for event in events if isinstance(event, EpochChangeDone)] == [1]


def test_epoch_sync_done_rejects_bad_reports(env: Env) -> None:
    env.register(0, stake=5_000)
    outsider = env.register(1)  # no stake: not in the committee
    with reverts("StakingWrongEpoch"):
        env.as_operator(0).epoch_sync_done(1, 0)
    env.next_epoch()
    with reverts("StakingNotOperator"):
        env.as_operator(1).epoch_sync_done(1, 1)
    with reverts("StakingWrongEpoch"):
        env.as_operator(0).epoch_sync_done(1, 2)
    with reverts("StakingNotInCommittee"):
        env.as_operator(1).epoch_sync_done(outsider, 1)
    with reverts("StakingUnknownNode"):
        env.as_operator(1).epoch_sync_done(77, 1)


# ---------------------------------------------------------------- votes and parameters


def test_votes_set_prices_at_the_quorum_percentile(env: Env) -> None:
    stakes = [4_000, 3_000, 2_000, 1_000]  # shards 4, 3, 2, 1
    storage_votes = [50, 10, 40, 20]
    write_votes = [5, 6, 7, 8]
    capacities = [4 * 2**40, 3 * 2**40, 10 * 2**40, 2**30]
    for index, amount in enumerate(stakes):
        node_id = env.register(index, stake=amount)
        env.as_operator(index).cast_votes(
            node_id,
            storage_price=storage_votes[index],
            write_price=write_votes[index],
            capacity=capacities[index],
        )
    assert env.staking.prices().storage_price == 1_000  # constructor value until a change
    committee = env.staking.initiate_epoch_change()
    weights = list(committee.shard_counts)
    assert weights == [4, 3, 2, 1]
    prices = env.staking.prices()
    # Quorum = 10 - 3 = 7 shards. Storage votes 10(3) 20(1) 40(2) 50(4): only 6 shards
    # voted <= 40, so 50. Write votes 5(4) 6(3): 7 shards voted <= 6.
    assert prices.storage_price == quorum_below(storage_votes, weights) == 50
    assert prices.write_price == quorum_below(write_votes, weights) == 6
    normalised = [c * N_SHARDS // w for c, w in zip(capacities, weights, strict=True)]
    assert prices.total_capacity == quorum_above(normalised, weights)


def test_a_minority_cannot_raise_the_price(env: Env) -> None:
    for index in range(4):
        node_id = env.register(index, stake=5_000)  # shards 3, 3, 2, 2
        vote = 10**12 if index == 3 else 100 + index
        env.as_operator(index).cast_votes(
            node_id, storage_price=vote, write_price=vote, capacity=2**40
        )
    env.next_epoch()
    # Node 4 (2 shards <= f = 3) votes absurdly high; the price follows the others.
    assert env.staking.prices().storage_price == 102


def test_owner_sets_parameters(env: Env) -> None:
    env.staking.set_epoch_duration(5)
    assert env.staking.epoch_info().duration == 5
    env.staking.set_committee_parameters(
        min_stake=7, max_committee_size=3, max_shard_share_bps=2_000
    )
    contract = env.staking.contract.functions
    assert env.staking.client.call(contract.minStake()) == 7
    assert env.staking.client.call(contract.maxCommitteeSize()) == 3
    with reverts("StakingInvalidParameter"):
        env.staking.set_epoch_duration(0)
    with reverts("StakingInvalidParameter"):
        env.staking.set_committee_parameters(
            min_stake=0, max_committee_size=N_SHARDS + 1, max_shard_share_bps=1
        )
    with reverts("StakingInvalidParameter"):
        env.staking.set_committee_parameters(
            min_stake=0, max_committee_size=1, max_shard_share_bps=10_001
        )
    stranger = env.as_operator(0)
    with reverts("OwnableUnauthorizedAccount"):
        stranger.set_epoch_duration(10)
    with reverts("OwnableUnauthorizedAccount"):
        stranger.set_committee_parameters(min_stake=0, max_committee_size=1, max_shard_share_bps=1)


def test_constructor_rejects_too_few_shards(make_env: Callable[..., Env]) -> None:
    with reverts("StakingInvalidParameter"):
        make_env(n_shards=3, max_committee_size=3)


def test_contract_fits_the_size_limit(artifacts: Artifacts) -> None:
    assert artifacts.get("Staking").deployed_size <= 24_576


def test_stake_with_permit_needs_no_prior_approval(env: Env) -> None:
    node_id = env.register(0)
    staker = Account.from_key(bytes([0xD1, 0x77]) * 16)
    env.chain.send_value(staker.address, 10**18)
    env.chain.transact(env.wal.functions.transfer(staker.address, 5_000))
    client = env.chain.with_account(bytes(staker.key))
    deadline = 2**40
    signed = permit_signature(
        env.wal, env.chain.chain_id, staker, env.staking.address, 5_000, deadline
    )
    position = env.staking.as_account(client).stake_with_permit(
        node_id,
        5_000,
        deadline,
        *signature_parts(signed),
    )
    assert (position.owner, position.amount) == (staker.address, 5_000)
    assert wal_balance(env, staker.address) == 0
    # A replayed (used) permit is ignored and the missing allowance is reported by name.
    env.chain.transact(env.wal.functions.transfer(staker.address, 5_000))
    with reverts("ERC20InsufficientAllowance"):
        env.staking.as_account(client).stake_with_permit(
            node_id,
            5_000,
            deadline,
            *signature_parts(signed),
        )


def test_devnet_deployment_includes_staking(
    chain: ChainClient, artifacts: Artifacts, wal: Contract, deployment: Deployment
) -> None:
    staking = StakingContract.at(chain, deployment.address("Staking"), artifacts.abi("Staking"))
    defaults = StakingParameters()
    assert staking.n_shards == defaults.n_shards
    assert staking.client.call(staking.contract.functions.wal()) == wal.address
    owner = deployment.address("WalrusTimelock")  # every setter goes through governance
    assert staking.client.call(staking.contract.functions.owner()) == owner
    assert staking.epoch_info().duration == defaults.epoch_duration


def test_every_event_decodes(env: Env) -> None:
    first_block = env.block_number() + 1
    node_id = env.register(0, stake=5_000)
    operator = env.as_operator(0)
    operator.set_node_metadata(node_id, "n", "http://n")
    operator.set_commission(node_id, 7)
    operator.cast_votes(node_id, storage_price=11, write_price=12, capacity=13)
    env.next_epoch()
    operator.epoch_sync_done(node_id, 1)
    operator.request_withdraw(1, 5_000)
    env.staking.set_epoch_duration(EPOCH_SECONDS)
    env.staking.set_committee_parameters(
        min_stake=1, max_committee_size=N_SHARDS, max_shard_share_bps=10_000
    )
    operator.stake(node_id, 1)
    env.next_epoch()
    operator.withdraw(1)
    events = env.staking.events.in_blocks(first_block, env.block_number())
    assert {type(event) for event in events} == {
        NodeRegistered,
        NodeMetadataUpdated,
        CommissionUpdated,
        VotesCast,
        Staked,
        WithdrawalRequested,
        Withdrawn,
        EpochChangeStarted,
        CommitteeSelected,
        EpochParametersSelected,
        EpochSyncDoneReported,
        EpochChangeDone,
        EpochDurationUpdated,
        CommitteeParametersUpdated,
    }
    assert VotesCast(node_id, 11, 12, 13) in events
    assert CommissionUpdated(node_id, 7) in events
    assert EpochSyncDoneReported(1, node_id, N_SHARDS) in events
    assert EpochParametersSelected(1, 11, 12, 13) in events
    assert CommitteeParametersUpdated(1, N_SHARDS, 10_000) in events
    withdrawn = [event for event in events if isinstance(event, Withdrawn)]
    assert withdrawn == [Withdrawn(1, operator.client.address, node_id, 5_000)]
    # Logs of other contracts are ignored.
    assert (
        env.staking.events.decode_logs(
            env.chain.w3.eth.get_logs({"address": env.wal.address, "fromBlock": first_block})
        )
        == []
    )


def test_arguments_outside_their_solidity_types_are_named_errors(env: Env) -> None:
    node_id = env.register(0)
    staking = env.as_operator(0)
    with pytest.raises(StakingArgumentError, match=r"^stake: amount must be between 0"):
        staking.stake(node_id, -1)
    with pytest.raises(StakingArgumentError, match=r"epochSyncDone: epoch must be between"):
        staking.epoch_sync_done(node_id, 2**32)
    with pytest.raises(StakingArgumentError, match=r"setCommission: commissionBps"):
        staking.set_commission(node_id, 2**16)
    with pytest.raises(StakingArgumentError, match=r"must be an integer, got str"):
        staking.withdraw("1")  # type: ignore[arg-type]
    assert env.staking.node(node_id).commission_bps == 500
