"""Quilts through the SDK: store many small files as quilt blobs, read one patch by fetching
only the secondary slivers (source columns) that hold it, list a quilt's patches.

Layout and patch ids are `backend.core.quilt` (docs/quilts.md). Storing goes through
`Client.store`, so a quilt whose store failed after paying is retried without paying twice
(the client reuses the wallet's uncertified registration of the same blob id). Bulk
ingestion of a directory is `backend.sdk.quilt_batch`.
"""

from __future__ import annotations

import concurrent.futures as futures
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.core.blob_id import BlobId
from backend.core.errors import CoreError
from backend.core.metadata import VerifiedMetadata
from backend.core.pairs import pair_index_of_secondary, shard_of_pair
from backend.core.params import EncodingParams
from backend.core.quilt import (
    MAX_PATCHES,
    Patch,
    PatchEntry,
    QuiltFile,
    QuiltPatchId,
    build_quilt,
    check_files,
    columns_of_range,
    find_patch,
    index_length,
    parse_index,
    parse_record,
    record_length,
    stream_of_blob,
)
from backend.core.quilt.errors import DuplicateIdentifier
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, verify_sliver
from backend.sdk.client import Client, StoreResult
from backend.sdk.epoch_view import EpochCommittee
from backend.sdk.errors import NodeRequestFailed, SdkError

DEFAULT_MAX_QUILT_BYTES = 32 * 2**20
"""Soft size of one quilt: more files than that make another quilt (smaller quilts make
patch reads cheaper and bound the memory of one store)."""
CACHED_QUILTS = 256


class FileTooLarge(SdkError):
    """A file larger than any blob this network can store."""


@dataclass(frozen=True)
class StoredPatch:
    identifier: str
    patch_id: QuiltPatchId
    size: int
    tags: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "patch_id": str(self.patch_id),
            "size": self.size,
            "tags": self.tags,
        }


@dataclass(frozen=True)
class QuiltStoreResult:
    """One stored quilt: the blob's store result and every patch's id."""

    blob: StoreResult
    patches: list[StoredPatch]

    def to_json(self) -> dict[str, Any]:
        return {**self.blob.to_json(), "patches": [p.to_json() for p in self.patches]}


@dataclass(frozen=True)
class StandaloneBlob:
    """A file too large for a quilt, stored as a blob of its own."""

    identifier: str
    blob: StoreResult

    def to_json(self) -> dict[str, Any]:
        return {"identifier": self.identifier, **self.blob.to_json()}


@dataclass
class FilesStoreResult:
    quilts: list[QuiltStoreResult] = field(default_factory=list)
    standalone: list[StandaloneBlob] = field(default_factory=list)

    @property
    def cost(self) -> int:
        return sum(q.blob.cost for q in self.quilts) + sum(s.blob.cost for s in self.standalone)

    def to_json(self) -> dict[str, Any]:
        return {
            "quilts": [q.to_json() for q in self.quilts],
            "standalone_blobs": [s.to_json() for s in self.standalone],
            "cost": self.cost,
        }


@dataclass(frozen=True)
class PatchRead:
    """A patch and what reading it cost: bytes received from storage nodes."""

    patch: Patch
    bytes_fetched: int
    columns: list[int]
    """Source columns (secondary slivers) fetched; empty when the whole blob was read."""


def group_files(
    sizes: Sequence[int], max_patches: int = MAX_PATCHES, max_bytes: int = DEFAULT_MAX_QUILT_BYTES
) -> list[list[int]]:
    """Indices of files (in the given order) grouped into quilts of at most `max_patches`
    files and, unless a group has one file, at most `max_bytes` of records."""
    groups: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index, size in enumerate(sizes):
        if current and (len(current) >= max_patches or current_bytes + size > max_bytes):
            groups.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        groups.append(current)
    return groups


def check_unique(identifiers: Sequence[str]) -> None:
    seen: set[str] = set()
    for identifier in identifiers:
        if identifier in seen:
            raise DuplicateIdentifier(f"identifier {identifier!r} appears twice")
        seen.add(identifier)


class QuiltClient:
    """Quilt operations over a `Client`. Verified metadata and parsed indexes are cached
    per quilt blob id (content-addressed, so they never change)."""

    def __init__(self, client: Client, *, max_quilt_bytes: int = DEFAULT_MAX_QUILT_BYTES) -> None:
        self.client = client
        self.max_quilt_bytes = max_quilt_bytes
        self._lock = threading.Lock()
        self._metadata: OrderedDict[BlobId, VerifiedMetadata] = OrderedDict()
        self._indexes: OrderedDict[BlobId, list[PatchEntry]] = OrderedDict()

    # ------------------------------------------------------------ store

    def store_quilt(
        self,
        files: Sequence[QuiltFile],
        *,
        epochs: int = 1,
        deletable: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> QuiltStoreResult:
        """Store `files` (1 to 666, unique identifiers) as one quilt blob."""
        layout = build_quilt(files, self.client.n_shards)
        result = self.client.store(
            layout.blob, epochs=epochs, deletable=deletable, progress=progress
        )
        patches = [
            StoredPatch(
                entry.identifier,
                QuiltPatchId(result.blob_id, entry.start, entry.end),
                entry.data_length,
                entry.tags,
            )
            for entry in layout.patches
        ]
        return QuiltStoreResult(result, patches)

    def is_standalone(self, file: QuiltFile | tuple[str, Mapping[str, str], int]) -> bool:
        """Whether a file is larger than one quilt holds (`max_quilt_bytes`)."""
        if isinstance(file, QuiltFile):
            size = record_length(file)
        else:
            identifier, tags, data_size = file
            size = record_length(QuiltFile(identifier, b"", tags)) + data_size
        return size > self.max_quilt_bytes

    def check_storable(self, identifier: str, size: int) -> None:
        limit = EncodingParams(self.client.n_shards).max_blob_size
        if size > limit:
            raise FileTooLarge(
                f"{identifier} is {size} bytes; the largest blob this network stores is "
                f"{limit} bytes"
            )

    def store_files(
        self,
        files: Sequence[QuiltFile],
        *,
        epochs: int = 1,
        deletable: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> FilesStoreResult:
        """Store any number of files: groups of at most 666 (and `max_quilt_bytes`) per
        quilt; a file larger than a quilt's capacity becomes a blob of its own. Every file is
        checked before anything is stored."""
        check_unique([file.identifier for file in files])
        for file in files:
            self.check_storable(file.identifier, len(file.data))
        in_quilts = sorted(
            (file for file in files if not self.is_standalone(file)), key=lambda f: f.identifier
        )
        alone = [file for file in files if self.is_standalone(file)]
        groups = group_files([record_length(f) for f in in_quilts], max_bytes=self.max_quilt_bytes)
        for group in groups:
            check_files([in_quilts[i] for i in group])
        result = FilesStoreResult()
        done, total = 0, len(files)
        for group in groups:
            members = [in_quilts[i] for i in group]
            result.quilts.append(self.store_quilt(members, epochs=epochs, deletable=deletable))
            done += len(members)
            if progress is not None:
                progress("files", done, total)
        for file in alone:
            stored = self.client.store(file.data, epochs=epochs, deletable=deletable)
            result.standalone.append(StandaloneBlob(file.identifier, stored))
            done += 1
            if progress is not None:
                progress("files", done, total)
        return result

    # ------------------------------------------------------------ read

    def metadata(self, quilt_id: BlobId, view: EpochCommittee) -> VerifiedMetadata:
        with self._lock:
            cached = self._metadata.get(quilt_id)
        if cached is not None:
            return cached
        metadata = self.client._metadata(quilt_id, view)
        with self._lock:
            self._metadata[quilt_id] = metadata
            while len(self._metadata) > CACHED_QUILTS:
                self._metadata.popitem(last=False)
        return metadata

    def _columns(
        self,
        quilt_id: BlobId,
        metadata: VerifiedMetadata,
        view: EpochCommittee,
        columns: Sequence[int],
        pool: futures.ThreadPoolExecutor,
    ) -> tuple[dict[int, bytes], int]:
        """Verified secondary slivers `columns` (= source columns) and the bytes received."""
        n = metadata.n_shards

        def fetch(column: int) -> tuple[bytes, int]:
            pair = pair_index_of_secondary(column, n)
            node = self.client.node(view.assignment[shard_of_pair(quilt_id, pair, n)])
            wire = node.get_sliver(quilt_id, pair, SliverKind.SECONDARY)
            try:
                sliver = UnverifiedSliver.from_bytes(wire)
                if sliver.kind is not SliverKind.SECONDARY or sliver.index != column:
                    raise NodeRequestFailed(node.name, f"sent another sliver than column {column}")
                return verify_sliver(metadata, sliver).data, len(wire)
            except CoreError as error:
                raise NodeRequestFailed(node.name, f"invalid column {column}: {error}") from None

        results = dict(zip(columns, pool.map(fetch, columns), strict=True))
        return {c: data for c, (data, _) in results.items()}, sum(r[1] for r in results.values())

    def _read_range(self, quilt_id: BlobId, start: int, end: int) -> tuple[bytes, int, list[int]]:
        """Stream bytes [start, end) of a quilt, the bytes fetched and the columns fetched.
        Falls back to reading the whole blob when a column cannot be fetched."""
        view = self.client.epochs.committee()
        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            readable = pool.submit(self.client.check_readable, quilt_id)
            had_metadata = quilt_id in self._metadata
            try:
                metadata = self.metadata(quilt_id, view)
            except SdkError:
                readable.result()  # the chain's reason (not found, deleted...) comes first
                raise
            fetched = 0 if had_metadata else 11 + 64 * metadata.n_shards
            params = metadata.params
            symbol = metadata.symbol_size
            wanted = columns_of_range(params, symbol, start, end)
            missing = list(wanted)
            try:
                have, received = self._columns(quilt_id, metadata, view, missing, pool)
            except NodeRequestFailed:
                readable.result()
                blob = self.client.read(quilt_id)
                stream = stream_of_blob(blob, metadata.n_shards)
                return stream[start:end], fetched + len(blob), []
            readable.result()
        column_bytes = params.p * symbol
        joined = b"".join(have[c] for c in wanted)
        offset = start - wanted.start * column_bytes
        return joined[offset : offset + end - start], fetched + received, missing

    def read_patch(self, patch_id: QuiltPatchId | str) -> PatchRead:
        """One patch by its id, from the columns holding it."""
        parsed = patch_id if isinstance(patch_id, QuiltPatchId) else QuiltPatchId.parse(patch_id)
        record, fetched, columns = self._read_range(parsed.quilt_id, parsed.start, parsed.end)
        return PatchRead(parse_record(record), fetched, columns)

    def list_patches(self, quilt_id: BlobId) -> list[PatchEntry]:
        """The quilt's index: every patch's identifier, tags, size and byte range."""
        with self._lock:
            cached = self._indexes.get(quilt_id)
        if cached is not None:
            return cached
        view = self.client.epochs.committee()
        try:
            metadata = self.metadata(quilt_id, view)
        except SdkError:
            self.client.check_readable(quilt_id)  # the chain's reason (not found, deleted...)
            raise
        first_column = metadata.params.p * metadata.symbol_size
        head, _, _ = self._read_range(quilt_id, 0, first_column)
        length = index_length(head)
        if length > len(head):
            head, _, _ = self._read_range(quilt_id, 0, length)
        entries = parse_index(head)
        with self._lock:
            self._indexes[quilt_id] = entries
            while len(self._indexes) > CACHED_QUILTS:
                self._indexes.popitem(last=False)
        return entries

    def patch_ids(self, quilt_id: BlobId) -> list[tuple[PatchEntry, QuiltPatchId]]:
        return [(e, QuiltPatchId(quilt_id, e.start, e.end)) for e in self.list_patches(quilt_id)]

    def read_by_identifier(self, quilt_id: BlobId, identifier: str) -> PatchRead:
        (entry,) = find_patch(self.list_patches(quilt_id), identifier=identifier)
        return self.read_patch(QuiltPatchId(quilt_id, entry.start, entry.end))

    def read_by_tag(self, quilt_id: BlobId, key: str, value: str) -> list[PatchRead]:
        entries = find_patch(self.list_patches(quilt_id), tag=(key, value))
        return [self.read_patch(QuiltPatchId(quilt_id, e.start, e.end)) for e in entries]
