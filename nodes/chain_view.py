"""What the node asks the chain: its shards this epoch, and whether a blob is registered."""

from __future__ import annotations

import threading
import time

from backend.chain.client import ChainClient
from backend.chain.compiler import compile_contracts
from backend.chain.errors import ContractRevert
from backend.chain.fast_logs import latest_block
from backend.chain.registry import BlobIdStatus, BlobInfo, BlobRegistryContract
from backend.chain.staking import StakingContract
from backend.core.blob_id import BlobId

_EPOCH_TTL_SECONDS = 1.0


def certified_until(status: BlobIdStatus) -> int:
    """`BlobRegistry.certifiedUntil` computed from a `blobIdStatus` answer (one eth_call
    fewer on the metadata PUT of a blob the follower has not seen yet)."""
    if status.invalidated:
        return 0
    deletable_until = status.deletable_certified_until if status.certified_deletable else 0
    return max(status.permanent_certified_until, deletable_until)


class ChainView:
    """Read-only chain queries with the epoch and shard assignment cached for a second."""

    def __init__(self, client: ChainClient, staking: str, registry: str, node_id: int) -> None:
        artifacts = compile_contracts()
        self.client = client
        self.staking = StakingContract.at(client, staking, artifacts.abi("Staking"))
        self.registry = BlobRegistryContract.at(client, registry, artifacts.abi("BlobRegistry"))
        self.node_id = node_id
        self.n_shards = self.staking.n_shards
        self._lock = threading.Lock()
        self._epoch_refresh = threading.Lock()
        self._epoch = -1
        self._epoch_read_at = 0.0
        self._shards: dict[int, frozenset[int]] = {}

    def head_block(self) -> int:
        """The chain head's number; a plain ``eth_blockNumber`` on the client's keep-alive
        provider (the follower asks twice a second), web3's otherwise."""
        if self.client.direct is not None:
            return latest_block(self.client.direct)
        return self.client.block_number()

    def is_registered_node(self) -> bool:
        return 0 < self.node_id <= self.staking.node_count()

    def current_epoch(self) -> int:
        """The epoch, re-read at most once a second; while one thread re-reads it, others
        answer with the cached value instead of waiting on the eth_call."""
        if time.monotonic() - self._epoch_read_at <= _EPOCH_TTL_SECONDS:
            return self._epoch
        if not self._epoch_refresh.acquire(blocking=self._epoch < 0):
            return self._epoch
        try:
            if time.monotonic() - self._epoch_read_at > _EPOCH_TTL_SECONDS:
                self._epoch = self.staking.current_epoch()
                self._epoch_read_at = time.monotonic()
            return self._epoch
        finally:
            self._epoch_refresh.release()

    def my_shards(self, epoch: int | None = None) -> frozenset[int]:
        epoch = self.current_epoch() if epoch is None else epoch
        with self._lock:
            cached = self._shards.get(epoch)
        if cached is None:
            cached = frozenset(self.staking.shards_of_node(self.node_id, epoch))
            with self._lock:
                self._shards[epoch] = cached
        return cached

    def is_registered_blob(self, blob_id: BlobId) -> bool:
        """Registered at least once and not invalidated.

        Expiry of uncertified registrations is not visible in `blobIdStatus`; a certified
        blob past `certifiedUntil` counts as expired."""
        status = self.registry.blob_id_status(blob_id.raw)
        if status.registrations == 0 or status.invalidated:
            return False
        until = certified_until(status)
        return until == 0 or until > self.current_epoch()

    def blob_info(self, token_id: int) -> BlobInfo | None:
        if not 0 < token_id < self.registry.next_token_id():
            return None
        try:
            return self.registry.blob_info(token_id)
        except ContractRevert:  # deleted or burned registrations
            return None
