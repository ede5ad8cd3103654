"""Seal crypto: GF(256) against FIPS-197 vectors, Shamir t-of-m, header format, envelopes."""

from __future__ import annotations

import itertools

import pytest

from backend.core.seal.envelope import (
    X25519KeyPair,
    decrypt_blob,
    encrypt_blob,
    open_response,
    open_share,
    seal_response,
)
from backend.core.seal.errors import (
    InvalidShares,
    InvalidThreshold,
    MalformedSealHeader,
    SealError,
    SealTampered,
)
from backend.core.seal.header import FIXED_SIZE, is_sealed, parse_header
from backend.core.seal.shamir import Share, combine_shares, gf_inverse, gf_mul, split_secret

POLICY = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
IDENTITY = bytes(range(32))
MARKER = b"SEAL-PLAINTEXT-MARKER-7f3a"


def test_gf256_matches_fips197_vectors() -> None:
    assert gf_mul(0x57, 0x83) == 0xC1  # FIPS-197 section 4.2
    assert gf_mul(0x57, 0x13) == 0xFE  # FIPS-197 section 4.2.1
    assert gf_inverse(0x53) == 0xCA  # FIPS-197 section 5.1.1
    assert all(gf_mul(a, gf_inverse(a)) == 1 for a in range(1, 256))


def test_shamir_known_polynomial_vector() -> None:
    """Secret byte 0x42 with f(x) = 0x42 + 0x07 x: f(1) = 0x45, f(2) = 0x42 ^ 0x0e = 0x4c,
    f(3) = 0x42 ^ (0x07 * 0x03 = 0x09) = 0x4b (hand-computed in GF(2^8))."""
    coefficients = iter([b"\x07"])
    shares = split_secret(b"\x42", 2, 3, random_bytes=lambda n: next(coefficients))
    assert [(s.x, s.value) for s in shares] == [(1, b"\x45"), (2, b"\x4c"), (3, b"\x4b")]
    assert combine_shares([shares[2], shares[0]]) == b"\x42"


@pytest.mark.parametrize(("threshold", "count"), [(1, 1), (2, 3), (3, 5), (5, 5)])
def test_any_threshold_subset_recovers(threshold: int, count: int) -> None:
    secret = bytes(range(100, 132))
    shares = split_secret(secret, threshold, count)
    for subset in itertools.combinations(shares, threshold):
        assert combine_shares(list(subset)) == secret
    if threshold > 1:
        assert combine_shares(shares[: threshold - 1]) != secret


def test_shamir_bad_input_is_named() -> None:
    with pytest.raises(InvalidThreshold):
        split_secret(b"x", 3, 2)
    with pytest.raises(InvalidShares, match="distinct"):
        combine_shares([Share(1, b"a"), Share(1, b"b")])
    with pytest.raises(InvalidShares):
        combine_shares([])


def _servers(count: int) -> list[X25519KeyPair]:
    return [X25519KeyPair.generate() for _ in range(count)]


def _sealed(plaintext: bytes, servers: list[X25519KeyPair], threshold: int = 2) -> bytes:
    return encrypt_blob(
        plaintext,
        chain_id=31337,
        policy=POLICY,
        identity=IDENTITY,
        server_public_keys=[s.public_key for s in servers],
        threshold=threshold,
    )


def test_round_trip_through_key_servers_and_session() -> None:
    servers = _servers(3)
    blob = _sealed(MARKER * 100, servers)
    assert MARKER not in blob and is_sealed(blob)
    header = parse_header(blob)
    assert header.size == FIXED_SIZE + 80 * 3 and header.threshold == 2
    session = X25519KeyPair.generate()
    shares = [
        open_response(
            seal_response(open_share(header, s), header, s.public_key, session.public_key),
            header,
            s.public_key,
            session,
        )
        for s in servers[1:]
    ]
    assert decrypt_blob(blob, shares) == MARKER * 100
    with pytest.raises(InvalidShares, match="need 2"):
        decrypt_blob(blob, shares[:1])


def test_tampering_anywhere_is_detected() -> None:
    servers = _servers(3)
    blob = _sealed(MARKER, servers)
    header = parse_header(blob)
    shares = [open_share(header, s) for s in servers[:2]]
    for position in (len(blob) - 1, header.size + 2, FIXED_SIZE - 10):  # tag, body, nonce
        altered = bytearray(blob)
        altered[position] ^= 1
        with pytest.raises(SealTampered):
            decrypt_blob(bytes(altered), shares)


def test_share_is_bound_to_policy_and_id() -> None:
    servers = _servers(3)
    header = parse_header(_sealed(MARKER, servers))
    for field, value in (("policy", bytes(20)), ("identity", bytes(32)), ("chain_id", 1)):
        moved = type(header)(**{**header.__dict__, field: value})
        with pytest.raises(SealTampered, match="key share"):
            open_share(moved, servers[0])


def test_wrong_session_or_unknown_server_cannot_open() -> None:
    servers = _servers(2)
    header = parse_header(_sealed(MARKER, servers, threshold=1))
    response = seal_response(
        open_share(header, servers[0]),
        header,
        servers[0].public_key,
        X25519KeyPair.generate().public_key,
    )
    with pytest.raises(SealTampered):
        open_response(response, header, servers[0].public_key, X25519KeyPair.generate())
    with pytest.raises(SealError, match="no share for this key server"):
        open_share(header, X25519KeyPair.generate())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:10], "at least"),
        (lambda b: b"XXXX" + b[4:], "magic"),
        (lambda b: b[:4] + b"\x03" + b[5:], "version 3"),
        (lambda b: b[:5] + b"\x09" + b[6:], "AEAD"),
        (lambda b: b[: FIXED_SIZE + 20], "truncated"),
        (lambda b: b[:66] + b"\x04" + b[67:], "threshold 4 of 3"),
    ],
)
def test_malformed_headers_are_named(mutate: object, message: str) -> None:
    blob = _sealed(MARKER, _servers(3))
    with pytest.raises(MalformedSealHeader, match=message):
        parse_header(mutate(blob))  # type: ignore[operator]
