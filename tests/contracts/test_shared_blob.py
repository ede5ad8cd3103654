"""Blob token sharing rules: transfer and approval move rights; SharedBlob holds a token
nobody can delete and that anyone may fund and extend; BlobOwnerPolicy follows the token."""

from __future__ import annotations

import pytest
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.policies import seal_approve
from backend.chain.shared_blob import SharedBlobContract
from tests.contracts.blob_registry_env import (
    RegistryEnv,
    funded_clients_fixture,
    registry_env_fixture,
    restore_chain_fixture,
    reverts,
)

pytestmark = pytest.mark.usefixtures("snapshot")


restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"sb-operator", 4)
env = registry_env_fixture([10**12] * 4, n_shards=4)
users = funded_clients_fixture(b"sb-user", 3)


@pytest.fixture(scope="module")
def shared(
    chain: ChainClient, artifacts: Artifacts, env: RegistryEnv, wal: Contract
) -> SharedBlobContract:
    contract, _ = chain.deploy(
        artifacts.abi("SharedBlob"),
        artifacts.bytecode("SharedBlob"),
        env.registry.address,
        wal.address,
    )
    return SharedBlobContract(chain, contract)


def test_only_owner_or_approved_operator_alters_a_blob(
    env: RegistryEnv, users: list[ChainClient]
) -> None:
    alice, bob, carol = users
    token = env.register(alice).token_id
    as_bob = env.as_user(bob)
    with reverts("BlobRegistryNotAuthorized"):
        as_bob.delete_blob(token)
    with reverts("BlobRegistryNotAuthorized"):
        as_bob.set_attribute(token, "k", "v")
    env.as_user(alice).approve(bob.address, token)
    as_bob.set_attribute(token, "k", "v")  # approved operator may
    env.as_user(alice).transfer(token, carol.address)  # ownership moves, approval cleared
    with reverts("BlobRegistryNotAuthorized"):
        as_bob.delete_blob(token)
    with reverts("BlobRegistryNotAuthorized"):
        env.as_user(alice).delete_blob(token)
    env.as_user(carol).delete_blob(token)


def test_shared_blob_cannot_be_deleted_and_anyone_funds_and_extends(
    env: RegistryEnv, users: list[ChainClient], shared: SharedBlobContract, wal: Contract
) -> None:
    alice, bob, _ = users
    token = env.register(alice, epochs=2).token_id
    end = env.registry.blob_info(token).end_epoch
    SharedBlobContract(alice, shared.contract).share(env.registry.contract, token)
    assert shared.is_shared(token) and env.registry.owner_of(token) == shared.address
    with reverts("BlobRegistryNotAuthorized"):
        env.as_user(alice).delete_blob(token)
    as_bob = SharedBlobContract(bob, shared.contract)
    cost = env.registry.extension_cost(token, 3)
    with reverts("SharedBlobInsufficientFunds"):
        as_bob.extend(token, 3)
    as_bob.fund(wal, token, cost + 7)
    assert as_bob.extend(token, 3) == cost
    assert env.registry.blob_info(token).end_epoch == end + 3
    assert shared.funds(token) == 7
    with reverts("SharedBlobNotShared"):
        as_bob.fund(wal, token + 1000, 1)


def test_an_expired_shared_blob_takes_no_funds(
    env: RegistryEnv, users: list[ChainClient], shared: SharedBlobContract, wal: Contract
) -> None:
    alice, bob, _ = users
    token = env.register(alice, epochs=1).token_id
    SharedBlobContract(alice, shared.contract).share(env.registry.contract, token)
    as_bob = SharedBlobContract(bob, shared.contract)
    as_bob.fund(wal, token, 5)  # still stored: accepted
    end = env.registry.blob_info(token).end_epoch
    while env.epoch() < end:
        env.next_epoch()
    balance = wal.functions.balanceOf(bob.address).call()
    with reverts("SharedBlobExpired"):  # it could never be spent: refused, nothing moves
        as_bob.fund(wal, token, 5)
    assert wal.functions.balanceOf(bob.address).call() == balance
    assert shared.funds(token) == 5


def test_blob_owner_policy_follows_the_token(
    env: RegistryEnv, users: list[ChainClient], artifacts: Artifacts, chain: ChainClient
) -> None:
    alice, bob, carol = users
    token = env.register(alice).token_id
    contract, _ = chain.deploy(
        artifacts.abi("BlobOwnerPolicy"),
        artifacts.bytecode("BlobOwnerPolicy"),
        env.registry.address,
    )
    identity = token.to_bytes(32, "big")
    assert seal_approve(chain, contract.address, identity, alice.address)
    assert not seal_approve(chain, contract.address, identity, bob.address)
    env.as_user(alice).approve(bob.address, token)
    assert seal_approve(chain, contract.address, identity, bob.address)
    env.as_user(alice).transfer(token, carol.address)
    assert seal_approve(chain, contract.address, identity, carol.address)
    assert not seal_approve(chain, contract.address, identity, alice.address)
    assert not seal_approve(chain, contract.address, (10**9).to_bytes(32, "big"), carol.address)
