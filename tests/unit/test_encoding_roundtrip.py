"""Encode -> slivers -> decode round trips, over shard counts, sizes and both codes."""

import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core.decoder import ConsistencyCheck, decode_blob
from backend.core.encoder import encode_blob
from backend.core.encoding_types import EncodingType, default_encoding_type
from backend.core.errors import BlobTooLarge, InvalidShardCount, NotEnoughSlivers
from backend.core.params import MAX_SYMBOL_SIZE, EncodingParams, max_blob_size
from backend.core.slivers import verify_slivers

ZFEC = EncodingType.RS_GF256_ZFEC
LEOPARD = EncodingType.RS_GF65536_LEOPARD


def _round_trip(data: bytes, n: int, encoding_type: EncodingType, rng: random.Random) -> None:
    encoded = encode_blob(data, n, encoding_type)
    metadata = encoded.metadata
    params = metadata.params
    assert metadata.unencoded_length == len(data)
    assert metadata.encoding_type == encoding_type
    size = params.symbol_size(len(data))
    assert all(len(s.data) == params.s * size for s in encoded.primary_slivers)
    assert all(len(s.data) == params.p * size for s in encoded.secondary_slivers)
    primaries = rng.sample(encoded.primary_slivers, params.p)
    secondaries = rng.sample(encoded.secondary_slivers, params.s)
    for check in ConsistencyCheck:
        assert decode_blob(metadata, primaries, check) == data
        assert decode_blob(metadata, secondaries, check) == data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=4, max_value=100),
    data=st.binary(max_size=3000),
    encoding_type=st.sampled_from(list(EncodingType)),
    seed=st.integers(0, 2**32),
)
def test_round_trip_for_every_shard_count(
    n: int, data: bytes, encoding_type: EncodingType, seed: int
) -> None:
    _round_trip(data, n, encoding_type, random.Random(seed))


def _sizes_for(n: int) -> list[int]:
    ps = EncodingParams(n).p * EncodingParams(n).s
    return [0, 1, 3, ps * 2 - 1, ps * 2, ps * 2 + 1, ps * 6, 1001]


@pytest.mark.parametrize("encoding_type", list(EncodingType))
@pytest.mark.parametrize("n", [4, 5, 6, 7, 10, 13])
def test_round_trip_at_size_boundaries(n: int, encoding_type: EncodingType) -> None:
    rng = random.Random(n)
    for size in _sizes_for(n):
        _round_trip(rng.randbytes(size), n, encoding_type, rng)


@pytest.mark.parametrize(
    ("n", "encoding_type"),
    [(256, ZFEC), (256, LEOPARD), (257, LEOPARD), (1000, LEOPARD)],
)
def test_round_trip_for_large_committees(n: int, encoding_type: EncodingType) -> None:
    rng = random.Random(n)
    _round_trip(rng.randbytes(5000), n, encoding_type, rng)


def test_slivers_of_a_fresh_encoding_verify_against_its_own_metadata() -> None:
    """Every expanded row and column of E hashes to its commitment: E is one codeword."""
    for encoding_type in EncodingType:
        encoded = encode_blob(random.Random(2).randbytes(4321), 13, encoding_type)
        everything = [
            s.to_unverified() for s in encoded.primary_slivers + encoded.secondary_slivers
        ]
        assert len(verify_slivers(encoded.metadata, everything)) == 26


@pytest.mark.parametrize("encoding_type", list(EncodingType))
def test_one_changed_byte_changes_at_least_the_code_distance_of_slivers(
    encoding_type: EncodingType,
) -> None:
    n = 10
    params = EncodingParams(n)
    data = bytearray(random.Random(3).randbytes(2000))
    before = encode_blob(bytes(data), n, encoding_type)
    data[777] ^= 0x5A
    after = encode_blob(bytes(data), n, encoding_type)
    changed_primary = sum(
        a.data != b.data for a, b in zip(before.primary_slivers, after.primary_slivers, strict=True)
    )
    changed_secondary = sum(
        a.data != b.data
        for a, b in zip(before.secondary_slivers, after.secondary_slivers, strict=True)
    )
    assert changed_primary >= n - params.p + 1  # column code distance 2f + 1
    assert changed_secondary >= n - params.s + 1  # row code distance f + 1
    assert before.blob_id != after.blob_id


def test_the_two_codes_give_different_blob_ids_for_the_same_bytes() -> None:
    data = b"walrus" * 100
    assert encode_blob(data, 10, ZFEC).blob_id != encode_blob(data, 10, LEOPARD).blob_id
    assert encode_blob(data, 10, ZFEC).blob_id == encode_blob(data, 10, ZFEC).blob_id


def test_default_encoding_type_serves_every_shard_count() -> None:
    for n in (4, 10, 256, 257, 1000):
        encoded = encode_blob(b"x", n)
        assert encoded.metadata.encoding_type == default_encoding_type(n)


def test_too_few_slivers_is_a_clear_error() -> None:
    encoded = encode_blob(b"hello walrus", 10)
    params = encoded.metadata.params
    with pytest.raises(NotEnoughSlivers, match="needs 4 distinct primary or 7 distinct secondary"):
        decode_blob(encoded.metadata, encoded.primary_slivers[: params.p - 1])
    duplicates = [encoded.primary_slivers[0]] * params.p
    with pytest.raises(NotEnoughSlivers, match="got 1 primary"):
        decode_blob(encoded.metadata, duplicates)


def test_shard_count_and_size_limits_are_named() -> None:
    with pytest.raises(InvalidShardCount, match="got 3"):
        encode_blob(b"x", 3)
    with pytest.raises(InvalidShardCount, match=r"n <= 256 shards, got n = 257"):
        encode_blob(b"x", 257, ZFEC)

    class Huge(bytes):
        def __len__(self) -> int:
            return max_blob_size(4) + 1

    with pytest.raises(BlobTooLarge, match=f"maximum of {max_blob_size(4)} bytes for n = 4"):
        encode_blob(Huge(), 4)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("WALRUS_SLOW_TESTS") != "1",
    reason="encodes a 384 MiB blob (~35 s, ~4 GB RSS); set WALRUS_SLOW_TESTS=1 to run",
)
def test_round_trip_at_the_maximum_blob_size() -> None:
    size = max_blob_size(4)
    data = np.random.default_rng(4).bytes(size)
    encoded = encode_blob(data, 4, LEOPARD)
    assert encoded.metadata.symbol_size == MAX_SYMBOL_SIZE
    assert decode_blob(encoded.metadata, encoded.secondary_slivers[1:]) == data


@pytest.mark.parametrize("encoding_type", list(EncodingType))
def test_every_shard_count_from_4_to_100_decodes_from_a_minimal_set(
    encoding_type: EncodingType,
) -> None:
    rng = random.Random(int(encoding_type))
    for n in range(4, 101):
        params = EncodingParams(n)
        data = rng.randbytes(params.p * params.s * 2 + rng.randrange(0, 100))
        encoded = encode_blob(data, n, encoding_type)
        primaries = rng.sample(encoded.primary_slivers, params.p)
        secondaries = rng.sample(encoded.secondary_slivers, params.s)
        assert decode_blob(encoded.metadata, primaries) == data, n
        assert decode_blob(encoded.metadata, secondaries) == data, n
