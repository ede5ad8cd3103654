"""No WAL is ever created or lost: a hypothesis state machine drives random registrations,
extensions, deletions, burns, token transfers, reward releases, stakes, withdrawals and
epoch changes against a real Staking + BlobRegistry on anvil, and after every step checks

- the registry holds exactly the unreleased pools: balance == unreleasedTotal() == the sum
  of epochPool(e) over every epoch, and each pool equals an independent Python model;
- Staking holds exactly the active stake plus the released rewards;
- the WAL of all participants together never changes.

A second machine attaches StakingRewards (distribution and burn at every epoch change):
the supply falls by exactly what was burned and the rewards contract holds exactly what it
owes; a last test checks over the whole chain that totalSupply = 5e9 WAL minus every burn.

Each example runs inside an evm snapshot, reverted at its end. 8 examples of 30 steps by
default (about half a minute); set WAL_CONSERVATION_EXAMPLES for a deeper run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.core.params import encoded_length
from tests.contracts.blob_registry_env import (
    STORAGE_PRICE,
    RegistryEnv,
    funded_clients_fixture,
    registry_env_fixture,
    restore_chain_fixture,
    reverts,
)

N_SHARDS = 10
MAX_EPOCHS_AHEAD = 6
MIB = 2**20
STAKES = [3 * 10**9, 2 * 10**9, 10**9]
USERS = 3


@dataclass
class Token:
    owner: int
    deletable: bool
    end_epoch: int
    paid: dict[int, int] = field(default_factory=dict)
    """Storage paid per epoch (the model's own record, for refunds)."""


restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"wal-operator", 3)
users = funded_clients_fixture(b"wal-user", USERS)
env = registry_env_fixture(STAKES, n_shards=N_SHARDS, max_epochs_ahead=6)


def test_wal_is_conserved_under_random_operations(
    env: RegistryEnv, users: list[ChainClient], operators: list[ChainClient]
) -> None:
    registry, staking, wal = env.registry, env.staking, env.wal
    participants = [
        registry.address,
        staking.address,
        *(user.address for user in users),
        *(operator.address for operator in operators),
    ]

    def balance(address: str) -> int:
        return int(wal.functions.balanceOf(address).call())

    for user in users:  # unlimited allowances, given once outside the snapshots
        user.transact(wal.functions.approve(registry.address, 2**255))
        user.transact(wal.functions.approve(staking.address, 2**255))

    class Conservation(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot_id = env.chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
            self.tokens: dict[int, Token] = {}
            self.pools: dict[int, int] = {}
            self.released = 0
            self.staked: dict[int, tuple[int, int]] = {}
            """position id -> (user index, amount), positions staked by users."""
            self.withdrawing: dict[int, int] = {}
            """position id -> withdraw epoch."""
            self.staking_base = balance(staking.address)
            self.total = sum(balance(address) for address in participants)
            self.salt = 0

        @initialize()
        def start(self) -> None:
            self.first_epoch = env.epoch()

        def teardown(self) -> None:
            env.chain.w3.provider.make_request("evm_revert", [self.snapshot_id])  # type: ignore[arg-type]
            env.chain.reset_nonces()

        # ------------------------------------------------------------ blobs

        @rule(
            user=st.integers(0, USERS - 1),
            size=st.integers(0, 40 * MIB),
            epochs=st.integers(1, MAX_EPOCHS_AHEAD),
            deletable=st.booleans(),
        )
        def register(self, user: int, size: int, epochs: int, deletable: bool) -> None:
            self.salt += 1
            registered = env.register(
                users[user],
                size,
                epochs,
                deletable=deletable,
                salt=self.salt.to_bytes(4, "big"),
                approve=False,
            )
            epoch = env.epoch()
            prices = staking.prices()
            mib = -(-encoded_length(N_SHARDS, size) // MIB)
            rate = prices.storage_price * mib
            token = Token(user, deletable, epoch + epochs)
            for e in range(epoch, epoch + epochs):
                token.paid[e] = rate
                self.pools[e] = self.pools.get(e, 0) + rate
            self.pools[epoch] += prices.write_price * mib
            assert registered.cost == rate * epochs + prices.write_price * mib
            self.tokens[registered.token_id] = token

        @precondition(lambda self: bool(self._live_tokens()))
        @rule(data=st.data(), extra=st.integers(1, MAX_EPOCHS_AHEAD))
        def extend(self, data: st.DataObject, extra: int) -> None:
            token_id = data.draw(st.sampled_from(self._live_tokens()))
            token = self.tokens[token_id]
            epoch = env.epoch()
            as_owner = env.as_user(users[token.owner])
            if token.end_epoch + extra - epoch > MAX_EPOCHS_AHEAD:
                with reverts("BlobRegistryTooManyEpochs"):
                    as_owner.extend_blob(token_id, extra)
                return
            rate = registry.extension_cost(token_id, 1)
            extended = as_owner.extend_blob(token_id, extra)
            assert extended.cost == rate * extra
            if rate != token.paid[token.end_epoch - 1]:
                event("extension at a new storage price")
            for e in range(token.end_epoch, token.end_epoch + extra):
                token.paid[e] = rate
                self.pools[e] = self.pools.get(e, 0) + rate
            token.end_epoch += extra

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data(), by_stranger=st.booleans())
        def delete(self, data: st.DataObject, by_stranger: bool) -> None:
            token_id = data.draw(st.sampled_from(sorted(self.tokens)))
            token = self.tokens[token_id]
            if by_stranger:
                stranger = (token.owner + 1) % USERS
                with reverts("BlobRegistryNotAuthorized"):
                    env.as_user(users[stranger]).delete_blob(token_id)
                return
            as_owner = env.as_user(users[token.owner])
            if not token.deletable:
                with reverts("BlobRegistryNotDeletable"):
                    as_owner.delete_blob(token_id)
                return
            epoch = env.epoch()
            refund = sum(amount for e, amount in token.paid.items() if e > epoch)
            owner_before = balance(users[token.owner].address)
            assert as_owner.delete_blob(token_id).refund == refund
            event("delete with a refund" if refund else "delete without a refund")
            assert balance(users[token.owner].address) == owner_before + refund
            for e, amount in token.paid.items():
                if e > epoch:
                    self.pools[e] -= amount
            del self.tokens[token_id]

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data())
        def burn(self, data: st.DataObject) -> None:
            token_id = data.draw(st.sampled_from(sorted(self.tokens)))
            token = self.tokens[token_id]
            as_owner = env.as_user(users[token.owner])
            if token.end_epoch > env.epoch():
                with reverts("BlobRegistryBlobNotExpired"):
                    as_owner.burn_blob(token_id)
                return
            as_owner.burn_blob(token_id)
            event("expired token burnt")
            del self.tokens[token_id]

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data(), receiver=st.integers(0, USERS - 1))
        def transfer(self, data: st.DataObject, receiver: int) -> None:
            token_id = data.draw(st.sampled_from(sorted(self.tokens)))
            token = self.tokens[token_id]
            env.as_user(users[token.owner]).transfer(token_id, users[receiver].address)
            token.owner = receiver

        # ------------------------------------------------------------ epochs and rewards

        @precondition(lambda self: env.epoch() < self.first_epoch + 12)
        @rule()
        def next_epoch(self) -> None:
            env.next_epoch()

        @rule(factor=st.sampled_from([1, 2, 3]))
        def vote_storage_price(self, factor: int) -> None:
            """All nodes vote a new storage price; it applies from the next epoch change,
            so extensions may be paid at another rate than the registration."""
            for index, node_id in enumerate(env.node_ids):
                staking.as_account(operators[index]).cast_votes(
                    node_id,
                    storage_price=factor * STORAGE_PRICE,
                    write_price=factor * 100,
                    capacity=10**12,
                )

        @rule(early=st.booleans())
        def release(self, early: bool) -> None:
            """Release every finished epoch in order (or try the current one, too early)."""
            epoch = registry.next_epoch_to_release()
            if early or epoch >= env.epoch():
                with reverts("BlobRegistryEpochNotReleasable"):
                    registry.release_epoch_rewards(env.epoch())
                return
            for finished in range(epoch, env.epoch()):
                amount = registry.release_epoch_rewards(finished)
                assert amount == self.pools.pop(finished, 0)
                event("release of a funded pool" if amount else "release of an empty pool")
                self.released += amount

        # ------------------------------------------------------------ stake

        @rule(
            user=st.integers(0, USERS - 1),
            node=st.integers(0, len(STAKES) - 1),
            amount=st.integers(1, 10**9),
        )
        def stake(self, user: int, node: int, amount: int) -> None:
            position = staking.as_account(users[user]).stake(env.node_ids[node], amount)
            self.staked[position.position_id] = (user, amount)

        @precondition(lambda self: bool(set(self.staked) - set(self.withdrawing)))
        @rule(data=st.data())
        def request_withdraw(self, data: st.DataObject) -> None:
            candidates = sorted(set(self.staked) - set(self.withdrawing))
            position_id = data.draw(st.sampled_from(candidates))
            user, _ = self.staked[position_id]
            position = staking.as_account(users[user]).request_withdraw(
                position_id, self.staked[position_id][1]
            )
            assert position.withdraw_epoch is not None
            self.withdrawing[position_id] = position.withdraw_epoch

        @precondition(lambda self: bool(self._withdrawable()))
        @rule(data=st.data())
        def withdraw(self, data: st.DataObject) -> None:
            position_id = data.draw(st.sampled_from(self._withdrawable()))
            user, amount = self.staked.pop(position_id)
            del self.withdrawing[position_id]
            assert staking.as_account(users[user]).withdraw(position_id) == amount
            event("stake withdrawn")

        # ------------------------------------------------------------ invariants

        @invariant()
        def registry_holds_exactly_the_unreleased_pools(self) -> None:
            held = balance(registry.address)
            assert registry.unreleased_total() == held
            first = registry.next_epoch_to_release()
            count = env.epoch() + MAX_EPOCHS_AHEAD + 1 - first
            on_chain = registry.epoch_pools(first, count)
            assert sum(on_chain) == held
            assert on_chain == [self.pools.get(first + i, 0) for i in range(count)]
            assert all(e >= first for e, amount in self.pools.items() if amount)

        @invariant()
        def staking_holds_stake_plus_released_rewards(self) -> None:
            stake = sum(amount for _, amount in self.staked.values())
            assert balance(staking.address) == self.staking_base + stake + self.released

        @invariant()
        def no_wal_is_created_or_lost(self) -> None:
            assert sum(balance(address) for address in participants) == self.total

        def _withdrawable(self) -> list[int]:
            epoch = env.epoch()
            return sorted(p for p, e in self.withdrawing.items() if e <= epoch)

        def _live_tokens(self) -> list[int]:
            epoch = env.epoch()
            return sorted(t for t, token in self.tokens.items() if token.end_epoch > epoch)

    run_state_machine_as_test(
        Conservation,
        settings=settings(
            max_examples=int(os.environ.get("WAL_CONSERVATION_EXAMPLES", "8")),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=True,
        ),
    )


# ---------------------------------------------------------------- with rewards and burn


def test_wal_is_conserved_with_rewards_and_burn(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    users: list[ChainClient],
) -> None:
    """Random registrations, stakes, withdrawals, claims, burn-share changes and epoch changes
    with StakingRewards attached (epoch changes distribute and burn): after every step the
    supply has fallen by exactly what was burned, the rewards contract holds exactly what it
    owes, and participants' balances plus burned WAL never change."""
    from tests.contracts.test_rewards import build_rewards_env

    renv = build_rewards_env(chain, artifacts, wal, client_for, b"conservation")
    env, staking, rewards, registry = renv.env, renv.staking, renv.rewards, renv.env.registry
    operators = renv.operators
    participants = [
        registry.address,
        staking.address,
        rewards.address,
        renv.subsidies.address,
        *(user.address for user in users),
        *(operator.address for operator in operators),
    ]

    def balance(address: str) -> int:
        return int(wal.functions.balanceOf(address).call())

    def supply() -> int:
        return int(wal.functions.totalSupply().call())

    for user in users:
        user.transact(wal.functions.approve(registry.address, 2**255))
        user.transact(wal.functions.approve(staking.address, 2**255))

    class RewardsConservation(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot_id = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
            self.positions: dict[int, int] = {}
            """position id -> user index, positions staked by users."""
            self.withdrawing: dict[int, int] = {}
            self.total = sum(balance(address) for address in participants)
            self.supply = supply()
            self.burned = rewards.total_burned()
            self.salt = 0

        def teardown(self) -> None:
            chain.w3.provider.make_request("evm_revert", [self.snapshot_id])  # type: ignore[arg-type]
            chain.reset_nonces()

        @rule(user=st.integers(0, USERS - 1), size=st.integers(0, 20 * MIB))
        def register(self, user: int, size: int) -> None:
            self.salt += 1
            env.register(
                users[user], size, 2, salt=b"r" + self.salt.to_bytes(4, "big"), approve=False
            )

        @rule()
        def next_epoch(self) -> None:
            renv.next_epoch()

        @rule(
            user=st.integers(0, USERS - 1),
            node=st.integers(0, 2),
            amount=st.integers(1, 10**10),
        )
        def stake(self, user: int, node: int, amount: int) -> None:
            position = staking.as_account(users[user]).stake(env.node_ids[node], amount)
            self.positions[position.position_id] = user

        @precondition(lambda self: bool(set(self.positions) - set(self.withdrawing)))
        @rule(data=st.data())
        def request_withdraw(self, data: st.DataObject) -> None:
            position_id = data.draw(
                st.sampled_from(sorted(set(self.positions) - set(self.withdrawing)))
            )
            as_user = staking.as_account(users[self.positions[position_id]])
            amount = staking.position(position_id).amount
            withdrawing = as_user.request_withdraw(position_id, amount)
            assert withdrawing.withdraw_epoch is not None
            self.withdrawing[position_id] = withdrawing.withdraw_epoch

        @precondition(lambda self: any(e <= env.epoch() for e in self.withdrawing.values()))
        @rule(data=st.data())
        def withdraw(self, data: st.DataObject) -> None:
            ready = sorted(p for p, e in self.withdrawing.items() if e <= env.epoch())
            position_id = data.draw(st.sampled_from(ready))
            user = self.positions.pop(position_id)
            del self.withdrawing[position_id]
            earned = rewards.pending_rewards(position_id)
            before = balance(users[user].address)
            amount = staking.as_account(users[user]).withdraw(position_id)
            assert balance(users[user].address) == before + amount + earned

        @precondition(lambda self: bool(self.positions))
        @rule(data=st.data())
        def claim(self, data: st.DataObject) -> None:
            position_id = data.draw(st.sampled_from(sorted(self.positions)))
            rewards.as_account(users[self.positions[position_id]]).claim(position_id)
            assert rewards.pending_rewards(position_id) == 0

        @rule(node=st.integers(0, 2))
        def claim_commission(self, node: int) -> None:
            rewards.as_account(operators[node]).claim_commission(env.node_ids[node])

        @rule(bps=st.sampled_from([0, 1_500, 10_000]))
        def set_burn_share(self, bps: int) -> None:
            rewards.set_burn_share(bps)

        @invariant()
        def supply_falls_by_exactly_what_was_burned(self) -> None:
            assert self.supply - supply() == rewards.total_burned() - self.burned

        @invariant()
        def rewards_hold_exactly_what_they_owe(self) -> None:
            assert balance(rewards.address) == rewards.liabilities()
            assert balance(registry.address) == registry.unreleased_total()

        @invariant()
        def balances_plus_burned_never_change(self) -> None:
            burned = rewards.total_burned() - self.burned
            assert sum(balance(address) for address in participants) + burned == self.total

    run_state_machine_as_test(
        RewardsConservation,
        settings=settings(
            max_examples=int(os.environ.get("WAL_CONSERVATION_EXAMPLES", "3")),
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=True,
        ),
    )


def test_supply_is_the_initial_supply_minus_every_burn(chain: ChainClient, wal: Contract) -> None:
    """Over the whole session chain: totalSupply = 5e9 WAL minus the WAL transferred to the
    zero address (burns), i.e. WAL is never created."""
    transfer = wal.events.Transfer()
    logs = chain.w3.eth.get_logs(
        {"address": wal.address, "fromBlock": 0, "toBlock": chain.block_number()}
    )
    burned = minted = 0
    for log in logs:
        if bytes(log["topics"][0]) != bytes(Web3.keccak(text="Transfer(address,address,uint256)")):
            continue
        args = transfer.process_log(log)["args"]
        if int(args["to"], 16) == 0:
            burned += args["value"]
        if int(args["from"], 16) == 0:
            minted += args["value"]
    assert minted == 5_000_000_000 * 10**9
    assert int(wal.functions.totalSupply().call()) == minted - burned
