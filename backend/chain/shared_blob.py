"""Binding of `SharedBlob`: share a blob token (final), fund it, extend it from its funds."""

from __future__ import annotations

from typing import Final

from eth_typing import ChecksumAddress
from web3.contract import Contract

from backend.chain.client import ChainClient

CONTRACT_NAME: Final = "SharedBlob"


class SharedBlobContract:
    """The SharedBlob contract as seen by one account."""

    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def share(self, registry: Contract, token_id: int) -> None:
        """Sends the caller's blob token here: from now on nobody can delete the blob."""
        self.client.transact(
            registry.functions.safeTransferFrom(self.client.address, self.address, token_id)
        )

    def fund(self, wal: Contract, token_id: int, amount: int) -> None:
        """Approves and adds ``amount`` FROST to the funds of shared blob ``token_id``."""
        self.client.transact(wal.functions.approve(self.address, amount))
        self.client.transact(self.contract.functions.fund(token_id, amount))

    def extend(self, token_id: int, extra_epochs: int) -> int:
        """Extends the shared blob from its funds; returns the FROST it cost."""
        cost = int(self.client.call(self.contract.functions.extend(token_id, extra_epochs)))
        self.client.transact(self.contract.functions.extend(token_id, extra_epochs))
        return cost

    def is_shared(self, token_id: int) -> bool:
        return bool(self.client.call(self.contract.functions.isShared(token_id)))

    def funds(self, token_id: int) -> int:
        return int(self.client.call(self.contract.functions.funds(token_id)))
