"""Blob metadata, its canonical bytes, and the unverified -> verified step.

Canonical serialization (little-endian), 11 + 64 n bytes:

    encoding_type:u8 || unencoded_length:u64 || n_shards:u16 ||
    n x (primary_hash_i:32 || secondary_hash_i:32)

The blob root is the Merkle root over the n leaves ``primary_hash_i || secondary_hash_i``
(the hashes of primary and secondary sliver i, same index). Metadata received from the
network is an `UnverifiedMetadata` until `verify_metadata` checks it against a blob id.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from backend.core._seal import SEAL, check_seal
from backend.core.blob_id import BlobId, compute_blob_id
from backend.core.encoding_types import EncodingType, check_shard_count, encoding_type_from_byte
from backend.core.errors import CoreError, MalformedMetadata, MetadataMismatch
from backend.core.merkle import HASH_SIZE, leaf_hash, merkle_root
from backend.core.params import EncodingParams

_HEADER = struct.Struct("<BQH")


@dataclass(frozen=True)
class BlobMetadata:
    """What a blob id commits to: code, length, and the hash of every sliver."""

    encoding_type: EncodingType
    unencoded_length: int
    primary_hashes: tuple[bytes, ...]
    secondary_hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        n = len(self.primary_hashes)
        if len(self.secondary_hashes) != n:
            raise MalformedMetadata(
                f"{n} primary hashes but {len(self.secondary_hashes)} secondary hashes"
            )
        try:
            check_shard_count(self.encoding_type, n)
            self.params.symbol_size(self.unencoded_length)
        except CoreError as exc:
            raise MalformedMetadata(str(exc)) from None
        for h in (*self.primary_hashes, *self.secondary_hashes):
            if len(h) != HASH_SIZE:
                raise MalformedMetadata(f"a sliver hash is {HASH_SIZE} bytes, got {len(h)}")

    @property
    def n_shards(self) -> int:
        return len(self.primary_hashes)

    @property
    def params(self) -> EncodingParams:
        return EncodingParams(self.n_shards)

    @property
    def symbol_size(self) -> int:
        return self.params.symbol_size(self.unencoded_length)

    def root_hash(self) -> bytes:
        leaves = [
            leaf_hash(p + s)
            for p, s in zip(self.primary_hashes, self.secondary_hashes, strict=True)
        ]
        return merkle_root(leaves)

    def blob_id(self) -> BlobId:
        return compute_blob_id(self.encoding_type, self.unencoded_length, self.root_hash())

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(self.encoding_type, self.unencoded_length, self.n_shards)
        pairs = (p + s for p, s in zip(self.primary_hashes, self.secondary_hashes, strict=True))
        return header + b"".join(pairs)

    @classmethod
    def from_bytes(cls, raw: bytes) -> BlobMetadata:
        """Parse canonical bytes; any deviation raises `MalformedMetadata`."""
        if len(raw) < _HEADER.size:
            raise MalformedMetadata(
                f"metadata is at least {_HEADER.size} bytes, got {len(raw)} bytes"
            )
        type_byte, length, n = _HEADER.unpack_from(raw)
        try:
            encoding_type = encoding_type_from_byte(type_byte)
        except CoreError as exc:
            raise MalformedMetadata(str(exc)) from None
        expected = _HEADER.size + 2 * HASH_SIZE * n
        if len(raw) != expected:
            raise MalformedMetadata(
                f"metadata for n = {n} shards is {expected} bytes, got {len(raw)} bytes"
            )
        body = raw[_HEADER.size :]
        step = 2 * HASH_SIZE
        primary = tuple(body[i : i + HASH_SIZE] for i in range(0, len(body), step))
        secondary = tuple(body[i + HASH_SIZE : i + step] for i in range(0, len(body), step))
        return cls(encoding_type, length, primary, secondary)


@dataclass(frozen=True)
class UnverifiedMetadata:
    """Metadata as received from someone else; not yet checked against a blob id."""

    metadata: BlobMetadata

    @classmethod
    def from_bytes(cls, raw: bytes) -> UnverifiedMetadata:
        return cls(BlobMetadata.from_bytes(raw))


@dataclass(frozen=True)
class VerifiedMetadata:
    """Metadata known to hash to `blob_id`. Built only by `verify_metadata` and the encoder."""

    blob_id: BlobId
    metadata: BlobMetadata
    _seal: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        check_seal(self._seal, "VerifiedMetadata")

    @property
    def encoding_type(self) -> EncodingType:
        return self.metadata.encoding_type

    @property
    def unencoded_length(self) -> int:
        return self.metadata.unencoded_length

    @property
    def n_shards(self) -> int:
        return self.metadata.n_shards

    @property
    def params(self) -> EncodingParams:
        return self.metadata.params

    @property
    def symbol_size(self) -> int:
        return self.metadata.symbol_size

    def to_bytes(self) -> bytes:
        return self.metadata.to_bytes()


def verify_metadata(blob_id: BlobId, unverified: UnverifiedMetadata) -> VerifiedMetadata:
    """Check that the metadata hashes to `blob_id`; raise `MetadataMismatch` if not."""
    actual = unverified.metadata.blob_id()
    if actual != blob_id:
        raise MetadataMismatch(f"metadata hashes to blob id {actual}, not to {blob_id}")
    return VerifiedMetadata(blob_id, unverified.metadata, SEAL)
