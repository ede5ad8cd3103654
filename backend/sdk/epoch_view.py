"""Chain facts that change only at an epoch change, read once per epoch.

A store or read needs the committee, the shard assignment, the quorum weight and the
members' BLS keys of the current epoch: reading them from the chain on every call cost
~14 chain calls per store. `EpochView` keeps them per epoch (an epoch's committee never
changes once selected), and the current epoch number for `max_age` seconds; callers that
must not act on a stale epoch (the store, blob status) pass ``max_age=0``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from backend.chain.staking import Committee, StakingContract
from backend.core.bls import BlsPublicKey

EPOCH_MAX_AGE = 1.0
"""Seconds a read may use a cached epoch number (nodes cache theirs as long)."""
KEPT_EPOCHS = 4


@dataclass(frozen=True)
class EpochCommittee:
    """One epoch's committee, with everything a store or read derives from it."""

    epoch: int
    committee: Committee
    assignment: tuple[int, ...]
    """Node id owning each shard."""
    quorum: int
    """Shard weight a certificate needs."""

    @property
    def members(self) -> dict[int, int]:
        """Committee index of each node id."""
        return {node_id: index for index, node_id in enumerate(self.committee.node_ids)}

    def shards_of(self, node_id: int) -> int:
        return self.committee.shards_of(node_id)

    @property
    def holders(self) -> list[int]:
        """Node ids holding at least one shard, in committee order."""
        counts = zip(self.committee.node_ids, self.committee.shard_counts, strict=True)
        return [node_id for node_id, count in counts if count]


class EpochView:
    """Thread-safe per-epoch cache over a Staking contract."""

    def __init__(self, staking: StakingContract) -> None:
        self.staking = staking
        self._lock = threading.Lock()
        self._epoch = -1
        self._epoch_read_at = 0.0
        self._committees: dict[int, EpochCommittee] = {}
        self._keys: dict[tuple[int, int], BlsPublicKey] = {}
        self._n_shards: int | None = None

    @property
    def n_shards(self) -> int:
        """Fixed when Staking is deployed."""
        if self._n_shards is None:
            self._n_shards = self.staking.n_shards
        return self._n_shards

    def current_epoch(self, max_age: float = EPOCH_MAX_AGE) -> int:
        now = time.monotonic()
        with self._lock:
            if self._epoch >= 0 and now - self._epoch_read_at < max_age:
                return self._epoch
        epoch = self.staking.current_epoch()
        with self._lock:
            self._epoch, self._epoch_read_at = epoch, now
        return epoch

    def forget_epoch(self) -> None:
        """Read the epoch number from the chain next time (e.g. a node answered for
        another epoch)."""
        with self._lock:
            self._epoch = -1

    def committee(self, epoch: int | None = None) -> EpochCommittee:
        epoch = self.current_epoch() if epoch is None else epoch
        with self._lock:
            cached = self._committees.get(epoch)
        if cached is not None:
            return cached
        made = EpochCommittee(
            epoch,
            self.staking.committee(epoch),
            self.staking.shard_assignment(epoch),
            self.staking.quorum_weight(),
        )
        with self._lock:
            self._committees[epoch] = made
            for old in sorted(self._committees)[:-KEPT_EPOCHS]:
                del self._committees[old]
        return made

    def member_key(self, epoch: int, member_index: int) -> BlsPublicKey:
        """The BLS key a member signs with in `epoch` (CoreError if the chain holds a bad
        key)."""
        with self._lock:
            cached = self._keys.get((epoch, member_index))
        if cached is not None:
            return cached
        key = BlsPublicKey.from_eip2537(self.staking.committee_member_key(epoch, member_index))
        with self._lock:
            self._keys[(epoch, member_index)] = key
        return key
