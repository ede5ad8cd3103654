"""The OpenSSL batch hasher gives exactly hashlib's digests, on one thread or two."""

import hashlib

import numpy as np
import pytest

from backend.core import merkle


def _hashlib_rows(prefix: bytes, rows: np.ndarray) -> np.ndarray:
    digests = [hashlib.sha256(prefix + row.tobytes()).digest() for row in rows]
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)


def test_native_hasher_is_built() -> None:
    # bootstrap builds it (needs OpenSSL headers); without it n = 1000 encodes ~2x slower
    assert merkle._native_digests is not None


@pytest.mark.parametrize(
    ("count", "size"),
    [(1, 2), (7, 64), (1000, 302), (5000, 400)],  # the last one crosses the two-thread split
)
@pytest.mark.parametrize("prefix", [merkle.LEAF_PREFIX, merkle.NODE_PREFIX])
def test_native_matches_hashlib(count: int, size: int, prefix: bytes) -> None:
    rows = np.random.default_rng(count * size).integers(0, 256, (count, size), dtype=np.uint8)
    assert np.array_equal(merkle._native_hash_items(prefix, rows), _hashlib_rows(prefix, rows))


def test_native_hasher_rejects_mismatched_buffers() -> None:
    from backend.core._native.sha256batch import prefixed_digests

    with pytest.raises(ValueError, match="multiple of item_size"):
        prefixed_digests(0, b"abc", 2, bytearray(32))
    with pytest.raises(ValueError, match="32 bytes per item"):
        prefixed_digests(0, b"abcd", 2, bytearray(32))
    with pytest.raises(ValueError, match="byte value"):
        prefixed_digests(256, b"ab", 2, bytearray(32))


def test_leaf_and_node_hashes_use_the_domain_prefixes() -> None:
    rows = np.arange(64, dtype=np.uint8).reshape(1, 64)
    assert bytes(merkle.hash_leaves(rows)[0]) == merkle.leaf_hash(rows.tobytes())
    assert bytes(merkle._hash_pairs(rows)[0]) == merkle.node_hash(
        rows.tobytes()[:32], rows.tobytes()[32:]
    )
