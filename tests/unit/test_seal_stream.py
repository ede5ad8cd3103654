"""Seal version-2 segmented AEAD (STREAM): round trips, segment tampering, and the
committed version-1 and version-2 vectors (the TypeScript port checks the same bytes)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings

from backend.core.seal.envelope import X25519KeyPair, decrypt_blob, encrypt_blob, open_share
from backend.core.seal.errors import MalformedSealHeader, SealTampered
from backend.core.seal.header import (
    FIXED_SIZE_V1,
    FIXED_SIZE_V2,
    TAG_SIZE,
    VERSION_SINGLE,
    VERSION_STREAM,
    parse_header,
)
from backend.core.seal.shamir import Share, combine_shares
from backend.core.seal.stream import PARALLEL_FROM_SEGMENTS, plaintext_size, segment_nonce

POLICY = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
IDENTITY = bytes(range(32))
SEGMENT = 64
VECTOR_SERVERS = [
    X25519KeyPair.from_private(hashlib.sha256(b"walrus-seal-v1-vector-server-%d" % i).digest())
    for i in range(3)
]
V1_PLAINTEXT = b"version-1 Seal blob made by the pre-segmentation encoder (commit 5d4a2b3)"
V1_BLOB = bytes.fromhex(
    "5753454c01010000000000007a695fbdb2315678afecb367f032d93f642f64180aa300010203040506070809"
    "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0203f700b61350bf4da4bedc9cfe69389f6e9629c78c"
    "8699f32a5b0184f7ff7f0a2ad2310b1cc0951612d1e187d8c0edf4f4f5d0db02089c43f6f88e39cac88d514c"
    "0645c7a7e5a55d3755e5530faf7fa57e39373cc2bb57b232e911a82ade25efc73c544a268bc3cbf6ea1c5c70"
    "6bc92abf749e76cb3dc93b327c1d38441415157f5be61d5c8401e2c9bfd037704447fb034db95dd75ea57155"
    "ef0e723ab5e28bad052f947df82916657e5f5bf4067166c4e47c974d0cc1a3953f6a1e2def0a537126432a1c"
    "b035a8a239c9d9ccf42639080a546147dc42b2fd4111e020b893bac80c363fefbcae34f9386ce146ac525e18"
    "82b94cdcb406776245f983f64f1a469d1dd58ae147709b233ad2dc7932946ed5a239dc3ca32c841eed4f58fd"
    "3cd72669c445addc43a69d7b78705f65522b41729540b7920d3de0aae04da57a5cec7c29f06971f69cbc6dfc"
    "7ec38e79af1fc1e1805b05e5cd2134d21123e6367e5d685851a4b5c0774330442cdfdeaddd2c591ae2544a79"
    "558b610c2d988d1664889645e9"
)
"""Made by encrypt_blob at commit 5d4a2b3 (one AEAD pass), 2-of-3 to VECTOR_SERVERS."""
V2_PLAINTEXT = (
    b"version-2 Seal blob: three 64-byte segments, the last one shorter. " * 2 + b"0123456789abcdef"
)
V2_BLOB = bytes.fromhex(
    "5753454c02010000000000007a695fbdb2315678afecb367f032d93f642f64180aa300010203040506070809"
    "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f02035da71497a2da87db53d0c4bfac3dbfefbb33db79"
    "3b1a977dec0e7f863cd6835de79fd6d788213595ddb3f80be5a507e6c7f70d00000040f88e39cac88d514c06"
    "45c7a7e5a55d3755e5530faf7fa57e39373cc2bb57b2327afbc8c90f7a380018a95a404e5cfce52e0bc8b803"
    "019052753753696f40f7b1fbe50daa44455c522529cabdbc32e488bfd037704447fb034db95dd75ea57155ef"
    "0e723ab5e28bad052f947df8291665709f0dcc5dab4d59d5bebef8ea036fa5fca654ce8f2323e689effa4fc3"
    "5a92071a79bcbafc5ffb91b5215abbb73405254111e020b893bac80c363fefbcae34f9386ce146ac525e1882"
    "b94cdcb4067762cca67b029433502cea851c68158d66d9a2ea50b8015fc029d42904f2a0f1e6930a5212e5b0"
    "424673cad9dc6e641f08bd5b32232cb0460dcf53cb52bd5c9bd3df016b14182b1e3a96ce5cf3065a2c72a5e5"
    "ffecb924519de2604712f7801f449c92d7da46a731bc00c58be1958661671cb41694f4ac20d5c5bc0504360a"
    "3a5e5d856685427e1b4854550fb301df6eff9784b2b34fbe4fa6ddd62669f4e3661241d9b22f4da4667449fa"
    "ca7a40723a92fe3983eca0016d2a8dddefdcf85a4aabfaa7ed28edcffb89ba0eebfc65dd099a94f8f6b7e919"
    "3cd95e7b38b7b19f29c05632e70832dd69afe84aca6a628bb20f6bd0fcbc9f2f81"
)
"""Made by the version-2 encrypt_blob with 64-byte segments, 2-of-3 to VECTOR_SERVERS."""


def _shares(blob: bytes, servers: list[X25519KeyPair]) -> list[Share]:
    header = parse_header(blob)
    return [open_share(header, server) for server in servers]


def _servers() -> list[X25519KeyPair]:
    return [X25519KeyPair.generate() for _ in range(3)]


def _sealed(plaintext: bytes, servers: list[X25519KeyPair], segment_size: int = SEGMENT) -> bytes:
    return encrypt_blob(
        plaintext,
        chain_id=31337,
        policy=POLICY,
        identity=IDENTITY,
        server_public_keys=[s.public_key for s in servers],
        threshold=2,
        segment_size=segment_size,
    )


def _segments(blob: bytes) -> tuple[bytes, list[bytes]]:
    header = parse_header(blob)
    body = blob[header.size :]
    step = header.segment_size + TAG_SIZE
    return blob[: header.size], [body[at : at + step] for at in range(0, len(body), step)]


def test_version_1_vector_still_decrypts() -> None:
    header = parse_header(V1_BLOB)
    assert header.version == VERSION_SINGLE and header.size == FIXED_SIZE_V1 + 3 * 80
    assert decrypt_blob(V1_BLOB, _shares(V1_BLOB, VECTOR_SERVERS[1:])) == V1_PLAINTEXT
    altered = bytearray(V1_BLOB)
    altered[-1] ^= 1
    with pytest.raises(SealTampered):
        decrypt_blob(bytes(altered), _shares(V1_BLOB, VECTOR_SERVERS[:2]))


def test_version_2_vector_layout_matches_the_documented_bytes() -> None:
    """An independent decoder of docs/seal.md's layout (nacl.bindings, one call per segment)
    opens the committed vector: the spec, not just this implementation, is pinned."""
    header = parse_header(V2_BLOB)
    assert header.version == VERSION_STREAM and header.segment_size == SEGMENT
    assert header.size == FIXED_SIZE_V2 + 3 * 80 == 363
    assert V2_BLOB[4] == 2 and V2_BLOB[100:119] == header.nonce
    assert int.from_bytes(V2_BLOB[119:123], "big") == SEGMENT
    key = combine_shares(_shares(V2_BLOB, VECTOR_SERVERS[:2]))
    head, segments = _segments(V2_BLOB)
    assert [len(s) for s in segments] == [80, 80, 22 + TAG_SIZE]
    opened = b"".join(
        bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            segment,
            head,
            header.nonce + index.to_bytes(4, "big") + bytes([index == len(segments) - 1]),
            key,
        )
        for index, segment in enumerate(segments)
    )
    assert opened == V2_PLAINTEXT
    assert decrypt_blob(V2_BLOB, _shares(V2_BLOB, VECTOR_SERVERS[::2])) == V2_PLAINTEXT


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 20 * 64 + 1) | st.sampled_from([0, 1, 63, 64, 65, 128, 640]),
    segment_size=st.sampled_from([64, 100, 4096]),
)
def test_any_size_round_trips(size: int, segment_size: int) -> None:
    servers = _servers()
    plaintext = bytes((i * 7 + 3) % 251 for i in range(size))
    blob = _sealed(plaintext, servers, segment_size)
    header = parse_header(blob)
    segments = max(1, -(-size // segment_size))
    assert len(blob) == header.size + size + TAG_SIZE * segments
    assert plaintext_size(len(blob) - header.size, segment_size) == size
    assert decrypt_blob(blob, _shares(blob, servers[1:])) == plaintext


def test_nonces_differ_by_index_and_last_flag() -> None:
    prefix = bytes(19)
    nonces = {segment_nonce(prefix, i, last) for i in range(4) for last in (False, True)}
    assert len(nonces) == 8 and all(len(n) == 24 for n in nonces)


_MANY = bytes(range(256)) * 5  # 20 segments of 64 bytes: the parallel path
assert len(_MANY) // SEGMENT >= PARALLEL_FROM_SEGMENTS
_MANY_SERVERS = _servers()
_MANY_BLOB = _sealed(_MANY, _MANY_SERVERS)
_MANY_HEADER = parse_header(_MANY_BLOB).size
_MANY_SHARES = _shares(_MANY_BLOB, _MANY_SERVERS[:2])


def _rebuilt(blob: bytes, change: str) -> bytes:
    head, segments = _segments(blob)
    if change == "swap":
        segments[3], segments[7] = segments[7], segments[3]
    elif change == "duplicate":
        segments.insert(5, segments[4])
    elif change == "drop_middle":
        del segments[9]
    elif change == "drop_last":
        segments.pop()
    elif change == "truncate_at_boundary":
        segments = segments[:10]
    elif change == "append_copy":
        segments.append(segments[-1])
    elif change == "append_other":
        segments.append(segments[0])
    elif change == "move_last_first":
        segments.insert(0, segments.pop())
    elif change == "cut_inside_tag":
        segments[-1] = segments[-1][:-5]
    elif change == "append_tag_only":
        segments.append(bytes(TAG_SIZE))
    elif change == "empty_body":
        segments = []
    return head + b"".join(segments)


@pytest.mark.parametrize(
    "change",
    [
        "swap",
        "duplicate",
        "drop_middle",
        "drop_last",
        "truncate_at_boundary",
        "append_copy",
        "append_other",
        "move_last_first",
        "cut_inside_tag",
        "append_tag_only",
        "empty_body",
    ],
)
def test_segment_reordering_and_truncation_are_tampering(change: str) -> None:
    servers = _servers()
    blob = _sealed(_MANY, servers)
    shares = _shares(blob, servers[:2])
    with pytest.raises(SealTampered):
        decrypt_blob(_rebuilt(blob, change), shares)


def test_segment_from_another_blob_with_the_same_key_is_refused() -> None:
    """Header (nonce prefix) binding: a segment moved between two blobs fails."""
    servers = _servers()
    first, second = _sealed(_MANY, servers), _sealed(_MANY, servers)
    head, segments = _segments(first)
    _, others = _segments(second)
    segments[2] = others[2]
    with pytest.raises(SealTampered):
        decrypt_blob(head + b"".join(segments), _shares(first, servers[:2]))


@settings(max_examples=40, deadline=None)
@given(position=st.integers(0, 20 * (SEGMENT + TAG_SIZE) - 1), bit=st.integers(0, 7))
def test_any_flipped_ciphertext_bit_is_tampering(position: int, bit: int) -> None:
    blob = bytearray(_MANY_BLOB)
    blob[_MANY_HEADER + position] ^= 1 << bit
    with pytest.raises(SealTampered, match="segment"):
        decrypt_blob(bytes(blob), _MANY_SHARES)


def test_header_fields_are_bound_to_every_segment() -> None:
    for position in (5 + 3, 100, 118, 121):  # chain id, nonce prefix, segment size
        blob = bytearray(_MANY_BLOB)
        blob[position] ^= 1
        with pytest.raises((SealTampered, MalformedSealHeader)):
            decrypt_blob(bytes(blob), _MANY_SHARES)


def test_segment_size_outside_the_range_is_malformed() -> None:
    for segment_size in (0, 63, (1 << 24) + 1):
        blob = bytearray(_MANY_BLOB)
        blob[119:123] = segment_size.to_bytes(4, "big")
        with pytest.raises(MalformedSealHeader, match="segment size"):
            parse_header(bytes(blob))


def test_decrypt_accepts_a_memoryview_and_returns_bytes() -> None:
    """Outputs are bytes objects filled in place: equal, hashable, independent of the input."""
    plaintext = decrypt_blob(memoryview(_MANY_BLOB), _MANY_SHARES)
    assert type(plaintext) is bytes and plaintext == _MANY and hash(plaintext) == hash(_MANY)
    again = decrypt_blob(bytearray(_MANY_BLOB), _MANY_SHARES)
    assert again == plaintext and again is not plaintext
    servers = _servers()
    empty = _sealed(b"", servers)
    assert len(empty) == parse_header(empty).size + TAG_SIZE
    assert decrypt_blob(empty, _shares(empty, servers[:2])) == b""
