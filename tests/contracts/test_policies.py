"""Seal policy contracts on anvil: who sealApprove lets in, and when, evaluated through
backend.chain.policies.seal_approve exactly as key servers do."""

from __future__ import annotations

import pytest
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.policies import (
    NonConformingPolicy,
    PolicyContract,
    UnknownPolicy,
    deploy_policy,
    seal_approve,
)
from tests.contracts.blob_registry_env import (
    funded_client_fixture,
    restore_chain_fixture,
    reverts,
)

pytestmark = pytest.mark.usefixtures("snapshot")
ID = bytes.fromhex("11" * 32)
DAY = 86_400
PRICE = 5 * 10**9


restore_chain = restore_chain_fixture()
creator = funded_client_fixture(b"seal-creator")
reader = funded_client_fixture(b"seal-reader")


def _policy(client: ChainClient, artifacts: Artifacts, kind: str, *args: object) -> PolicyContract:
    return PolicyContract.at(client, artifacts, kind, deploy_policy(client, artifacts, kind, *args))


def _block_time(chain: ChainClient) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def _warp_to(chain: ChainClient, timestamp: int) -> None:
    chain.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_allowlist_add_then_remove(
    creator: ChainClient, reader: ChainClient, artifacts: Artifacts
) -> None:
    policy = _policy(creator, artifacts, "allowlist", creator.address)
    assert policy.approves(ID, creator.address)
    assert not policy.approves(ID, reader.address)
    policy.add_reader(reader.address)
    assert policy.approves(ID, reader.address)
    with reverts("AllowlistPolicyAlreadyReader"):
        policy.add_reader(reader.address)
    policy.remove_reader(reader.address)
    assert not policy.approves(ID, reader.address)
    with reverts("OwnableUnauthorizedAccount"):
        PolicyContract(reader, policy.contract).add_reader(reader.address)


def test_subscription_pays_creator_and_expires(
    creator: ChainClient,
    reader: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    chain: ChainClient,
) -> None:
    policy = _policy(creator, artifacts, "subscription", wal.address, creator.address, PRICE)
    assert not policy.approves(ID, reader.address)
    before = int(wal.functions.balanceOf(creator.address).call())
    until = PolicyContract(reader, policy.contract).subscribe(wal, 2)
    assert int(wal.functions.balanceOf(creator.address).call()) == before + 2 * PRICE
    assert until == _block_time(chain) + 2 * DAY
    assert policy.approves(ID, reader.address)
    _warp_to(chain, until - 1)
    assert policy.approves(ID, reader.address)
    _warp_to(chain, until)
    assert not policy.approves(ID, reader.address)
    with reverts("SubscriptionPolicyInvalidDays"):
        PolicyContract(reader, policy.contract).subscribe(wal, 0)


def test_time_lock_opens_exactly_at_its_time(
    creator: ChainClient, reader: ChainClient, artifacts: Artifacts, chain: ChainClient
) -> None:
    policy = _policy(creator, artifacts, "time-lock")
    opens = _block_time(chain) + 1_000
    assert not policy.approves(ID, reader.address)  # never locked: never readable
    policy.lock(ID, opens)
    with reverts("TimeLockPolicyAlreadyLocked"):
        policy.lock(ID, opens - 500)
    _warp_to(chain, opens - 1)
    assert not policy.approves(ID, reader.address)
    _warp_to(chain, opens)
    assert policy.approves(ID, reader.address)


def test_token_gated_by_erc20_balance(
    creator: ChainClient, reader: ChainClient, artifacts: Artifacts, wal: Contract
) -> None:
    policy = _policy(creator, artifacts, "token-gated", wal.address, 10**9)
    assert policy.approves(ID, reader.address)
    nobody = "0x000000000000000000000000000000000000dEaD"
    assert not policy.approves(ID, nobody)
    with reverts("TokenGatedPolicyNotAContract"):
        deploy_policy(creator, artifacts, "token-gated", nobody, 1)


def test_unknown_and_non_conforming_policies_are_named(chain: ChainClient, wal: Contract) -> None:
    with pytest.raises(UnknownPolicy, match="no contract"):
        seal_approve(chain, "0x000000000000000000000000000000000000bEEF", ID, chain.address)
    with pytest.raises(NonConformingPolicy, match="sealApprove"):
        seal_approve(chain, wal.address, ID, chain.address)  # WAL has no sealApprove
