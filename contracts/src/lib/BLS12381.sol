// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title BLS12381
/// @notice BLS signatures over BLS12-381 with the EIP-2537 precompiles: public keys in G1,
/// signatures in G2, ciphersuite `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`.
/// @dev Encodings follow EIP-2537: a field element is 64 bytes, big-endian, with 16 zero bytes
/// of padding. G1 points are 128 bytes (x ‖ y), G2 points 256 bytes (x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1),
/// the point at infinity is all zeros. G1ADD and G2ADD check that points are on the curve but
/// not that they are in the prime-order subgroup; the pairing check does both, so keys that
/// passed `verify` once (a proof of possession) are safe to add up afterwards.
/// A precompile rejecting its input consumes the gas forwarded to it (EIP-2537).
library BLS12381 {
    /// @notice A point argument does not have the EIP-2537 length (128 bytes G1, 256 bytes G2).
    error BLS12381InvalidPointLength(uint256 length);
    /// @notice A precompile rejected its input (point not on the curve or not in the subgroup,
    /// coordinate not below the field modulus) or failed.
    error BLS12381PrecompileFailed(address precompile);
    /// @notice A coordinate is not a canonical field element (padding set or not below p).
    error BLS12381InvalidFieldElement();
    /// @notice The hash-to-curve domain separation tag is empty or longer than 255 bytes.
    error BLS12381InvalidDstLength(uint256 length);

    /// @notice Domain separation tag of the signature scheme (proof-of-possession ciphersuite).
    bytes constant SIG_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

    address internal constant SHA256 = address(0x02);
    address internal constant MODEXP = address(0x05);
    address internal constant G1_ADD = address(0x0b);
    address internal constant G2_ADD = address(0x0d);
    address internal constant PAIRING_CHECK = address(0x0f);
    address internal constant MAP_FP2_TO_G2 = address(0x11);

    uint256 internal constant G1_POINT_LENGTH = 128;
    uint256 internal constant G2_POINT_LENGTH = 256;

    /// @dev The field modulus p as a 64-byte padded big-endian number: high word (16 zero
    /// bytes ‖ top 16 bytes of p) and low word.
    uint256 private constant P_HIGH = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 private constant P_LOW =
        0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    /// @dev The negated G1 generator, so that e(pk, H(m)) == e(g1, sig) becomes one
    /// pairing check e(pk, H(m)) · e(-g1, sig) == 1.
    bytes private constant NEGATED_G1_GENERATOR =
        hex"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
        hex"00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f267816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca";

    /// @dev expand_message_xmd output length: two Fp2 elements of two 64-byte halves each.
    uint256 private constant HASH_TO_G2_UNIFORM_BYTES = 256;

    /// @notice Sum of two G1 points (either may be the point at infinity).
    /// @param a A 128-byte G1 point.
    /// @param b A 128-byte G1 point.
    /// @return sum The 128-byte G1 point a + b.
    function g1Add(bytes memory a, bytes memory b) internal view returns (bytes memory sum) {
        _requireLength(a, G1_POINT_LENGTH);
        _requireLength(b, G1_POINT_LENGTH);
        sum = new bytes(G1_POINT_LENGTH);
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mcopy(input, add(a, 0x20), 128)
            mcopy(add(input, 128), add(b, 0x20), 128)
            ok := staticcall(gas(), 0x0b, input, 256, add(sum, 0x20), 128)
        }
        if (!ok) revert BLS12381PrecompileFailed(G1_ADD);
    }

    /// @notice a − b for two G1 points: how non-signers are removed from an aggregate key.
    /// @param a A 128-byte G1 point.
    /// @param b A 128-byte G1 point.
    /// @return difference The 128-byte G1 point a − b.
    function g1Sub(bytes memory a, bytes memory b) internal view returns (bytes memory difference) {
        return g1Add(a, g1Negate(b));
    }

    /// @notice The negation (x, p − y) of a G1 point; the point at infinity stays infinity.
    /// @dev Does not check that the point is on the curve (the next precompile call will).
    /// @param a A 128-byte G1 point.
    /// @return negated The 128-byte G1 point −a.
    function g1Negate(bytes memory a) internal pure returns (bytes memory negated) {
        _requireLength(a, G1_POINT_LENGTH);
        uint256 xHigh;
        uint256 xLow;
        uint256 yHigh;
        uint256 yLow;
        assembly ("memory-safe") {
            xHigh := mload(add(a, 0x20))
            xLow := mload(add(a, 0x40))
            yHigh := mload(add(a, 0x60))
            yLow := mload(add(a, 0x80))
        }
        if (yHigh > P_HIGH || (yHigh == P_HIGH && yLow >= P_LOW)) {
            revert BLS12381InvalidFieldElement();
        }
        if (yHigh != 0 || yLow != 0) {
            unchecked {
                uint256 borrow = yLow > P_LOW ? 1 : 0;
                yLow = P_LOW - yLow;
                yHigh = P_HIGH - yHigh - borrow;
            }
        }
        negated = abi.encodePacked(xHigh, xLow, yHigh, yLow);
    }

    /// @notice The G1 point at infinity (the identity): 128 zero bytes.
    /// @return infinity 128 zero bytes.
    function g1Infinity() internal pure returns (bytes memory infinity) {
        return new bytes(G1_POINT_LENGTH);
    }

    /// @notice Whether a G1 point is the point at infinity (all zeros).
    /// @param a A 128-byte G1 point.
    /// @return True iff every byte of `a` is zero.
    function isG1Infinity(bytes memory a) internal pure returns (bool) {
        _requireLength(a, G1_POINT_LENGTH);
        uint256 orOfWords;
        assembly ("memory-safe") {
            let p := add(a, 0x20)
            orOfWords := or(or(mload(p), mload(add(p, 0x20))), or(mload(add(p, 0x40)), mload(add(p, 0x60))))
        }
        return orOfWords == 0;
    }

    /// @notice Sum of two G2 points (either may be the point at infinity).
    /// @param a A 256-byte G2 point.
    /// @param b A 256-byte G2 point.
    /// @return sum The 256-byte G2 point a + b.
    function g2Add(bytes memory a, bytes memory b) internal view returns (bytes memory sum) {
        _requireLength(a, G2_POINT_LENGTH);
        _requireLength(b, G2_POINT_LENGTH);
        sum = new bytes(G2_POINT_LENGTH);
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mcopy(input, add(a, 0x20), 256)
            mcopy(add(input, 256), add(b, 0x20), 256)
            ok := staticcall(gas(), 0x0d, input, 512, add(sum, 0x20), 256)
        }
        if (!ok) revert BLS12381PrecompileFailed(G2_ADD);
    }

    /// @notice RFC 9380 hash_to_curve for suite BLS12381G2_XMD:SHA-256_SSWU_RO_.
    /// @dev expand_message_xmd (SHA-256) to 256 bytes, each 64-byte chunk reduced mod p with
    /// MODEXP, MAP_FP2_TO_G2 (which clears the cofactor) on both Fp2 elements, then G2ADD.
    /// @param message The message to hash.
    /// @param dst The domain separation tag (1 to 255 bytes), e.g. `SIG_DST`.
    /// @return point The 256-byte G2 point H(message).
    function hashToG2(bytes memory message, bytes memory dst) internal view returns (bytes memory point) {
        bytes memory uniform = _expandMessageXmd(message, dst);
        bool ok = true;
        // mapped = Q0 ‖ Q1; the four field elements are reduced in place inside `uniform`.
        bytes memory mapped = new bytes(2 * G2_POINT_LENGTH);
        assembly ("memory-safe") {
            let input := mload(0x40)
            // MODEXP input: len(base)=64, len(exp)=1, len(mod)=64, base, exp=1, mod=p.
            mstore(input, 64)
            mstore(add(input, 0x20), 1)
            mstore(add(input, 0x40), 64)
            mstore8(add(input, 0xa0), 1)
            mstore(add(input, 0xa1), P_HIGH)
            mstore(add(input, 0xc1), P_LOW)
            let chunks := add(uniform, 0x20)
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                let chunk := add(chunks, mul(i, 64))
                mcopy(add(input, 0x60), chunk, 64)
                ok := and(ok, staticcall(gas(), 0x05, input, 0xe1, chunk, 64))
            }
        }
        if (!ok) revert BLS12381PrecompileFailed(MODEXP);
        assembly ("memory-safe") {
            let chunks := add(uniform, 0x20)
            let out := add(mapped, 0x20)
            ok := staticcall(gas(), 0x11, chunks, 128, out, 256)
            ok := and(ok, staticcall(gas(), 0x11, add(chunks, 128), 128, add(out, 256), 256))
        }
        if (!ok) revert BLS12381PrecompileFailed(MAP_FP2_TO_G2);
        point = new bytes(G2_POINT_LENGTH);
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x0d, add(mapped, 0x20), 512, add(point, 0x20), 256)
        }
        if (!ok) revert BLS12381PrecompileFailed(G2_ADD);
    }

    /// @notice Verifies a BLS signature with `SIG_DST`: e(publicKey, H(message)) == e(g1, signature).
    /// @dev Returns false for the identity public key (which would accept the identity
    /// signature for every message). Reverts with `BLS12381PrecompileFailed` if a point is
    /// not on its curve or not in its subgroup. For an aggregate signature pass the sum of the
    /// signers' keys (each registered with a proof of possession).
    /// @param publicKey A 128-byte G1 point.
    /// @param message The signed message.
    /// @param signature A 256-byte G2 point.
    /// @return True iff the signature is valid.
    function verify(bytes memory publicKey, bytes memory message, bytes memory signature)
        internal
        view
        returns (bool)
    {
        _requireLength(publicKey, G1_POINT_LENGTH);
        _requireLength(signature, G2_POINT_LENGTH);
        if (isG1Infinity(publicKey)) return false;
        bytes memory input =
            abi.encodePacked(publicKey, hashToG2(message, SIG_DST), NEGATED_G1_GENERATOR, signature);
        bool ok;
        uint256 result;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x0f, add(input, 0x20), 768, 0x00, 0x20)
            result := mload(0x00)
        }
        if (!ok) revert BLS12381PrecompileFailed(PAIRING_CHECK);
        return result == 1;
    }

    /// @dev RFC 9380 §5.3.1 expand_message_xmd with SHA-256, len_in_bytes = 256 (ell = 8).
    /// One scratch buffer past the free memory pointer holds each hash input in turn.
    function _expandMessageXmd(bytes memory message, bytes memory dst)
        private
        view
        returns (bytes memory uniform)
    {
        uint256 dstLength = dst.length;
        if (dstLength == 0 || dstLength > 255) revert BLS12381InvalidDstLength(dstLength);
        uniform = new bytes(HASH_TO_G2_UNIFORM_BYTES);
        bool ok;
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            let messageLength := mload(message)
            // b0 = H(Z_pad(64) ‖ msg ‖ I2OSP(256, 2) ‖ I2OSP(0, 1) ‖ DST ‖ I2OSP(len(DST), 1))
            mstore(buffer, 0)
            mstore(add(buffer, 0x20), 0)
            mcopy(add(buffer, 0x40), add(message, 0x20), messageLength)
            let cursor := add(add(buffer, 0x40), messageLength)
            mstore8(cursor, 0x01)
            mstore8(add(cursor, 1), 0x00)
            mstore8(add(cursor, 2), 0x00)
            mcopy(add(cursor, 3), add(dst, 0x20), dstLength)
            mstore8(add(add(cursor, 3), dstLength), dstLength)
            ok := staticcall(gas(), 0x02, buffer, add(sub(cursor, buffer), add(4, dstLength)), 0x00, 0x20)
            let b0 := mload(0x00)
            // b_i = H((b0 XOR b_(i-1)) ‖ I2OSP(i, 1) ‖ DST ‖ I2OSP(len(DST), 1)), b_0 XOR-term = 0
            mcopy(add(buffer, 33), add(dst, 0x20), dstLength)
            mstore8(add(add(buffer, 33), dstLength), dstLength)
            let inputLength := add(34, dstLength)
            let previous := 0
            let out := add(uniform, 0x20)
            for { let i := 1 } lt(i, 9) { i := add(i, 1) } {
                mstore(buffer, xor(b0, previous))
                mstore8(add(buffer, 32), i)
                ok := and(ok, staticcall(gas(), 0x02, buffer, inputLength, out, 0x20))
                previous := mload(out)
                out := add(out, 0x20)
            }
        }
        if (!ok) revert BLS12381PrecompileFailed(SHA256);
    }

    function _requireLength(bytes memory point, uint256 expected) private pure {
        if (point.length != expected) revert BLS12381InvalidPointLength(point.length);
    }
}
