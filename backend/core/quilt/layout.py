"""Quilt layout (format version 1): many small files in one blob, each readable alone.

The quilt is a byte *stream* written column by column into the blob's p x s source matrix
of symbols (DESIGN.md §3): stream byte b is byte b % S of symbol k = b // S, which sits at
row k % p, column k // p. Column j of the source matrix is exactly secondary sliver j
(j < s, systematic), so a byte range of the stream is a contiguous range of columns, and a
reader fetches only the secondary slivers of those columns.

Stream = index, then one record per patch, back to back, then zero padding:

    index  = "WQLT" || version:u8 (=1) || index_length:u32 || patch_count:u16
             || patch_count x entry
    entry  = start:u64 || end:u64 || record
    record = version:u8 (=1) || data_length:u64 || identifier_length:u16 || identifier (UTF-8)
             || tags_length:u32 || tags (JSON object of strings, sorted keys, compact) || data

(all integers little-endian; start/end: the record's half-open byte range in the stream).
Entries repeat each patch's header (the record minus its data), sorted by identifier; so
the index alone lists identifiers and tags, and a patch id (quilt id + byte range) alone
reads a patch. The blob is padded to exactly p * s * S bytes, so the symbol size S that
the metadata implies is the one the layout used.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from backend.core.params import EncodingParams
from backend.core.quilt.errors import (
    DuplicateIdentifier,
    InvalidIdentifier,
    InvalidTags,
    MalformedQuilt,
    PatchNotFound,
    QuiltTooLarge,
    TooManyPatches,
)

QUILT_MAGIC = b"WQLT"
QUILT_VERSION = 1
MAX_PATCHES = 666
"""Files per quilt, as Walrus (there: s - 1 columns at n = 1000; here at any n)."""
MAX_IDENTIFIER_BYTES = 1024
MAX_TAGS_BYTES = 64 * 1024
_INDEX_HEADER = struct.Struct("<4sBIH")
_RANGE = struct.Struct("<QQ")
_RECORD_FIXED = struct.Struct("<BQH")
_TAGS_LENGTH = struct.Struct("<I")
INDEX_HEADER_BYTES = _INDEX_HEADER.size


@dataclass(frozen=True)
class QuiltFile:
    """One file to put in a quilt: its identifier (unique in the quilt), tags, bytes."""

    identifier: str
    data: bytes
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PatchEntry:
    """One patch as the index describes it (everything but the data)."""

    identifier: str
    tags: dict[str, str]
    data_length: int
    start: int
    end: int
    """Half-open byte range of the patch's record in the quilt stream."""

    def to_json(self) -> dict[str, object]:
        return {
            "identifier": self.identifier,
            "tags": dict(self.tags),
            "size": self.data_length,
            "range": [self.start, self.end],
        }


@dataclass(frozen=True)
class QuiltLayout:
    """A built quilt: the blob bytes to store, and its index."""

    blob: bytes
    symbol_size: int
    stream_length: int
    """Index plus records, without the padding."""
    patches: list[PatchEntry]


def _identifier_bytes(identifier: str) -> bytes:
    if not isinstance(identifier, str) or not identifier:
        raise InvalidIdentifier(
            f"a patch identifier must be a non-empty string, got {identifier!r}"
        )
    encoded = identifier.encode("utf-8")
    if len(encoded) > MAX_IDENTIFIER_BYTES:
        raise InvalidIdentifier(
            f"identifier {identifier[:40]!r}... is {len(encoded)} bytes; the limit is "
            f"{MAX_IDENTIFIER_BYTES} bytes of UTF-8"
        )
    return encoded


def _tags_bytes(identifier: str, tags: Mapping[str, str]) -> bytes:
    if not all(isinstance(k, str) and k and isinstance(v, str) for k, v in tags.items()):
        raise InvalidTags(f"tags of {identifier!r} must map non-empty strings to strings")
    encoded = json.dumps(dict(tags), sort_keys=True, separators=(",", ":")).encode("utf-8")
    if len(encoded) > MAX_TAGS_BYTES:
        raise InvalidTags(
            f"tags of {identifier!r} take {len(encoded)} bytes; the limit is {MAX_TAGS_BYTES}"
        )
    return encoded


def _header(identifier: bytes, tags: bytes, data_length: int) -> bytes:
    return (
        _RECORD_FIXED.pack(QUILT_VERSION, data_length, len(identifier))
        + identifier
        + _TAGS_LENGTH.pack(len(tags))
        + tags
    )


def check_files(files: Sequence[QuiltFile]) -> None:
    """Raise the first reason `files` cannot form one quilt (count, identifiers, tags)."""
    if not files:
        raise TooManyPatches("a quilt needs at least one file")
    if len(files) > MAX_PATCHES:
        raise TooManyPatches(
            f"a quilt holds at most {MAX_PATCHES} files, got {len(files)} "
            f"(store them as several quilts)"
        )
    seen: set[str] = set()
    for file in files:
        _identifier_bytes(file.identifier)
        _tags_bytes(file.identifier, file.tags)
        if file.identifier in seen:
            raise DuplicateIdentifier(f"identifier {file.identifier!r} appears twice in the quilt")
        seen.add(file.identifier)


def record_length(file: QuiltFile) -> int:
    """Bytes the file's record takes in the stream (its index entry adds 16 + header)."""
    identifier = _identifier_bytes(file.identifier)
    return (
        _RECORD_FIXED.size
        + len(identifier)
        + 4
        + len(_tags_bytes(file.identifier, file.tags))
        + len(file.data)
    )


def quilt_stream_length(files: Sequence[QuiltFile]) -> int:
    """Index plus records, before padding: what the quilt's symbol size is chosen for."""
    total = INDEX_HEADER_BYTES
    for file in files:
        header = record_length(file) - len(file.data)
        total += _RANGE.size + header + record_length(file)
    return total


def planned_blob_length(n_shards: int, files: Sequence[tuple[str, Mapping[str, str], int]]) -> int:
    """Length of the quilt blob that (identifier, tags, data size) files would give, without
    their data: what a batch pays for before reading any file."""
    params = EncodingParams(n_shards)
    stream = INDEX_HEADER_BYTES
    for identifier, tags, size in files:
        header = _header(_identifier_bytes(identifier), _tags_bytes(identifier, tags), size)
        stream += _RANGE.size + 2 * len(header) + size
    if stream > params.max_blob_size:
        raise QuiltTooLarge(
            f"the quilt would take {stream} bytes; one blob holds at most "
            f"{params.max_blob_size} bytes for n = {n_shards} shards"
        )
    symbol = max(params.symbol_size(stream), min_symbol_size(params))
    return params.p * params.s * symbol


def min_symbol_size(params: EncodingParams) -> int:
    """Smallest symbol size whose first column holds the index header."""
    needed = -(-INDEX_HEADER_BYTES // params.p)
    return max(2, needed + needed % 2)


def build_quilt(files: Sequence[QuiltFile], n_shards: int) -> QuiltLayout:
    """Lay `files` out as one quilt blob for `n_shards` shards (order: by identifier)."""
    check_files(files)
    params = EncodingParams(n_shards)
    ordered = sorted(files, key=lambda file: file.identifier)
    headers = [
        _header(
            _identifier_bytes(file.identifier),
            _tags_bytes(file.identifier, file.tags),
            len(file.data),
        )
        for file in ordered
    ]
    index_length = INDEX_HEADER_BYTES + sum(_RANGE.size + len(h) for h in headers)
    stream_length = index_length + sum(
        len(h) + len(file.data) for h, file in zip(headers, ordered, strict=True)
    )
    capacity = params.max_blob_size
    if stream_length > capacity:
        raise QuiltTooLarge(
            f"the quilt would take {stream_length} bytes; one blob holds at most {capacity} "
            f"bytes for n = {n_shards} shards"
        )
    symbol = max(params.symbol_size(stream_length), min_symbol_size(params))
    stream = np.zeros(params.p * params.s * symbol, dtype=np.uint8)
    entries: list[PatchEntry] = []
    index = bytearray(_INDEX_HEADER.pack(QUILT_MAGIC, QUILT_VERSION, index_length, len(ordered)))
    offset = index_length
    for header, file in zip(headers, ordered, strict=True):
        end = offset + len(header) + len(file.data)
        stream[offset : offset + len(header)] = np.frombuffer(header, dtype=np.uint8)
        stream[offset + len(header) : end] = np.frombuffer(file.data, dtype=np.uint8)
        index += _RANGE.pack(offset, end) + header
        entries.append(PatchEntry(file.identifier, dict(file.tags), len(file.data), offset, end))
        offset = end
    stream[:index_length] = np.frombuffer(bytes(index), dtype=np.uint8)
    # stream order is column-major; the encoder reads the blob row-major
    blob = stream.reshape(params.s, params.p, symbol).transpose(1, 0, 2).tobytes()
    return QuiltLayout(blob, symbol, stream_length, entries)


# ---------------------------------------------------------------- reading


def column_size(params: EncodingParams, symbol_size: int) -> int:
    """Bytes of one source column (= one secondary sliver): p symbols."""
    return params.p * symbol_size


def columns_of_range(params: EncodingParams, symbol_size: int, start: int, end: int) -> range:
    """The source columns (secondary sliver indices) that hold stream bytes [start, end)."""
    size = column_size(params, symbol_size)
    if not 0 <= start < end <= size * params.s:
        raise MalformedQuilt(
            f"byte range [{start}, {end}) lies outside the quilt's {size * params.s} bytes"
        )
    return range(start // size, (end - 1) // size + 1)


def stream_of_blob(blob: bytes, n_shards: int) -> bytes:
    """The column-major stream of a whole decoded quilt blob."""
    params = EncodingParams(n_shards)
    symbol = params.symbol_size(len(blob))
    if len(blob) != params.p * params.s * symbol:
        raise MalformedQuilt(f"a quilt blob is p * s * S bytes; {len(blob)} is not")
    matrix = np.frombuffer(blob, dtype=np.uint8).reshape(params.p, params.s, symbol)
    return matrix.transpose(1, 0, 2).tobytes()


def index_length(first_bytes: bytes) -> int:
    """The index's total length, from (at least) its first INDEX_HEADER_BYTES bytes."""
    if len(first_bytes) < INDEX_HEADER_BYTES:
        raise MalformedQuilt("the quilt is too short to hold an index header")
    magic, version, length, _ = _INDEX_HEADER.unpack_from(first_bytes)
    if magic != QUILT_MAGIC:
        raise MalformedQuilt("this blob is not a quilt (no quilt index at its start)")
    if version != QUILT_VERSION:
        raise MalformedQuilt(f"unknown quilt version {version} (this client reads {QUILT_VERSION})")
    if length < INDEX_HEADER_BYTES:
        raise MalformedQuilt(f"quilt index length {length} is shorter than its header")
    return int(length)


def _parse_header(raw: bytes, at: int) -> tuple[str, dict[str, str], int, int]:
    """(identifier, tags, data length, offset after the header) of the header at `at`."""
    try:
        version, data_length, id_length = _RECORD_FIXED.unpack_from(raw, at)
        if version != QUILT_VERSION:
            raise MalformedQuilt(f"unknown quilt patch version {version}")
        at += _RECORD_FIXED.size
        identifier = raw[at : at + id_length].decode("utf-8")
        at += id_length
        (tags_length,) = _TAGS_LENGTH.unpack_from(raw, at)
        at += _TAGS_LENGTH.size
        tags_raw = raw[at : at + tags_length]
        if len(tags_raw) != tags_length or len(identifier.encode()) != id_length:
            raise MalformedQuilt("a quilt patch header runs past its bytes")
        tags = json.loads(tags_raw)
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedQuilt(f"unreadable quilt patch header: {error}") from None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise MalformedQuilt("quilt patch tags are not a JSON object of strings")
    return identifier, tags, int(data_length), at + tags_length


def parse_index(index: bytes) -> list[PatchEntry]:
    """The entries of a quilt index (bytes from the stream's start, at least its length)."""
    length = index_length(index)
    if len(index) < length:
        raise MalformedQuilt(f"the quilt index needs {length} bytes, got {len(index)}")
    _, _, _, count = _INDEX_HEADER.unpack_from(index)
    entries = []
    at = INDEX_HEADER_BYTES
    for _ in range(count):
        try:
            start, end = _RANGE.unpack_from(index, at)
        except struct.error:
            raise MalformedQuilt("the quilt index ends inside an entry") from None
        identifier, tags, data_length, at = _parse_header(index, at + _RANGE.size)
        if at > length or end <= start:
            raise MalformedQuilt("a quilt index entry runs past the index")
        entries.append(PatchEntry(identifier, tags, data_length, int(start), int(end)))
    return entries


@dataclass(frozen=True)
class Patch:
    """One file read back from a quilt."""

    identifier: str
    tags: dict[str, str]
    data: bytes


def parse_record(record: bytes) -> Patch:
    """A patch from its record bytes (exactly the patch id's byte range)."""
    identifier, tags, data_length, at = _parse_header(record, 0)
    if at + data_length != len(record):
        raise MalformedQuilt(
            f"patch {identifier!r} says {data_length} data bytes but its range holds "
            f"{len(record) - at}"
        )
    return Patch(identifier, tags, record[at:])


def find_patch(
    entries: Sequence[PatchEntry],
    identifier: str | None = None,
    tag: tuple[str, str] | None = None,
) -> list[PatchEntry]:
    """Entries with `identifier`, or every entry with tag key = value; PatchNotFound if none."""
    if identifier is not None:
        found = [entry for entry in entries if entry.identifier == identifier]
        what = f"identifier {identifier!r}"
    elif tag is not None:
        found = [entry for entry in entries if entry.tags.get(tag[0]) == tag[1]]
        what = f"tag {tag[0]}={tag[1]}"
    else:
        return list(entries)
    if not found:
        raise PatchNotFound(f"no patch of the quilt has {what}")
    return found
