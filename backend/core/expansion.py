"""Extending slivers to full rows/columns of the n x n matrix E, and hashing them.

Primary sliver i (s symbols) extends with the row code (k = s) to row i of E; secondary
sliver j (p symbols) extends with the column code (k = p) to column j of E. Many small
slivers of one kind are extended in one library call: their symbols are transposed so
that each shard is one symbol position across all of them; wide ones one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.core.encoding_types import EncodingType
from backend.core.merkle import (
    HASH_SIZE,
    NATIVE_PARALLEL_MIN_BYTES,
    LeafHashesInProgress,
    hash_leaf_rows,
    hash_leaves,
    merkle_roots,
)
from backend.core.params import EncodingParams
from backend.core.rs import ReedSolomonCode, Shards, rs_code
from backend.core.sliver_kind import SliverKind

SEPARATE_MIN_BYTES = 256 << 10
"""Sliver size from which `sliver_hashes` codes each sliver on its own."""


def code_for(
    encoding_type: EncodingType, params: EncodingParams, kind: SliverKind
) -> ReedSolomonCode:
    """Row code (s -> n) for primary slivers, column code (p -> n) for secondary slivers."""
    k = params.s if kind is SliverKind.PRIMARY else params.p
    return rs_code(encoding_type, k, params.n_shards)


def extend(code: ReedSolomonCode, slivers: Shards) -> Shards:
    """(count, k, S) sliver symbols -> (count, n, S): each sliver extended to n symbols."""
    count, k, size = slivers.shape
    expanded = np.empty((count, code.n, size), dtype=np.uint8)
    expanded[:, :k] = slivers
    expanded[:, k:] = _parity(code, list(slivers)).transpose(1, 0, 2)
    return expanded


def _parity(code: ReedSolomonCode, slivers: Sequence[Shards]) -> Shards:
    """(n - k, count, S): the parity symbols of every sliver, in one library call."""
    count = len(slivers)
    k, size = slivers[0].shape
    if count == 1:  # its symbols are the source rows already
        return code.encode(slivers[0]).reshape(code.n - k, 1, size)
    source = np.empty((k, count, size), dtype=np.uint8)
    for column, sliver in enumerate(slivers):
        source[:, column] = sliver
    return code.encode(source.reshape(k, count * size)).reshape(code.n - k, count, size)


def expanded_leaf_hashes(expanded: Shards) -> Shards:
    """(count, n, S) expanded slivers -> (count, n, 32) Merkle leaf hashes."""
    count, n, size = expanded.shape
    return hash_leaves(expanded.reshape(count * n, size)).reshape(count, n, HASH_SIZE)


def sliver_hashes(code: ReedSolomonCode, slivers: Sequence[Shards]) -> list[bytes]:
    """Merkle root over the n expanded symbols of each (k, S) sliver.

    The expanded slivers are never assembled: source symbols are hashed where they lie
    (for a node, in the request body) in one batch with the parity, the only large
    temporary. Slivers of at least `SEPARATE_MIN_BYTES` are RS-coded one by one (no stacked
    copy of all of them: they fill the library's column windows on their own).
    """
    count = len(slivers)
    k, size = slivers[0].shape
    parity_rows = code.n - k
    leaves = np.empty((count, code.n, HASH_SIZE), dtype=np.uint8)
    if count == 1 or k * size >= SEPARATE_MIN_BYTES:
        # A helper thread hashes the source symbols while this one computes the parity, then
        # this one hashes the parity (RS coding runs on one core; with the hashing after it,
        # the other core waited for it). An even number of rows each: SHA-NI hashes pairs.
        early = k - k % 2 if count * code.n * size >= NATIVE_PARALLEL_MIN_BYTES else 0
        source = LeafHashesInProgress([sliver[:early] for sliver in slivers])
        parities = [code.encode(sliver) for sliver in slivers]
        late = hash_leaf_rows([*(sliver[early:] for sliver in slivers), *parities])
        leaves[:, :early] = source.result().reshape(count, early, HASH_SIZE)
        leaves[:, early:k] = late[: count * (k - early)].reshape(count, k - early, HASH_SIZE)
        leaves[:, k:] = late[count * (k - early) :].reshape(count, parity_rows, HASH_SIZE)
    else:
        parity = _parity(code, slivers)
        hashed = hash_leaf_rows([*slivers, parity.reshape(-1, size)])
        leaves[:, :k] = hashed[: count * k].reshape(count, k, HASH_SIZE)
        by_row = hashed[count * k :].reshape(parity_rows, count, HASH_SIZE)
        leaves[:, k:] = by_row.transpose(1, 0, 2)
    return merkle_roots(leaves)
