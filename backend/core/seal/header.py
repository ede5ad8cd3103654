"""The Seal header that precedes the ciphertext in an encrypted blob (docs/seal.md).

Two versions, big-endian fixed-size fields::

    magic          4   b"WSEL"
    version        1   1 (one AEAD pass) or 2 (segmented STREAM AEAD, written since v2)
    aead           1   1 = XChaCha20-Poly1305 (IETF)
    chain_id       8   chain whose policy contract decides access
    policy        20   policy contract address
    id            32   identity passed to sealApprove(id, requester)
    threshold      1   t
    count          1   m (key servers), 1 <= t <= m
    ephemeral     32   X25519 public key the shares were encrypted with
    v1: nonce     24   nonce of the single content AEAD
    v2: prefix    19   random nonce prefix of every segment (segment nonce: prefix ||
                       u32 segment index || 1 if last else 0)
    v2: segment    4   plaintext bytes per segment (the last one may be shorter)
    m entries     80   key server X25519 public key (32) + encrypted share (32 + 16 tag)

The content AEAD authenticates the whole header as associated data (of every segment in
version 2), so changing any header byte makes decryption fail.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from backend.core.seal.errors import MalformedSealHeader

MAGIC: Final = b"WSEL"
VERSION_SINGLE: Final = 1
VERSION_STREAM: Final = 2
VERSION: Final = VERSION_STREAM
"""The version encryption writes; readers accept VERSION_SINGLE too."""
AEAD_XCHACHA20_POLY1305: Final = 1
KEY_SIZE: Final = 32
TAG_SIZE: Final = 16
NONCE_SIZE: Final = 24
NONCE_PREFIX_SIZE: Final = 19
DEFAULT_SEGMENT_SIZE: Final = 1 << 20
MIN_SEGMENT_SIZE: Final = 64
MAX_SEGMENT_SIZE: Final = 1 << 24
ENCRYPTED_SHARE_SIZE: Final = KEY_SIZE + TAG_SIZE
ENTRY_SIZE: Final = KEY_SIZE + ENCRYPTED_SHARE_SIZE
_COMMON: Final = struct.Struct(">4sBBQ20s32sBB32s")
_V1_TAIL: Final = struct.Struct(">24s")
_V2_TAIL: Final = struct.Struct(">19sI")
FIXED_SIZE_V1: Final = _COMMON.size + _V1_TAIL.size
FIXED_SIZE_V2: Final = _COMMON.size + _V2_TAIL.size
FIXED_SIZE: Final = FIXED_SIZE_V2
_TAILS: Final = {VERSION_SINGLE: _V1_TAIL, VERSION_STREAM: _V2_TAIL}


@dataclass(frozen=True)
class ShareEntry:
    """One key server's public key and the data-key share encrypted to it."""

    server_public_key: bytes
    encrypted_share: bytes


@dataclass(frozen=True)
class SealHeader:
    chain_id: int
    policy: bytes
    """20-byte address of the policy contract."""
    identity: bytes
    """32-byte id given to sealApprove."""
    threshold: int
    ephemeral_public_key: bytes
    nonce: bytes
    """Version 1: the 24-byte content nonce; version 2: the 19-byte segment nonce prefix."""
    entries: tuple[ShareEntry, ...]
    version: int = VERSION_STREAM
    segment_size: int = DEFAULT_SEGMENT_SIZE
    """Plaintext bytes per segment (version 2); 0 in version 1."""

    def __post_init__(self) -> None:
        count = len(self.entries)
        stream = self.version == VERSION_STREAM
        checks = (
            (self.version in _TAILS, f"version {self.version} is not supported (only 1 and 2)"),
            (len(self.policy) == 20, "policy must be a 20-byte address"),
            (len(self.identity) == 32, "id must be 32 bytes"),
            (1 <= self.threshold <= count <= 255, f"threshold {self.threshold} of {count}"),
            (0 <= self.chain_id < 2**64, "chain id out of range"),
            (len(self.ephemeral_public_key) == KEY_SIZE, "ephemeral key must be 32 bytes"),
            (
                len(self.nonce) == (NONCE_PREFIX_SIZE if stream else NONCE_SIZE),
                f"nonce must be {NONCE_PREFIX_SIZE if stream else NONCE_SIZE} bytes",
            ),
            (
                MIN_SEGMENT_SIZE <= self.segment_size <= MAX_SEGMENT_SIZE
                if stream
                else self.segment_size == 0,
                f"segment size {self.segment_size} outside {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE}"
                if stream
                else "a version-1 header has no segment size",
            ),
        )
        for ok, problem in checks:
            if not ok:
                raise MalformedSealHeader(f"Seal header: {problem}")
        for entry in self.entries:
            if (
                len(entry.server_public_key) != KEY_SIZE
                or len(entry.encrypted_share) != ENCRYPTED_SHARE_SIZE
            ):
                raise MalformedSealHeader("Seal header: share entry has the wrong size")

    @property
    def size(self) -> int:
        fixed = FIXED_SIZE_V2 if self.version == VERSION_STREAM else FIXED_SIZE_V1
        return fixed + ENTRY_SIZE * len(self.entries)

    def index_of(self, server_public_key: bytes) -> int | None:
        """Position of the entry for ``server_public_key`` (its share has x = index + 1)."""
        for index, entry in enumerate(self.entries):
            if entry.server_public_key == server_public_key:
                return index
        return None

    def to_bytes(self) -> bytes:
        common = _COMMON.pack(
            MAGIC,
            self.version,
            AEAD_XCHACHA20_POLY1305,
            self.chain_id,
            self.policy,
            self.identity,
            self.threshold,
            len(self.entries),
            self.ephemeral_public_key,
        )
        if self.version == VERSION_STREAM:
            tail = _V2_TAIL.pack(self.nonce, self.segment_size)
        else:
            tail = _V1_TAIL.pack(self.nonce)
        entries = b"".join(e.server_public_key + e.encrypted_share for e in self.entries)
        return common + tail + entries


def is_sealed(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` starts like a Seal blob (magic and a known version), for transparent
    reads."""
    return len(data) >= 5 and bytes(data[:4]) == MAGIC and data[4] in _TAILS


def parse_header(data: bytes | bytearray | memoryview) -> SealHeader:
    """The header at the start of ``data`` (its size is ``header.size``); MalformedSealHeader
    when the magic, version, algorithm, counts, segment size or lengths are wrong."""
    if len(data) < FIXED_SIZE_V2:
        raise MalformedSealHeader(
            f"Seal header needs at least {FIXED_SIZE_V2} bytes, got {len(data)}"
        )
    magic, version, aead, chain_id, policy, identity, threshold, count, ephemeral = (
        _COMMON.unpack_from(data, 0)
    )
    if magic != MAGIC:
        raise MalformedSealHeader("not a Seal blob (magic is not WSEL)")
    tail = _TAILS.get(version)
    if tail is None:
        raise MalformedSealHeader(f"Seal header version {version} is not supported (only 1, 2)")
    if aead != AEAD_XCHACHA20_POLY1305:
        raise MalformedSealHeader(f"unknown Seal AEAD algorithm {aead}")
    start = _COMMON.size + tail.size
    end = start + ENTRY_SIZE * count
    if len(data) < end:
        raise MalformedSealHeader(f"Seal header with {count} key servers is truncated")
    if version == VERSION_STREAM:
        nonce, segment_size = _V2_TAIL.unpack_from(data, _COMMON.size)
    else:
        (nonce,) = _V1_TAIL.unpack_from(data, _COMMON.size)
        segment_size = 0
    entries = tuple(
        ShareEntry(
            bytes(data[offset : offset + KEY_SIZE]),
            bytes(data[offset + KEY_SIZE : offset + ENTRY_SIZE]),
        )
        for offset in range(start, end, ENTRY_SIZE)
    )
    return SealHeader(
        chain_id,
        policy,
        identity,
        threshold,
        ephemeral,
        nonce,
        entries,
        version=version,
        segment_size=segment_size,
    )
