"""What a store sends to the nodes: the metadata and, per sliver pair, the two slivers'
wire bodies, produced when they are sent rather than held all at once.

`SpilledUpload` (the store's path) keeps the client's memory near the blob's size instead
of ~4x: the blob is read in place (source slivers are views of it), the secondary parity
((n - s) / s of the blob) stays in memory, and the primary parity ((n - p) / p of the blob,
1.5x at n = 20) is written chunk by chunk to an unlinked temporary file as the encoder
produces it and mapped back piece by piece while each sliver is sent (`MappedFileRange`:
no copy into the process, no fresh buffer per piece). The file lives as long as
a body still refers to it (uploads to slower nodes go on after the quorum) and is freed
by the kernel when the last reference closes it. A small blob's primary parity (up to
IN_MEMORY_PARITY_BYTES) stays in memory instead: the file would cost a dozen syscalls per
store and save next to nothing.

`EncodedUpload` wraps an `EncodedBlob` that is already in memory (the upload relay).
The wire bytes are the same either way (docs/protocol.md).
"""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Iterator
from contextlib import nullcontext
from typing import BinaryIO, Protocol

import numpy as np

from backend.core.blob_id import BlobId
from backend.core.encoder import EncodedBlob, StreamedEncoding, encode_streaming
from backend.core.metadata import VerifiedMetadata
from backend.core.pairs import secondary_index_of_pair
from backend.core.params import EncodingParams
from backend.core.rs import Shards
from backend.core.sliver_kind import SliverKind
from backend.sdk.memory import reusing_freed_memory
from backend.sdk.node_client import FILE_PIECE_BYTES, FileRange, WireBody, sliver_header

SliverBody = tuple[SliverKind, WireBody]
IN_MEMORY_PARITY_BYTES = 4 << 20
"""Primary parity up to this size is kept in memory rather than spilled to a file."""
REUSE_MEMORY_FROM_BYTES = 256 << 10
"""Blobs from this size encode with `reusing_freed_memory` (a 1 MiB blob at n = 20: 1,000
page faults -> 180, half the encode time); below it the temporaries are few and small."""


class MappedFileRange(FileRange):
    """A FileRange sent from read-only maps of the file, one piece at a time: the socket
    copies straight from the page cache. Reading the 1.5x-blob primary parity back with
    pread instead copied it once more into fresh 1 MiB buffers, each first-touched (64 MiB
    at n = 20, load 15: 0.13-0.18 -> 0.09-0.12 CPU s to send every sliver, 24k -> 0.9k
    page faults). A piece's map lives as long as the piece (at most FILE_PIECE_BYTES
    resident per body being sent); the temporary file is never truncated."""

    def pieces(self) -> Iterator[bytes | memoryview]:  # type: ignore[override]
        fd = self.file.fileno()
        end = os.fstat(fd).st_size
        if self.offset + self.length > end:  # a map past the end would SIGBUS, not raise
            raise OSError(f"spilled slivers end early at byte {end}")
        done = 0
        while done < self.length:
            want = min(FILE_PIECE_BYTES, self.length - done)
            start = self.offset + done
            lead = start % mmap.ALLOCATIONGRANULARITY
            mapped = mmap.mmap(fd, lead + want, prot=mmap.PROT_READ, offset=start - lead)
            yield memoryview(mapped)[lead:]
            done += want


class SliverUpload(Protocol):
    @property
    def metadata(self) -> VerifiedMetadata: ...

    def pair_bodies(self, pair_index: int) -> list[SliverBody]:
        """(primary, secondary) wire bodies of sliver pair `pair_index`."""
        ...


class EncodedUpload:
    """Bodies straight from an in-memory `EncodedBlob`."""

    def __init__(self, encoded: EncodedBlob) -> None:
        self.encoded = encoded

    @property
    def metadata(self) -> VerifiedMetadata:
        return self.encoded.metadata

    def pair_bodies(self, pair_index: int) -> list[SliverBody]:
        return [
            (sliver.kind, WireBody.of_sliver(sliver))
            for sliver in self.encoded.sliver_pair(pair_index)
        ]


class SpilledUpload:
    """A blob encoded for upload with its primary parity in an unlinked temporary file
    (in memory when small)."""

    def __init__(self, data: bytes | bytearray | memoryview, n_shards: int) -> None:
        params = EncodingParams(n_shards)
        self._params = params
        length = memoryview(data).nbytes
        self._symbol_size = size = params.symbol_size(length)
        parity_shape = (n_shards - params.p, params.s, size)
        self._parity: Shards | None = None
        self._file: BinaryIO | None = None
        if parity_shape[0] * params.s * size <= IN_MEMORY_PARITY_BYTES:
            self._parity = np.empty(parity_shape, dtype=np.uint8)
        else:
            # TemporaryFile is unlinked at once on POSIX: nothing is left behind on a
            # crash. Not a context manager: background uploads read it after store() has
            # returned, and it closes when the last body referring to it is dropped.
            self._file = tempfile.TemporaryFile(prefix="walrus-slivers-")  # noqa: SIM115
        # large blobs: the RS temporaries reuse their pages (memory.py)
        reuse = length >= REUSE_MEMORY_FROM_BYTES
        with reusing_freed_memory() if reuse else nullcontext():
            self.encoding: StreamedEncoding = encode_streaming(data, n_shards, self._spill)

    @property
    def metadata(self) -> VerifiedMetadata:
        return self.encoding.metadata

    @property
    def blob_id(self) -> BlobId:
        return self.encoding.blob_id

    def _parity_offset(self, parity_row: int, column: int) -> int:
        """Primary sliver p + parity_row is s symbols at parity_row * s * S in the file."""
        return (parity_row * self._params.s + column) * self._symbol_size

    def _spill(self, first_column: int, parity: Shards) -> None:
        if self._parity is not None:
            self._parity[:, first_column : first_column + parity.shape[1]] = parity
            return
        assert self._file is not None
        fd = self._file.fileno()
        for row in range(parity.shape[0]):
            chunk = memoryview(parity[row]).cast("B")
            offset = self._parity_offset(row, first_column)
            while chunk:
                written = os.pwrite(fd, chunk, offset)
                chunk, offset = chunk[written:], offset + written

    def pair_bodies(self, pair_index: int) -> list[SliverBody]:
        n, p, s = self._params.n_shards, self._params.p, self._params.s
        size = self._symbol_size
        source = self.encoding.source
        primary_header = sliver_header(SliverKind.PRIMARY, pair_index)
        if pair_index < p:
            primary = WireBody(
                primary_header, *(piece.data for piece in source.row_pieces(pair_index))
            )
        elif self._parity is not None:
            primary = WireBody(primary_header, self._parity[pair_index - p].data)
        else:
            assert self._file is not None
            offset = self._parity_offset(pair_index - p, 0)
            where = MappedFileRange(self._file, offset, s * size)
            primary = WireBody(primary_header, where)
        index = secondary_index_of_pair(pair_index, n)
        secondary_header = sliver_header(SliverKind.SECONDARY, index)
        if index < s:
            column = [source.symbol(row, index) for row in range(p)]
            secondary = WireBody(secondary_header, *column)
        else:
            secondary = WireBody(secondary_header, self.encoding.secondary_parity[index - s].data)
        return [(SliverKind.PRIMARY, primary), (SliverKind.SECONDARY, secondary)]
