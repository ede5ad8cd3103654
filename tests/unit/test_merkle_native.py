"""The native batch hasher gives exactly hashlib's digests: both engines (SHA-NI two
messages at a time, OpenSSL one at a time), on one thread or two, over one buffer or
several, in the caller or on the module's worker thread."""

import hashlib
import os
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


def test_background_jobs_hash_like_hashlib_whether_or_not_they_are_waited_for() -> None:
    rows = _rows(9, 5000)
    outs = [np.empty((9, 32), dtype=np.uint8) for _ in range(40)]
    # more jobs than the worker keeps up with: the waiter takes queued ones back
    jobs = [sha256batch.start_prefixed_digests_of(0, [rows[:4], rows[4:]], 5000, o) for o in outs]
    for job in jobs[::2]:
        job.wait()
        job.wait()  # a second wait returns at once
    del jobs  # the others are finished when their job goes away (the worker reads the rows)
    expected = _hashlib_rows(merkle.LEAF_PREFIX, rows)
    assert all(np.array_equal(out, expected) for out in outs)


def test_a_busy_worker_does_not_change_the_callers_digests() -> None:
    big = _rows(16, 1 << 20)  # keeps the worker busy while the caller's halves queue behind
    big_out = np.empty((16, 32), dtype=np.uint8)
    job = sha256batch.start_prefixed_digests_of(1, [big], 1 << 20, big_out)
    rows = _rows(8, 200_000)
    assert np.array_equal(merkle.hash_leaves(rows), _hashlib_rows(merkle.LEAF_PREFIX, rows))
    in_progress = merkle.LeafHashesInProgress([rows[:3], rows[3:]])
    assert np.array_equal(in_progress.result(), _hashlib_rows(merkle.LEAF_PREFIX, rows))
    job.wait()
    assert np.array_equal(big_out, _hashlib_rows(merkle.NODE_PREFIX, big))


def test_leaf_hashes_in_progress_without_the_native_hasher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = _rows(5, 3000)
    monkeypatch.setattr(merkle, "_native_digests", None)
    assert np.array_equal(
        merkle.LeafHashesInProgress([rows]).result(), _hashlib_rows(merkle.LEAF_PREFIX, rows)
    )
    assert merkle.LeafHashesInProgress([rows[:0]]).result().shape == (0, 32)


def test_a_forked_child_hashes_without_the_parents_worker() -> None:
    rows = _rows(6, 4096)
    sha256batch.start_prefixed_digests_of(0, [rows], 4096, np.empty((6, 32), np.uint8)).wait()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker thread was not copied: jobs must still finish
        out = np.empty((6, 32), dtype=np.uint8)
        sha256batch.start_prefixed_digests_of(0, [rows], 4096, out).wait()
        os.write(writer, out.tobytes())
        os._exit(0)
    os.close(writer)
    got = b""
    while chunk := os.read(reader, 4096):
        got += chunk
    os.close(reader)
    assert os.waitpid(pid, 0)[1] == 0
    assert got == _hashlib_rows(merkle.LEAF_PREFIX, rows).tobytes()


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
    with pytest.raises(ValueError, match="multiple of item_size"):
        sha256batch.start_prefixed_digests_of(0, [b"abc"], 2, bytearray(32))
    with pytest.raises(TypeError, match="read-write"):
        sha256batch.start_prefixed_digests_of(0, [b"ab"], 2, bytes(32))


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
