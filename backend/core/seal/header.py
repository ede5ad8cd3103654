"""The version-1 Seal header that precedes the ciphertext in an encrypted blob.

Layout (big-endian, fixed-size fields, docs/seal.md)::

    magic        4   b"WSEL"
    version      1   1
    aead         1   1 = XChaCha20-Poly1305 (IETF)
    chain_id     8   chain whose policy contract decides access
    policy      20   policy contract address
    id          32   identity passed to sealApprove(id, requester)
    threshold    1   t
    count        1   m (key servers), 1 <= t <= m
    ephemeral   32   X25519 public key the shares were encrypted with
    nonce       24   nonce of the content AEAD
    m entries   80   key server X25519 public key (32) + encrypted share (32 + 16 tag)

The content AEAD authenticates the whole header as associated data, so changing any
header byte makes decryption fail.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from backend.core.seal.errors import MalformedSealHeader

MAGIC: Final = b"WSEL"
VERSION: Final = 1
AEAD_XCHACHA20_POLY1305: Final = 1
KEY_SIZE: Final = 32
TAG_SIZE: Final = 16
NONCE_SIZE: Final = 24
ENCRYPTED_SHARE_SIZE: Final = KEY_SIZE + TAG_SIZE
ENTRY_SIZE: Final = KEY_SIZE + ENCRYPTED_SHARE_SIZE
_FIXED: Final = struct.Struct(">4sBBQ20s32sBB32s24s")
FIXED_SIZE: Final = _FIXED.size


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
    entries: tuple[ShareEntry, ...]

    def __post_init__(self) -> None:
        count = len(self.entries)
        checks = (
            (len(self.policy) == 20, "policy must be a 20-byte address"),
            (len(self.identity) == 32, "id must be 32 bytes"),
            (1 <= self.threshold <= count <= 255, f"threshold {self.threshold} of {count}"),
            (0 <= self.chain_id < 2**64, "chain id out of range"),
            (len(self.ephemeral_public_key) == KEY_SIZE, "ephemeral key must be 32 bytes"),
            (len(self.nonce) == NONCE_SIZE, "nonce must be 24 bytes"),
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
        return FIXED_SIZE + ENTRY_SIZE * len(self.entries)

    def index_of(self, server_public_key: bytes) -> int | None:
        """Position of the entry for ``server_public_key`` (its share has x = index + 1)."""
        for index, entry in enumerate(self.entries):
            if entry.server_public_key == server_public_key:
                return index
        return None

    def to_bytes(self) -> bytes:
        fixed = _FIXED.pack(
            MAGIC,
            VERSION,
            AEAD_XCHACHA20_POLY1305,
            self.chain_id,
            self.policy,
            self.identity,
            self.threshold,
            len(self.entries),
            self.ephemeral_public_key,
            self.nonce,
        )
        return fixed + b"".join(e.server_public_key + e.encrypted_share for e in self.entries)


def is_sealed(data: bytes | memoryview) -> bool:
    """Whether ``data`` starts like a Seal blob (magic and version), for transparent reads."""
    return len(data) >= 5 and bytes(data[:4]) == MAGIC and data[4] == VERSION


def parse_header(data: bytes | memoryview) -> SealHeader:
    """The header at the start of ``data`` (its size is ``header.size``); MalformedSealHeader
    when the magic, version, algorithm, counts or lengths are wrong."""
    if len(data) < FIXED_SIZE:
        raise MalformedSealHeader(f"Seal header needs at least {FIXED_SIZE} bytes, got {len(data)}")
    magic, version, aead, chain_id, policy, identity, threshold, count, ephemeral, nonce = (
        _FIXED.unpack_from(data, 0)
    )
    if magic != MAGIC:
        raise MalformedSealHeader("not a Seal blob (magic is not WSEL)")
    if version != VERSION:
        raise MalformedSealHeader(f"Seal header version {version} is not supported (only 1)")
    if aead != AEAD_XCHACHA20_POLY1305:
        raise MalformedSealHeader(f"unknown Seal AEAD algorithm {aead}")
    end = FIXED_SIZE + ENTRY_SIZE * count
    if len(data) < end:
        raise MalformedSealHeader(f"Seal header with {count} key servers is truncated")
    entries = tuple(
        ShareEntry(
            bytes(data[offset : offset + KEY_SIZE]),
            bytes(data[offset + KEY_SIZE : offset + ENTRY_SIZE]),
        )
        for offset in range(FIXED_SIZE, end, ENTRY_SIZE)
    )
    return SealHeader(chain_id, policy, identity, threshold, ephemeral, nonce, entries)
