"""Reed-Solomon backends: systematic, any k of n decode, MDS distance, symbol independence."""

import random

import numpy as np
import pytest

from backend.core.encoding_types import EncodingType
from backend.core.errors import InvalidShardCount
from backend.core.rs import rs_code

BOTH = list(EncodingType)
CASES = [(2, 4), (3, 4), (4, 10), (7, 10), (34, 100), (67, 100), (86, 256), (171, 256)]
LEOPARD_ONLY = [(86, 257), (171, 257), (334, 1000), (667, 1000)]


def _cases() -> list[tuple[EncodingType, int, int]]:
    out = [(t, k, n) for t in BOTH for k, n in CASES]
    return out + [(EncodingType.RS_GF65536_LEOPARD, k, n) for k, n in LEOPARD_ONLY]


@pytest.mark.parametrize(("encoding_type", "k", "n"), _cases())
def test_any_k_of_n_shards_decode(encoding_type: EncodingType, k: int, n: int) -> None:
    rng = random.Random(f"{encoding_type}-{k}-{n}")
    code = rs_code(encoding_type, k, n)
    source = np.frombuffer(rng.randbytes(k * 6), dtype=np.uint8).reshape(k, 6)
    codeword = np.vstack([source, code.encode(source)])
    assert codeword.shape == (n, 6)
    for _ in range(4):
        positions = rng.sample(range(n), k)
        assert np.array_equal(code.decode(positions, codeword[positions]), source)


@pytest.mark.parametrize(("encoding_type", "k", "n"), _cases())
def test_minimum_distance_is_n_minus_k_plus_one(
    encoding_type: EncodingType, k: int, n: int
) -> None:
    """A nonzero codeword of an MDS code has at least n - k + 1 nonzero symbols."""
    rng = random.Random(k * n)
    code = rs_code(encoding_type, k, n)
    for nonzero in (1, min(2, k), k - 1 or 1):
        source = np.zeros((k, 2), dtype=np.uint8)
        for row in rng.sample(range(k), nonzero):
            source[row] = (rng.randrange(1, 256), rng.randrange(256))
        codeword = np.vstack([source, code.encode(source)])
        weight = int(np.count_nonzero(codeword.any(axis=1)))
        assert weight >= n - k + 1


@pytest.mark.parametrize("encoding_type", BOTH)
def test_each_two_byte_symbol_is_coded_independently(encoding_type: EncodingType) -> None:
    """Coding a whole row equals coding each symbol alone: the 2-D matrix commutes."""
    code = rs_code(encoding_type, 7, 10)
    source = np.frombuffer(random.Random(1).randbytes(7 * 130), dtype=np.uint8).reshape(7, 130)
    parity = code.encode(source)
    for col in range(0, 130, 2):
        alone = code.encode(np.ascontiguousarray(source[:, col : col + 2]))
        assert np.array_equal(alone, parity[:, col : col + 2])


def test_zfec_refuses_more_than_256_shards() -> None:
    with pytest.raises(InvalidShardCount, match="n <= 256"):
        rs_code(EncodingType.RS_GF256_ZFEC, 86, 257)


@pytest.mark.parametrize("encoding_type", BOTH)
def test_decode_needs_exactly_k_distinct_positions(encoding_type: EncodingType) -> None:
    code = rs_code(encoding_type, 3, 4)
    shards = np.zeros((3, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="distinct"):
        code.decode([0, 0, 1], shards)
    with pytest.raises(ValueError, match="exactly k = 3"):
        code.decode([0, 1], shards[:2])
