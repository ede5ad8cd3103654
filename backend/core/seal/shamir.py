"""Shamir secret sharing, t of m, byte-wise over GF(2^8) with the AES polynomial
x^8 + x^4 + x^3 + x + 1 (0x11B), as in FIPS-197 and SLIP-0039.

Share ``x`` (1..255) holds, for every byte of the secret, the value at ``x`` of a random
polynomial of degree t - 1 whose constant term is that byte. Any t shares give the secret
by Lagrange interpolation at 0; fewer than t give no information about it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from backend.core.seal.errors import InvalidShares, InvalidThreshold

MAX_SHARES: Final = 255
_AES_POLYNOMIAL: Final = 0x11B
_GENERATOR: Final = 0x03


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        # multiply by the generator 0x03 = x + 1: value * x xor value
        doubled = value << 1
        if doubled & 0x100:
            doubled ^= _AES_POLYNOMIAL
        value = doubled ^ value
    for power in range(255, 510):
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _tables()


def gf_mul(a: int, b: int) -> int:
    """Product in GF(2^8) (FIPS-197 section 4.2: {57} x {83} = {c1})."""
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_inverse(a: int) -> int:
    """Multiplicative inverse in GF(2^8) (FIPS-197 section 5.1.1: {53}^-1 = {ca})."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^8)")
    return _EXP[255 - _LOG[a]]


@dataclass(frozen=True)
class Share:
    """The evaluation of the secret's polynomials at ``x`` (1..255), one byte per secret byte."""

    x: int
    value: bytes


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    result = 0
    for coefficient in reversed(coefficients):  # Horner, highest degree first
        result = gf_mul(result, x) ^ coefficient
    return result


def split_secret(
    secret: bytes,
    threshold: int,
    count: int,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> list[Share]:
    """``count`` shares of ``secret`` at x = 1..count; any ``threshold`` of them recover it."""
    if not 1 <= threshold <= count <= MAX_SHARES:
        raise InvalidThreshold(
            f"threshold {threshold} of {count} shares: need 1 <= t <= m <= {MAX_SHARES}"
        )
    values = [bytearray(len(secret)) for _ in range(count)]
    for position, byte in enumerate(secret):
        coefficients = [byte, *random_bytes(threshold - 1)]
        for index in range(count):
            values[index][position] = _evaluate(coefficients, index + 1)
    return [Share(index + 1, bytes(value)) for index, value in enumerate(values)]


def combine_shares(shares: Sequence[Share]) -> bytes:
    """The secret from shares with distinct non-zero x (at least the threshold of them: with
    fewer the result is a different, meaningless value)."""
    if not shares:
        raise InvalidShares("no shares to combine")
    xs = [share.x for share in shares]
    if len(set(xs)) != len(xs) or not all(1 <= x <= MAX_SHARES for x in xs):
        raise InvalidShares(f"share indices must be distinct and in 1..255, got {xs}")
    length = len(shares[0].value)
    if any(len(share.value) != length for share in shares):
        raise InvalidShares("shares have different lengths")
    # Lagrange basis at 0: l_j = prod_{k != j} x_k / (x_k - x_j); subtraction is xor.
    weights = []
    for j, x_j in enumerate(xs):
        numerator, denominator = 1, 1
        for k, x_k in enumerate(xs):
            if k != j:
                numerator = gf_mul(numerator, x_k)
                denominator = gf_mul(denominator, x_k ^ x_j)
        weights.append(gf_mul(numerator, gf_inverse(denominator)))
    secret = bytearray(length)
    for weight, share in zip(weights, shares, strict=True):
        for position, byte in enumerate(share.value):
            secret[position] ^= gf_mul(weight, byte)
    return bytes(secret)
