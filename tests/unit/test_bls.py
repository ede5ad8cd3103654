"""BLS12-381 keys, signatures, aggregation and EIP-2537 encodings (backend/core/bls.py),
and the byte layout of every signed message (backend/core/intents.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from eth_abi.packed import encode_packed
from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls.ciphersuites import G2ProofOfPossession as PyEccPop
from py_ecc.bls.hash_to_curve import hash_to_G2
from py_ecc.bls.point_compression import modular_squareroot_in_FQ2
from py_ecc.bls.typing import G2Uncompressed
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.optimized_bls12_381.optimized_curve import b2, multiply, normalize

from backend.core.bls import (
    FIELD_MODULUS,
    SIGNATURE_DST,
    BlsPublicKey,
    BlsSecretKey,
    BlsSignature,
    EmptyAggregationError,
    InvalidPublicKeyError,
    InvalidSecretKeyError,
    InvalidSignatureError,
    aggregate_public_keys,
    aggregate_signatures,
    verify,
    verify_aggregate_same_message,
)
from backend.core.errors import CoreError
from backend.core.intents import (
    IntentType,
    InvalidIntentFieldError,
    blob_certification_message,
    epoch_sync_done_message,
    invalid_blob_message,
    proof_of_possession_message,
)

# RFC 9380 Appendix J.10.1, suite BLS12381G2_XMD:SHA-256_SSWU_RO_:
# (msg, P.x.c0, P.x.c1, P.y.c0, P.y.c1).
RFC9380_G2_DST = b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_"
RFC9380_G2_VECTORS = [
    (
        b"",
        0x0141EBFBDCA40EB85B87142E130AB689C673CF60F1A3E98D69335266F30D9B8D4AC44C1038E9DCDD5393FAF5C41FB78A,
        0x05CB8437535E20ECFFAEF7752BADDF98034139C38452458BAEEFAB379BA13DFF5BF5DD71B72418717047F5B0F37DA03D,
        0x0503921D7F6A12805E72940B963C0CF3471C7B2A524950CA195D11062EE75EC076DAF2D4BC358C4B190C0C98064FDD92,
        0x12424AC32561493F3FE3C260708A12B7C620E7BE00099A974E259DDC7D1F6395C3C811CDD19F1E8DBF3E9ECFDCBAB8D6,
    ),
    (
        b"abc",
        0x02C2D18E033B960562AAE3CAB37A27CE00D80CCD5BA4B7FE0E7A210245129DBEC7780CCC7954725F4168AFF2787776E6,
        0x139CDDBCCDC5E91B9623EFD38C49F81A6F83F175E80B06FC374DE9EB4B41DFE4CA3A230ED250FBE3A2ACF73A41177FD8,
        0x1787327B68159716A37440985269CF584BCB1E621D3A7202BE6EA05C4CFE244AEB197642555A0645FB87BF7466B2BA48,
        0x00AA65DAE3C8D732D10ECD2C50F8A1BAF3001578F71C694E03866E9F3D49AC1E1CE70DD94A733534F106D4CEC0EDDD16,
    ),
    (
        b"abcdef0123456789",
        0x121982811D2491FDE9BA7ED31EF9CA474F0E1501297F68C298E9F4C0028ADD35AEA8BB83D53C08CFC007C1E005723CD0,
        0x190D119345B94FBD15497BCBA94ECF7DB2CBFD1E1FE7DA034D26CBBA169FB3968288B3FAFB265F9EBD380512A71C3F2C,
        0x05571A0F8D3C08D094576981F4A3B8EDA0A8E771FCDCC8ECCEAF1356A6ACF17574518ACB506E435B639353C2E14827C8,
        0x0BB5E7572275C567462D91807DE765611490205A941A5A6AF3B1691BFE596C31225D3AABDF15FAFF860CB4EF17C7C3BE,
    ),
    (
        b"q128_" + b"q" * 128,
        0x19A84DD7248A1066F737CC34502EE5555BD3C19F2ECDB3C7D9E24DC65D4E25E50D83F0F77105E955D78F4762D33C17DA,
        0x0934ABA516A52D8AE479939A91998299C76D39CC0C035CD18813BEC433F587E2D7A4FEF038260EEF0CEF4D02AAE3EB91,
        0x14F81CD421617428BC3B9FE25AFBB751D934A00493524BC4E065635B0555084DD54679DF1536101B2C979C0152D09192,
        0x09BCCCFA036B4847C9950780733633F13619994394C23FF0B32FA6B795844F4A0673E20282D07BC69641CEE04F5E5662,
    ),
    (
        b"a512_" + b"a" * 512,
        0x01A6BA2F9A11FA5598B2D8ACE0FBE0A0EACB65DECEB476FBBCB64FD24557C2F4B18ECFC5663E54AE16A84F5AB7F62534,
        0x11FCA2FF525572795A801EED17EB12785887C7B63FB77A42BE46CE4A34131D71F7A73E95FEE3F812AEA3DE78B4D01569,
        0x0B6798718C8AED24BC19CB27F866F1C9EFFCDBF92397AD6448B5C9DB90D2B9DA6CBABF48ADC1ADF59A1A28344E79D57E,
        0x03A47F8E6D1763BA0CAD63D6114C0ACCBEF65707825A511B251A660A9B3994249AE4E63FAC38B23DA0C398689EE2AB52,
    ),
]


def rfc9380_expected_eip2537(x0: int, x1: int, y0: int, y1: int) -> bytes:
    """An RFC 9380 G2 vector in EIP-2537 layout (x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1, 64 bytes each)."""
    return b"".join(c.to_bytes(64, "big") for c in (x0, x1, y0, y1))


def py_ecc_hash_to_g2(message: bytes, dst: bytes) -> G2Uncompressed:
    # py_ecc annotates the hash argument as a hash object but calls it as a constructor.
    return hash_to_G2(message, dst, hashlib.sha256)  # type: ignore[arg-type]


def py_ecc_hash_to_g2_eip2537(message: bytes, dst: bytes) -> bytes:
    x, y = normalize(py_ecc_hash_to_g2(message, dst))
    return b"".join(int(c).to_bytes(64, "big") for c in (*x.coeffs, *y.coeffs))


def g1_point_outside_subgroup() -> bytes:
    """An EIP-2537 G1 point on y² = x³ + 4 whose order is not the group order r."""
    x = 1
    while True:
        rhs = (x**3 + 4) % FIELD_MODULUS
        y = pow(rhs, (FIELD_MODULUS + 1) // 4, FIELD_MODULUS)
        if y * y % FIELD_MODULUS == rhs:
            return x.to_bytes(64, "big") + y.to_bytes(64, "big")
        x += 1


def g2_point_outside_subgroup() -> bytes:
    """An EIP-2537 G2 point on the twist whose order is not r (cofactor not cleared)."""
    x_real = 1
    while True:
        x = FQ2([x_real, 1])
        y = modular_squareroot_in_FQ2(x**3 + b2)
        if y is not None:
            return b"".join(int(c).to_bytes(64, "big") for c in (*x.coeffs, *y.coeffs))
        x_real += 1


@pytest.fixture(scope="module")
def committee_keys() -> list[BlsSecretKey]:
    return [BlsSecretKey.from_seed(bytes([i]) * 32) for i in range(7)]


# --- keys and signatures -------------------------------------------------------------------


def test_sign_and_verify_round_trip() -> None:
    key = BlsSecretKey.from_seed(b"\x01" * 32)
    signature = key.sign(b"certify blob 42")
    assert verify(key.public_key(), b"certify blob 42", signature)
    assert not verify(key.public_key(), b"certify blob 43", signature)
    other = BlsSecretKey.from_seed(b"\x02" * 32)
    assert not verify(other.public_key(), b"certify blob 42", signature)


def test_key_generation_is_deterministic_from_seed_and_random_otherwise() -> None:
    assert BlsSecretKey.from_seed(b"s" * 32) == BlsSecretKey.from_seed(b"s" * 32)
    assert BlsSecretKey.from_seed(b"s" * 32) != BlsSecretKey.from_seed(b"t" * 32)
    assert BlsSecretKey.generate() != BlsSecretKey.generate()


def test_secret_key_bytes_round_trip_and_repr_hides_secret() -> None:
    key = BlsSecretKey.generate()
    assert BlsSecretKey.from_bytes(key.to_bytes()) == key
    assert key.to_bytes().hex() not in repr(key)


def test_public_key_and_signature_round_trip_both_encodings() -> None:
    key = BlsSecretKey.from_seed(b"\x05" * 32)
    public_key, signature = key.public_key(), key.sign(b"m")
    assert len(public_key.to_bytes()) == 48 and len(public_key.to_eip2537()) == 128
    assert len(signature.to_bytes()) == 96 and len(signature.to_eip2537()) == 256
    assert BlsPublicKey.from_bytes(public_key.to_bytes()) == public_key
    assert BlsPublicKey.from_eip2537(public_key.to_eip2537()) == public_key
    assert BlsSignature.from_bytes(signature.to_bytes()) == signature
    assert BlsSignature.from_eip2537(signature.to_eip2537()) == signature


def test_blspy_signature_bytes_equal_py_ecc_reference() -> None:
    key = BlsSecretKey.from_seed(b"\x09" * 32)
    scalar = int.from_bytes(key.to_bytes(), "big")
    message = b"walrus-evm cross-check"
    reference = PyEccPop.Sign(scalar, message)
    assert key.sign(message).to_bytes() == reference
    assert key.public_key().to_bytes() == PyEccPop.SkToPk(scalar)
    assert PyEccPop.Verify(
        BLSPubkey(key.public_key().to_bytes()), message, BLSSignature(key.sign(message).to_bytes())
    )


def test_eip2537_signature_layout_is_x_c0_first() -> None:
    """The compressed form carries x.c1 first; EIP-2537 wants x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1."""
    key = BlsSecretKey.from_seed(b"\x0a" * 32)
    signature = key.sign(b"layout")
    compressed = signature.to_bytes()
    x_c1 = int.from_bytes(compressed[:48], "big") & ((1 << 381) - 1)
    x_c0 = int.from_bytes(compressed[48:], "big")
    eip = signature.to_eip2537()
    assert int.from_bytes(eip[0:64], "big") == x_c0
    assert int.from_bytes(eip[64:128], "big") == x_c1
    assert all(eip[i * 64 : i * 64 + 16] == bytes(16) for i in range(4))


def test_signature_is_hash_to_g2_times_secret_under_the_pop_dst() -> None:
    """Pins the ciphersuite: the signature of m is sk · hash_to_G2(m, SIGNATURE_DST)."""
    key = BlsSecretKey.from_seed(b"\x0b" * 32)
    expected = multiply(
        py_ecc_hash_to_g2(b"dst", SIGNATURE_DST), int.from_bytes(key.to_bytes(), "big")
    )
    x, y = normalize(expected)
    eip = b"".join(int(c).to_bytes(64, "big") for c in (*x.coeffs, *y.coeffs))
    assert key.sign(b"dst").to_eip2537() == eip


# --- aggregation ---------------------------------------------------------------------------


def test_quorum_aggregate_verifies_and_equals_apk_minus_non_signers(
    committee_keys: list[BlsSecretKey],
) -> None:
    message = b"certificate"
    n = len(committee_keys)
    quorum = 2 * ((n - 1) // 3) + 1
    signers = committee_keys[:quorum]
    aggregate = aggregate_signatures([k.sign(message) for k in signers])
    signer_keys = [k.public_key() for k in signers]
    assert verify_aggregate_same_message(signer_keys, message, aggregate)
    assert verify(aggregate_public_keys(signer_keys), message, aggregate)

    committee_key = aggregate_public_keys([k.public_key() for k in committee_keys])
    remaining = committee_key
    for non_signer in committee_keys[quorum:]:
        remaining = remaining - non_signer.public_key()
    assert remaining == aggregate_public_keys(signer_keys)
    assert verify(remaining, message, aggregate)
    assert not verify(committee_key, message, aggregate)


def test_aggregate_missing_or_extra_signer_fails(committee_keys: list[BlsSecretKey]) -> None:
    message = b"certificate"
    signatures = [k.sign(message) for k in committee_keys[:5]]
    aggregate = aggregate_signatures(signatures[:4])
    keys = [k.public_key() for k in committee_keys[:5]]
    assert verify_aggregate_same_message(keys[:4], message, aggregate)
    assert not verify_aggregate_same_message(keys[:5], message, aggregate)
    assert not verify_aggregate_same_message(keys[:3], message, aggregate)
    assert not verify_aggregate_same_message([], message, aggregate)


def test_aggregating_nothing_is_a_named_error() -> None:
    with pytest.raises(EmptyAggregationError):
        aggregate_signatures([])
    with pytest.raises(EmptyAggregationError):
        aggregate_public_keys([])


# --- malformed input -----------------------------------------------------------------------


def test_bad_seed_and_secret_key_bytes_are_named_errors() -> None:
    with pytest.raises(InvalidSecretKeyError, match="at least 32"):
        BlsSecretKey.from_seed(b"short")
    with pytest.raises(InvalidSecretKeyError, match="32 bytes"):
        BlsSecretKey.from_bytes(b"\x01" * 31)
    with pytest.raises(InvalidSecretKeyError, match="curve order"):
        BlsSecretKey.from_bytes(b"\xff" * 32)
    with pytest.raises(InvalidSecretKeyError, match="nonzero"):
        BlsSecretKey.from_bytes(bytes(32))


_P_BYTES = FIELD_MODULUS.to_bytes(64, "big")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01" * 47, "48 bytes"),
        (b"\xff" * 48, "not a valid G1 point"),
        (bytes([0xC0]) + bytes(47), "infinity"),
    ],
)
def test_malformed_compressed_public_keys_are_rejected(data: bytes, message: str) -> None:
    with pytest.raises(InvalidPublicKeyError, match=message):
        BlsPublicKey.from_bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes(127), "128 bytes"),
        (bytes(128), "infinity"),
        ((1).to_bytes(64, "big") * 2, "not on the BLS12-381 G1 curve"),
        (_P_BYTES + (2).to_bytes(64, "big"), "field modulus"),
        (b"\x01" + bytes(63) + (2).to_bytes(64, "big"), "top 16 bytes"),
        (g1_point_outside_subgroup(), "not a valid G1 point"),
    ],
)
def test_malformed_eip2537_public_keys_are_rejected(data: bytes, message: str) -> None:
    with pytest.raises(InvalidPublicKeyError, match=message):
        BlsPublicKey.from_eip2537(data)


def test_malformed_signatures_are_rejected() -> None:
    with pytest.raises(InvalidSignatureError, match="96 bytes"):
        BlsSignature.from_bytes(bytes(95))
    with pytest.raises(InvalidSignatureError, match="not a valid G2 point"):
        BlsSignature.from_bytes(b"\xff" * 96)
    with pytest.raises(InvalidSignatureError, match="256 bytes"):
        BlsSignature.from_eip2537(bytes(255))
    with pytest.raises(InvalidSignatureError, match="not on the BLS12-381 G2 curve"):
        BlsSignature.from_eip2537((1).to_bytes(64, "big") * 4)
    with pytest.raises(InvalidSignatureError, match="field modulus"):
        BlsSignature.from_eip2537(_P_BYTES + bytes(192))
    with pytest.raises(InvalidSignatureError, match="not a valid G2 point"):
        BlsSignature.from_eip2537(g2_point_outside_subgroup())


def test_bls_and_message_errors_are_core_errors_the_api_maps_to_4xx() -> None:
    with pytest.raises(CoreError):
        BlsSignature.from_bytes(bytes(96))
    with pytest.raises(CoreError):
        invalid_blob_message(1, "0x00", 1, bytes(32))


def test_wrong_types_are_named_errors_not_type_errors() -> None:
    with pytest.raises(InvalidPublicKeyError):
        BlsPublicKey.from_bytes("ab" * 48)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignatureError):
        BlsSignature.from_bytes(None)  # type: ignore[arg-type]


# --- hash to curve -------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "x0", "x1", "y0", "y1"), RFC9380_G2_VECTORS)
def test_py_ecc_hash_to_g2_matches_rfc9380(
    message: bytes, x0: int, x1: int, y0: int, y1: int
) -> None:
    """The reference the Solidity hashToG2 is checked against agrees with the RFC."""
    expected = rfc9380_expected_eip2537(x0, x1, y0, y1)
    assert py_ecc_hash_to_g2_eip2537(message, RFC9380_G2_DST) == expected


# --- signed messages -----------------------------------------------------------------------

CHAIN_ID = 31337
STAKING = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
REGISTRY = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
OPERATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BLOB_ID = bytes(range(32))


def _header(intent: int, contract: str) -> list[tuple[str, object]]:
    return [
        ("uint8", intent),
        ("uint8", 0),
        ("uint8", 3),
        ("uint256", CHAIN_ID),
        ("address", contract),
    ]


def _packed(fields: list[tuple[str, object]]) -> bytes:
    return encode_packed([t for t, _ in fields], [v for _, v in fields])


def test_messages_match_abi_encode_packed() -> None:
    """Cross-checks every layout of docs/protocol.md against eth_abi's encodePacked."""
    key = BlsSecretKey.from_seed(b"\x0c" * 32).public_key()
    assert proof_of_possession_message(CHAIN_ID, STAKING, OPERATOR, key) == _packed(
        [*_header(0, STAKING), ("address", OPERATOR), ("bytes", key.to_eip2537())]
    )
    assert blob_certification_message(CHAIN_ID, REGISTRY, 7, BLOB_ID, True, 99) == _packed(
        [
            *_header(1, REGISTRY),
            ("uint32", 7),
            ("bytes32", BLOB_ID),
            ("uint8", 1),
            ("uint256", 99),
        ]
    )
    assert blob_certification_message(CHAIN_ID, REGISTRY, 7, BLOB_ID, False, 0) == _packed(
        [*_header(1, REGISTRY), ("uint32", 7), ("bytes32", BLOB_ID), ("uint8", 0), ("uint256", 0)]
    )
    assert invalid_blob_message(CHAIN_ID, REGISTRY, 2**32 - 1, BLOB_ID) == _packed(
        [*_header(2, REGISTRY), ("uint32", 2**32 - 1), ("bytes32", BLOB_ID)]
    )
    assert epoch_sync_done_message(CHAIN_ID, STAKING, 3, 2**256 - 1) == _packed(
        [*_header(3, STAKING), ("uint32", 3), ("uint256", 2**256 - 1)]
    )


def test_message_header_layout_and_lengths() -> None:
    message = blob_certification_message(CHAIN_ID, REGISTRY, 1, BLOB_ID, True, 5)
    assert message[0] == IntentType.BLOB_CERTIFICATION
    assert message[1:3] == bytes([0, 3])
    assert int.from_bytes(message[3:35], "big") == CHAIN_ID
    assert message[35:55] == bytes.fromhex(REGISTRY[2:])
    assert len(message) == 55 + 4 + 32 + 1 + 32
    pop = proof_of_possession_message(CHAIN_ID, STAKING, OPERATOR, bytes(128))
    assert len(pop) == 55 + 20 + 128
    assert (
        proof_of_possession_message(
            CHAIN_ID, STAKING.lower(), bytes.fromhex(OPERATOR[2:]), bytes(128)
        )
        == pop
    )


def test_messages_differ_by_intent_chain_and_contract() -> None:
    base = invalid_blob_message(CHAIN_ID, REGISTRY, 1, BLOB_ID)
    assert invalid_blob_message(CHAIN_ID + 1, REGISTRY, 1, BLOB_ID) != base
    assert invalid_blob_message(CHAIN_ID, STAKING, 1, BLOB_ID) != base
    assert blob_certification_message(CHAIN_ID, REGISTRY, 1, BLOB_ID, False, 0)[:55] != base[:55]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: invalid_blob_message(CHAIN_ID, REGISTRY, 2**32, BLOB_ID), "uint32"),
        (lambda: invalid_blob_message(CHAIN_ID, REGISTRY, -1, BLOB_ID), "uint32"),
        (lambda: invalid_blob_message(-1, REGISTRY, 1, BLOB_ID), "chain_id"),
        (lambda: invalid_blob_message(CHAIN_ID, REGISTRY, 1, BLOB_ID[:31]), "32 bytes"),
        (lambda: invalid_blob_message(CHAIN_ID, "0x1234", 1, BLOB_ID), "registry must be 20"),
        (lambda: invalid_blob_message(CHAIN_ID, "0xzz" + "0" * 38, 1, BLOB_ID), "hexadecimal"),
        (lambda: invalid_blob_message(CHAIN_ID, REGISTRY[2:], 1, BLOB_ID), "0x-prefixed"),
        (lambda: invalid_blob_message(CHAIN_ID, REGISTRY, True, BLOB_ID), "integer"),
        (
            lambda: blob_certification_message(CHAIN_ID, REGISTRY, 1, BLOB_ID, False, 9),
            "permanent",
        ),
        (lambda: epoch_sync_done_message(CHAIN_ID, STAKING, 1, 2**256), "uint256"),
        (
            lambda: proof_of_possession_message(CHAIN_ID, STAKING, OPERATOR, bytes(48)),
            "EIP-2537",
        ),
    ],
)
def test_bad_message_fields_are_named_errors(build: Callable[[], bytes], message: str) -> None:
    with pytest.raises(InvalidIntentFieldError, match=message):
        build()
