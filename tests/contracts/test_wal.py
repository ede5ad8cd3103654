"""The WAL token on a real anvil: supply, allocations, permit, votes, no mint, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import DEV_DROP_WAL, FROST_PER_WAL, Deployment
from backend.chain.errors import ContractRevert, UnknownRevert
from tests.contracts.permits import permit_call, permit_signature

TOTAL_SUPPLY = 5_000_000_000 * FROST_PER_WAL
SHARES_BPS = (4300, 1000, 1000, 3000, 700)  # reserve, user drop, subsidies, contributors, investors
DROP = DEV_DROP_WAL * FROST_PER_WAL
ClientFor = Callable[[LocalAccount], ChainClient]


def _advance(chain: ChainClient, seconds: int) -> None:
    chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _now(chain: ChainClient) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def test_token_metadata_and_fixed_supply(wal: Contract) -> None:
    assert wal.functions.name().call() == "Walrus"
    assert wal.functions.symbol().call() == "WAL"
    assert wal.functions.decimals().call() == 9
    assert wal.functions.totalSupply().call() == TOTAL_SUPPLY
    assert wal.functions.CLOCK_MODE().call() == "mode=timestamp"


def test_allocations_minted_in_proportion_at_deploy(
    chain: ChainClient, wal: Contract, deployment: Deployment, dev_accounts: list[LocalAccount]
) -> None:
    logs = wal.events.AllocationMinted().get_logs(from_block=deployment.deploy_block)
    minted = [
        (log["args"]["allocation"], log["args"]["recipient"], log["args"]["amount"]) for log in logs
    ]
    expected = [
        (index, dev_accounts[index].address, TOTAL_SUPPLY * bps // 10_000)
        for index, bps in enumerate(SHARES_BPS)
    ]
    assert minted == expected
    assert sum(amount for _, _, amount in minted) == TOTAL_SUPPLY


def test_devnet_user_drop_funded_every_dev_account(
    wal: Contract, deployment: Deployment, dev_accounts: list[LocalAccount]
) -> None:
    # Read from the deploy's Transfer events: other test modules move WAL around later.
    user_drop = dev_accounts[1].address
    drops = [
        (log["args"]["to"], log["args"]["value"])
        for log in wal.events.Transfer().get_logs(
            from_block=deployment.deploy_block, argument_filters={"from": user_drop}
        )
    ]
    expected = [(account.address, DROP) for account in dev_accounts if account.address != user_drop]
    assert drops[: len(expected)] == expected


def test_no_mint_function_exists(artifacts: Artifacts, chain: ChainClient, wal: Contract) -> None:
    functions = {entry["name"] for entry in artifacts.abi("WAL") if entry["type"] == "function"}
    assert not {name for name in functions if "mint" in name.lower()}
    mint_call = (
        Web3.keccak(text="mint(address,uint256)")[:4]
        + bytes(12)
        + bytes.fromhex(chain.address[2:])
        + (10**18).to_bytes(32, "big")
    )
    with pytest.raises(UnknownRevert, match="no revert data"):
        chain.send({"to": wal.address, "data": mint_call})
    assert wal.functions.totalSupply().call() == TOTAL_SUPPLY


def test_transfer_beyond_balance_is_a_named_error(
    wal: Contract, client_for: ClientFor, dev_accounts: list[LocalAccount]
) -> None:
    sender = dev_accounts[6]
    balance = wal.functions.balanceOf(sender.address).call()
    with pytest.raises(ContractRevert) as raised:
        client_for(sender).transact(wal.functions.transfer(dev_accounts[7].address, balance + 1))
    assert raised.value.name == "ERC20InsufficientBalance"
    assert raised.value.arguments == (sender.address, balance, balance + 1)
    assert "ERC20InsufficientBalance" in str(raised.value)
    assert wal.functions.balanceOf(sender.address).call() == balance


def test_transfer_to_zero_address_is_a_named_error(wal: Contract, chain: ChainClient) -> None:
    with pytest.raises(ContractRevert) as raised:
        chain.transact(wal.functions.transfer("0x" + "00" * 20, 1))
    assert raised.value.name == "ERC20InvalidReceiver"


def test_transfer_from_without_allowance_is_a_named_error(
    wal: Contract, client_for: ClientFor, dev_accounts: list[LocalAccount]
) -> None:
    owner, thief = dev_accounts[5], dev_accounts[8]
    with pytest.raises(ContractRevert) as raised:
        client_for(thief).transact(wal.functions.transferFrom(owner.address, thief.address, 1))
    assert raised.value.name == "ERC20InsufficientAllowance"
    assert raised.value.arguments == (thief.address, 0, 1)


def test_permit_lets_a_spender_pay_with_a_signature(
    snapshot: None,
    chain: ChainClient,
    wal: Contract,
    client_for: ClientFor,
    dev_accounts: list[LocalAccount],
) -> None:
    owner, spender = dev_accounts[5], dev_accounts[6]
    value = 12 * FROST_PER_WAL
    deadline = _now(chain) + 3600
    signed = permit_signature(wal, chain.chain_id, owner, spender.address, value, deadline)
    relayer = client_for(spender)
    relayer.transact(permit_call(wal, owner.address, spender.address, value, deadline, signed))
    assert wal.functions.allowance(owner.address, spender.address).call() == value
    assert wal.functions.nonces(owner.address).call() == 1
    before = wal.functions.balanceOf(owner.address).call()
    relayer.transact(wal.functions.transferFrom(owner.address, spender.address, value))
    assert wal.functions.balanceOf(owner.address).call() == before - value
    # The same signature cannot be replayed: the nonce moved on.
    with pytest.raises(ContractRevert) as raised:
        relayer.transact(permit_call(wal, owner.address, spender.address, value, deadline, signed))
    assert raised.value.name == "ERC2612InvalidSigner"


def test_expired_permit_is_rejected(
    chain: ChainClient, wal: Contract, client_for: ClientFor, dev_accounts: list[LocalAccount]
) -> None:
    owner, spender = dev_accounts[7], dev_accounts[8]
    deadline = _now(chain) - 1
    signed = permit_signature(wal, chain.chain_id, owner, spender.address, 5, deadline)
    with pytest.raises(ContractRevert) as raised:
        client_for(spender).transact(
            permit_call(wal, owner.address, spender.address, 5, deadline, signed)
        )
    assert raised.value.name == "ERC2612ExpiredSignature"


def test_votes_follow_delegation_and_transfers_with_timestamp_checkpoints(
    snapshot: None,
    chain: ChainClient,
    wal: Contract,
    client_for: ClientFor,
    dev_accounts: list[LocalAccount],
) -> None:
    holder, delegate, receiver = dev_accounts[5], dev_accounts[6], dev_accounts[7]
    votes_before = wal.functions.getVotes(delegate.address).call()
    held = wal.functions.balanceOf(holder.address).call()
    assert held > 0
    # A balance does not vote by itself: it counts only once delegated.
    assert wal.functions.delegates(holder.address).call() == "0x" + "00" * 20
    client_for(holder).transact(wal.functions.delegate(delegate.address))
    assert wal.functions.delegates(holder.address).call() == delegate.address
    assert wal.functions.getVotes(delegate.address).call() == votes_before + held
    delegated_at = _now(chain)
    assert abs(wal.functions.clock().call() - delegated_at) <= 1

    _advance(chain, 100)
    moved = 250 * FROST_PER_WAL
    client_for(holder).transact(wal.functions.transfer(receiver.address, moved))
    assert wal.functions.getVotes(delegate.address).call() == votes_before + held - moved
    _advance(chain, 100)
    assert wal.functions.getPastVotes(delegate.address, delegated_at).call() == votes_before + held
    assert wal.functions.getPastVotes(delegate.address, delegated_at - 1).call() == votes_before
    assert wal.functions.getPastTotalSupply(delegated_at).call() == TOTAL_SUPPLY
    with pytest.raises(ContractRevert) as raised:
        chain.call(wal.functions.getPastVotes(delegate.address, _now(chain) + 1000))
    assert raised.value.name == "ERC5805FutureLookup"


def test_zero_allocation_address_is_rejected_at_deploy(
    chain: ChainClient, artifacts: Artifacts, dev_accounts: list[LocalAccount]
) -> None:
    allocations: list[str] = [account.address for account in dev_accounts[:5]]
    allocations[3] = "0x" + "00" * 20
    with pytest.raises(ContractRevert) as raised:
        chain.deploy(artifacts.abi("WAL"), artifacts.bytecode("WAL"), *allocations)
    assert raised.value.name == "WALAllocationZeroAddress"
    assert raised.value.arguments == (3,)
