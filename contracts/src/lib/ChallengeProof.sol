// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ChallengeProof
/// @notice Checks a storage challenge answer against a blob id, byte for byte as backend/core
/// builds it (docs/protocol.md): a symbol of an expanded sliver, its Merkle proof to the sliver
/// hash, the sliver's metadata leaf (primary_hash_i ‖ secondary_hash_i) and its proof to the
/// blob root, and blob id = sha256(encodingType ‖ size u64 LE ‖ root).
/// @dev Merkle trees: SHA-256, leaf H(0x00 ‖ data), node H(0x01 ‖ left ‖ right), leaf level
/// padded to a power of two; proofs list siblings from the leaf up.
library ChallengeProof {
    /// @notice The symbol size of a blob of `size` bytes on `nShards` shards: the smallest even
    /// integer >= ceil(size / (p * s)), at least 2 (as `EncodedSize`).
    /// @param nShards n (>= 4).
    /// @param size Unencoded size.
    /// @return The symbol size in bytes.
    function symbolSize(uint256 nShards, uint256 size) internal pure returns (uint256) {
        uint256 f = (nShards - 1) / 3;
        uint256 ps = (nShards - 2 * f) * (nShards - f);
        uint256 symbol = (size + ps - 1) / ps;
        symbol += symbol % 2;
        return symbol < 2 ? 2 : symbol;
    }

    /// @notice Siblings in a proof over `leafCount` leaves: ceil(log2 leafCount).
    /// @param leafCount Number of leaves (>= 1).
    /// @return depth The proof length.
    function depth(uint256 leafCount) internal pure returns (uint256 depth) {
        uint256 width = 1;
        while (width < leafCount) {
            width <<= 1;
            ++depth;
        }
    }

    /// @notice The root reached from `leaf` at `index` with `siblings`.
    /// @param leaf The leaf hash.
    /// @param index The leaf's index.
    /// @param siblings Sibling hashes, lowest level first.
    /// @return node The root.
    function rootOf(bytes32 leaf, uint256 index, bytes32[] calldata siblings) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 level = 0; level < siblings.length; ++level) {
            node = (index & 1) == 1
                ? sha256(abi.encodePacked(bytes1(0x01), siblings[level], node))
                : sha256(abi.encodePacked(bytes1(0x01), node, siblings[level]));
            index >>= 1;
        }
    }

    /// @notice Leaf hash H(0x00 ‖ data).
    /// @param data The leaf data.
    /// @return The hash.
    function leafHash(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @notice sha256(encodingType ‖ size as u64 little-endian ‖ root).
    /// @param encodingType The encoding type byte.
    /// @param size The unencoded size.
    /// @param root The blob root.
    /// @return The blob id.
    function blobId(uint8 encodingType, uint64 size, bytes32 root) internal pure returns (bytes32) {
        uint64 v = size;
        v = ((v & 0xFF00FF00FF00FF00) >> 8) | ((v & 0x00FF00FF00FF00FF) << 8);
        v = ((v & 0xFFFF0000FFFF0000) >> 16) | ((v & 0x0000FFFF0000FFFF) << 16);
        v = (v >> 32) | (v << 32);
        return sha256(abi.encodePacked(encodingType, bytes8(v), root));
    }
}
