"""The native batch hasher gives exactly hashlib's digests: both engines (SHA-NI two
messages at a time, OpenSSL one at a time), on one thread or two, over one buffer or
several."""

import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest

from backend.core import merkle
from backend.core._native import sha256batch


def _hashlib_rows(prefix: bytes, *parts: np.ndarray) -> np.ndarray:
    digests = [hashlib.sha256(prefix + row.tobytes()).digest() for part in parts for row in part]
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)


def _rows(count: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed * 7919 + count * size).integers(
        0, 256, (count, size), dtype=np.uint8
    )


def test_native_hasher_is_built() -> None:
    # bootstrap builds it (needs OpenSSL headers); without it n = 1000 encodes ~2x slower
    assert merkle._native_digests is not None


def test_sha_ni_engine_is_chosen_where_the_cpu_has_it() -> None:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    expected = "sha-ni-2way" if " sha_ni" in flags else "openssl"
    assert expected == sha256batch.ENGINE


# every message length class: 1 block, the 55/56 padding edge, 2 and 3 blocks, many blocks
SIZES = [*range(1, 131), 183, 184, 4680, 65536, 74898]


@pytest.mark.parametrize("engine", ["prefixed_digests", "prefixed_digests_openssl"])
def test_both_engines_match_hashlib_at_every_block_boundary(engine: str) -> None:
    digests = getattr(sha256batch, engine)
    for size in SIZES:
        for count in (1, 2, 3):  # a lone last row is hashed on its own
            rows = _rows(count, size)
            for prefix in (merkle.LEAF_PREFIX, merkle.NODE_PREFIX, b"\xff"):
                out = np.empty((count, 32), dtype=np.uint8)
                digests(prefix[0], rows, size, out)
                assert np.array_equal(out, _hashlib_rows(prefix, rows)), (engine, size, count)


@pytest.mark.parametrize("counts", [[1, 1], [3, 1], [2, 3], [0, 3, 0], [5, 4, 1]])
@pytest.mark.parametrize("size", [2, 63, 64, 4680])
def test_rows_of_several_parts_hash_as_one_sequence(counts: list[int], size: int) -> None:
    parts = [_rows(count, size, seed) for seed, count in enumerate(counts)]
    out = np.empty((sum(counts), 32), dtype=np.uint8)
    sha256batch.prefixed_digests_of(0, parts, size, out)
    assert np.array_equal(out, _hashlib_rows(b"\x00", *parts))


@pytest.mark.parametrize(
    ("counts", "size"),
    # the last ones cross the two-thread split (1 MiB), with odd totals and uneven parts
    [([1], 2), ([7], 64), ([1000], 302), ([5000], 400), ([3, 2], 300_000), ([4, 3], 160_000)],
)
@pytest.mark.parametrize("prefix", [merkle.LEAF_PREFIX, merkle.NODE_PREFIX])
def test_native_rows_match_hashlib(counts: list[int], size: int, prefix: bytes) -> None:
    parts = [_rows(count, size, seed) for seed, count in enumerate(counts)]
    assert np.array_equal(merkle._native_hash_rows(prefix, parts), _hashlib_rows(prefix, *parts))


def test_hash_leaf_rows_equals_the_hashlib_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = [_rows(3, 70_000, 1), _rows(6, 70_000, 2)[::2]]  # a strided part is copied, not misread
    native = merkle.hash_leaf_rows(parts)
    monkeypatch.setattr(merkle, "_native_digests", None)
    assert np.array_equal(merkle.hash_leaf_rows(parts), native)
    assert np.array_equal(native, _hashlib_rows(merkle.LEAF_PREFIX, *parts))
    with pytest.raises(ValueError, match="one symbol size"):
        merkle.hash_leaf_rows([_rows(1, 4), _rows(1, 6)])


def test_a_busy_helper_pool_does_not_hold_the_caller_up() -> None:
    release = threading.Event()
    pool = merkle._helper_pool()
    blockers = [pool.submit(release.wait) for _ in range(4)]  # every helper thread is taken
    try:
        rows = _rows(8, 200_000)
        assert np.array_equal(merkle.hash_leaves(rows), _hashlib_rows(merkle.LEAF_PREFIX, rows))
    finally:
        release.set()
        for blocker in blockers:
            blocker.result()


def test_native_hasher_rejects_mismatched_buffers() -> None:
    digests = sha256batch.prefixed_digests
    with pytest.raises(ValueError, match="multiple of item_size"):
        digests(0, b"abc", 2, bytearray(32))
    with pytest.raises(ValueError, match="32 bytes per item"):
        digests(0, b"abcd", 2, bytearray(32))
    with pytest.raises(ValueError, match="byte value"):
        digests(256, b"ab", 2, bytearray(32))
    with pytest.raises(ValueError, match="multiple of item_size"):
        sha256batch.prefixed_digests_of(0, [b"abcd", b"abc"], 2, bytearray(96))
    with pytest.raises(ValueError, match="32 bytes per item"):
        sha256batch.prefixed_digests_of(0, [b"abcd", b"ab"], 2, bytearray(64))


def test_leaf_and_node_hashes_use_the_domain_prefixes() -> None:
    rows = np.arange(64, dtype=np.uint8).reshape(1, 64)
    assert bytes(merkle.hash_leaves(rows)[0]) == merkle.leaf_hash(rows.tobytes())
    assert bytes(merkle._hash_pairs(rows)[0]) == merkle.node_hash(
        rows.tobytes()[:32], rows.tobytes()[32:]
    )


def _reference_root(leaves: list[bytes]) -> bytes:
    """DESIGN 3.5 written out: pad each odd level with the all-padding subtree's hash."""
    level, padding = list(leaves), merkle.EMPTY_LEAF
    while len(level) > 1:
        if len(level) % 2:
            level.append(padding)
        level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        padding = merkle.node_hash(padding, padding)
    return level[0]


@pytest.mark.parametrize("trees", [1, 3])
def test_native_roots_equal_the_level_by_level_roots(
    monkeypatch: pytest.MonkeyPatch, trees: int
) -> None:
    for width in [*range(1, 40), 63, 64, 65, 1000]:
        leaves = _rows(trees * width, 32, width).reshape(trees, width, 32)
        native = merkle.merkle_roots(leaves)
        assert native == [_reference_root([bytes(h) for h in tree]) for tree in leaves]
        assert native[0] == merkle.MerkleTree(leaves[0]).root
        with monkeypatch.context() as patched:
            patched.setattr(merkle, "_native_roots", None)
            assert merkle.merkle_roots(leaves) == native


def test_native_roots_reject_mismatched_buffers() -> None:
    with pytest.raises(ValueError, match="one hash per level"):
        sha256batch.merkle_roots(bytes(96), 1, 3, bytes(32), bytearray(32))  # depth 2
    with pytest.raises(ValueError, match="trees \\* width hashes"):
        sha256batch.merkle_roots(bytes(64), 1, 3, bytes(64), bytearray(32))
