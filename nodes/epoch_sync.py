"""Epoch change, node side: take over gained shards, report epochSyncDone, drop lost shards.

At a new epoch the node pulls, for every shard it gains, each certified blob's sliver pair
from the shard's previous holder (GET slivers, verified against the metadata before they
are stored). A pair the previous holder cannot serve (down, missing, bad data) is rebuilt
from recovery symbols by the `Recoverer`. When every certified blob has both slivers of
every pair of the node's shards, the store is fsynced and the node reports
`epochSyncDone(nodeId, epoch)` with its operator key. Shards it lost keep being served
until the chain says the epoch change is done (`EpochState.Done`); then their slivers are
deleted.
"""

from __future__ import annotations

import logging

import requests

from backend.chain.client import TransactionRejected
from backend.chain.errors import ContractRevert
from backend.chain.staking import EpochState
from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.errors import CoreError
from backend.core.metadata import UnverifiedMetadata, VerifiedMetadata, verify_metadata
from backend.core.pairs import pair_of_shard, secondary_index_of_pair
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, verify_sliver
from nodes.chain_view import ChainView
from nodes.recovery import Recoverer
from nodes.store import NodeStore

REQUEST_TIMEOUT = 10.0

log = logging.getLogger("walrus-node.epoch-sync")


def pair_slivers(pair: int, n_shards: int) -> list[tuple[SliverKind, int]]:
    return [
        (SliverKind.PRIMARY, pair),
        (SliverKind.SECONDARY, secondary_index_of_pair(pair, n_shards)),
    ]


def _change_done(chain: ChainView, epoch: int) -> bool:
    info = chain.staking.epoch_info()
    return info.epoch == epoch and info.state is EpochState.DONE


class EpochSync:
    def __init__(self, store: NodeStore, chain: ChainView, recoverer: Recoverer) -> None:
        self.store = store
        self.chain = chain
        self.recoverer = recoverer
        self.migrated_slivers = 0
        """Slivers taken over from previous holders (the rest came from recovery)."""
        self._collected_epoch = 0

    def pending(self) -> bool:
        """True while this epoch's hand-over is not finished (recovery waits for it)."""
        return self.store.synced_epoch() < self.chain.current_epoch()

    def run_once(self) -> None:
        """One pass: migrate what can be migrated, report when complete, collect lost shards."""
        epoch = self.chain.current_epoch()
        if epoch > 0 and self.store.synced_epoch() < epoch:
            self._sync(epoch)
        if (
            epoch > self._collected_epoch
            and self.store.synced_epoch() >= epoch
            and self.chain.staking.epoch_info().state is EpochState.DONE
        ):
            self._collect_lost_shards(epoch)
            self._collected_epoch = epoch

    # ------------------------------------------------------------------ hand-over

    def _sync(self, epoch: int) -> None:
        mine = self.chain.my_shards(epoch)
        if not mine:  # not in this committee: nothing to take over or report
            self.store.set_synced_epoch(epoch)
            return
        previous_owners = self.chain.staking.shard_assignment(epoch - 1) if epoch > 1 else ()
        gained = sorted(
            shard
            for shard in mine
            if not previous_owners or previous_owners[shard] != self.chain.node_id
        )
        certified = [
            blob_id for blob_id, record in self.store.blob_records() if record.is_certified(epoch)
        ]
        urls: dict[int, str] = {}
        for blob_id in certified:
            for shard in gained:
                owner = previous_owners[shard] if previous_owners else 0
                if owner == 0 or owner == self.chain.node_id:
                    continue
                if owner not in urls:
                    urls[owner] = self.chain.staking.node(owner).http_url
                self._migrate(blob_id, shard, urls[owner])
        incomplete = [blob_id for blob_id in certified if self.recoverer.needs_recovery(blob_id)]
        if incomplete:
            log.info("epoch %d: %d blobs left to recovery", epoch, len(incomplete))
            for blob_id in incomplete:
                self.recoverer.submit(blob_id)
            return  # the next pass reports once recovery has filled them in
        self.store.sync()
        try:
            done = self._report(epoch)
        except ContractRevert as error:
            if error.name == "StakingWrongEpoch":  # a newer epoch began: sync that one
                return
            if error.name not in ("StakingSyncAlreadyReported", "StakingNotInCommittee"):
                raise
            done = False
        self.store.set_synced_epoch(epoch)
        log.info(
            "epoch %d: shards %s synced (%d blobs), epochSyncDone reported%s",
            epoch,
            sorted(mine),
            len(certified),
            ", epoch change done" if done else "",
        )

    def _report(self, epoch: int) -> bool:
        """epochSyncDone; retried once when the operator account's nonce moved under us (the
        operator may send from this account elsewhere; the client then re-reads it)."""
        try:
            return self.chain.staking.epoch_sync_done(self.chain.node_id, epoch)
        except TransactionRejected as error:
            log.info("epochSyncDone rejected (%s), retrying", error)
            return self.chain.staking.epoch_sync_done(self.chain.node_id, epoch)

    def _migrate(self, blob_id: BlobId, shard: int, previous_holder: str) -> bool:
        """Copy the blob's sliver pair of `shard` from its previous holder; False on failure."""
        try:
            metadata = self._metadata(blob_id, previous_holder)
            pair = pair_of_shard(blob_id, shard, metadata.n_shards)
            for kind, index in pair_slivers(pair, metadata.n_shards):
                if self.store.has_sliver(blob_id, kind, index):
                    continue
                url = previous_holder + routes.sliver_path(blob_id, pair, kind)
                response = requests.get(url, timeout=REQUEST_TIMEOUT)
                if response.status_code != 200:
                    return False
                sliver = UnverifiedSliver.from_bytes(response.content)
                if sliver.kind is not kind or sliver.index != index:
                    return False
                verify_sliver(metadata, sliver)
                self.store.put_sliver(blob_id, kind, index, sliver.data)
                self.migrated_slivers += 1
            return True
        except (requests.RequestException, CoreError) as error:
            log.info("shard %d of blob %s not migrated: %s", shard, blob_id, error)
            return False

    def _metadata(self, blob_id: BlobId, previous_holder: str) -> VerifiedMetadata:
        raw = self.store.metadata(blob_id)
        if raw is None:
            response = requests.get(
                previous_holder + routes.metadata_path(blob_id), timeout=REQUEST_TIMEOUT
            )
            if response.status_code != 200:
                raise requests.RequestException(f"metadata: HTTP {response.status_code}")
            raw = response.content
            verified = verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))
            self.store.put_metadata(blob_id, raw)
            return verified
        return verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))

    # ------------------------------------------------------------------ lost shards

    def _collect_lost_shards(self, epoch: int) -> None:
        """Delete slivers of pairs on shards this node no longer holds in `epoch`."""
        mine = self.chain.my_shards(epoch)
        n_shards = self.chain.n_shards
        removed = 0
        for blob_id, _ in self.store.blob_records():
            kept = {
                sliver
                for shard in mine
                for sliver in pair_slivers(pair_of_shard(blob_id, shard, n_shards), n_shards)
            }
            lost = [s for s in self.store.sliver_indexes(blob_id) if s not in kept]
            if lost:
                self.store.delete_slivers(blob_id, lost)
                removed += len(lost)
        if removed:
            log.info("epoch %d done: deleted %d slivers of shards handed over", epoch, removed)
