"""The registry of encoding-type bytes (docs/protocol.md, "Encoding types").

The byte is part of the blob id, so it must never be reused for a different code.
"""

from __future__ import annotations

from enum import IntEnum

from backend.core.errors import InvalidShardCount, UnknownEncodingType

MIN_SHARDS = 4


class EncodingType(IntEnum):
    """Which Reed-Solomon code extends rows and columns; one byte on the wire and on chain."""

    RS_GF256_ZFEC = 1
    RS_GF65536_LEOPARD = 2


MAX_SHARDS: dict[EncodingType, int] = {
    EncodingType.RS_GF256_ZFEC: 256,
    EncodingType.RS_GF65536_LEOPARD: 65535,
}


def encoding_type_from_byte(value: int) -> EncodingType:
    """Parse an encoding-type byte, naming the registered values if it is unknown."""
    try:
        return EncodingType(value)
    except ValueError:
        known = ", ".join(f"{t.value} ({t.name})" for t in EncodingType)
        raise UnknownEncodingType(
            f"unknown encoding type {value}; registered types are {known}"
        ) from None


def check_shard_count(encoding_type: EncodingType, n_shards: int) -> None:
    """Raise `InvalidShardCount` unless `encoding_type` can encode for `n_shards` shards."""
    limit = MAX_SHARDS[encoding_type]
    if not MIN_SHARDS <= n_shards <= limit:
        raise InvalidShardCount(
            f"encoding type {encoding_type.value} ({encoding_type.name}) needs "
            f"{MIN_SHARDS} <= n <= {limit} shards, got n = {n_shards}"
        )


def default_encoding_type(n_shards: int) -> EncodingType:
    """The code clients use unless told otherwise: leopard, measured faster at every n.

    See docs/benchmarks.md: zfec's cost grows with k, leopard's with log n.
    """
    check_shard_count(EncodingType.RS_GF65536_LEOPARD, n_shards)
    return EncodingType.RS_GF65536_LEOPARD
