"""Seal policy contracts: evaluating ``sealApprove`` and the policies' own transactions.

:func:`seal_approve` is what a key server runs: an ``eth_call`` at the latest block, with
named errors for an address without code (:class:`UnknownPolicy`) and a contract that does
not answer ``sealApprove(bytes32,address) -> bool`` (:class:`NonConformingPolicy`).
"""

from __future__ import annotations

from typing import Final

from eth_abi.abi import decode, encode
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.errors import ChainError

SEAL_APPROVE_SELECTOR: Final = Web3.keccak(text="sealApprove(bytes32,address)")[:4]
POLICY_KINDS: Final = {
    "allowlist": "AllowlistPolicy",
    "subscription": "SubscriptionPolicy",
    "time-lock": "TimeLockPolicy",
    "token-gated": "TokenGatedPolicy",
    "blob-owner": "BlobOwnerPolicy",
}
"""CLI name of each policy kind -> contract name."""


class UnknownPolicy(ChainError):
    """The policy address has no contract code on this chain."""


class NonConformingPolicy(ChainError):
    """The contract does not implement sealApprove(bytes32,address) returning a bool."""


def seal_approve(client: ChainClient, policy: str, identity: bytes, requester: str) -> bool:
    """``policy.sealApprove(identity, requester)`` by eth_call at the latest block."""
    address = Web3.to_checksum_address(policy)
    if len(client.w3.eth.get_code(address)) == 0:
        raise UnknownPolicy(f"no contract at policy address {address} on chain {client.chain_id}")
    data = SEAL_APPROVE_SELECTOR + encode(
        ["bytes32", "address"], [identity, Web3.to_checksum_address(requester)]
    )
    try:
        result = bytes(client.w3.eth.call({"to": address, "data": data}, "latest"))
    except (ContractLogicError, Web3RPCError) as error:
        raise NonConformingPolicy(
            f"{address} reverted on sealApprove(bytes32,address): {error}"
        ) from None
    if len(result) != 32 or int.from_bytes(result, "big") > 1:
        raise NonConformingPolicy(
            f"{address} did not answer sealApprove(bytes32,address) with a bool "
            f"({len(result)} bytes returned)"
        )
    return bool(decode(["bool"], result)[0])


def deploy_policy(
    client: ChainClient, artifacts: Artifacts, kind: str, *args: object
) -> ChecksumAddress:
    """Deploys a fresh policy contract of ``kind`` (a POLICY_KINDS key) from ``client``."""
    try:
        name = POLICY_KINDS[kind]
    except KeyError:
        raise ChainError(
            f"unknown policy kind {kind!r}; choose one of {', '.join(POLICY_KINDS)}"
        ) from None
    contract, _ = client.deploy(artifacts.abi(name), artifacts.bytecode(name), *args)
    return contract.address


class PolicyContract:
    """One policy contract as seen by one account (the transactions of every kind)."""

    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract

    @classmethod
    def at(
        cls, client: ChainClient, artifacts: Artifacts, kind: str, address: str
    ) -> PolicyContract:
        return cls(client, client.contract(address, artifacts.abi(POLICY_KINDS[kind])))

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def approves(self, identity: bytes, requester: str) -> bool:
        return seal_approve(self.client, self.address, identity, requester)

    def add_reader(self, reader: str) -> None:
        self.client.transact(self.contract.functions.addReader(Web3.to_checksum_address(reader)))

    def remove_reader(self, reader: str) -> None:
        self.client.transact(self.contract.functions.removeReader(Web3.to_checksum_address(reader)))

    def subscribe(self, wal: Contract, days: int) -> int:
        """Approves days x price WAL and subscribes; returns the new end (unix seconds)."""
        price = int(self.client.call(self.contract.functions.pricePerDay()))
        if price * days:
            self.client.transact(wal.functions.approve(self.address, price * days))
        self.client.transact(self.contract.functions.subscribe(days))
        return int(self.client.call(self.contract.functions.paidUntil(self.client.address)))

    def lock(self, identity: bytes, unlock_at: int) -> None:
        self.client.transact(self.contract.functions.lock(identity, unlock_at))
