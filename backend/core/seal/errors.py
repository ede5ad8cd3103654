"""Named errors of the Seal crypto: every failure is one of these, never partial plaintext."""

from __future__ import annotations

from backend.core.errors import CoreError


class SealError(CoreError):
    """Base class of Seal encryption and decryption errors."""


class MalformedSealHeader(SealError):
    """The bytes are not a Seal header of version 1 or 2 (magic, version, lengths, counts or
    segment size wrong)."""


class SealTampered(SealError):
    """An AEAD tag did not verify: the ciphertext, the header or a share was altered."""


class InvalidShares(SealError):
    """Shares that cannot be combined: too few, repeated or zero indices, unequal lengths."""


class InvalidThreshold(SealError):
    """A threshold outside 1 <= t <= m <= 255."""
