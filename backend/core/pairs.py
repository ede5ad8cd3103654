"""Sliver pairs and which shard stores them (docs/protocol.md, "Pair -> shard")."""

from __future__ import annotations

from backend.core.blob_id import BlobId
from backend.core.params import EncodingParams


def _check_index(name: str, index: int, n_shards: int) -> None:
    if not 0 <= index < n_shards:
        raise ValueError(f"{name} {index} out of range [0, {n_shards}) for n = {n_shards}")


def secondary_index_of_pair(pair_index: int, n_shards: int) -> int:
    """Pair i holds primary sliver i and secondary sliver n - 1 - i."""
    EncodingParams(n_shards)
    _check_index("pair index", pair_index, n_shards)
    return n_shards - 1 - pair_index


def pair_index_of_secondary(secondary_index: int, n_shards: int) -> int:
    """The pair that holds secondary sliver j: n - 1 - j."""
    EncodingParams(n_shards)
    _check_index("secondary sliver index", secondary_index, n_shards)
    return n_shards - 1 - secondary_index


def shard_of_pair(blob_id: BlobId, pair_index: int, n_shards: int) -> int:
    """Shard that stores pair i: (i + int(blob_id, big-endian) mod n) mod n."""
    EncodingParams(n_shards)
    _check_index("pair index", pair_index, n_shards)
    return (pair_index + int(blob_id) % n_shards) % n_shards


def pair_of_shard(blob_id: BlobId, shard: int, n_shards: int) -> int:
    """The pair a shard stores for this blob (inverse of `shard_of_pair`)."""
    EncodingParams(n_shards)
    _check_index("shard", shard, n_shards)
    return (shard - int(blob_id) % n_shards) % n_shards
