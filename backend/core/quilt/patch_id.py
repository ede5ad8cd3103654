"""Quilt patch ids: the quilt's blob id plus the patch's byte range, URL-safe.

Bytes: ``quilt_blob_id (32) || version:u8 (=1) || start:u64 LE || end:u64 LE`` (49 bytes),
written as URL-safe base64 without padding (66 characters). The range is the patch record's
half-open byte range in the quilt's column-major stream (docs/quilts.md). The id depends only
on the quilt's bytes, so it is stable: storing the same quilt again gives the same ids, and a
reader needs nothing else (no index lookup) to fetch the patch.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass

from backend.core.blob_id import BlobId
from backend.core.quilt.errors import InvalidQuiltPatchId

PATCH_ID_VERSION = 1
PATCH_ID_BYTES = 32 + 1 + 8 + 8
PATCH_ID_TEXT_LENGTH = 66
_RANGE = struct.Struct("<BQQ")
_URL_SAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class QuiltPatchId:
    """Where one patch lives: quilt blob id and the half-open byte range of its record in
    the quilt's column-major stream (docs/quilts.md)."""

    quilt_id: BlobId
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end < 2**64:
            raise InvalidQuiltPatchId(
                f"a patch's byte range must satisfy 0 <= start < end < 2^64, got "
                f"[{self.start}, {self.end})"
            )

    @property
    def length(self) -> int:
        return self.end - self.start

    def to_bytes(self) -> bytes:
        return self.quilt_id.raw + _RANGE.pack(PATCH_ID_VERSION, self.start, self.end)

    def __str__(self) -> str:
        return base64.urlsafe_b64encode(self.to_bytes()).rstrip(b"=").decode("ascii")

    @classmethod
    def parse(cls, text: str) -> QuiltPatchId:
        """Parse the 66-character form strictly; InvalidQuiltPatchId says what is wrong."""
        if len(text) != PATCH_ID_TEXT_LENGTH:
            raise InvalidQuiltPatchId(
                f"a quilt patch id is {PATCH_ID_TEXT_LENGTH} characters of URL-safe base64, "
                f"got {len(text)} characters: {text[:70]!r}"
            )
        if not _URL_SAFE_BASE64.fullmatch(text):
            raise InvalidQuiltPatchId(f"not URL-safe base64 (A-Z a-z 0-9 - _): {text!r}")
        raw = base64.urlsafe_b64decode(text + "==")
        version, start, end = _RANGE.unpack(raw[32:])
        if version != PATCH_ID_VERSION:
            raise InvalidQuiltPatchId(
                f"unknown quilt patch id version {version} (this client reads version "
                f"{PATCH_ID_VERSION})"
            )
        patch_id = cls(BlobId(raw[:32]), start, end)
        if str(patch_id) != text:  # the last character carries unused bits
            raise InvalidQuiltPatchId(f"non-canonical quilt patch id: {text!r}")
        return patch_id
