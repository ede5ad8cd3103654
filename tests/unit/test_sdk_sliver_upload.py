"""The store's upload bodies (blob in place, primary parity spilled to a temporary file)
are byte for byte the wire form of the in-memory encoding's slivers."""

from __future__ import annotations

import numpy as np
import pytest

from backend.core.encoder import encode_blob
from backend.sdk.node_client import FileRange
from backend.sdk.sliver_upload import EncodedUpload, SpilledUpload


def wire_bytes(upload: EncodedUpload | SpilledUpload, pair: int) -> list[bytes]:
    return [b"".join(bytes(part) for part in body) for _, body in upload.pair_bodies(pair)]


# the last blob's primary parity (4.7 MB) goes to the temporary file, the others' stays
# in memory (IN_MEMORY_PARITY_BYTES)
@pytest.mark.parametrize(
    ("n", "length", "in_file"),
    [(4, 0, False), (7, 1000, False), (20, 300_001, False), (20, 3 << 20, True)],
)
def test_spilled_bodies_are_the_encoded_slivers_wire_bytes(
    n: int, length: int, in_file: bool
) -> None:
    data = np.random.default_rng(length).bytes(length)
    spilled = SpilledUpload(data, n)
    parity_parts = [part for _, body in spilled.pair_bodies(n - 1) for part in body.parts]
    assert any(isinstance(part, FileRange) for part in parity_parts) == in_file
    encoded = EncodedUpload(encode_blob(data, n))
    assert spilled.metadata.to_bytes() == encoded.metadata.to_bytes()
    for pair in range(n):
        got, expected = wire_bytes(spilled, pair), wire_bytes(encoded, pair)
        assert [len(body) for _, body in spilled.pair_bodies(pair)] == [len(b) for b in got]
        assert got == expected, f"pair {pair}"


def test_a_spill_file_shorter_than_its_slivers_is_an_error_not_a_crash() -> None:
    spilled = SpilledUpload(np.random.default_rng(5).bytes(3 << 20), 20)
    (_, primary), _ = spilled.pair_bodies(19)
    file_range = next(part for part in primary.parts if isinstance(part, FileRange))
    file_range.file.truncate(file_range.offset + 10)
    with pytest.raises(OSError, match="end early"):
        list(primary)
