"""BLS12-381 keys and signatures for storage certificates and proofs of possession.

Ciphersuite `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` (public keys in G1, signatures
in G2). Signing, aggregation and verification run on blspy. Converting between blspy's
compressed points and the uncompressed EIP-2537 form the contracts take is done here with
plain integer arithmetic (built-in `pow`): py_ecc's pure-Python G2 decompression took ~7 ms
per signature, paid by every node confirmation and every certificate.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Final

from blspy import G1Element, G2Element, PopSchemeMPL, PrivateKey

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


# --- point (de)compression -----------------------------------------------------------------
#
# Compressed points follow the ZCash serialization used by blspy, py_ecc and the IETF BLS
# drafts: big-endian x with three flag bits on top of the first byte (compression, infinity,
# sign of y). For G2, x = x.c0 + x.c1·i is serialized x.c1 first, then x.c0. The sign bit is
# set iff y is "lexicographically largest": y > (p - 1) / 2 in Fp; in Fp2 the same test on
# y.c1, or on y.c0 when y.c1 = 0.

_P: Final = FIELD_MODULUS
_HALF_P: Final = (_P - 1) // 2
_SQRT_EXPONENT: Final = (_P + 1) // 4  # p ≡ 3 (mod 4): a^((p+1)/4) is a root of a square a
_INVERSE_SQRT_EXPONENT: Final = (_P - 3) // 4  # a^((p-3)/4) = 1/sqrt(a) for a square a
_INVERSE_OF_TWO: Final = (_P + 1) // 2
_G1_B: Final = 4  # E: y² = x³ + 4
_G2_B: Final = (4, 4)  # E': y² = x³ + 4(1 + i)
_COMPRESSION_FLAG: Final = 1 << 383
_INFINITY_FLAG: Final = 1 << 382
_SIGN_FLAG: Final = 1 << 381
_COORDINATE_MASK: Final = _SIGN_FLAG - 1
_FP_SIZE: Final = 48

_Fp2 = tuple[int, int]
"""c0 + c1·i with i² = -1, both coordinates reduced modulo p."""


def _fp_sqrt(a: int) -> int | None:
    """A square root of `a` (reduced mod p) in Fp, or None if `a` is not a square."""
    root = pow(a, _SQRT_EXPONENT, _P)
    return root if root * root % _P == a else None


def _fp2_mul(a: _Fp2, b: _Fp2) -> _Fp2:
    a0, a1 = a
    b0, b1 = b
    return (a0 * b0 - a1 * b1) % _P, (a0 * b1 + a1 * b0) % _P


def _fp2_square(a: _Fp2) -> _Fp2:
    a0, a1 = a
    return (a0 + a1) * (a0 - a1) % _P, 2 * a0 * a1 % _P


def _g2_curve_rhs(x: _Fp2) -> _Fp2:
    x_cubed = _fp2_mul(_fp2_square(x), x)
    return (x_cubed[0] + _G2_B[0]) % _P, (x_cubed[1] + _G2_B[1]) % _P


def _fp2_sqrt(a: _Fp2) -> _Fp2 | None:
    """A square root of `a` in Fp2 = Fp[i]/(i² + 1), or None if `a` is not a square.

    The "complex method" for p ≡ 3 (mod 4) (G. Adj and F. Rodríguez-Henríquez, "Square root
    computation over even extension fields", IEEE Trans. Computers 63(11), 2014): if
    (x0 + x1·i)² = a0 + a1·i then x0² - x1² = a0 and 2·x0·x1 = a1, so the norm
    a0² + a1² = (x0² + x1²)² has a root alpha = x0² + x1² in Fp, and x0² is one of
    delta = (a0 + alpha) / 2 and delta' = (a0 - alpha) / 2. As delta·delta' = -a1²/4 and -1
    is not a square (p ≡ 3 mod 4), exactly one of them is a square when a1 ≠ 0.

    Two Fp exponentiations in all (py_ecc does one in Fp2: ~7 ms in pure Python):
    r = delta^((p-3)/4) gives s = r·delta = delta^((p+1)/4) and r·s = delta^((p-1)/2) = ±1
    (Euler), so 1/s = ±r needs no inversion. If delta is a square, x0 = s and x1 = a1·r/2;
    if not, s² = -delta and x0 = a1/(2s) = -a1·r/2 is a root of delta', with x1 = s.
    """
    a0, a1 = a
    if a1 == 0:
        root = pow(a0, _SQRT_EXPONENT, _P)
        square = root * root % _P
        if square == a0:
            return root, 0
        # a0 is not a square, so root² = -a0 (Euler) and (root·i)² = -root² = a0.
        return (0, root) if square == -a0 % _P else None
    alpha = _fp_sqrt((a0 * a0 + a1 * a1) % _P)
    if alpha is None:
        return None
    delta = (a0 + alpha) * _INVERSE_OF_TWO % _P
    r = pow(delta, _INVERSE_SQRT_EXPONENT, _P)
    root = r * delta % _P
    euler = r * root % _P
    if euler == 1:
        return root, a1 * r * _INVERSE_OF_TWO % _P
    if euler == _P - 1:
        return -a1 * r * _INVERSE_OF_TWO % _P, root
    return None


def _fp_is_largest(y: int) -> bool:
    return y > _HALF_P


def _fp2_is_largest(y: _Fp2) -> bool:
    return _fp_is_largest(y[1]) if y[1] else _fp_is_largest(y[0])


def _read_flags(first: int, what: str, error: type[BlsError]) -> tuple[bool, bool]:
    """Check the compression flag; return (infinity, sign) from the top bits of `first`."""
    if not first & _COMPRESSION_FLAG:
        raise error(f"{what}: compressed encoding must have the compression flag set")
    return bool(first & _INFINITY_FLAG), bool(first & _SIGN_FLAG)


def _g1_compressed_to_eip2537(data: bytes) -> bytes:
    """48-byte compressed G1 point -> 128-byte EIP-2537 point (x ‖ y); identity is zeros.

    Checks the encoding and that the point is on the curve; subgroup membership is left to
    blspy, which has already checked every point a `BlsPublicKey` holds."""
    what = "public key"
    if len(data) != PUBLIC_KEY_SIZE:
        raise InvalidPublicKeyError(f"{what} must be {PUBLIC_KEY_SIZE} bytes compressed")
    z = int.from_bytes(data, "big")
    infinity, sign = _read_flags(z, what, InvalidPublicKeyError)
    x = z & _COORDINATE_MASK
    if infinity:
        if sign or x:
            raise InvalidPublicKeyError(f"{what}: the point at infinity must be all zero bits")
        return bytes(G1_EIP2537_SIZE)
    if x >= _P:
        raise InvalidPublicKeyError(f"{what}: coordinate is not below the field modulus")
    y = _fp_sqrt((x * x * x + _G1_B) % _P)
    if y is None:
        raise InvalidPublicKeyError(f"{what} is not on the BLS12-381 G1 curve")
    if _fp_is_largest(y) != sign:
        y = _P - y
    return _fp_to_eip2537(x) + _fp_to_eip2537(y)


def _g2_compressed_to_eip2537(data: bytes) -> bytes:
    """96-byte compressed G2 point -> 256-byte EIP-2537 point (x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1);
    the identity is zeros.

    Checks the encoding and that the point is on the twist; subgroup membership is left to
    blspy, which has already checked every point a `BlsSignature` holds."""
    what = "signature"
    if len(data) != SIGNATURE_SIZE:
        raise InvalidSignatureError(f"{what} must be {SIGNATURE_SIZE} bytes compressed")
    z1 = int.from_bytes(data[:_FP_SIZE], "big")
    x0 = int.from_bytes(data[_FP_SIZE:], "big")
    infinity, sign = _read_flags(z1, what, InvalidSignatureError)
    x1 = z1 & _COORDINATE_MASK
    if infinity:
        if sign or x1 or x0:
            raise InvalidSignatureError(f"{what}: the point at infinity must be all zero bits")
        return bytes(G2_EIP2537_SIZE)
    if x1 >= _P or x0 >= _P:
        raise InvalidSignatureError(f"{what}: coordinate is not below the field modulus")
    x = (x0, x1)
    rhs = _g2_curve_rhs(x)
    y = _fp2_sqrt(rhs)
    if y is None or _fp2_square(y) != rhs:
        raise InvalidSignatureError(f"{what} is not on the BLS12-381 G2 curve")
    if _fp2_is_largest(y) != sign:
        y = (-y[0] % _P, -y[1] % _P)
    return b"".join(_fp_to_eip2537(c) for c in (x0, x1, *y))


def _g1_compress(x: int, y: int) -> bytes:
    """Compressed form of the affine G1 point (x, y), which must not be the identity."""
    sign = _SIGN_FLAG if _fp_is_largest(y) else 0
    return (x | _COMPRESSION_FLAG | sign).to_bytes(_FP_SIZE, "big")


def _g2_compress(x: _Fp2, y: _Fp2) -> bytes:
    """Compressed form of the affine G2 point (x, y), which must not be the identity."""
    sign = _SIGN_FLAG if _fp2_is_largest(y) else 0
    return (x[1] | _COMPRESSION_FLAG | sign).to_bytes(_FP_SIZE, "big") + x[0].to_bytes(
        _FP_SIZE, "big"
    )


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
        if y * y % _P != (x * x * x + _G1_B) % _P:
            raise InvalidPublicKeyError("public key is not on the BLS12-381 G1 curve")
        return cls.from_bytes(_g1_compress(x, y))

    def to_bytes(self) -> bytes:
        return bytes(self._point)

    def to_eip2537(self) -> bytes:
        """128 bytes: x ‖ y, each a 64-byte big-endian padded field element; the identity
        is 128 zero bytes."""
        return _g1_compressed_to_eip2537(self.to_bytes())

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
        if _fp2_square((y0, y1)) != _g2_curve_rhs((x0, x1)):
            raise InvalidSignatureError("signature is not on the BLS12-381 G2 curve")
        return cls.from_bytes(_g2_compress((x0, x1), (y0, y1)))

    def to_bytes(self) -> bytes:
        return bytes(self._point)

    def to_eip2537(self) -> bytes:
        """256 bytes: x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1, each 64-byte padded; identity is all zeros.

        The compressed form starts with x.c1, so the point is decompressed first."""
        return _g2_compressed_to_eip2537(self.to_bytes())

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
