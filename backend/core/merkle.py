"""SHA-256 Merkle trees with domain separation (DESIGN §3.5).

Leaf hash ``H(0x00 || data)``, inner node ``H(0x01 || left || right)``; the leaf level
is padded to a power of two with 32 zero bytes. Many trees of the same width are
hashed level by level in one pass (`merkle_roots`), which is how the encoder hashes
all n primary and n secondary trees of a blob with a single Python loop per level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt


class _NativeJob(Protocol):
    def wait(self) -> None: ...


_native_digests: Callable[[int, Sequence[Any], int, Any], None] | None
_native_start: Callable[[int, Sequence[Any], int, Any], _NativeJob] | None
_native_roots: Callable[[Any, int, int, bytes, Any], None] | None
try:  # batch hasher (backend/core/_native: SHA-NI or OpenSSL); hashlib gives the same bytes
    from backend.core._native import sha256batch as _sha256batch

    _native_digests = _sha256batch.prefixed_digests_of
    _native_start = _sha256batch.start_prefixed_digests_of
    _native_roots = _sha256batch.merkle_roots
except ImportError:  # pragma: no cover - depends on the build
    _native_digests = _native_start = _native_roots = None

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_LEAF = bytes(HASH_SIZE)
_BATCH = 1 << 14  # rows hashed per batch: bounds the temporary digest objects
PARALLEL_MIN_SYMBOL = 16 * 1024  # hashlib drops the GIL above 2 KiB; threads pay off well above
NATIVE_PARALLEL_MIN_BYTES = 1 << 20  # the native hasher drops the GIL; split work above this

Hashes = npt.NDArray[np.uint8]

_sha256 = hashlib.sha256


def leaf_hash(data: bytes | memoryview) -> bytes:
    """Hash of one leaf's data."""
    h = _sha256(LEAF_PREFIX)
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an inner node from its two children."""
    return _sha256(NODE_PREFIX + left + right).digest()


def tree_depth(leaf_count: int) -> int:
    """Number of levels above the leaves once padded to a power of two."""
    return max(leaf_count - 1, 0).bit_length()


@lru_cache(maxsize=64)
def _padding_hashes(depth: int) -> tuple[bytes, ...]:
    """Hash of an all-padding subtree at each level (level 0 is the padding leaf)."""
    hashes = [EMPTY_LEAF]
    for _ in range(depth):
        hashes.append(node_hash(hashes[-1], hashes[-1]))
    return tuple(hashes)


def _batches(count: int) -> range:
    return range(0, count, _BATCH)


def _split_rows(
    parts: Sequence[npt.NDArray[np.uint8]], first: int
) -> tuple[list[npt.NDArray[np.uint8]], list[npt.NDArray[np.uint8]]]:
    """The rows of `parts` (in order) as two lists of views: the first `first` rows, the rest."""
    head: list[npt.NDArray[np.uint8]] = []
    tail: list[npt.NDArray[np.uint8]] = []
    remaining = first
    for part in parts:
        take = min(remaining, part.shape[0])
        if take:
            head.append(part[:take])
        if take < part.shape[0]:
            tail.append(part[take:])
        remaining -= take
    return head, tail


def _native_hash_rows(prefix: bytes, parts: Sequence[npt.NDArray[np.uint8]]) -> Hashes:
    """``H(prefix || row)`` for the rows of (count_i, size) arrays, in order, natively.

    The native engine hashes two rows at a time (SHA-NI), so all rows go in one call. Above
    `NATIVE_PARALLEL_MIN_BYTES` the calling thread hashes one half and the native worker
    thread the other, unless the worker is busy (other requests hashing): then the caller
    takes that half back rather than wait.
    """
    assert _native_digests is not None and _native_start is not None
    size = parts[0].shape[1]
    flat = [np.ascontiguousarray(part) for part in parts if part.shape[0]]
    total = sum(part.shape[0] for part in flat)
    out = np.empty((total, HASH_SIZE), dtype=np.uint8)
    first = 2 * ((total + 1) // 2 // 2)  # half the row pairs, so no thread hashes a lone row
    if first and total * size >= NATIVE_PARALLEL_MIN_BYTES:
        head, tail = _split_rows(flat, first)
        helped = _native_start(prefix[0], head, size, out[:first])
        _native_digests(prefix[0], tail, size, out[first:])
        helped.wait()
    elif total:
        _native_digests(prefix[0], flat, size, out)
    return out


class LeafHashesInProgress:
    """`hash_leaf_rows(parts)` running on the native worker thread while the caller does
    other work (the verifier computes a sliver's parity meanwhile). The worker never takes
    the GIL, so it hashes on while the caller holds it (the RS library does); `result`
    waits for it, or hashes the rows itself when the worker has not started on them."""

    def __init__(self, parts: Sequence[npt.NDArray[np.uint8]]) -> None:
        self._parts = [np.ascontiguousarray(part) for part in parts if part.shape[0]]
        self._job: _NativeJob | None = None
        if _native_digests is not None and self._parts and self._parts[0].shape[1] > 0:
            total = sum(part.shape[0] for part in self._parts)
            self._out = np.empty((total, HASH_SIZE), dtype=np.uint8)
            size = self._parts[0].shape[1]
            assert _native_start is not None  # built with prefixed_digests_of
            self._job = _native_start(LEAF_PREFIX[0], self._parts, size, self._out)

    def result(self) -> Hashes:
        if self._job is not None:
            self._job.wait()
            return self._out
        if not self._parts:
            return np.empty((0, HASH_SIZE), dtype=np.uint8)
        return hash_leaf_rows(self._parts)


def _hash_pairs(pairs: npt.NDArray[np.uint8]) -> Hashes:
    """Inner-node hashes of a (count, 64) array of child pairs, in bounded batches."""
    if _native_digests is not None:
        return _native_hash_rows(NODE_PREFIX, [pairs])
    count = pairs.shape[0]
    out = np.empty((count, HASH_SIZE), dtype=np.uint8)
    width = 1 + 2 * HASH_SIZE
    for start in _batches(count):
        stop = min(start + _BATCH, count)
        prefixed = np.empty((stop - start, width), dtype=np.uint8)
        prefixed[:, 0] = NODE_PREFIX[0]
        prefixed[:, 1:] = pairs[start:stop]
        flat = prefixed.tobytes()
        digests = [_sha256(flat[i : i + width]).digest() for i in range(0, len(flat), width)]
        out[start:stop] = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, HASH_SIZE)
    return out


def _hash_leaf_range(flat: memoryview, size: int, start: int, stop: int, out: Hashes) -> None:
    prefix = _sha256(LEAF_PREFIX)
    for batch in range(start, stop, _BATCH):
        batch_stop = min(batch + _BATCH, stop)
        digests = []
        for offset in range(batch * size, batch_stop * size, size):
            h = prefix.copy()
            h.update(flat[offset : offset + size])
            digests.append(h.digest())
        out[batch:batch_stop] = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(
            -1, HASH_SIZE
        )


def hash_leaves(symbols: npt.NDArray[np.uint8]) -> Hashes:
    """Leaf hashes of a (count, symbol_size) array of symbols, as a (count, 32) array.

    No copy of the symbols is made. Symbols of at least `PARALLEL_MIN_SYMBOL` bytes are
    hashed on two threads (hashlib releases the GIL for large updates).
    """
    if _native_digests is not None and symbols.shape[1] > 0:
        return _native_hash_rows(LEAF_PREFIX, [symbols])
    count, size = symbols.shape
    out = np.empty((count, HASH_SIZE), dtype=np.uint8)
    flat = memoryview(np.ascontiguousarray(symbols).data).cast("B")
    if size >= PARALLEL_MIN_SYMBOL and count >= 2:
        half = count // 2
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(_hash_leaf_range, flat, size, 0, half, out)
            _hash_leaf_range(flat, size, half, count, out)
            first.result()
    else:
        _hash_leaf_range(flat, size, 0, count, out)
    return out


def hash_leaf_rows(parts: Sequence[npt.NDArray[np.uint8]]) -> Hashes:
    """Leaf hashes of the rows of several (count_i, symbol_size) arrays, in order.

    The same as concatenating `hash_leaves` of each part, but one batch: a sliver's source
    symbols (read in place) and its parity hash together, two at a time with SHA-NI.
    """
    if not parts or len({part.shape[1] for part in parts}) != 1:
        raise ValueError("hash_leaf_rows needs (count, symbol_size) arrays of one symbol size")
    if _native_digests is not None and parts[0].shape[1] > 0:
        return _native_hash_rows(LEAF_PREFIX, parts)
    hashed = [hash_leaves(part) for part in parts if part.shape[0]]
    return np.concatenate(hashed) if hashed else np.empty((0, HASH_SIZE), dtype=np.uint8)


def _next_level(level: Hashes, padding: bytes) -> Hashes:
    """(trees, width, 32) -> (trees, ceil(width / 2), 32), pairing with `padding` if odd."""
    trees, width, _ = level.shape
    if width % 2:
        pad = np.broadcast_to(np.frombuffer(padding, dtype=np.uint8), (trees, 1, HASH_SIZE))
        level = np.concatenate([level, pad], axis=1)
    pairs = np.ascontiguousarray(level).reshape(-1, 2 * HASH_SIZE)
    return _hash_pairs(pairs).reshape(trees, -1, HASH_SIZE)


def _levels(leaves: Hashes) -> list[Hashes]:
    """All levels of many same-width trees: leaves (trees, width, 32) up to (trees, 1, 32)."""
    padding = _padding_hashes(tree_depth(leaves.shape[1]))
    levels = [leaves]
    for height in range(len(padding) - 1):
        levels.append(_next_level(levels[-1], padding[height]))
    return levels


def merkle_roots(leaves: Hashes) -> list[bytes]:
    """Roots of many trees at once; `leaves` has shape (trees, leaves_per_tree, 32)."""
    trees, width, _ = leaves.shape
    padding = _padding_hashes(tree_depth(width))
    if _native_roots is not None and 0 < leaves.nbytes < NATIVE_PARALLEL_MIN_BYTES:
        # all levels in one native call; bigger forests go level by level on two threads
        roots = np.empty((trees, HASH_SIZE), dtype=np.uint8)
        _native_roots(np.ascontiguousarray(leaves), trees, width, b"".join(padding), roots)
        return [bytes(root) for root in roots]
    level = leaves
    for height in range(len(padding) - 1):
        level = _next_level(level, padding[height])
    return [bytes(root) for root in level.reshape(-1, HASH_SIZE)]


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Root over a list of leaf hashes (at least one)."""
    if not leaf_hashes:
        raise ValueError("a Merkle tree needs at least one leaf")
    leaves = np.frombuffer(b"".join(leaf_hashes), dtype=np.uint8).reshape(1, -1, HASH_SIZE)
    return merkle_roots(leaves)[0]


@dataclass(frozen=True)
class MerkleProof:
    """Sibling hashes from a leaf up to the root, lowest level first."""

    siblings: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        return b"".join(self.siblings)

    @classmethod
    def from_bytes(cls, raw: bytes, leaf_count: int) -> MerkleProof:
        depth = tree_depth(leaf_count)
        if len(raw) != depth * HASH_SIZE:
            raise ValueError(
                f"a Merkle proof for {leaf_count} leaves has {depth} hashes "
                f"({depth * HASH_SIZE} bytes), got {len(raw)} bytes"
            )
        return cls(tuple(raw[i : i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)))


class MerkleTree:
    """One tree with every level kept, to hand out inclusion proofs."""

    def __init__(self, leaf_hashes: Hashes) -> None:
        if leaf_hashes.ndim != 2 or leaf_hashes.shape[0] == 0:
            raise ValueError("a Merkle tree needs a non-empty (leaves, 32) array of leaf hashes")
        self.leaf_count = leaf_hashes.shape[0]
        self._levels = [lv[0] for lv in _levels(leaf_hashes.reshape(1, -1, HASH_SIZE))]
        self._padding = _padding_hashes(tree_depth(self.leaf_count))

    @property
    def root(self) -> bytes:
        return bytes(self._levels[-1][0])

    def proof(self, index: int) -> MerkleProof:
        if not 0 <= index < self.leaf_count:
            raise IndexError(f"leaf index {index} out of range [0, {self.leaf_count})")
        siblings = []
        for height, level in enumerate(self._levels[:-1]):
            sibling = index ^ 1
            if sibling < level.shape[0]:
                siblings.append(bytes(level[sibling]))
            else:
                siblings.append(self._padding[height])
            index //= 2
        return MerkleProof(tuple(siblings))


def verify_proof(root: bytes, leaf: bytes, index: int, proof: MerkleProof, leaf_count: int) -> bool:
    """True if `leaf` (a leaf hash) sits at `index` of the tree of `leaf_count` leaves."""
    if not 0 <= index < leaf_count or len(proof.siblings) != tree_depth(leaf_count):
        return False
    current = leaf
    for sibling in proof.siblings:
        if len(sibling) != HASH_SIZE:
            return False
        current = node_hash(sibling, current) if index % 2 else node_hash(current, sibling)
        index //= 2
    return current == root
