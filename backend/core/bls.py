"""BLS12-381 keys and signatures for storage certificates and proofs of possession.

Ciphersuite `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` (public keys in G1, signatures
in G2). Signing, aggregation and verification run on blspy; py_ecc is used only to turn
compressed points into the uncompressed EIP-2537 form the contracts take, and back.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Final

from blspy import G1Element, G2Element, PopSchemeMPL, PrivateKey
from py_ecc.bls.point_compression import compress_G1, compress_G2, decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G2Compressed
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.optimized_bls12_381.optimized_curve import b, b2, is_on_curve, normalize

from backend.core.errors import CoreError

SIGNATURE_DST: Final = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
FIELD_MODULUS: Final = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab",
    16,
)
CURVE_ORDER: Final = int("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001", 16)

SECRET_KEY_SIZE: Final = 32
PUBLIC_KEY_SIZE: Final = 48
SIGNATURE_SIZE: Final = 96
FP_EIP2537_SIZE: Final = 64
G1_EIP2537_SIZE: Final = 2 * FP_EIP2537_SIZE
G2_EIP2537_SIZE: Final = 4 * FP_EIP2537_SIZE
MIN_SEED_SIZE: Final = 32

_FP_PADDING: Final = FP_EIP2537_SIZE - 48
_G1_INFINITY_COMPRESSED: Final = bytes(G1Element())


class BlsError(CoreError):
    """Base class of all BLS input errors."""


class InvalidSecretKeyError(BlsError):
    """Secret key bytes or key-generation seed are malformed."""


class InvalidPublicKeyError(BlsError):
    """Public key bytes are malformed, not on the curve, not in G1, or the identity."""


class InvalidSignatureError(BlsError):
    """Signature bytes are malformed, not on the curve or not in G2."""


class EmptyAggregationError(BlsError):
    """Aggregating nothing has no meaningful result."""


def _as_bytes(data: bytes | bytearray | memoryview, what: str, error: type[BlsError]) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise error(f"{what} must be bytes, got {type(data).__name__}")
    return bytes(data)


def _fp_to_eip2537(value: int) -> bytes:
    return value.to_bytes(FP_EIP2537_SIZE, "big")


def _fp_from_eip2537(chunk: bytes, what: str, error: type[BlsError]) -> int:
    """Decode one 64-byte padded big-endian field element, rejecting non-canonical values."""
    if any(chunk[:_FP_PADDING]):
        raise error(f"{what}: the top {_FP_PADDING} bytes of each coordinate must be zero")
    value = int.from_bytes(chunk, "big")
    if value >= FIELD_MODULUS:
        raise error(f"{what}: coordinate is not below the field modulus")
    return value


class BlsSecretKey:
    """A node's signing key (a scalar below the curve order)."""

    __slots__ = ("_key",)

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    @classmethod
    def from_seed(cls, seed: bytes) -> BlsSecretKey:
        """Derive a key deterministically from at least 32 bytes of secret seed (IETF KeyGen)."""
        seed = _as_bytes(seed, "seed", InvalidSecretKeyError)
        if len(seed) < MIN_SEED_SIZE:
            raise InvalidSecretKeyError(
                f"seed must be at least {MIN_SEED_SIZE} bytes, got {len(seed)}"
            )
        return cls(PopSchemeMPL.key_gen(seed))

    @classmethod
    def generate(cls) -> BlsSecretKey:
        """A fresh key from the operating system's random source."""
        return cls.from_seed(secrets.token_bytes(MIN_SEED_SIZE))

    @classmethod
    def from_bytes(cls, data: bytes) -> BlsSecretKey:
        """Load a 32-byte big-endian scalar, as written by `to_bytes`."""
        data = _as_bytes(data, "secret key", InvalidSecretKeyError)
        if len(data) != SECRET_KEY_SIZE:
            raise InvalidSecretKeyError(
                f"secret key must be {SECRET_KEY_SIZE} bytes, got {len(data)}"
            )
        scalar = int.from_bytes(data, "big")
        if not 0 < scalar < CURVE_ORDER:
            raise InvalidSecretKeyError("secret key must be a nonzero scalar below the curve order")
        return cls(PrivateKey.from_bytes(data))

    def to_bytes(self) -> bytes:
        return bytes(self._key)

    def public_key(self) -> BlsPublicKey:
        return BlsPublicKey(self._key.get_g1())

    def sign(self, message: bytes) -> BlsSignature:
        return BlsSignature(PopSchemeMPL.sign(self._key, bytes(message)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlsSecretKey) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.public_key())

    def __repr__(self) -> str:
        return f"BlsSecretKey(public_key={self.public_key().to_bytes().hex()})"


class BlsPublicKey:
    """A point in G1: 48 bytes compressed, 128 bytes in EIP-2537 form."""

    __slots__ = ("_point",)

    def __init__(self, point: G1Element) -> None:
        self._point = point

    @classmethod
    def from_bytes(cls, data: bytes) -> BlsPublicKey:
        """Load a 48-byte compressed key; rejects points off the curve, outside G1, or the
        identity (IETF KeyValidate)."""
        data = _as_bytes(data, "public key", InvalidPublicKeyError)
        if len(data) != PUBLIC_KEY_SIZE:
            raise InvalidPublicKeyError(
                f"public key must be {PUBLIC_KEY_SIZE} bytes compressed, got {len(data)}"
            )
        try:
            point = G1Element.from_bytes(data)
        except ValueError as exc:
            raise InvalidPublicKeyError(f"public key is not a valid G1 point: {exc}") from None
        if data == _G1_INFINITY_COMPRESSED:
            raise InvalidPublicKeyError("public key is the point at infinity")
        return cls(point)

    @classmethod
    def from_eip2537(cls, data: bytes) -> BlsPublicKey:
        """Load a 128-byte EIP-2537 G1 point (x ‖ y), as stored on chain."""
        data = _as_bytes(data, "public key", InvalidPublicKeyError)
        if len(data) != G1_EIP2537_SIZE:
            raise InvalidPublicKeyError(
                f"EIP-2537 public key must be {G1_EIP2537_SIZE} bytes, got {len(data)}"
            )
        if not any(data):
            raise InvalidPublicKeyError("public key is the point at infinity")
        x = _fp_from_eip2537(data[:64], "public key", InvalidPublicKeyError)
        y = _fp_from_eip2537(data[64:], "public key", InvalidPublicKeyError)
        point = (FQ(x), FQ(y), FQ.one())
        if not is_on_curve(point, b):
            raise InvalidPublicKeyError("public key is not on the BLS12-381 G1 curve")
        return cls.from_bytes(compress_G1(point).to_bytes(PUBLIC_KEY_SIZE, "big"))

    def to_bytes(self) -> bytes:
        return bytes(self._point)

    def to_eip2537(self) -> bytes:
        """128 bytes: x ‖ y, each a 64-byte big-endian padded field element; the identity
        is 128 zero bytes."""
        compressed = self.to_bytes()
        if compressed == _G1_INFINITY_COMPRESSED:
            return bytes(G1_EIP2537_SIZE)
        x, y = normalize(decompress_G1(G1Compressed(int.from_bytes(compressed, "big"))))
        return _fp_to_eip2537(x.n) + _fp_to_eip2537(y.n)

    def is_infinity(self) -> bool:
        return self.to_bytes() == _G1_INFINITY_COMPRESSED

    def __add__(self, other: BlsPublicKey) -> BlsPublicKey:
        return BlsPublicKey(self._point + other._point)

    def __sub__(self, other: BlsPublicKey) -> BlsPublicKey:
        return BlsPublicKey(self._point + other._point.negate())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlsPublicKey) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"BlsPublicKey({self.to_bytes().hex()})"


class BlsSignature:
    """A point in G2: 96 bytes compressed, 256 bytes in EIP-2537 form."""

    __slots__ = ("_point",)

    def __init__(self, point: G2Element) -> None:
        self._point = point

    @classmethod
    def from_bytes(cls, data: bytes) -> BlsSignature:
        """Load a 96-byte compressed signature; rejects points off the curve or outside G2."""
        data = _as_bytes(data, "signature", InvalidSignatureError)
        if len(data) != SIGNATURE_SIZE:
            raise InvalidSignatureError(
                f"signature must be {SIGNATURE_SIZE} bytes compressed, got {len(data)}"
            )
        try:
            return cls(G2Element.from_bytes(data))
        except ValueError as exc:
            raise InvalidSignatureError(f"signature is not a valid G2 point: {exc}") from None

    @classmethod
    def from_eip2537(cls, data: bytes) -> BlsSignature:
        """Load a 256-byte EIP-2537 G2 point (x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1)."""
        data = _as_bytes(data, "signature", InvalidSignatureError)
        if len(data) != G2_EIP2537_SIZE:
            raise InvalidSignatureError(
                f"EIP-2537 signature must be {G2_EIP2537_SIZE} bytes, got {len(data)}"
            )
        if not any(data):
            return cls(G2Element())
        x0, x1, y0, y1 = (
            _fp_from_eip2537(data[i : i + 64], "signature", InvalidSignatureError)
            for i in range(0, G2_EIP2537_SIZE, 64)
        )
        point = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
        if not is_on_curve(point, b2):
            raise InvalidSignatureError("signature is not on the BLS12-381 G2 curve")
        z1, z2 = compress_G2(point)
        return cls.from_bytes(z1.to_bytes(48, "big") + z2.to_bytes(48, "big"))

    def to_bytes(self) -> bytes:
        return bytes(self._point)

    def to_eip2537(self) -> bytes:
        """256 bytes: x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1, each 64-byte padded; identity is all zeros.

        The compressed form starts with x.c1, so the point is decompressed first."""
        if self._point == G2Element():
            return bytes(G2_EIP2537_SIZE)
        compressed = self.to_bytes()
        z1, z2 = int.from_bytes(compressed[:48], "big"), int.from_bytes(compressed[48:], "big")
        x, y = normalize(decompress_G2(G2Compressed((z1, z2))))
        return b"".join(_fp_to_eip2537(int(c)) for c in (*x.coeffs, *y.coeffs))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlsSignature) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"BlsSignature({self.to_bytes().hex()})"


def aggregate_signatures(signatures: Sequence[BlsSignature]) -> BlsSignature:
    """Sum of the signatures (for many signers of one message, or of different messages)."""
    if not signatures:
        raise EmptyAggregationError("cannot aggregate an empty list of signatures")
    return BlsSignature(PopSchemeMPL.aggregate([s._point for s in signatures]))


def aggregate_public_keys(public_keys: Sequence[BlsPublicKey]) -> BlsPublicKey:
    """Sum of the keys. Safe against rogue keys only if each key's proof of possession
    was checked (the Staking contract does so at registration)."""
    if not public_keys:
        raise EmptyAggregationError("cannot aggregate an empty list of public keys")
    total = public_keys[0]._point
    for key in public_keys[1:]:
        total = total + key._point
    return BlsPublicKey(total)


def verify(public_key: BlsPublicKey, message: bytes, signature: BlsSignature) -> bool:
    """True iff `signature` is `public_key`'s signature of `message` under SIGNATURE_DST."""
    if public_key.is_infinity():
        return False
    return bool(PopSchemeMPL.verify(public_key._point, bytes(message), signature._point))


def verify_aggregate_same_message(
    public_keys: Sequence[BlsPublicKey], message: bytes, signature: BlsSignature
) -> bool:
    """True iff `signature` aggregates signatures of `message` by every key in `public_keys`
    (keys must have proofs of possession). An empty signer set never verifies."""
    if not public_keys:
        return False
    points = [k._point for k in public_keys]
    return bool(PopSchemeMPL.fast_aggregate_verify(points, bytes(message), signature._point))
