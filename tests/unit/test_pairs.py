"""Which shard stores which sliver pair (docs/protocol.md, "Pair -> shard")."""

import pytest

from backend.core.blob_id import BlobId
from backend.core.pairs import (
    pair_index_of_secondary,
    pair_of_shard,
    secondary_index_of_pair,
    shard_of_pair,
)


@pytest.mark.parametrize("n", [4, 10, 257, 1000])
def test_pairs_map_one_to_one_onto_shards(n: int) -> None:
    blob_id = BlobId(bytes(range(32)))
    shards = [shard_of_pair(blob_id, i, n) for i in range(n)]
    assert sorted(shards) == list(range(n))
    offset = int.from_bytes(blob_id.raw, "big") % n
    assert shards[0] == offset
    for pair, shard in enumerate(shards):
        assert pair_of_shard(blob_id, shard, n) == pair
        assert pair_index_of_secondary(secondary_index_of_pair(pair, n), n) == pair


def test_out_of_range_indices_are_rejected() -> None:
    blob_id = BlobId(bytes(32))
    with pytest.raises(ValueError, match=r"pair index 10 out of range \[0, 10\)"):
        shard_of_pair(blob_id, 10, 10)
    with pytest.raises(ValueError, match="shard -1"):
        pair_of_shard(blob_id, -1, 10)
