"""Epoch rewards on a real Staking + BlobRegistry + StakingRewards on anvil: the pool (storage
payments + subsidy) is split by shards minus the burn share, exactly; commission and stakers'
shares are exact to the FROST; positions earn from their activation to their withdraw epoch;
burned WAL leaves the total supply; bad input is a named error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.rewards import (
    BPS,
    EpochRewardsDistributed,
    NodeRewarded,
    RewardsParameters,
    StakingRewardsContract,
    deploy_rewards,
)
from backend.chain.staking import StakingContract
from tests.contracts.blob_registry_env import (
    EPOCH_SECONDS,
    RegistryEnv,
    build_env,
    fresh_client,
    funded_clients_fixture,
    restore_chain_fixture,
    reverts,
)

N_SHARDS = 10
WAL_UNIT = 10**9
STAKES = [3 * WAL_UNIT, 2 * WAL_UNIT, WAL_UNIT]
COMMISSIONS = [1_234, 0, 10_000]
SUBSIDY_RATE = 7_777_777
BURN_BPS = 1_500
PARAMETERS = RewardsParameters(SUBSIDY_RATE, BURN_BPS)


@dataclass
class RewardsEnv:
    env: RegistryEnv
    rewards: StakingRewardsContract
    subsidies: ChainClient
    operators: list[ChainClient]

    @property
    def staking(self) -> StakingContract:
        return self.env.staking

    def wal_balance(self, address: str) -> int:
        return self.env.wal_balance(address)

    def total_supply(self) -> int:
        return int(self.env.wal.functions.totalSupply().call())

    def next_epoch(self) -> list[object]:
        """End the epoch; returns the rewards events of the epoch change."""
        self.env.next_epoch()
        block = self.env.chain.block_number()
        return list(self.rewards.events.in_blocks(block, block))

    def advance_past_midpoint(self) -> None:
        self.env.advance(EPOCH_SECONDS // 2 + 1)


def build_rewards_env(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    seed: bytes,
    *,
    stakes: list[int] = STAKES,
    commissions: list[int] = COMMISSIONS,
    parameters: RewardsParameters = PARAMETERS,
    max_epochs_ahead: int = 10,
) -> RewardsEnv:
    """Staking + registry with one node per stake (commission per node), a subsidy source
    that approved 10^6 WAL, rewards attached in epoch 0, then epoch 1 started."""
    operators = [
        fresh_client(chain, wal, client_for, seed + b"operator" + bytes([i]))
        for i in range(len(stakes))
    ]
    env = build_env(
        chain,
        artifacts,
        wal,
        operators,
        stakes,
        n_shards=N_SHARDS,
        max_epochs_ahead=max_epochs_ahead,
        start_epoch=False,
    )
    for index, commission in enumerate(commissions):
        env.staking.as_account(operators[index]).set_commission(env.node_ids[index], commission)
    subsidies = fresh_client(chain, wal, client_for, seed + b"subsidies", 10**15)
    rewards = deploy_rewards(
        chain,
        artifacts.abi("StakingRewards"),
        artifacts.bytecode("StakingRewards"),
        wal=wal.address,
        staking=env.staking.address,
        registry=env.registry.address,
        subsidy_source=subsidies.address,
        owner=chain.address,
        parameters=parameters,
    )
    subsidies.transact(wal.functions.approve(rewards.address, 10**15))
    env.staking.set_rewards(rewards.address)
    env.next_epoch()
    return RewardsEnv(env, rewards, subsidies, operators)


restore_chain = restore_chain_fixture()


@pytest.fixture(scope="module")
def renv(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
) -> RewardsEnv:
    return build_rewards_env(chain, artifacts, wal, client_for, b"rewards")


delegators = funded_clients_fixture(b"delegator", 3)


def _distributed(events: list[object]) -> EpochRewardsDistributed:
    [distributed] = [e for e in events if isinstance(e, EpochRewardsDistributed)]
    return distributed


def _node_rewards(events: list[object]) -> dict[int, NodeRewarded]:
    return {e.node_id: e for e in events if isinstance(e, NodeRewarded)}


def test_pool_is_split_by_shards_minus_burn_and_burn_leaves_the_supply(
    renv: RewardsEnv, snapshot: None
) -> None:
    env = renv.env
    user = env.operators[0]
    for salt in (b"a", b"b"):
        env.register(user, 3 << 20, epochs=2, salt=salt)
    epoch = env.epoch()
    storage_pool = env.registry.epoch_pool(epoch)
    assert storage_pool > 0
    committee = renv.staking.committee()
    supply_before = renv.total_supply()
    subsidies_before = renv.wal_balance(renv.subsidies.address)

    events = renv.next_epoch()

    distributed = _distributed(events)
    assert distributed.epoch == epoch
    assert distributed.storage_pool == storage_pool
    assert distributed.subsidy == SUBSIDY_RATE
    assert renv.wal_balance(renv.subsidies.address) == subsidies_before - SUBSIDY_RATE
    pool = storage_pool + SUBSIDY_RATE
    assert distributed.pool == pool
    distributable = pool - pool * BURN_BPS // BPS
    by_node = _node_rewards(events)
    for node_id, shards in zip(committee.node_ids, committee.shard_counts, strict=True):
        assert by_node[node_id].reward == distributable * shards // N_SHARDS
        assert by_node[node_id].weight_bps == BPS
    assert sum(r.reward for r in by_node.values()) == distributed.distributed
    assert distributed.distributed + distributed.burned == pool
    assert distributed.burned >= pool * BURN_BPS // BPS
    # Burned WAL is destroyed: the supply fell by exactly that, nothing else moved out.
    assert renv.total_supply() == supply_before - distributed.burned
    assert renv.rewards.total_burned() == distributed.burned
    assert renv.wal_balance(renv.rewards.address) == renv.rewards.liabilities()
    assert env.registry.epoch_pool(epoch) == 0


def test_commission_and_stakers_are_paid_exact_to_the_frost(
    renv: RewardsEnv, delegators: list[ChainClient], snapshot: None
) -> None:
    """Node 0 (commission 12.34%): its operator and two delegators with odd amounts; after
    every position is withdrawn, commission + staker payouts = the node's reward exactly."""
    env, staking, rewards = renv.env, renv.staking, renv.rewards
    node_id = env.node_ids[0]
    amounts = [1_000_000_007, 333_333_333]
    positions = []
    for delegator, amount in zip(delegators[:2], amounts, strict=True):
        delegator.transact(env.wal.functions.approve(staking.address, amount))
        positions.append(staking.as_account(delegator).stake(node_id, amount))
    renv.next_epoch()  # delegations active from here
    active_epoch = env.epoch()
    env.register(env.operators[1], 5 << 20, epochs=1, salt=b"exact")
    events = renv.next_epoch()
    reward = _node_rewards(events)[node_id]
    assert reward.epoch == active_epoch
    stake = STAKES[0] + sum(amounts)
    assert reward.stake == stake
    commission = reward.reward * COMMISSIONS[0] // BPS
    assert reward.commission == commission
    stakers = reward.reward - commission
    assert rewards.node_epoch(active_epoch, node_id).stakers_reward == stakers
    increment = stakers * rewards.precision() // stake
    expected = [amount * increment // rewards.precision() for amount in amounts]
    assert [rewards.pending_rewards(p.position_id) for p in positions] == expected
    assert 0 < sum(expected) <= stakers

    # Delegator 0 claims without withdrawing; claiming again pays nothing.
    before = renv.wal_balance(delegators[0].address)
    assert rewards.as_account(delegators[0]).claim(positions[0].position_id) == expected[0]
    assert renv.wal_balance(delegators[0].address) == before + expected[0]
    assert rewards.as_account(delegators[0]).claim(positions[0].position_id) == 0

    # Everyone withdraws (the operator's own position too); rewards come with the stake.
    operator = renv.operators[0]
    [own] = staking.positions_of(operator.address)
    paid = expected[0]
    for client, position in [
        (delegators[0], positions[0]),
        (delegators[1], positions[1]),
        (operator, own),
    ]:
        staking.as_account(client).request_withdraw(position.position_id, position.amount)
    operator_share = STAKES[0] * increment // rewards.precision()
    renv.next_epoch()  # withdrawals take effect; this epoch's rewards are the node's too
    last = renv.next_epoch()
    later = _node_rewards(last).get(node_id)
    assert later is None or later.epoch == env.epoch() - 1
    for client, position, share in [
        (delegators[0], positions[0], 0),
        (delegators[1], positions[1], expected[1]),
        (operator, own, operator_share),
    ]:
        earned = rewards.pending_rewards(position.position_id)
        before = renv.wal_balance(client.address)
        assert staking.as_account(client).withdraw(position.position_id) == position.amount
        assert renv.wal_balance(client.address) == before + position.amount + earned
        paid += earned
        if share:
            assert earned >= share
    # The node is empty: its stakers' dust went to the operator, nothing is left reserved.
    assert rewards.staker_reserve(node_id) == 0
    node_total = sum(
        event.reward
        for event in renv.rewards.events.in_blocks(0, env.chain.block_number())
        if isinstance(event, NodeRewarded) and event.node_id == node_id
    )
    commission_total = rewards.commission_balance(node_id)
    assert commission_total + paid == node_total
    before = renv.wal_balance(operator.address)
    assert rewards.as_account(operator).claim_commission(node_id) == commission_total
    assert renv.wal_balance(operator.address) == before + commission_total
    assert rewards.commission_balance(node_id) == 0


def test_stake_earns_from_its_activation_until_its_withdraw_epoch(
    renv: RewardsEnv, delegators: list[ChainClient], snapshot: None
) -> None:
    env, staking, rewards = renv.env, renv.staking, renv.rewards
    node_id = env.node_ids[1]  # commission 0: stakers get the whole node reward
    delegator = delegators[2]
    delegator.transact(env.wal.functions.approve(staking.address, 2 * WAL_UNIT))
    renv.advance_past_midpoint()
    position = staking.as_account(delegator).stake(node_id, 2 * WAL_UNIT)
    assert position.activation_epoch == env.epoch() + 2  # staked after the midpoint
    renv.next_epoch()
    assert rewards.pending_rewards(position.position_id) == 0  # epoch before activation
    renv.next_epoch()
    assert env.epoch() == position.activation_epoch
    assert rewards.pending_rewards(position.position_id) == 0  # active epoch not over yet
    env.register(env.operators[0], 2 << 20, epochs=1, salt=b"timing")
    events = renv.next_epoch()
    reward = _node_rewards(events)[node_id]
    assert reward.stake == STAKES[1] + 2 * WAL_UNIT
    first = rewards.pending_rewards(position.position_id)
    assert first == 2 * WAL_UNIT * (reward.reward * rewards.precision() // reward.stake) // (
        rewards.precision()
    )
    assert first > 0

    # Withdrawal requested before the midpoint: counts in this epoch, not in the next.
    withdrawing = staking.as_account(delegator).request_withdraw(position.position_id, 2 * WAL_UNIT)
    assert withdrawing.withdraw_epoch == env.epoch() + 1
    with reverts("StakingWithdrawalNotReady", position.position_id, env.epoch() + 1):
        staking.as_account(delegator).withdraw(position.position_id)
    events = renv.next_epoch()
    second = rewards.pending_rewards(position.position_id) - first
    assert second > 0  # the last active epoch (subsidy) paid
    renv.next_epoch()  # not active any more: nothing new
    assert rewards.pending_rewards(position.position_id) == first + second
    before = renv.wal_balance(delegator.address)
    staking.as_account(delegator).withdraw(position.position_id)
    assert renv.wal_balance(delegator.address) == before + 2 * WAL_UNIT + first + second


def test_availability_weight_reduces_a_node_reward_and_the_cut_is_burned(
    renv: RewardsEnv, deploy_contract: Callable[..., Contract], snapshot: None
) -> None:
    env, rewards = renv.env, renv.rewards
    score = deploy_contract("AvailabilityScoreHarness")
    rewards.set_availability_score(score.address)
    epoch = env.epoch()
    weak = env.node_ids[2]
    env.chain.transact(score.functions.setWeight(epoch, weak, 2_500))
    supply_before = renv.total_supply()
    events = renv.next_epoch()
    distributed = _distributed(events)
    distributable = distributed.pool - distributed.pool * BURN_BPS // BPS
    committee = renv.staking.committee(epoch)
    by_node = _node_rewards(events)
    shards = committee.shards_of(weak)
    assert by_node[weak].weight_bps == 2_500
    assert by_node[weak].reward == distributable * shards * 2_500 // (N_SHARDS * BPS)
    full = distributable * shards // N_SHARDS
    assert distributed.burned >= distributed.pool * BURN_BPS // BPS + full - by_node[weak].reward
    assert renv.total_supply() == supply_before - distributed.burned
    rewards.set_availability_score(None)


def test_subsidy_is_limited_by_the_allowance(renv: RewardsEnv, snapshot: None) -> None:
    renv.subsidies.transact(renv.env.wal.functions.approve(renv.rewards.address, 1_234))
    assert _distributed(renv.next_epoch()).subsidy == 1_234
    assert _distributed(renv.next_epoch()).subsidy == 0


def test_bad_input_is_a_named_error(
    renv: RewardsEnv, delegators: list[ChainClient], snapshot: None
) -> None:
    env, staking, rewards = renv.env, renv.staking, renv.rewards
    stranger = delegators[1]
    [own] = staking.positions_of(renv.operators[0].address)
    with reverts("StakingRewardsNotPositionOwner", own.position_id, stranger.address):
        rewards.as_account(stranger).claim(own.position_id)
    with reverts("StakingUnknownPosition", 999_999):
        rewards.as_account(stranger).claim(999_999)
    with reverts("StakingRewardsNotOperator", env.node_ids[0], stranger.address):
        rewards.as_account(stranger).claim_commission(env.node_ids[0])
    with reverts("StakingUnknownNode", 4242):
        staking.as_account(stranger).stake(4242, 1)
    with reverts("StakingRewardsInvalidBurnShare", 10_001):
        rewards.set_burn_share(10_001)
    maximum = rewards.max_subsidy_rate()
    with reverts("StakingRewardsInvalidSubsidyRate", maximum + 1, maximum):
        rewards.set_subsidy_rate(maximum + 1)
    with reverts("OwnableUnauthorizedAccount", stranger.address):
        rewards.as_account(stranger).set_burn_share(0)
    with reverts("StakingRewardsNotAContract", stranger.address):
        rewards.set_availability_score(stranger.address)
    with reverts("StakingInvalidParameter"):
        staking.set_rewards(rewards.address)  # set once
    with reverts("StakingRewardsNotStaking", stranger.address):
        stranger.transact(rewards.contract.functions.epochStarted(env.epoch() + 1))
    rewards.set_burn_share(10_000)
    assert rewards.burn_share_bps() == 10_000


def test_everything_burned_when_burn_share_is_full(renv: RewardsEnv, snapshot: None) -> None:
    renv.rewards.set_burn_share(10_000)
    distributed = _distributed(renv.next_epoch())
    assert distributed.distributed == 0
    assert distributed.burned == distributed.pool > 0
