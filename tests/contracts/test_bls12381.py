"""The BLS12381 Solidity library on a real anvil (EIP-2537 precompiles), through BLSHarness,
checked against blspy signatures and the py_ecc / RFC 9380 hash-to-curve reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError

from backend.core.bls import (
    SIGNATURE_DST,
    BlsPublicKey,
    BlsSecretKey,
    aggregate_public_keys,
    aggregate_signatures,
)
from backend.core.intents import blob_certification_message, proof_of_possession_message
from tests.unit.test_bls import (
    RFC9380_G2_DST,
    RFC9380_G2_VECTORS,
    g1_point_outside_subgroup,
    py_ecc_hash_to_g2_eip2537,
    rfc9380_expected_eip2537,
)

G1_ADD = "0x000000000000000000000000000000000000000b"
PAIRING_CHECK = "0x000000000000000000000000000000000000000f"
FIELD_MODULUS_BYTES = bytes.fromhex(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"
)

# Regression guards on gas, measured inside the library call (deterministic, not timing).
# Precompiles alone: hashToG2 48,200 (2 MAP_FP2_TO_G2 + G2ADD); pairing with 2 pairs 102,900.
HASH_TO_G2_GAS_CEILING = 57_000
VERIFY_GAS_CEILING = 162_000
G1_SUB_GAS_CEILING = 1_000


def _custom_error(signature: str, *args: bytes) -> str:
    return "0x" + (Web3.keccak(text=signature)[:4] + b"".join(args)).hex()


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _uint_word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _expect_revert(call: Any, error: str) -> None:
    with pytest.raises(ContractCustomError) as raised:
        call.call()
    assert raised.value.data == error


@pytest.fixture(scope="module")
def harness(deploy_contract: Callable[..., Contract]) -> Contract:
    return deploy_contract("BLSHarness")


@pytest.fixture(scope="module")
def signer() -> BlsSecretKey:
    return BlsSecretKey.from_seed(b"\x11" * 32)


def _certificate_message(epoch: int = 4) -> bytes:
    registry = "0x" + "22" * 20
    return blob_certification_message(31337, registry, epoch, bytes(range(32)), True, 17)


# --- hash to curve -------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "x0", "x1", "y0", "y1"), RFC9380_G2_VECTORS)
def test_hash_to_g2_matches_rfc9380_vectors(
    harness: Contract, message: bytes, x0: int, x1: int, y0: int, y1: int
) -> None:
    expected = rfc9380_expected_eip2537(x0, x1, y0, y1)
    assert harness.functions.hashToG2(message, RFC9380_G2_DST).call() == expected


def test_hash_to_g2_matches_py_ecc_with_the_signature_dst(harness: Contract) -> None:
    message = _certificate_message()
    expected = py_ecc_hash_to_g2_eip2537(message, SIGNATURE_DST)
    assert harness.functions.hashToG2(message, SIGNATURE_DST).call() == expected


@pytest.mark.parametrize(
    ("message_length", "dst"),
    [
        (55, b"A"),  # one-byte DST; b0's input crosses a SHA-256 block boundary
        (56, SIGNATURE_DST),
        (64, b"D" * 255),  # longest DST RFC 9380 allows
        (1000, SIGNATURE_DST),
    ],
)
def test_hash_to_g2_matches_py_ecc_at_length_boundaries(
    harness: Contract, message_length: int, dst: bytes
) -> None:
    message = bytes((7 * i + 3) % 256 for i in range(message_length))
    expected = py_ecc_hash_to_g2_eip2537(message, dst)
    assert harness.functions.hashToG2(message, dst).call() == expected


def test_hash_to_g2_rejects_empty_or_oversized_dst(harness: Contract) -> None:
    signature = "BLS12381InvalidDstLength(uint256)"
    _expect_revert(harness.functions.hashToG2(b"m", b""), _custom_error(signature, _uint_word(0)))
    _expect_revert(
        harness.functions.hashToG2(b"m", b"d" * 256), _custom_error(signature, _uint_word(256))
    )


# --- single signatures ---------------------------------------------------------------------


def test_verify_accepts_a_blspy_signature(harness: Contract, signer: BlsSecretKey) -> None:
    message = _certificate_message()
    signature = signer.sign(message).to_eip2537()
    public_key = signer.public_key().to_eip2537()
    assert harness.functions.verify(public_key, message, signature).call() is True


def test_verify_rejects_wrong_message_key_or_signature(
    harness: Contract, signer: BlsSecretKey
) -> None:
    message = _certificate_message()
    signature = signer.sign(message).to_eip2537()
    public_key = signer.public_key().to_eip2537()
    other_key = BlsSecretKey.from_seed(b"\x12" * 32)
    verify = harness.functions.verify
    assert verify(public_key, _certificate_message(epoch=5), signature).call() is False
    assert verify(other_key.public_key().to_eip2537(), message, signature).call() is False
    other_signature = signer.sign(_certificate_message(epoch=5)).to_eip2537()
    assert verify(public_key, message, other_signature).call() is False
    assert verify(public_key, message, bytes(256)).call() is False


def test_identity_public_key_never_verifies(harness: Contract) -> None:
    """With pk = 0 and sig = 0 the pairing equation holds for every message; must be refused."""
    assert harness.functions.verify(bytes(128), b"anything", bytes(256)).call() is False


def test_tampered_signature_bytes_revert_with_the_failing_precompile(
    harness: Contract, signer: BlsSecretKey
) -> None:
    message = _certificate_message()
    tampered = bytearray(signer.sign(message).to_eip2537())
    tampered[255] ^= 1  # no longer on the curve
    public_key = signer.public_key().to_eip2537()
    _expect_revert(
        harness.functions.verify(public_key, message, bytes(tampered)),
        _custom_error("BLS12381PrecompileFailed(address)", _address_word(PAIRING_CHECK)),
    )


def test_public_key_outside_the_subgroup_is_refused(harness: Contract) -> None:
    _expect_revert(
        harness.functions.verify(g1_point_outside_subgroup(), b"m", bytes(256)),
        _custom_error("BLS12381PrecompileFailed(address)", _address_word(PAIRING_CHECK)),
    )


@pytest.mark.parametrize(("key_length", "signature_length"), [(127, 256), (128, 255), (48, 96)])
def test_wrong_point_lengths_are_named_errors(
    harness: Contract, key_length: int, signature_length: int
) -> None:
    bad_length = key_length if key_length != 128 else signature_length
    _expect_revert(
        harness.functions.verify(bytes(key_length), b"m", bytes(signature_length)),
        _custom_error("BLS12381InvalidPointLength(uint256)", _uint_word(bad_length)),
    )


def test_proof_of_possession_message_verifies_on_chain(harness: Contract) -> None:
    key = BlsSecretKey.from_seed(b"\x13" * 32)
    operator = "0x" + "44" * 20
    message = proof_of_possession_message(31337, "0x" + "33" * 20, operator, key.public_key())
    proof = key.sign(message).to_eip2537()
    public_key = key.public_key().to_eip2537()
    assert harness.functions.verify(public_key, message, proof).call() is True
    other_operator = proof_of_possession_message(
        31337, "0x" + "33" * 20, "0x" + "55" * 20, key.public_key()
    )
    assert harness.functions.verify(public_key, other_operator, proof).call() is False


# --- G1 arithmetic -------------------------------------------------------------------------


def test_g1_add_negate_and_sub_match_blspy(harness: Contract) -> None:
    a = BlsSecretKey.from_seed(b"\x21" * 32).public_key()
    b = BlsSecretKey.from_seed(b"\x22" * 32).public_key()
    total = harness.functions.g1Add(a.to_eip2537(), b.to_eip2537()).call()
    assert BlsPublicKey.from_eip2537(total) == a + b
    difference = harness.functions.g1Sub(total, b.to_eip2537()).call()
    assert difference == a.to_eip2537()
    negated = harness.functions.g1Negate(a.to_eip2537()).call()
    assert negated[:64] == a.to_eip2537()[:64]
    assert harness.functions.g1Add(a.to_eip2537(), negated).call() == bytes(128)


def test_g1_infinity_is_the_identity(harness: Contract) -> None:
    a = BlsSecretKey.from_seed(b"\x23" * 32).public_key().to_eip2537()
    infinity = harness.functions.g1Infinity().call()
    assert infinity == bytes(128)
    assert harness.functions.g1Negate(infinity).call() == infinity
    assert harness.functions.g1Add(a, infinity).call() == a


def test_g1_negate_rejects_a_coordinate_above_the_field_modulus(harness: Contract) -> None:
    point = bytes(64) + bytes(16) + FIELD_MODULUS_BYTES
    _expect_revert(
        harness.functions.g1Negate(point), _custom_error("BLS12381InvalidFieldElement()")
    )


def test_g1_add_rejects_points_off_the_curve(harness: Contract) -> None:
    off_curve = (1).to_bytes(64, "big") * 2
    _expect_revert(
        harness.functions.g1Add(off_curve, bytes(128)),
        _custom_error("BLS12381PrecompileFailed(address)", _address_word(G1_ADD)),
    )


# --- aggregate certificates ----------------------------------------------------------------


@pytest.fixture(scope="module")
def committee() -> list[BlsSecretKey]:
    return [BlsSecretKey.from_seed(i.to_bytes(32, "big")) for i in range(1, 11)]


def test_quorum_certificate_verifies_with_non_signers_subtracted(
    harness: Contract, committee: list[BlsSecretKey]
) -> None:
    """n = 10, f = 3: 7 sign; the contract subtracts the 3 non-signers from the committee key."""
    message = _certificate_message()
    signers, non_signers = committee[:7], committee[7:]
    aggregate = aggregate_signatures([k.sign(message) for k in signers]).to_eip2537()
    committee_key = aggregate_public_keys([k.public_key() for k in committee]).to_eip2537()
    non_signer_keys = [k.public_key().to_eip2537() for k in non_signers]
    verify_with = harness.functions.verifyWithNonSigners
    assert verify_with(committee_key, non_signer_keys, message, aggregate).call() is True
    # Claiming a signer did not sign, or forgetting a non-signer, breaks the equation.
    wrong = [*non_signer_keys[:2], signers[0].public_key().to_eip2537()]
    assert verify_with(committee_key, wrong, message, aggregate).call() is False
    assert verify_with(committee_key, non_signer_keys[:2], message, aggregate).call() is False
    assert verify_with(committee_key, non_signer_keys, b"other", aggregate).call() is False


def test_all_signers_need_no_subtraction(harness: Contract, committee: list[BlsSecretKey]) -> None:
    message = _certificate_message()
    aggregate = aggregate_signatures([k.sign(message) for k in committee]).to_eip2537()
    committee_key = aggregate_public_keys([k.public_key() for k in committee]).to_eip2537()
    assert harness.functions.verify(committee_key, message, aggregate).call() is True


# --- gas -----------------------------------------------------------------------------------


def test_gas_of_hash_to_g2_and_verify_stays_near_the_precompile_cost(
    harness: Contract, signer: BlsSecretKey, committee: list[BlsSecretKey]
) -> None:
    message = _certificate_message()
    hash_gas = harness.functions.hashToG2GasUsed(message, SIGNATURE_DST).call()
    verify_gas = harness.functions.verifyGasUsed(
        signer.public_key().to_eip2537(), message, signer.sign(message).to_eip2537()
    ).call()
    assert 48_200 < hash_gas < HASH_TO_G2_GAS_CEILING
    assert 48_200 + 102_900 < verify_gas < VERIFY_GAS_CEILING

    # Each non-signer adds one G1 subtraction, not another pairing: gas is nearly flat in n.
    aggregate = aggregate_signatures([k.sign(message) for k in committee[:7]]).to_eip2537()
    committee_key = aggregate_public_keys([k.public_key() for k in committee]).to_eip2537()
    non_signers = [k.public_key().to_eip2537() for k in committee[7:]]
    verify_with = harness.functions.verifyWithNonSigners
    with_three = verify_with(committee_key, non_signers, message, aggregate).estimate_gas()
    all_signed = aggregate_signatures([k.sign(message) for k in committee]).to_eip2537()
    with_none = verify_with(committee_key, [], message, all_signed).estimate_gas()
    calldata_gas = 3 * (32 + 32 + 128) * 16
    assert with_three - with_none < 3 * G1_SUB_GAS_CEILING + calldata_gas
