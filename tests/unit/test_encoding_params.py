"""Red Stuff parameters, symbol size, encoded length and size limits (docs/protocol.md)."""

import pytest

from backend.core.errors import BlobTooLarge, InvalidShardCount
from backend.core.params import (
    MAX_SYMBOL_SIZE,
    EncodingParams,
    encoded_length,
    max_blob_size,
)


@pytest.mark.parametrize(
    ("n", "f", "p", "s"),
    [(4, 1, 2, 3), (7, 2, 3, 5), (10, 3, 4, 7), (100, 33, 34, 67), (1000, 333, 334, 667)],
)
def test_parameters_follow_the_byzantine_bound(n: int, f: int, p: int, s: int) -> None:
    params = EncodingParams(n)
    assert (params.f, params.p, params.s) == (f, p, s)
    assert 3 * params.f < n


@pytest.mark.parametrize("n", [-1, 0, 3, 65536])
def test_shard_count_outside_the_protocol_is_rejected(n: int) -> None:
    with pytest.raises(InvalidShardCount, match=f"got {n}"):
        EncodingParams(n)


def test_symbol_size_is_the_smallest_even_size_that_holds_the_blob() -> None:
    params = EncodingParams(10)  # p * s = 28 symbols
    assert params.symbol_size(0) == 2
    assert params.symbol_size(1) == 2
    assert params.symbol_size(56) == 2
    assert params.symbol_size(57) == 4  # ceil(57 / 28) = 3 -> next even
    assert params.symbol_size(28 * 4) == 4
    assert params.symbol_size(28 * 4 + 1) == 6
    for length in range(0, 2000, 7):
        size = params.symbol_size(length)
        assert size % 2 == 0 and size * 28 >= length
        assert size == 2 or (size - 2) * 28 < length


def test_encoded_length_matches_the_protocol_formula() -> None:
    # n = 10: p = 4, s = 7; 1 MiB -> S = ceil(2^20 / 28) = 37450 (even)
    assert EncodingParams(10).symbol_size(2**20) == 37450
    assert encoded_length(10, 2**20) == 10 * ((4 + 7) * 37450 + 64 * 10)
    assert encoded_length(4, 0) == 4 * ((2 + 3) * 2 + 64 * 4)
    assert encoded_length(1000, 0) == 1000 * ((334 + 667) * 2 + 64 * 1000)


def test_maximum_blob_sizes_and_the_error_beyond_them() -> None:
    assert max_blob_size(4) == 384 * 2**20
    assert max_blob_size(10) == 28 * MAX_SYMBOL_SIZE
    limit = max_blob_size(4)
    assert EncodingParams(4).symbol_size(limit) == MAX_SYMBOL_SIZE
    with pytest.raises(BlobTooLarge, match=f"maximum of {limit} bytes for n = 4"):
        EncodingParams(4).symbol_size(limit + 1)


def test_negative_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        EncodingParams(4).symbol_size(-1)
