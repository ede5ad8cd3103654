"""Rebuilding the node's missing slivers of certified blobs from other nodes' recovery symbols.

A blob is queued when the follower sees it certified (or at start-up) while the node lacks
its metadata or a sliver of one of its shards. Metadata comes from any peer (checked against
the blob id); each missing sliver is decoded from verified recovery symbols. Work runs on a
small thread pool; `backlog` is the number of blobs queued or in progress.
"""

from __future__ import annotations

import base64
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.errors import CoreError
from backend.core.metadata import UnverifiedMetadata, VerifiedMetadata, verify_metadata
from backend.core.pairs import pair_of_shard, secondary_index_of_pair
from backend.core.recovery_symbols import (
    RecoverySymbol,
    VerifiedRecoverySymbol,
    rebuild_sliver,
    recovery_symbol,
    symbols_needed,
    verify_recovery_symbol,
)
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, verify_slivers
from nodes.chain_view import ChainView
from nodes.store import NodeStore

log = logging.getLogger("walrus-node.recovery")

REQUEST_TIMEOUT = 30.0


class RecoveryFailed(Exception):
    """Not enough peers answered with valid data to rebuild a sliver."""


class Recoverer:
    def __init__(self, store: NodeStore, chain: ChainView, workers: int = 2) -> None:
        self.store = store
        self.chain = chain
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recovery")
        self._lock = threading.Lock()
        self._pending: set[BlobId] = set()
        self.recovered_slivers = 0

    @property
    def backlog(self) -> int:
        with self._lock:
            return len(self._pending)

    def missing_slivers(self, blob_id: BlobId, n_shards: int) -> list[tuple[SliverKind, int]]:
        missing = []
        for shard in sorted(self.chain.my_shards()):
            pair = pair_of_shard(blob_id, shard, n_shards)
            for kind, index in (
                (SliverKind.PRIMARY, pair),
                (SliverKind.SECONDARY, secondary_index_of_pair(pair, n_shards)),
            ):
                if not self.store.has_sliver(blob_id, kind, index):
                    missing.append((kind, index))
        return missing

    def needs_recovery(self, blob_id: BlobId) -> bool:
        if self.store.metadata(blob_id) is None:
            return True
        return bool(self.missing_slivers(blob_id, self.chain.n_shards))

    def submit(self, blob_id: BlobId) -> None:
        with self._lock:
            if blob_id in self._pending:
                return
            self._pending.add(blob_id)
        self._pool.submit(self._recover, blob_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)  # before the store closes

    def _peers(self) -> list[str]:
        committee = self.chain.staking.committee(self.chain.current_epoch())
        return [
            self.chain.staking.node(node_id).http_url
            for node_id in committee.node_ids
            if node_id != self.chain.node_id
        ]

    def _recover(self, blob_id: BlobId) -> None:
        try:
            peers = self._peers()
            metadata = self._metadata(blob_id, peers)
            for kind, index in self.missing_slivers(blob_id, metadata.n_shards):
                data = self._rebuild(metadata, kind, index, peers)
                self.store.put_sliver(blob_id, kind, index, data)
                self.recovered_slivers += 1
            log.info("recovered blob %s", blob_id)
        except Exception as error:  # retried by the next sweep
            log.warning("recovery of blob %s failed: %s", blob_id, error)
        finally:
            with self._lock:
                self._pending.discard(blob_id)

    def _metadata(self, blob_id: BlobId, peers: list[str]) -> VerifiedMetadata:
        raw = self.store.metadata(blob_id)
        if raw is not None:
            return verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))
        for peer in peers:
            try:
                response = requests.get(peer + routes.metadata_path(blob_id), timeout=10)
                if response.status_code != 200:
                    continue
                verified = verify_metadata(blob_id, UnverifiedMetadata.from_bytes(response.content))
            except (requests.RequestException, CoreError):
                continue
            self.store.put_metadata(blob_id, verified.to_bytes())
            return verified
        raise RecoveryFailed(f"no peer served valid metadata of blob {blob_id}")

    def _local_symbols(
        self, metadata: VerifiedMetadata, kind: SliverKind, index: int
    ) -> dict[int, VerifiedRecoverySymbol]:
        """Symbols for the target from this node's own slivers of the other kind (e.g. the
        other pairs of its shards), so peers need to supply fewer."""
        blob_id = metadata.blob_id
        own = []
        for stored_kind, source_index in self.store.sliver_indexes(blob_id):
            data = self.store.sliver(blob_id, stored_kind, source_index)
            if stored_kind is kind.other and data is not None:
                own.append(UnverifiedSliver(stored_kind, source_index, data))
        return {
            sliver.index: verify_recovery_symbol(metadata, recovery_symbol(sliver, index))
            for sliver in verify_slivers(metadata, own, skip_invalid=True)
        }

    def _rebuild(
        self, metadata: VerifiedMetadata, kind: SliverKind, index: int, peers: list[str]
    ) -> bytes:
        needed = symbols_needed(metadata, kind)
        verified = self._local_symbols(metadata, kind, index)
        if len(verified) >= needed:
            rebuilt = rebuild_sliver(metadata, kind, index, list(verified.values()))
            if rebuilt.matches_commitment:
                return rebuilt.symbols.tobytes()
        path = routes.recovery_symbols_path(metadata.blob_id, kind, index)
        for peer in peers:
            try:
                response = requests.get(peer + path, timeout=REQUEST_TIMEOUT)
                if response.status_code != 200:
                    continue
                encoded = response.json()["symbols"]
            except (requests.RequestException, ValueError, KeyError):
                continue
            for text in encoded:
                try:
                    symbol = RecoverySymbol.from_bytes(base64.b64decode(text), metadata.n_shards)
                    if symbol.target_kind is not kind or symbol.target_index != index:
                        continue
                    verified[symbol.source_index] = verify_recovery_symbol(metadata, symbol)
                except (CoreError, ValueError):
                    continue
            if len(verified) >= needed:
                rebuilt = rebuild_sliver(metadata, kind, index, list(verified.values()))
                if rebuilt.matches_commitment:
                    return rebuilt.symbols.tobytes()
        raise RecoveryFailed(
            f"{kind.name.lower()} sliver {index} of blob {metadata.blob_id}: "
            f"{len(verified)} valid symbols from {len(peers)} peers, {needed} needed"
        )
