// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BLS12381} from "../lib/BLS12381.sol";

/// @title BLSHarness
/// @notice External wrapper over the internal `BLS12381` library, deployed only by tests and
/// the gas benchmark. Not part of the product deployment.
contract BLSHarness {
    /// @notice See `BLS12381.g1Add`.
    function g1Add(bytes calldata a, bytes calldata b) external view returns (bytes memory) {
        return BLS12381.g1Add(a, b);
    }

    /// @notice See `BLS12381.g1Sub`.
    function g1Sub(bytes calldata a, bytes calldata b) external view returns (bytes memory) {
        return BLS12381.g1Sub(a, b);
    }

    /// @notice See `BLS12381.g1Negate`.
    function g1Negate(bytes calldata a) external pure returns (bytes memory) {
        return BLS12381.g1Negate(a);
    }

    /// @notice See `BLS12381.g1Infinity`.
    function g1Infinity() external pure returns (bytes memory) {
        return BLS12381.g1Infinity();
    }

    /// @notice See `BLS12381.g2Add`.
    function g2Add(bytes calldata a, bytes calldata b) external view returns (bytes memory) {
        return BLS12381.g2Add(a, b);
    }

    /// @notice See `BLS12381.hashToG2`.
    function hashToG2(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return BLS12381.hashToG2(message, dst);
    }

    /// @notice See `BLS12381.verify`.
    function verify(bytes calldata publicKey, bytes calldata message, bytes calldata signature)
        external
        view
        returns (bool)
    {
        return BLS12381.verify(publicKey, message, signature);
    }

    /// @notice Verifies an aggregate signature the way a certificate check does: start from the
    /// committee's aggregate key, subtract each non-signer's key, verify once.
    /// @param aggregateKey Sum of all committee members' keys (128 bytes).
    /// @param nonSignerKeys Keys of the members that did not sign (128 bytes each).
    /// @param message The signed message.
    /// @param signature Aggregate signature of the signers (256 bytes).
    /// @return True iff the signers' aggregate signature is valid.
    function verifyWithNonSigners(
        bytes calldata aggregateKey,
        bytes[] calldata nonSignerKeys,
        bytes calldata message,
        bytes calldata signature
    ) external view returns (bool) {
        bytes memory signersKey = aggregateKey;
        for (uint256 i = 0; i < nonSignerKeys.length; ++i) {
            signersKey = BLS12381.g1Sub(signersKey, nonSignerKeys[i]);
        }
        return BLS12381.verify(signersKey, message, signature);
    }

    /// @notice Gas spent inside `BLS12381.hashToG2` (for the gas benchmark).
    /// @param message The message to hash.
    /// @param dst The domain separation tag.
    /// @return gasUsed Gas between entering and leaving the library call.
    function hashToG2GasUsed(bytes calldata message, bytes calldata dst)
        external
        view
        returns (uint256 gasUsed)
    {
        bytes memory messageInMemory = message;
        bytes memory dstInMemory = dst;
        gasUsed = gasleft();
        BLS12381.hashToG2(messageInMemory, dstInMemory);
        gasUsed -= gasleft();
    }

    /// @notice Gas spent inside `BLS12381.verify` (for the gas benchmark); reverts if invalid.
    /// @param publicKey A 128-byte G1 point.
    /// @param message The signed message.
    /// @param signature A 256-byte G2 point.
    /// @return gasUsed Gas between entering and leaving the library call.
    function verifyGasUsed(bytes calldata publicKey, bytes calldata message, bytes calldata signature)
        external
        view
        returns (uint256 gasUsed)
    {
        bytes memory publicKeyInMemory = publicKey;
        bytes memory messageInMemory = message;
        bytes memory signatureInMemory = signature;
        gasUsed = gasleft();
        bool valid = BLS12381.verify(publicKeyInMemory, messageInMemory, signatureInMemory);
        gasUsed -= gasleft();
        require(valid, "BLSHarness: invalid signature");
    }
}
