"""The streaming encoder (what the SDK's store uses) gives the same blob ids and slivers as
the in-memory one, without copying the blob."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from backend.core.encoder import compute_blob_id_of, encode_blob, encode_streaming
from backend.core.params import EncodingParams
from backend.core.slivers import UnverifiedSliver

# (n, length, blob id, sha256 prefix of every sliver's wire bytes), computed with the
# encoder as it was before streaming (commit 61bc230): the wire bytes must not change.
BEFORE_STREAMING = [
    (4, 0, "aCCf8FO3fT_uEy6Bfgg7dB5k2KjLxTCSgXV0qCQQECs", "60d824107bb23c97"),
    (4, 1, "idD7I4O_wR8H6xZbsdOuyG8fUAG_FyCn64XtPxoJ_2U", "3b85528dee861e85"),
    (7, 1000, "lZM5RZKD3YMWrETmZJiSmIFmY3lDheHNTR_4JLhWCfM", "36daed22a1101ea5"),
    (10, 12345, "aFPyGw4nNp5h5SrzuYjuecNzVnSNQdl6PXDBhKowWnA", "3c7c26aac7032123"),
    (20, 100_003, "iTyX-yLJO758epntNqvhLdl8_-sp_a-o-6xc3cwEbSg", "1026652e2c66451d"),
    (20, 1 << 20, "ctooetWLVfJs20yjZYWDUPpNoy_-cwgHIqK-wtY-Fv4", "d8f517e78574fe2e"),
]


def patterned(length: int) -> bytes:
    return bytes((i * 131 + 7) % 251 for i in range(length))


@pytest.mark.parametrize(("n", "length", "blob_id", "slivers_digest"), BEFORE_STREAMING)
def test_blob_ids_and_slivers_are_unchanged(
    n: int, length: int, blob_id: str, slivers_digest: str
) -> None:
    data = patterned(length)
    encoded = encode_blob(data, n)
    digest = hashlib.sha256()
    for sliver in encoded.primary_slivers + encoded.secondary_slivers:
        digest.update(UnverifiedSliver(sliver.kind, sliver.index, sliver.data).to_bytes())
    assert str(encoded.blob_id) == blob_id
    assert digest.hexdigest()[:16] == slivers_digest
    assert str(compute_blob_id_of(data, n)) == blob_id


@pytest.mark.parametrize(("n", "length"), [(4, 0), (7, 999), (20, 300_001), (20, 2 << 20)])
def test_streamed_parts_are_the_in_memory_slivers(n: int, length: int) -> None:
    data = np.random.default_rng(length).bytes(length)
    params = EncodingParams(n)
    p, s = params.p, params.s
    parity_columns: dict[int, np.ndarray] = {}
    streamed = encode_streaming(
        data, n, lambda first, chunk: parity_columns.update({first: chunk.copy()})
    )
    encoded = encode_blob(data, n)
    assert streamed.metadata.to_bytes() == encoded.metadata.to_bytes()
    primary_parity = np.concatenate([parity_columns[k] for k in sorted(parity_columns)], axis=1)
    for i in range(n):
        expected = encoded.primary_slivers[i].symbols
        got = streamed.source.rows(i, i + 1)[0] if i < p else primary_parity[i - p]
        assert np.array_equal(got, expected), f"primary {i}"
    for j in range(n):
        expected = encoded.secondary_slivers[j].symbols
        if j < s:
            got = np.stack(
                [np.frombuffer(streamed.source.symbol(i, j), np.uint8) for i in range(p)]
            )
        else:
            got = streamed.secondary_parity[j - s]
        assert np.array_equal(got, expected), f"secondary {j}"


def test_the_source_is_read_in_place_and_only_the_padded_end_is_copied() -> None:
    data = bytearray(np.random.default_rng(1).bytes(1 << 20))  # 2^20 is no multiple of p s S
    streamed = encode_streaming(data, 20, lambda _first, _chunk: None)
    source = streamed.source
    params = EncodingParams(20)
    assert source.tail.nbytes < source.symbol_size + 2 * params.p * params.s
    data[0] ^= 0xFF  # the source reads the caller's buffer in place
    assert source.rows(0, 1)[0, 0, 0] == data[0]
    last_row = source.row_pieces(params.p - 1)
    assert sum(len(piece) for piece in last_row) == params.s
    joined = np.concatenate(last_row).reshape(-1)
    inside = len(data) - (params.p - 1) * params.s * source.symbol_size
    assert joined[:inside].tobytes() == bytes(data[-inside:])
    assert not joined[inside:].any()
