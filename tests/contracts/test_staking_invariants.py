"""Stake accounting under random operation sequences (hypothesis stateful test on anvil).

A model of every position is kept in Python; after each step the contract must agree on
each node's stake for the current and the next two epochs, on every position, and hold
exactly the WAL of the live positions (nothing created or lost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.errors import ContractRevert
from backend.chain.staking import StakingContract, StakingParameters, deploy_staking
from backend.core.bls import BlsSecretKey
from tests.contracts.blob_registry_env import funded_account, restore_chain_fixture

from .test_staking_math import capped_largest_remainder

EPOCH_SECONDS = 1_000
STAKERS = 3
NODES = 2


@dataclass
class ModelPosition:
    owner: int
    node_id: int
    amount: int
    activation_epoch: int
    withdraw_epoch: int | None = None


restore_chain = restore_chain_fixture()


@pytest.fixture(scope="module")
def stakers(
    chain: ChainClient, wal: Contract, client_for: Callable[[bytes], ChainClient]
) -> list[ChainClient]:
    return [
        funded_account(chain, wal, client_for, bytes([0xD2, index + 1]) * 16, 10**15)
        for index in range(STAKERS)
    ]


def test_stake_accounting_matches_the_model(
    chain: ChainClient, artifacts: Artifacts, wal: Contract, stakers: list[ChainClient]
) -> None:
    class StakeMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.owner = deploy_staking(
                chain,
                artifacts.abi("Staking"),
                artifacts.bytecode("Staking"),
                wal.address,
                chain.address,
                StakingParameters(
                    n_shards=4, epoch_duration=EPOCH_SECONDS, min_stake=1, max_committee_size=4
                ),
            )
            self.as_staker: list[StakingContract] = []
            for index, client in enumerate(stakers):
                client.transact(wal.functions.approve(self.owner.address, 2**255))
                self.as_staker.append(self.owner.as_account(client))
                if index < NODES:
                    key = BlsSecretKey.from_seed(bytes([0xB2, index]) * 16)
                    self.as_staker[index].register_node(f"n{index}", "http://n", key)
            self.positions: dict[int, ModelPosition] = {}
            self.epoch = 0
            self.epoch_start = self._now()

        def _now(self) -> int:
            return int(chain.w3.eth.get_block("latest")["timestamp"])

        def _expected_change_epoch(self, at: int) -> int:
            if self.epoch == 0 or at < self.epoch_start + EPOCH_SECONDS // 2:
                return self.epoch + 1
            return self.epoch + 2

        def _model_stake(self, node_id: int, epoch: int) -> int:
            return sum(
                p.amount
                for p in self.positions.values()
                if p.node_id == node_id
                and p.activation_epoch <= epoch
                and (p.withdraw_epoch is None or p.withdraw_epoch > epoch)
            )

        @rule(
            staker=st.integers(0, STAKERS - 1),
            node=st.integers(1, NODES),
            amount=st.integers(1, 10**9),
        )
        def stake(self, staker: int, node: int, amount: int) -> None:
            position = self.as_staker[staker].stake(node, amount)
            assert position.activation_epoch == self._expected_change_epoch(self._now())
            self.positions[position.position_id] = ModelPosition(
                staker, node, amount, position.activation_epoch
            )

        @rule(data=st.data())
        def request_withdraw(self, data: st.DataObject) -> None:
            open_ids = sorted(i for i, p in self.positions.items() if p.withdraw_epoch is None)
            if not open_ids:
                return
            position_id = data.draw(st.sampled_from(open_ids))
            model = self.positions[position_id]
            amount = data.draw(st.integers(1, model.amount))
            result = self.as_staker[model.owner].request_withdraw(position_id, amount)
            expected_epoch = self._expected_change_epoch(self._now())
            assert result.withdraw_epoch == expected_epoch
            if amount == model.amount:
                assert result.position_id == position_id
                model.withdraw_epoch = expected_epoch
            else:
                model.amount -= amount
                self.positions[result.position_id] = ModelPosition(
                    model.owner, model.node_id, amount, model.activation_epoch, expected_epoch
                )

        @rule(data=st.data())
        def withdraw(self, data: st.DataObject) -> None:
            waiting = sorted(i for i, p in self.positions.items() if p.withdraw_epoch is not None)
            if not waiting:
                return
            position_id = data.draw(st.sampled_from(waiting))
            model = self.positions[position_id]
            assert model.withdraw_epoch is not None
            staking = self.as_staker[model.owner]
            if model.withdraw_epoch > self.epoch:
                with pytest.raises(ContractRevert, match="StakingWithdrawalNotReady"):
                    staking.withdraw(position_id)
                return
            before = int(wal.functions.balanceOf(staking.client.address).call())
            assert staking.withdraw(position_id) == model.amount
            after = int(wal.functions.balanceOf(staking.client.address).call())
            assert after - before == model.amount
            del self.positions[position_id]

        @rule(seconds=st.sampled_from([1, EPOCH_SECONDS // 2 + 1, EPOCH_SECONDS + 1]))
        def advance_time(self, seconds: int) -> None:
            chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

        @rule()
        def change_epoch(self) -> None:
            if self.epoch > 0 and self._now() < self.epoch_start + EPOCH_SECONDS:
                with pytest.raises(ContractRevert, match="StakingEpochNotOver"):
                    self.owner.initiate_epoch_change()
                return
            eligible = [n for n in range(1, NODES + 1) if self._model_stake(n, self.epoch + 1)]
            if not eligible:
                with pytest.raises(ContractRevert, match="StakingNoEligibleNodes"):
                    self.owner.initiate_epoch_change()
                return
            stakes = [self._model_stake(n, self.epoch + 1) for n in eligible]
            counts = capped_largest_remainder(stakes, 4, 4)
            committee = self.owner.initiate_epoch_change()
            self.epoch += 1
            self.epoch_start = self._now()
            # Members too small for a shard are left out of the committee.
            expected = [(n, c) for n, c in zip(eligible, counts, strict=True) if c]
            assert committee.node_ids == tuple(n for n, _ in expected)
            assert committee.shard_counts == tuple(c for _, c in expected)

        @invariant()
        def contract_agrees_with_the_model(self) -> None:
            assert self.owner.current_epoch() == self.epoch
            held = int(wal.functions.balanceOf(self.owner.address).call())
            assert held == sum(p.amount for p in self.positions.values())
            for node_id in range(1, NODES + 1):
                for epoch in range(self.epoch, self.epoch + 3):
                    assert self.owner.node_stake_at(node_id, epoch) == self._model_stake(
                        node_id, epoch
                    )
            for position_id, model in self.positions.items():
                stored = self.owner.position(position_id)
                assert (stored.node_id, stored.amount, stored.activation_epoch) == (
                    model.node_id,
                    model.amount,
                    model.activation_epoch,
                )
                assert stored.withdraw_epoch == model.withdraw_epoch

    run_state_machine_as_test(
        StakeMachine,
        settings=settings(
            max_examples=5,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        ),
    )
