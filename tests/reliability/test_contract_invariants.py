"""Stateful contract invariants (issue 13): a hypothesis state machine drives random
registrations, certifications (with a quorum of real BLS signatures, without one, and with a
forged signature), deletions (owner, approved operator, stranger), extensions, transfers,
approvals, stakes, withdrawals and epoch changes against real Staking + BlobRegistry
contracts on anvil (tests/contracts/blob_registry_env.py). After every step:

- WAL conservation: totalSupply + burned == WAL.TOTAL_SUPPLY, and the WAL of all
  participants together (users, operators, Staking, BlobRegistry) never changes;
- only the owner or an approved operator deletes (others revert BlobRegistryNotAuthorized);
- the shard assignment has n entries, all committee members, and the counts sum to n;
- no certification without quorum (BlobRegistryInsufficientWeight / InvalidCertificate);
- a certified blob stays certified until it expires or is deleted.

Each example runs inside an evm snapshot, reverted at its end. Bounded by
WALRUS_INVARIANT_EXAMPLES (default 30) x WALRUS_INVARIANT_STEPS (default 20).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backend.chain.client import ChainClient
from backend.chain.errors import ContractRevert
from backend.chain.registry import BlobRegistered
from tests.contracts.blob_registry_env import (
    RegistryEnv,
    funded_clients_fixture,
    registry_env_fixture,
    restore_chain_fixture,
    reverts,
)
from tests.reliability.scenarios import ScenarioLog

CATEGORY = "Contract invariants"
EXAMPLES = int(os.environ.get("WALRUS_INVARIANT_EXAMPLES", "30"))
STEPS = int(os.environ.get("WALRUS_INVARIANT_STEPS", "20"))
N_SHARDS = 10
MAX_EPOCHS_AHEAD = 4
STAKES = [3 * 10**9, 2 * 10**9, 10**9]
USERS = 3


@dataclass
class Token:
    registered: BlobRegistered
    owner: int
    approved: int | None
    end_epoch: int
    certified: bool = False


restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"inv-operator", 3)
users = funded_clients_fixture(b"inv-user", USERS)
env = registry_env_fixture(STAKES, n_shards=N_SHARDS, max_epochs_ahead=MAX_EPOCHS_AHEAD)


def quorum_weight(n_shards: int) -> int:
    """n - f shards, f = floor((n - 1) / 3): what a certificate needs (docs/protocol.md)."""
    return n_shards - (n_shards - 1) // 3


def test_contract_invariants_hold_under_random_operations(
    env: RegistryEnv,
    users: list[ChainClient],
    operators: list[ChainClient],
    scenarios: ScenarioLog,
) -> None:
    registry, staking, wal = env.registry, env.staking, env.wal
    participants = [
        registry.address,
        staking.address,
        *(user.address for user in users),
        *(operator.address for operator in operators),
    ]
    total_supply = int(wal.functions.TOTAL_SUPPLY().call())
    counts: Counter[str] = Counter()

    def balance(address: str) -> int:
        return int(wal.functions.balanceOf(address).call())

    def burned(from_block: int = 0) -> int:
        """WAL burned since `from_block`, from the token's Transfer(from, 0x0) logs."""
        if from_block > env.chain.w3.eth.block_number:
            return 0
        zero = "0x" + "00" * 32
        topic = env.chain.w3.keccak(text="Transfer(address,address,uint256)").hex()
        logs = env.chain.w3.eth.get_logs(
            {
                "address": wal.address,
                "fromBlock": from_block,
                "toBlock": "latest",
                "topics": ["0x" + topic.removeprefix("0x"), None, zero],
            }
        )
        return sum(int.from_bytes(bytes(log["data"]), "big") for log in logs)

    for user in users:  # unlimited allowances, given once outside the snapshots
        user.transact(wal.functions.approve(registry.address, 2**255))
        user.transact(wal.functions.approve(staking.address, 2**255))

    class Invariants(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot_id = env.chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
            self.tokens: dict[int, Token] = {}
            self.deleted: list[Token] = []
            self.staked: dict[int, tuple[int, int]] = {}
            self.withdrawing: dict[int, int] = {}
            self.total = sum(balance(address) for address in participants)
            self.start_block = env.chain.w3.eth.block_number
            self.burned_before = burned()  # up to and including start_block
            self.salt = 0
            counts["examples"] += 1

        @initialize()
        def start(self) -> None:
            self.first_epoch = env.epoch()

        def teardown(self) -> None:
            env.chain.w3.provider.make_request("evm_revert", [self.snapshot_id])  # type: ignore[arg-type]
            env.chain.reset_nonces()

        # ------------------------------------------------------------ blobs

        @rule(
            user=st.integers(0, USERS - 1),
            size=st.integers(1, 5_000_000),
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
                salt=b"inv" + self.salt.to_bytes(4, "big"),
                approve=False,
            )
            self.tokens[registered.token_id] = Token(registered, user, None, env.epoch() + epochs)
            counts["register"] += 1

        @precondition(lambda self: bool(self._uncertified()))
        @rule(data=st.data())
        def certify_with_quorum(self, data: st.DataObject) -> None:
            self._certify(data, "quorum")

        @precondition(lambda self: bool(self._uncertified()))
        @rule(data=st.data())
        def certify_without_quorum(self, data: st.DataObject) -> None:
            self._certify(data, "no quorum")

        @precondition(lambda self: bool(self._uncertified()))
        @rule(data=st.data())
        def certify_with_forged_aggregate(self, data: st.DataObject) -> None:
            self._certify(data, "forged")

        def _certify(self, data: st.DataObject, how: str) -> None:
            """One certification attempt of an uncertified live token (three rules: each
            kind gets its own share of the steps)."""
            token_id = data.draw(st.sampled_from(self._uncertified()))
            token = self.tokens[token_id]
            committee = staking.committee()
            members = list(range(len(committee.node_ids)))
            required = quorum_weight(N_SHARDS)
            if how == "quorum":
                chosen = data.draw(st.permutations(members))
                signers: list[int] = []
                for member in chosen:
                    if sum(committee.shard_counts[i] for i in signers) >= required:
                        break
                    signers.append(member)
                # the same signers less the last one are short of quorum: must revert first
                short_of_quorum = sorted(signers[:-1])
                if short_of_quorum:
                    weight = sum(committee.shard_counts[i] for i in short_of_quorum)
                    bitmap, signature = env.certification(token.registered, short_of_quorum)
                    with reverts("BlobRegistryInsufficientWeight", weight, required):
                        registry.certify_blob(token_id, bitmap, signature)
                    counts["certify without a quorum (reverted)"] += 1
                bitmap, signature = env.certification(token.registered, sorted(signers))
                registry.certify_blob(token_id, bitmap, signature)
                token.certified = True
                counts["certify with a quorum"] += 1
                return
            if how == "no quorum":
                short = [i for i in members if committee.shard_counts[i] < required]
                if not short:
                    return
                signer = data.draw(st.sampled_from(short))
                bitmap, signature = env.certification(token.registered, [signer])
                weight = committee.shard_counts[signer]
                with reverts("BlobRegistryInsufficientWeight", weight, required):
                    registry.certify_blob(token_id, bitmap, signature)
                counts["certify without a quorum (reverted)"] += 1
                return
            # a quorum bitmap, but one member's signature left out of the aggregate
            if len(members) < 2:
                return
            bitmap, _ = env.certification(token.registered, members)
            _, partial = env.certification(token.registered, members[:-1])
            with reverts("BlobRegistryInvalidCertificate"):
                registry.certify_blob(token_id, bitmap, partial)
            counts["certify with a forged aggregate (reverted)"] += 1

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data(), who=st.sampled_from(["owner", "approved", "stranger"]))
        def delete(self, data: st.DataObject, who: str) -> None:
            token_id = data.draw(st.sampled_from(sorted(self.tokens)))
            token = self.tokens[token_id]
            if who == "approved" and token.approved is None:
                who = "owner"
            if who == "stranger":
                stranger = next(i for i in range(USERS) if i not in (token.owner, token.approved))
                with reverts("BlobRegistryNotAuthorized"):
                    env.as_user(users[stranger]).delete_blob(token_id)
                counts["delete by a stranger (reverted)"] += 1
                return
            actor = token.owner if who == "owner" else token.approved
            assert actor is not None
            as_actor = env.as_user(users[actor])
            if not token.registered.deletable:
                with reverts("BlobRegistryNotDeletable"):
                    as_actor.delete_blob(token_id)
                counts["delete of a permanent blob (reverted)"] += 1
                return
            as_actor.delete_blob(token_id)
            self.deleted.append(self.tokens.pop(token_id))
            counts[f"delete by the {who}"] += 1

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data(), operator=st.integers(0, USERS - 1))
        def approve(self, data: st.DataObject, operator: int) -> None:
            token_id = data.draw(st.sampled_from(sorted(self.tokens)))
            token = self.tokens[token_id]
            if operator == token.owner:
                return
            env.as_user(users[token.owner]).approve(users[operator].address, token_id)
            token.approved = operator
            counts["approve an operator"] += 1

        @precondition(lambda self: bool(self._live()))
        @rule(data=st.data(), extra=st.integers(1, MAX_EPOCHS_AHEAD))
        def extend(self, data: st.DataObject, extra: int) -> None:
            token_id = data.draw(st.sampled_from(self._live()))
            token = self.tokens[token_id]
            as_owner = env.as_user(users[token.owner])
            if token.end_epoch + extra - env.epoch() > MAX_EPOCHS_AHEAD:
                with reverts("BlobRegistryTooManyEpochs"):
                    as_owner.extend_blob(token_id, extra)
                counts["extend too far (reverted)"] += 1
                return
            as_owner.extend_blob(token_id, extra)
            token.end_epoch += extra
            counts["extend"] += 1

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data(), receiver=st.integers(0, USERS - 1))
        def transfer(self, data: st.DataObject, receiver: int) -> None:
            token_id = data.draw(st.sampled_from(sorted(self.tokens)))
            token = self.tokens[token_id]
            env.as_user(users[token.owner]).transfer(token_id, users[receiver].address)
            token.owner, token.approved = receiver, None  # ERC-721 clears the approval
            counts["transfer"] += 1

        # ------------------------------------------------------------ stake and epochs

        @precondition(lambda self: env.epoch() < self.first_epoch + 8)
        @rule()
        def next_epoch(self) -> None:
            env.next_epoch()
            counts["epoch change"] += 1

        @rule(
            user=st.integers(0, USERS - 1),
            node=st.integers(0, len(STAKES) - 1),
            amount=st.integers(1, 3 * 10**9),
        )
        def stake(self, user: int, node: int, amount: int) -> None:
            position = staking.as_account(users[user]).stake(env.node_ids[node], amount)
            self.staked[position.position_id] = (user, amount)
            counts["stake"] += 1

        @precondition(lambda self: bool(set(self.staked) - set(self.withdrawing)))
        @rule(data=st.data())
        def request_withdraw(self, data: st.DataObject) -> None:
            position_id = data.draw(
                st.sampled_from(sorted(set(self.staked) - set(self.withdrawing)))
            )
            user, amount = self.staked[position_id]
            position = staking.as_account(users[user]).request_withdraw(position_id, amount)
            assert position.withdraw_epoch is not None
            self.withdrawing[position_id] = position.withdraw_epoch
            counts["request withdraw"] += 1

        @precondition(lambda self: bool(self._withdrawable()))
        @rule(data=st.data())
        def withdraw(self, data: st.DataObject) -> None:
            position_id = data.draw(st.sampled_from(self._withdrawable()))
            user, amount = self.staked.pop(position_id)
            del self.withdrawing[position_id]
            assert staking.as_account(users[user]).withdraw(position_id) == amount
            counts["withdraw"] += 1

        # ------------------------------------------------------------ invariants

        @invariant()
        def wal_is_conserved(self) -> None:
            supply = int(wal.functions.totalSupply().call())
            assert supply + self.burned_before + burned(self.start_block + 1) == total_supply
            assert sum(balance(address) for address in participants) == self.total
            counts["invariant checks"] += 1

        @invariant()
        def shard_assignment_sums_to_n(self) -> None:
            committee = staking.committee()
            assignment = staking.shard_assignment()
            assert sum(committee.shard_counts) == N_SHARDS
            assert len(assignment) == N_SHARDS
            assert set(assignment) <= set(committee.node_ids)
            assert Counter(assignment) == dict(
                zip(committee.node_ids, committee.shard_counts, strict=True)
            )

        @invariant()
        def owners_and_certification_match_the_model(self) -> None:
            epoch = env.epoch()
            for token_id, token in self.tokens.items():
                info = registry.blob_info(token_id)
                assert info.owner == users[token.owner].address
                assert info.is_certified == token.certified
                if token.certified:
                    alive = token.end_epoch > epoch
                    assert registry.is_certified(token.registered.blob_id) == alive
            for token in self.deleted:
                with pytest.raises(ContractRevert):
                    registry.blob_info(token.registered.token_id)
                assert not registry.is_certified(token.registered.blob_id)

        def _uncertified(self) -> list[int]:
            epoch = env.epoch()
            return sorted(
                t
                for t, token in self.tokens.items()
                if not token.certified and token.end_epoch > epoch
            )

        def _live(self) -> list[int]:
            epoch = env.epoch()
            return sorted(t for t, token in self.tokens.items() if token.end_epoch > epoch)

        def _withdrawable(self) -> list[int]:
            epoch = env.epoch()
            return sorted(p for p, e in self.withdrawing.items() if e <= epoch)

    machine = scenarios.scenario(CATEGORY, "random operation sequences (examples)")
    failed = True
    try:
        run_state_machine_as_test(
            Invariants,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
        failed = False
    finally:
        for _ in range(counts["examples"]):
            machine.run()
        machine.failures = int(failed)
        machine.note = (
            f"up to {STEPS} steps each, {counts['invariant checks']} invariant checks in all"
        )
        for name, count in sorted(counts.items()):
            if name in ("examples", "invariant checks"):
                continue
            scenario = scenarios.scenario(CATEGORY, name)
            for _ in range(count):
                scenario.run()
            if failed:
                scenario.note = "the run stopped at a failing step"
