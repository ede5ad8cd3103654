// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title EncodedSize
/// @notice Red Stuff sizes computed on chain exactly as `backend/core/params.py` does
/// (docs/protocol.md, "Encoding parameters"), so that storage is paid for the bytes the
/// nodes really keep.
/// @dev With n shards, f = (n - 1) / 3, p = n - 2f, s = n - f; the symbol size S is the
/// smallest even integer >= ceil(size / (p * s)), at least 2 and at most 2**26; the encoded
/// length is n * ((p + s) * S + 64 * n): one sliver pair plus the metadata on every shard.
library EncodedSize {
    /// @notice Fewer than 4 shards cannot tolerate a fault.
    error EncodedSizeInvalidShardCount(uint256 nShards);
    /// @notice `size` exceeds `maxSize` = p * s * 2**26 for this shard count.
    error EncodedSizeBlobTooLarge(uint256 size, uint256 maxSize);

    uint256 internal constant MIN_SHARDS = 4;
    uint256 internal constant MIN_SYMBOL_SIZE = 2;
    uint256 internal constant MAX_SYMBOL_SIZE = 2 ** 26;
    uint256 internal constant METADATA_BYTES_PER_SHARD = 64;
    uint256 internal constant MIB = 2 ** 20;

    /// @notice The largest blob `nShards` shards can store: p * s * 2**26 bytes.
    /// @param nShards The number of shards n (>= 4).
    /// @return The size in bytes.
    function maxBlobSize(uint256 nShards) internal pure returns (uint256) {
        (uint256 p, uint256 s) = _sourceSymbols(nShards);
        return p * s * MAX_SYMBOL_SIZE;
    }

    /// @notice Bytes stored over all shards for a blob of `size` bytes.
    /// @param nShards The number of shards n (>= 4).
    /// @param size The unencoded blob size in bytes (0 is allowed).
    /// @return The encoded length n * ((p + s) * S + 64 * n).
    function encodedLength(uint256 nShards, uint256 size) internal pure returns (uint256) {
        (uint256 p, uint256 s) = _sourceSymbols(nShards);
        uint256 maxSize = p * s * MAX_SYMBOL_SIZE;
        if (size > maxSize) revert EncodedSizeBlobTooLarge(size, maxSize);
        uint256 symbol = (size + p * s - 1) / (p * s);
        symbol += symbol % 2;
        if (symbol < MIN_SYMBOL_SIZE) symbol = MIN_SYMBOL_SIZE;
        return nShards * ((p + s) * symbol + METADATA_BYTES_PER_SHARD * nShards);
    }

    /// @notice `bytes_` rounded up to whole MiB (2**20 bytes): the unit prices are quoted in.
    /// @param bytes_ A byte count.
    /// @return The number of MiB, rounded up.
    function toMiBRoundedUp(uint256 bytes_) internal pure returns (uint256) {
        return (bytes_ + MIB - 1) / MIB;
    }

    function _sourceSymbols(uint256 nShards) private pure returns (uint256 p, uint256 s) {
        if (nShards < MIN_SHARDS) revert EncodedSizeInvalidShardCount(nShards);
        uint256 f = (nShards - 1) / 3;
        p = nShards - 2 * f;
        s = nShards - f;
    }
}
