"""Binding of `KeyServerRegistry`: the Seal key servers registered on chain (id, operator,
name, URL, X25519 public key, active), and their operators' transactions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.errors import ChainError

CONTRACT_NAME: Final = "KeyServerRegistry"
PUBLIC_KEY_BYTES: Final = 32


@dataclass(frozen=True)
class RegisteredKeyServer:
    """One entry of the registry."""

    id: int
    operator: ChecksumAddress
    name: str
    url: str
    public_key: bytes
    active: bool

    @classmethod
    def from_tuple(cls, raw: Any) -> RegisteredKeyServer:
        key_server_id, operator, name, url, public_key, active = raw
        return cls(
            int(key_server_id),
            Web3.to_checksum_address(operator),
            str(name),
            str(url),
            bytes(public_key),
            bool(active),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operator": self.operator,
            "name": self.name,
            "url": self.url,
            "public_key": self.public_key.hex(),
            "active": self.active,
        }


class KeyServerRegistryContract:
    """The KeyServerRegistry as seen by one account."""

    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract

    @classmethod
    def at(
        cls, client: ChainClient, address: str, artifacts: Artifacts
    ) -> KeyServerRegistryContract:
        return cls(client, client.contract(address, artifacts.abi(CONTRACT_NAME)))

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def as_account(self, client: ChainClient) -> KeyServerRegistryContract:
        return KeyServerRegistryContract(client, self.contract)

    def register(self, name: str, url: str, public_key: bytes) -> int:
        """Registers a key server operated by this account; returns its id."""
        if len(public_key) != PUBLIC_KEY_BYTES:
            raise ChainError(f"an X25519 public key is 32 bytes, got {len(public_key)}")
        receipt = self.client.transact(self.contract.functions.register(name, url, public_key))
        for event in self.contract.events.KeyServerRegistered().process_receipt(
            receipt, errors=DISCARD
        ):
            return int(event["args"]["id"])
        raise ChainError("register emitted no KeyServerRegistered event")

    def update_url(self, key_server_id: int, url: str) -> None:
        """Moves key server ``key_server_id`` to ``url`` (its operator only)."""
        self.client.transact(self.contract.functions.updateUrl(key_server_id, url))

    def deregister(self, key_server_id: int) -> None:
        """Deregisters key server ``key_server_id`` for good (its operator only)."""
        self.client.transact(self.contract.functions.deregister(key_server_id))

    def key_server(self, key_server_id: int) -> RegisteredKeyServer:
        """Entry ``key_server_id``; ContractRevert KeyServerRegistryUnknownKeyServer if none."""
        raw = self.client.call(self.contract.functions.keyServer(key_server_id))
        return RegisteredKeyServer.from_tuple(raw)

    def all(self) -> list[RegisteredKeyServer]:
        """Every entry ever registered, in id order (deregistered ones with active False)."""
        raw = self.client.call(self.contract.functions.keyServers())
        return [RegisteredKeyServer.from_tuple(entry) for entry in raw]

    def active(self) -> list[RegisteredKeyServer]:
        """The entries clients use, in id order."""
        return [server for server in self.all() if server.active]

    def id_of_key(self, public_key: bytes) -> int:
        """The id of the entry holding ``public_key`` (0: none ever did)."""
        return int(self.client.call(self.contract.functions.idOfKey(public_key)))
