"""Red Stuff parameters for n shards (DESIGN §3, docs/protocol.md "Encoding parameters")."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.encoding_types import MAX_SHARDS, MIN_SHARDS
from backend.core.errors import BlobTooLarge, InvalidShardCount

MAX_SYMBOL_SIZE = 2**26
MIN_SYMBOL_SIZE = 2
METADATA_BYTES_PER_SHARD = 64  # one primary and one secondary hash per sliver pair
MAX_SHARDS_ANY_TYPE = max(MAX_SHARDS.values())


@dataclass(frozen=True)
class EncodingParams:
    """Shard count n and the sizes derived from it: f, p (primary), s (secondary)."""

    n_shards: int

    def __post_init__(self) -> None:
        if (
            not isinstance(self.n_shards, int)
            or not MIN_SHARDS <= self.n_shards <= MAX_SHARDS_ANY_TYPE
        ):
            raise InvalidShardCount(
                f"the number of shards must be an integer in "
                f"[{MIN_SHARDS}, {MAX_SHARDS_ANY_TYPE}], got {self.n_shards!r}"
            )

    @property
    def f(self) -> int:
        """Byzantine shards tolerated: (n - 1) // 3."""
        return (self.n_shards - 1) // 3

    @property
    def p(self) -> int:
        """Primary source symbols = symbols per secondary sliver = n - 2f."""
        return self.n_shards - 2 * self.f

    @property
    def s(self) -> int:
        """Secondary source symbols = symbols per primary sliver = n - f."""
        return self.n_shards - self.f

    @property
    def max_blob_size(self) -> int:
        return self.p * self.s * MAX_SYMBOL_SIZE

    def symbol_size(self, unencoded_length: int) -> int:
        """Smallest even symbol size (at least 2) whose p x s matrix holds the blob."""
        if unencoded_length < 0:
            raise ValueError(f"a blob length cannot be negative, got {unencoded_length}")
        if unencoded_length > self.max_blob_size:
            raise BlobTooLarge(
                f"a blob of {unencoded_length} bytes exceeds the maximum of "
                f"{self.max_blob_size} bytes for n = {self.n_shards} shards "
                f"(p * s * MAX_SYMBOL_SIZE = {self.p} * {self.s} * {MAX_SYMBOL_SIZE})"
            )
        per_symbol = -(-unencoded_length // (self.p * self.s))
        return max(MIN_SYMBOL_SIZE, per_symbol + per_symbol % 2)

    def encoded_length(self, unencoded_length: int) -> int:
        """Bytes stored over all shards: n * ((p + s) * S + 64 * n); paid for on chain."""
        symbol = self.symbol_size(unencoded_length)
        n = self.n_shards
        return n * ((self.p + self.s) * symbol + METADATA_BYTES_PER_SHARD * n)


def encoded_length(n_shards: int, unencoded_length: int) -> int:
    """`EncodingParams(n).encoded_length(L)`; the contracts compute the same number."""
    return EncodingParams(n_shards).encoded_length(unencoded_length)


def max_blob_size(n_shards: int) -> int:
    """Largest blob that n shards can store: p * s * MAX_SYMBOL_SIZE bytes."""
    return EncodingParams(n_shards).max_blob_size
