"""Red Stuff encoding: blob -> primary and secondary slivers, metadata and blob id.

Layout in memory (DESIGN §3): the blob, zero-padded, is the p x s source matrix of
symbols. `primary` (n, s, S) holds the rows of E[:, :s] (column code applied to the
source); `secondary` (n, p, S) holds the columns of E[:p, :] (row code applied to the
source), one contiguous secondary sliver per row. The remaining quadrant E[p:, s:] is
only needed for hashing: it is computed in chunks (column code on secondary slivers
s..n-1), hashed, and dropped, so that every symbol of E is hashed exactly once and
peak memory stays near n (p + s) S, about 4-4.5x the blob.

The RS codes run on whole shards: each call covers many symbol columns or rows at
once (chunks of about 1/16 of the blob), never one symbol at a time. Chunking keeps the
library's temporary copies small next to the blob.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.core._seal import SEAL
from backend.core.blob_id import BlobId
from backend.core.encoding_types import EncodingType, check_shard_count, default_encoding_type
from backend.core.merkle import HASH_SIZE, hash_leaves, merkle_roots
from backend.core.metadata import BlobMetadata, VerifiedMetadata
from backend.core.params import EncodingParams
from backend.core.rs import ReedSolomonCode, Shards, rs_code
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import VerifiedSliver, seal_sliver

MIN_CHUNK_BYTES = 64 << 10
MAX_CHUNK_BYTES = 8 << 20


@dataclass(frozen=True)
class EncodedBlob:
    """Everything a writer sends: metadata (with blob id) and all 2n slivers."""

    metadata: VerifiedMetadata
    primary_slivers: tuple[VerifiedSliver, ...]
    secondary_slivers: tuple[VerifiedSliver, ...]

    @property
    def blob_id(self) -> BlobId:
        return self.metadata.blob_id

    def sliver_pair(self, pair_index: int) -> tuple[VerifiedSliver, VerifiedSliver]:
        """(primary i, secondary n - 1 - i): what the shard holding pair i stores."""
        n = self.metadata.n_shards
        if not 0 <= pair_index < n:
            raise ValueError(f"pair index {pair_index} out of range [0, {n})")
        return self.primary_slivers[pair_index], self.secondary_slivers[n - 1 - pair_index]


def _chunks(total: int, item_bytes: int, chunk_bytes: int) -> list[tuple[int, int]]:
    step = max(1, chunk_bytes // max(item_bytes, 1))
    return [(start, min(start + step, total)) for start in range(0, total, step)]


def _encode_along_first_axis(code: ReedSolomonCode, source: Shards) -> Shards:
    """(k, m, S) -> (n - k, m, S): extend every one of the m symbol positions."""
    k, m, size = source.shape
    parity = code.encode(np.ascontiguousarray(source).reshape(k, m * size))
    return parity.reshape(code.n - k, m, size)


def source_matrix(data: bytes, params: EncodingParams) -> tuple[Shards, int]:
    """The zero-padded p x s symbol matrix of the blob, inside an (n, s, S) array."""
    size = params.symbol_size(len(data))
    primary = np.zeros((params.n_shards, params.s, size), dtype=np.uint8)
    primary[: params.p].reshape(-1)[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return primary, size


def encode_blob(
    data: bytes, n_shards: int, encoding_type: EncodingType | None = None
) -> EncodedBlob:
    """Encode `data` for `n_shards` shards (default code: `default_encoding_type(n)`)."""
    params = EncodingParams(n_shards)
    chosen = (
        default_encoding_type(n_shards) if encoding_type is None else EncodingType(encoding_type)
    )
    check_shard_count(chosen, n_shards)
    n, p, s = n_shards, params.p, params.s
    column_code = rs_code(chosen, p, n)
    row_code = rs_code(chosen, s, n)

    primary, size = source_matrix(bytes(data) if not isinstance(data, bytes) else data, params)
    chunk_bytes = min(max(len(data) // 16, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES)
    for j0, j1 in _chunks(s, p * size, chunk_bytes):
        primary[p:, j0:j1] = _encode_along_first_axis(column_code, primary[:p, j0:j1])

    secondary = np.empty((n, p, size), dtype=np.uint8)
    secondary[:s] = primary[:p].transpose(1, 0, 2)
    for i0, i1 in _chunks(p, s * size, chunk_bytes):
        secondary[s:, i0:i1] = _encode_along_first_axis(row_code, secondary[:s, i0:i1])

    leaves = np.empty((n, n, HASH_SIZE), dtype=np.uint8)  # leaves[i, j] = leaf hash of E[i][j]
    leaves[:, :s] = hash_leaves(primary.reshape(n * s, size)).reshape(n, s, HASH_SIZE)
    top_right = hash_leaves(secondary[s:].reshape((n - s) * p, size))
    leaves[:p, s:] = top_right.reshape(n - s, p, HASH_SIZE).transpose(1, 0, 2)
    for j0, j1 in _chunks(n - s, p * size, chunk_bytes):
        columns = secondary[s + j0 : s + j1].transpose(1, 0, 2)  # (p, c, S)
        bottom_right = _encode_along_first_axis(column_code, columns)  # (n - p, c, S)
        c = j1 - j0
        hashed = hash_leaves(bottom_right.reshape((n - p) * c, size))
        leaves[p:, s + j0 : s + j1] = hashed.reshape(n - p, c, HASH_SIZE)

    primary_hashes = tuple(merkle_roots(leaves))
    secondary_hashes = tuple(merkle_roots(leaves.transpose(1, 0, 2)))
    blob_metadata = BlobMetadata(chosen, len(data), primary_hashes, secondary_hashes)
    metadata = VerifiedMetadata(blob_metadata.blob_id(), blob_metadata, SEAL)
    return EncodedBlob(
        metadata,
        tuple(seal_sliver(metadata, SliverKind.PRIMARY, i, primary[i]) for i in range(n)),
        tuple(seal_sliver(metadata, SliverKind.SECONDARY, j, secondary[j]) for j in range(n)),
    )


def compute_blob_id_of(
    data: bytes, n_shards: int, encoding_type: EncodingType | None = None
) -> BlobId:
    """The blob id `data` gets when encoded for `n_shards` shards (the `blob-id` command)."""
    return encode_blob(data, n_shards, encoding_type).blob_id
