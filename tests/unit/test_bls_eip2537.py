"""Compressed <-> EIP-2537 point conversion in backend/core/bls.py, checked byte for byte
against py_ecc's reference decompression (kept here, out of the signing path) and against
the published BLS12-381 generators."""

from __future__ import annotations

import random

import pytest
from blspy import G1Element, G2Element
from py_ecc.bls.point_compression import (
    compress_G1,
    compress_G2,
    decompress_G1,
    decompress_G2,
    modular_squareroot_in_FQ2,
)
from py_ecc.bls.typing import G1Compressed, G2Compressed
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.optimized_bls12_381.optimized_curve import normalize

from backend.core.bls import (
    FIELD_MODULUS,
    BlsPublicKey,
    BlsSecretKey,
    BlsSignature,
    InvalidPublicKeyError,
    InvalidSignatureError,
    _fp2_is_largest,
    _fp2_sqrt,
    _g1_compressed_to_eip2537,
    _g2_compressed_to_eip2537,
    aggregate_public_keys,
    aggregate_signatures,
)

P = FIELD_MODULUS
RANDOM_SIGNATURES = 300
RANDOM_AGGREGATES = 30

# The generators as published in EIP-2537 ("Fine points and encoding of base elements") and
# draft-irtf-cfrg-pairing-friendly-curves §4.2.1; compressed per the ZCash serialization.
G1_GENERATOR_COMPRESSED = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)
G1_GENERATOR = (
    0x17F1D3A73197D7942695638C4FA9AC0FC3688C4F9774B905A14E3A3F171BAC586C55E83FF97A1AEFFB3AF00ADB22C6BB,
    0x08B3F481E3AAA0F1A09E30ED741D8AE4FCF5E095D5D00AF600DB18CB2C04B3EDD03CC744A2888AE40CAA232946C5E7E1,
)
G2_GENERATOR_COMPRESSED = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
    "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
)
G2_GENERATOR = (  # x.c0, x.c1, y.c0, y.c1
    0x024AA2B2F08F0A91260805272DC51051C6E47AD4FA403B02B4510B647AE3D1770BAC0326A805BBEFD48056C8C121BDB8,
    0x13E02B6052719F607DACD3A088274F65596BD0D09920B61AB5DA61BBDC7F5049334CF11213945D57E5AC7D055D042B7E,
    0x0CE5D527727D6E118CC9CDC6DA2E351AADFD9BAA8CBDD3A76D429A695160D12C923AC9CC3BACA289E193548608B82801,
    0x0606C4A02EA734CC32ACD2B02BC28B99CB3E287E85A763AF267492AB572E99AB3F370D275CEC1DA1AAA9075FF05F79BE,
)


def eip2537(*coordinates: int) -> bytes:
    return b"".join(c.to_bytes(64, "big") for c in coordinates)


def py_ecc_g1_eip2537(compressed: bytes) -> bytes:
    x, y = normalize(decompress_G1(G1Compressed(int.from_bytes(compressed, "big"))))
    return eip2537(x.n, y.n)


def py_ecc_g2_eip2537(compressed: bytes) -> bytes:
    z1, z2 = int.from_bytes(compressed[:48], "big"), int.from_bytes(compressed[48:], "big")
    x, y = normalize(decompress_G2(G2Compressed((z1, z2))))
    return eip2537(*(int(c) for c in (*x.coeffs, *y.coeffs)))


def y_sign_bit(compressed: bytes) -> bool:
    return bool(compressed[0] & 0x20)


@pytest.fixture(scope="module")
def rng() -> random.Random:
    return random.Random(2537)


@pytest.fixture(scope="module")
def keys(rng: random.Random) -> list[BlsSecretKey]:
    return [BlsSecretKey.from_seed(rng.randbytes(32)) for _ in range(RANDOM_SIGNATURES)]


@pytest.fixture(scope="module")
def signatures(keys: list[BlsSecretKey], rng: random.Random) -> list[BlsSignature]:
    return [key.sign(rng.randbytes(rng.randrange(1, 80))) for key in keys]


# --- published vectors ---------------------------------------------------------------------


def test_generators_convert_to_the_published_eip2537_coordinates() -> None:
    assert bytes(G1Element.generator()) == G1_GENERATOR_COMPRESSED
    assert bytes(G2Element.generator()) == G2_GENERATOR_COMPRESSED
    g1, g2 = eip2537(*G1_GENERATOR), eip2537(*G2_GENERATOR)
    assert BlsPublicKey(G1Element.generator()).to_eip2537() == g1
    assert BlsSignature(G2Element.generator()).to_eip2537() == g2
    assert BlsPublicKey.from_eip2537(g1).to_bytes() == G1_GENERATOR_COMPRESSED
    assert BlsSignature.from_eip2537(g2).to_bytes() == G2_GENERATOR_COMPRESSED


# --- byte-identical to the py_ecc reference ------------------------------------------------


def test_signatures_match_py_ecc_and_round_trip(signatures: list[BlsSignature]) -> None:
    for signature in signatures:
        eip = signature.to_eip2537()
        assert eip == py_ecc_g2_eip2537(signature.to_bytes())
        assert BlsSignature.from_eip2537(eip) == signature


def test_public_keys_match_py_ecc_and_round_trip(keys: list[BlsSecretKey]) -> None:
    for key in keys:
        public_key = key.public_key()
        eip = public_key.to_eip2537()
        assert eip == py_ecc_g1_eip2537(public_key.to_bytes())
        assert BlsPublicKey.from_eip2537(eip) == public_key


def test_aggregates_match_py_ecc_and_round_trip(
    keys: list[BlsSecretKey], signatures: list[BlsSignature], rng: random.Random
) -> None:
    for _ in range(RANDOM_AGGREGATES):
        chosen = rng.sample(range(len(keys)), rng.randrange(2, 12))
        signature = aggregate_signatures([signatures[i] for i in chosen])
        public_key = aggregate_public_keys([keys[i].public_key() for i in chosen])
        assert signature.to_eip2537() == py_ecc_g2_eip2537(signature.to_bytes())
        assert public_key.to_eip2537() == py_ecc_g1_eip2537(public_key.to_bytes())
        assert BlsSignature.from_eip2537(signature.to_eip2537()) == signature
        assert BlsPublicKey.from_eip2537(public_key.to_eip2537()) == public_key


def test_eip2537_points_compress_like_py_ecc(
    keys: list[BlsSecretKey], signatures: list[BlsSignature]
) -> None:
    """from_eip2537 picks the same sign bit as py_ecc's compress (blspy then checks G1/G2)."""
    for key, signature in zip(keys[:50], signatures[:50], strict=True):
        compressed = signature.to_bytes()
        z1, z2 = int.from_bytes(compressed[:48], "big"), int.from_bytes(compressed[48:], "big")
        point = decompress_G2(G2Compressed((z1, z2)))
        reference = b"".join(z.to_bytes(48, "big") for z in compress_G2(point))
        assert BlsSignature.from_eip2537(signature.to_eip2537()).to_bytes() == reference
        key_bytes = key.public_key().to_bytes()
        g1 = decompress_G1(G1Compressed(int.from_bytes(key_bytes, "big")))
        reference = compress_G1(g1).to_bytes(48, "big")
        assert BlsPublicKey.from_eip2537(key.public_key().to_eip2537()).to_bytes() == reference


# --- sign of y -----------------------------------------------------------------------------


def test_both_sign_bits_occur_and_negation_flips_only_y(signatures: list[BlsSignature]) -> None:
    assert {y_sign_bit(s.to_bytes()) for s in signatures} == {False, True}
    for signature in signatures[:40]:
        negated = BlsSignature(signature._point.negate())
        assert y_sign_bit(negated.to_bytes()) != y_sign_bit(signature.to_bytes())
        eip, negated_eip = signature.to_eip2537(), negated.to_eip2537()
        assert negated_eip[:128] == eip[:128]
        for offset in (128, 192):
            y = int.from_bytes(eip[offset : offset + 64], "big")
            assert int.from_bytes(negated_eip[offset : offset + 64], "big") == (-y) % P
        assert negated_eip == py_ecc_g2_eip2537(negated.to_bytes())


def test_public_key_negation_flips_only_y(keys: list[BlsSecretKey]) -> None:
    for key in keys[:40]:
        public_key = key.public_key()
        negated = BlsPublicKey(public_key._point.negate())
        assert y_sign_bit(negated.to_bytes()) != y_sign_bit(public_key.to_bytes())
        eip, negated_eip = public_key.to_eip2537(), negated.to_eip2537()
        assert negated_eip[:64] == eip[:64]
        assert int.from_bytes(negated_eip[64:], "big") == P - int.from_bytes(eip[64:], "big")


def test_sign_of_an_fp2_y_uses_c0_only_when_c1_is_zero() -> None:
    half = (P - 1) // 2
    assert _fp2_is_largest((0, half + 1)) and not _fp2_is_largest((P - 1, half))
    assert _fp2_is_largest((half + 1, 0)) and not _fp2_is_largest((half, 0))


# --- identity ------------------------------------------------------------------------------


def test_identity_points_are_all_zero_bytes(signatures: list[BlsSignature]) -> None:
    signature = signatures[0]
    cancelled = aggregate_signatures([signature, BlsSignature(signature._point.negate())])
    assert cancelled == BlsSignature(G2Element())
    assert cancelled.to_eip2537() == bytes(256)
    assert BlsSignature.from_eip2537(bytes(256)) == cancelled
    public_key = BlsSecretKey.from_seed(b"\x11" * 32).public_key()
    assert (public_key - public_key).is_infinity()
    assert (public_key - public_key).to_eip2537() == bytes(128)
    assert _g1_compressed_to_eip2537(bytes([0xC0]) + bytes(47)) == bytes(128)
    assert _g2_compressed_to_eip2537(bytes([0xC0]) + bytes(95)) == bytes(256)


# --- invalid encodings ---------------------------------------------------------------------


def first_x_off_the_curve(compressed: bytes, coordinate_offset: int) -> bytes:
    """`compressed` with the last byte of the 48-byte coordinate at `coordinate_offset`
    bumped until py_ecc finds no y for that x (about every second x)."""
    reference = py_ecc_g1_eip2537 if len(compressed) == 48 else py_ecc_g2_eip2537
    data = bytearray(compressed)
    last = coordinate_offset + 47
    for _ in range(64):
        data[last] = (data[last] + 1) % 256
        try:
            reference(bytes(data))
        except ValueError as exc:
            assert "not on G1" in str(exc) or "squareroot" in str(exc)
            return bytes(data)
    raise AssertionError("no x off the curve found in 64 tries")


def test_tampered_x_off_the_curve_is_a_named_error(signatures: list[BlsSignature]) -> None:
    for offset in (0, 48):  # x.c1 (after the flags), then x.c0
        tampered = first_x_off_the_curve(signatures[1].to_bytes(), offset)
        with pytest.raises(InvalidSignatureError, match="not on the BLS12-381 G2 curve"):
            _g2_compressed_to_eip2537(tampered)
        with pytest.raises(InvalidSignatureError, match="not a valid G2 point"):
            BlsSignature.from_bytes(tampered)
    tampered = first_x_off_the_curve(G1_GENERATOR_COMPRESSED, 0)
    with pytest.raises(InvalidPublicKeyError, match="not on the BLS12-381 G1 curve"):
        _g1_compressed_to_eip2537(tampered)
    with pytest.raises(InvalidPublicKeyError, match="not a valid G1 point"):
        BlsPublicKey.from_bytes(tampered)


@pytest.mark.parametrize(
    ("first_byte", "rest", "message"),
    [
        (0x13, G2_GENERATOR_COMPRESSED[1:], "compression flag"),
        (0xE0, bytes(95), "infinity must be all zero bits"),
        (0xC0, bytes(94) + b"\x01", "infinity must be all zero bits"),
        (0x9F, b"\xff" * 95, "field modulus"),
        (0x80, bytes(47) + (P).to_bytes(48, "big"), "field modulus"),
    ],
)
def test_malformed_compressed_signatures_are_named_errors(
    first_byte: int, rest: bytes, message: str
) -> None:
    with pytest.raises(InvalidSignatureError, match=message):
        _g2_compressed_to_eip2537(bytes([first_byte]) + rest)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes(47), "48 bytes"),
        (bytes([0x17]) + G1_GENERATOR_COMPRESSED[1:], "compression flag"),
        (bytes([0xE0]) + bytes(47), "infinity must be all zero bits"),
        (bytes([0x9F]) + b"\xff" * 47, "field modulus"),
    ],
)
def test_malformed_compressed_public_keys_are_named_errors(data: bytes, message: str) -> None:
    with pytest.raises(InvalidPublicKeyError, match=message):
        _g1_compressed_to_eip2537(data)


def test_wrong_length_compressed_signature_is_a_named_error() -> None:
    with pytest.raises(InvalidSignatureError, match="96 bytes"):
        _g2_compressed_to_eip2537(G2_GENERATOR_COMPRESSED[:95])


# --- Fp2 square root -----------------------------------------------------------------------


def random_fp2_values(rng: random.Random) -> list[tuple[int, int]]:
    values = [(rng.randrange(P), rng.randrange(P)) for _ in range(200)]
    values += [(rng.randrange(1, P), 0) for _ in range(40)]  # a1 = 0: half are Fp squares
    values += [(0, rng.randrange(1, P)) for _ in range(10)]
    return [*values, (1, 0), (P - 1, 0)]


def test_fp2_sqrt_agrees_with_py_ecc_on_squares_and_non_squares(rng: random.Random) -> None:
    squares = non_squares = 0
    for a in random_fp2_values(rng):
        reference = modular_squareroot_in_FQ2(FQ2(list(a)))
        root = _fp2_sqrt(a)
        if reference is None:
            assert root is None
            non_squares += 1
            continue
        assert root in {
            (int(reference.coeffs[0]), int(reference.coeffs[1])),
            (int(-reference.coeffs[0]) % P, int(-reference.coeffs[1]) % P),
        }
        assert root is not None
        x0, x1 = root
        assert ((x0 * x0 - x1 * x1) % P, 2 * x0 * x1 % P) == a
        squares += 1
    assert squares > 100 and non_squares > 100
    assert _fp2_sqrt((0, 0)) == (0, 0)  # py_ecc's exponentiation method answers None for 0
