"""The native batch hasher against the published SHA-256 examples (FIPS 180-2, appendix B
and NIST's "SHA256.pdf" examples), not only against hashlib.

The hasher takes one prefix byte and equal-size items: a published message m is hashed
as prefix m[0] and item m[1:]. Both engines, one message and two at a time (the SHA-NI
engine interleaves two messages; a lone one goes through the single path)."""

import numpy as np
import pytest

from backend.core._native import sha256batch

VECTORS = [
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ),
    (
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
        b"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ),
    (b"a" * 1_000_000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
]


@pytest.mark.parametrize("engine", ["prefixed_digests", "prefixed_digests_openssl"])
@pytest.mark.parametrize("message,expected", VECTORS, ids=["abc", "448-bit", "896-bit", "1M-a"])
@pytest.mark.parametrize("copies", [1, 2, 3])
def test_published_sha256_examples(engine: str, message: bytes, expected: str, copies: int) -> None:
    digests = getattr(sha256batch, engine)
    item = message[1:]
    rows = np.frombuffer(item * copies, dtype=np.uint8).reshape(copies, len(item))
    out = np.zeros((copies, 32), dtype=np.uint8)
    digests(message[0], rows, len(item), out)
    assert [row.tobytes().hex() for row in out] == [expected] * copies
