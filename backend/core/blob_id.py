"""Blob ids: sha256(type:u8 || unencoded_length:u64 LE || blob_root) and their text form."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass

from backend.core.errors import InvalidBlobId

BLOB_ID_SIZE = 32
BLOB_ID_TEXT_LENGTH = 43  # URL-safe base64 of 32 bytes without padding
_URL_SAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, order=True)
class BlobId:
    """A 32-byte blob id; `str()` gives the URL-safe base64 form used in URLs and the CLI."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != BLOB_ID_SIZE:
            size = len(self.raw) if isinstance(self.raw, bytes | bytearray) else "?"
            raise InvalidBlobId(f"a blob id is {BLOB_ID_SIZE} bytes, got {size}")

    @classmethod
    def from_base64(cls, text: str) -> BlobId:
        """Parse the 43-character URL-safe base64 form (no padding), strictly."""
        if len(text) != BLOB_ID_TEXT_LENGTH:
            raise InvalidBlobId(
                f"a blob id is {BLOB_ID_TEXT_LENGTH} characters of URL-safe base64, "
                f"got {len(text)} characters: {text[:60]!r}"
            )
        if not _URL_SAFE_BASE64.fullmatch(text):
            raise InvalidBlobId(f"not URL-safe base64 (A-Z a-z 0-9 - _): {text!r}")
        raw = base64.urlsafe_b64decode(text + "=")
        blob_id = cls(raw)
        if blob_id.to_base64() != text:  # the last character carries 2 unused bits
            raise InvalidBlobId(f"non-canonical base64 blob id: {text!r}")
        return blob_id

    @classmethod
    def from_hex(cls, text: str) -> BlobId:
        """Parse 64 hex digits, with or without a 0x prefix (the on-chain bytes32 form)."""
        digits = text[2:] if text.startswith(("0x", "0X")) else text
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raise InvalidBlobId(f"not a hex blob id: {text!r}") from None
        return cls(raw)

    def to_base64(self) -> str:
        return base64.urlsafe_b64encode(self.raw).rstrip(b"=").decode("ascii")

    def hex(self) -> str:
        """0x-prefixed hex, as a bytes32 is written for the chain."""
        return "0x" + self.raw.hex()

    def __int__(self) -> int:
        return int.from_bytes(self.raw, "big")

    def __str__(self) -> str:
        return self.to_base64()


def compute_blob_id(encoding_type: int, unencoded_length: int, blob_root: bytes) -> BlobId:
    """The blob id of docs/protocol.md; `registerBlob` computes the same on chain."""
    if len(blob_root) != 32:
        raise ValueError(f"a blob root is 32 bytes, got {len(blob_root)}")
    header = struct.pack("<BQ", encoding_type, unencoded_length)
    return BlobId(hashlib.sha256(header + blob_root).digest())
