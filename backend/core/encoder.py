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

`encode_streaming` is the same computation for a writer that must not hold the whole
encoding (the SDK's store): the blob is read in place (`SourceMatrix`: no copy), each
chunk of primary parity goes to a caller's sink as soon as it is hashed, and only the
secondary parity ((n - s) / s of the blob, 0.43x at n = 20) is kept. `encode_blob`
collects the same chunks into arrays, so both give byte-identical slivers.
"""

from __future__ import annotations

from collections.abc import Callable
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
MAX_WINDOW_BYTES = 1 << 20
"""Source bytes per RS call of the streaming encoder: its temporaries are several times this."""
WINDOW_ALIGN = 64
"""Byte windows are whole 64-byte blocks (GF(2^16) elements are 2 bytes; leopard's layout
works in 64-byte chunks)."""


PrimaryParitySink = Callable[[int, Shards], None]
"""Called as (first symbol column, (n - p, columns, S) parity) for primary slivers p..n-1.
The parity array is only valid during the call (the encoder reuses its buffer for the next
chunk): a sink copies what it keeps."""


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


class SourceMatrix:
    """The blob as the zero-padded p x s matrix of symbols, without copying the blob.

    In row-major order symbol (i, j) is bytes (i s + j) S .. (i s + j + 1) S of the blob:
    every symbol that lies wholly inside the blob is a read-only view of its buffer; the
    symbols holding its last bytes and the zero padding (fewer than 1 + 2 p s / S, since S
    is the smallest even size that fits) are one small copy, `tail`.
    Source row i is primary sliver i; symbol (i, j) is symbol i of secondary sliver j.
    """

    def __init__(self, data: bytes | bytearray | memoryview, params: EncodingParams) -> None:
        self.params = params
        self.length = memoryview(data).nbytes
        self.symbol_size = size = params.symbol_size(self.length)
        self._data = memoryview(data).cast("B")
        self.full_symbols = self.length // size
        """Symbols (in row-major order) that lie wholly inside the blob."""
        tail = np.zeros((params.p * params.s - self.full_symbols) * size, dtype=np.uint8)
        rest = self._data[self.full_symbols * size :]
        tail[: rest.nbytes] = np.frombuffer(rest, dtype=np.uint8)
        self.tail = tail.reshape(-1, size)

    def flat_pieces(self, first: int, end: int) -> list[Shards]:
        """Symbols first..end-1 in row-major order as at most two (count, S) arrays: a view
        of the blob, then a view of the tail."""
        size, full = self.symbol_size, self.full_symbols
        pieces = []
        if first < full:
            inside = self._data[first * size : min(end, full) * size]
            pieces.append(np.frombuffer(inside, dtype=np.uint8).reshape(-1, size))
        if end > full:
            pieces.append(self.tail[max(first, full) - full : end - full])
        return pieces

    def row_pieces(self, row: int) -> list[Shards]:
        """Row `row` (primary sliver `row`) as at most two arrays of symbols, no copy."""
        s = self.params.s
        return self.flat_pieces(row * s, (row + 1) * s)

    def symbols(self, row: int, first: int, end: int, b0: int = 0, b1: int | None = None) -> Shards:
        """Bytes b0..b1-1 of symbols first..end-1 of `row`, as (end - first, b1 - b0): a view
        when they lie inside the blob, else a copy of just that window."""
        s = self.params.s
        pieces = [piece[:, b0:b1] for piece in self.flat_pieces(row * s + first, row * s + end)]
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def rows(self, first: int, end: int) -> Shards:
        """Rows first..end-1 as a (rows, s, S) array (a view when they lie inside the blob)."""
        s, size = self.params.s, self.symbol_size
        pieces = self.flat_pieces(first * s, end * s)
        joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return joined.reshape(end - first, s, size)

    def symbol(self, row: int, column: int) -> memoryview:
        """The bytes of symbol (row, column), without a copy."""
        return memoryview(self.symbols(row, column, column + 1)[0]).cast("B")


@dataclass(frozen=True)
class StreamedEncoding:
    """What `encode_streaming` keeps: the metadata, the blob in place and the secondary
    parity. Primary slivers 0..p-1 are source rows, secondary slivers 0..s-1 source
    columns; the primary parity went to the sink."""

    metadata: VerifiedMetadata
    source: SourceMatrix
    secondary_parity: Shards
    """(n - s, p, S): secondary slivers s..n-1."""

    @property
    def blob_id(self) -> BlobId:
        return self.metadata.blob_id


def _chunks(total: int, item_bytes: int, chunk_bytes: int) -> list[tuple[int, int]]:
    step = max(1, chunk_bytes // max(item_bytes, 1))
    return [(start, min(start + step, total)) for start in range(0, total, step)]


def _encode_along_first_axis(code: ReedSolomonCode, source: Shards) -> Shards:
    """(k, m, S) -> (n - k, m, S): extend every one of the m symbol positions."""
    k, m, size = source.shape
    parity = code.encode(np.ascontiguousarray(source).reshape(k, m * size))
    return parity.reshape(code.n - k, m, size)


class _ChunkBuffer:
    """One buffer for every chunk of a loop: (rows, columns, S) arrays of at most
    `max_columns` columns, each contiguous, all in the same memory. Allocating a fresh
    chunk each time first-touches its pages again (page faults cost more than the coding
    on small VMs, docs/benchmarks.md)."""

    def __init__(self, rows: int, max_columns: int, size: int) -> None:
        self.rows, self.size = rows, size
        self._flat = np.empty(rows * max_columns * size, dtype=np.uint8)

    def chunk(self, columns: int) -> Shards:
        return self._flat[: self.rows * columns * self.size].reshape(self.rows, columns, self.size)


def _extend_by_windows(
    code: ReedSolomonCode, window_of: Callable[[int, int], Shards], out: Shards, chunk_bytes: int
) -> None:
    """Fill `out` ((n - k, m, S)) with the parity of a (k, m, S) source, one byte window
    b0:b1 of every symbol at a time (`window_of(b0, b1)` gives that window of the source).

    The codes act on each field element on its own, so windows of whole elements encode
    independently; they bound the code's temporary copies (several times its input) by
    `chunk_bytes` even when one row of the source (1/p of the blob) is larger."""
    _, m, size = out.shape
    k = code.k
    width = max(WINDOW_ALIGN, chunk_bytes // max(k * m, 1) // WINDOW_ALIGN * WINDOW_ALIGN)
    for b0 in range(0, size, width):
        b1 = min(b0 + width, size)
        out[:, :, b0:b1] = _encode_along_first_axis(code, window_of(b0, b1))


def _chosen_type(n_shards: int, encoding_type: EncodingType | None) -> EncodingType:
    chosen = (
        default_encoding_type(n_shards) if encoding_type is None else EncodingType(encoding_type)
    )
    check_shard_count(chosen, n_shards)
    return chosen


def encode_streaming(
    data: bytes | bytearray | memoryview,
    n_shards: int,
    primary_parity_sink: PrimaryParitySink,
    encoding_type: EncodingType | None = None,
) -> StreamedEncoding:
    """Encode `data` in place: hash every symbol of the expanded matrix once, hand each
    chunk of primary parity to `primary_parity_sink` and drop it. `data` must not change
    while the result is in use (the source slivers are views of it)."""
    params = EncodingParams(n_shards)
    chosen = _chosen_type(n_shards, encoding_type)
    n, p, s = n_shards, params.p, params.s
    column_code = rs_code(chosen, p, n)
    row_code = rs_code(chosen, s, n)
    params.symbol_size(len(data))  # BlobTooLarge before anything is read
    source = SourceMatrix(data, params)
    size = source.symbol_size
    chunk_bytes = min(max(source.length // 16, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES)
    window_bytes = min(chunk_bytes, MAX_WINDOW_BYTES)

    leaves = np.empty((n, n, HASH_SIZE), dtype=np.uint8)  # leaves[i, j] = leaf hash of E[i][j]
    source_hashes = np.empty((p * s, HASH_SIZE), dtype=np.uint8)  # row-major, like the blob
    for k0, k1 in _chunks(p * s, size, chunk_bytes):
        at = k0
        for piece in source.flat_pieces(k0, k1):
            source_hashes[at : at + len(piece)] = hash_leaves(piece)
            at += len(piece)
    leaves[:p, :s] = source_hashes.reshape(p, s, HASH_SIZE)

    column_chunks = _chunks(s, p * size, chunk_bytes)
    parity_chunks = _chunks(n - s, p * size, chunk_bytes)
    widest = max(j1 - j0 for j0, j1 in column_chunks + parity_chunks)
    parity_buffer = _ChunkBuffer(n - p, widest, size)  # column parity, then bottom right
    for j0, j1 in column_chunks:
        parity = parity_buffer.chunk(j1 - j0)

        def source_columns(b0: int, b1: int, j0: int = j0, j1: int = j1) -> Shards:
            return np.stack([source.symbols(i, j0, j1, b0, b1) for i in range(p)])

        _extend_by_windows(column_code, source_columns, parity, window_bytes)
        hashed = hash_leaves(parity.reshape(-1, size))
        leaves[p:, j0:j1] = hashed.reshape(n - p, j1 - j0, HASH_SIZE)
        primary_parity_sink(j0, parity)

    secondary_parity = np.empty((n - s, p, size), dtype=np.uint8)
    for i0, i1 in _chunks(p, s * size, chunk_bytes):

        def source_rows(b0: int, b1: int, i0: int = i0, i1: int = i1) -> Shards:
            rows = [source.symbols(i, 0, s, b0, b1) for i in range(i0, i1)]
            return np.stack(rows, axis=1)  # (s, rows, w)

        _extend_by_windows(row_code, source_rows, secondary_parity[:, i0:i1], window_bytes)
    top_right = hash_leaves(secondary_parity.reshape((n - s) * p, size))
    leaves[:p, s:] = top_right.reshape(n - s, p, HASH_SIZE).transpose(1, 0, 2)
    for j0, j1 in parity_chunks:
        bottom_right = parity_buffer.chunk(j1 - j0)

        def parity_columns(b0: int, b1: int, j0: int = j0, j1: int = j1) -> Shards:
            return secondary_parity[j0:j1, :, b0:b1].transpose(1, 0, 2)  # (p, c, w)

        _extend_by_windows(column_code, parity_columns, bottom_right, window_bytes)
        c = j1 - j0
        hashed = hash_leaves(bottom_right.reshape((n - p) * c, size))
        leaves[p:, s + j0 : s + j1] = hashed.reshape(n - p, c, HASH_SIZE)

    primary_hashes = tuple(merkle_roots(leaves))
    secondary_hashes = tuple(merkle_roots(leaves.transpose(1, 0, 2)))
    blob_metadata = BlobMetadata(chosen, source.length, primary_hashes, secondary_hashes)
    metadata = VerifiedMetadata(blob_metadata.blob_id(), blob_metadata, SEAL)
    return StreamedEncoding(metadata, source, secondary_parity)


def encode_blob(
    data: bytes | bytearray | memoryview, n_shards: int, encoding_type: EncodingType | None = None
) -> EncodedBlob:
    """Encode `data` for `n_shards` shards (default code: `default_encoding_type(n)`),
    every sliver in memory (about 4x the blob at n = 20)."""
    params = EncodingParams(n_shards)
    n, p, s = n_shards, params.p, params.s
    size = params.symbol_size(len(data))
    primary = np.empty((n, s, size), dtype=np.uint8)

    def keep(first_column: int, parity: Shards) -> None:
        primary[p:, first_column : first_column + parity.shape[1]] = parity

    streamed = encode_streaming(data, n_shards, keep, encoding_type)
    primary[:p] = streamed.source.rows(0, p)
    secondary = np.empty((n, p, size), dtype=np.uint8)
    secondary[:s] = primary[:p].transpose(1, 0, 2)
    secondary[s:] = streamed.secondary_parity
    metadata = streamed.metadata
    return EncodedBlob(
        metadata,
        tuple(seal_sliver(metadata, SliverKind.PRIMARY, i, primary[i]) for i in range(n)),
        tuple(seal_sliver(metadata, SliverKind.SECONDARY, j, secondary[j]) for j in range(n)),
    )


def compute_blob_id_of(
    data: bytes | bytearray | memoryview, n_shards: int, encoding_type: EncodingType | None = None
) -> BlobId:
    """The blob id `data` gets when encoded for `n_shards` shards (the `blob-id` command):
    the primary parity is hashed and dropped, never kept."""
    return encode_streaming(data, n_shards, lambda _column, _parity: None, encoding_type).blob_id
