"""Metadata serialization, blob ids and their text form, and metadata verification."""

import hashlib
import random
import struct

import pytest

from backend.core.blob_id import BlobId, compute_blob_id
from backend.core.encoder import encode_blob
from backend.core.encoding_types import EncodingType
from backend.core.errors import InvalidBlobId, MalformedMetadata, MetadataMismatch
from backend.core.merkle import leaf_hash, merkle_root
from backend.core.metadata import (
    BlobMetadata,
    UnverifiedMetadata,
    VerifiedMetadata,
    verify_metadata,
)


def _encoded(n: int = 10, size: int = 999) -> tuple[bytes, BlobMetadata, BlobId]:
    data = random.Random(size).randbytes(size)
    encoded = encode_blob(data, n)
    return data, encoded.metadata.metadata, encoded.blob_id


def test_blob_id_follows_the_protocol_formula() -> None:
    data, metadata, blob_id = _encoded()
    pair_leaves = [
        leaf_hash(p + s)
        for p, s in zip(metadata.primary_hashes, metadata.secondary_hashes, strict=True)
    ]
    root = merkle_root(pair_leaves)
    expected = hashlib.sha256(
        bytes([metadata.encoding_type]) + len(data).to_bytes(8, "little") + root
    ).digest()
    assert blob_id.raw == expected
    assert compute_blob_id(metadata.encoding_type, len(data), root) == blob_id


def test_canonical_bytes_round_trip_and_layout() -> None:
    _, metadata, _ = _encoded(n=7)
    raw = metadata.to_bytes()
    assert len(raw) == 11 + 64 * 7
    assert raw[:11] == struct.pack("<BQH", metadata.encoding_type, 999, 7)
    assert raw[11:43] == metadata.primary_hashes[0]
    assert raw[43:75] == metadata.secondary_hashes[0]
    assert BlobMetadata.from_bytes(raw) == metadata


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw[:5], "at least 11 bytes"),
        (lambda raw: raw[:-1], "is 459 bytes, got 458"),
        (lambda raw: raw + b"\x00", "is 459 bytes, got 460"),
        (lambda raw: b"\x09" + raw[1:], "unknown encoding type 9"),
        (lambda raw: raw[:9] + struct.pack("<H", 3) + raw[11 : 11 + 192], "got n = 3"),
        (lambda raw: raw[:1] + struct.pack("<Q", 2**63) + raw[9:], "exceeds the maximum"),
    ],
)
def test_malformed_metadata_bytes_are_rejected_precisely(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    _, metadata, _ = _encoded(n=7)
    with pytest.raises(MalformedMetadata, match=message):
        BlobMetadata.from_bytes(mutate(metadata.to_bytes()))


def test_zfec_metadata_for_more_than_256_shards_is_malformed() -> None:
    header = struct.pack("<BQH", EncodingType.RS_GF256_ZFEC, 10, 257)
    with pytest.raises(MalformedMetadata, match="n <= 256 shards, got n = 257"):
        BlobMetadata.from_bytes(header + bytes(64 * 257))


def test_verify_metadata_accepts_the_right_id_and_rejects_tampering() -> None:
    _, metadata, blob_id = _encoded()
    verified = verify_metadata(blob_id, UnverifiedMetadata.from_bytes(metadata.to_bytes()))
    assert verified.blob_id == blob_id and verified.metadata == metadata
    raw = bytearray(metadata.to_bytes())
    raw[50] ^= 1
    with pytest.raises(MetadataMismatch, match=str(blob_id)):
        verify_metadata(blob_id, UnverifiedMetadata.from_bytes(bytes(raw)))
    raw = bytearray(metadata.to_bytes())
    raw[1] ^= 1  # the length is committed too
    with pytest.raises(MetadataMismatch):
        verify_metadata(blob_id, UnverifiedMetadata.from_bytes(bytes(raw)))


def test_verified_metadata_cannot_be_built_without_verification() -> None:
    _, metadata, blob_id = _encoded()
    with pytest.raises(TypeError, match="verify"):
        VerifiedMetadata(blob_id, metadata, object())


def test_blob_id_text_form_is_url_safe_base64_without_padding() -> None:
    _, _, blob_id = _encoded()
    text = blob_id.to_base64()
    assert len(text) == 43 and "=" not in text and "+" not in text and "/" not in text
    assert BlobId.from_base64(text) == blob_id
    assert str(blob_id) == text
    assert BlobId.from_hex(blob_id.hex()) == blob_id
    assert int(blob_id) == int.from_bytes(blob_id.raw, "big")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "43 characters"),
        ("A" * 42 + "=", "not URL-safe base64"),
        ("A" * 42 + "+", "not URL-safe base64"),
        ("A" * 42 + "B", "non-canonical"),
    ],
)
def test_bad_blob_id_text_is_rejected(text: str, message: str) -> None:
    with pytest.raises(InvalidBlobId, match=message):
        BlobId.from_base64(text)


def test_blob_id_must_be_32_bytes() -> None:
    with pytest.raises(InvalidBlobId, match="32 bytes, got 31"):
        BlobId(bytes(31))
    with pytest.raises(InvalidBlobId, match="not a hex"):
        BlobId.from_hex("0xzz")
