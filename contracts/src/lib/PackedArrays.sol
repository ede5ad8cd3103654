// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title PackedArrays
/// @notice Packs small unsigned integers (16 or 32 bits) into 256-bit words so that
/// per-epoch committee data costs a few storage slots instead of one per entry.
/// Entry `i` sits in word `i / perWord` at bit offset `(i % perWord) * bits`.
library PackedArrays {
    /// @notice Packs `values` (each below 2**bits) into words of `256 / bits` entries.
    function pack(uint256[] memory values, uint256 bits) internal pure returns (uint256[] memory words) {
        uint256 perWord = 256 / bits;
        words = new uint256[]((values.length + perWord - 1) / perWord);
        for (uint256 i = 0; i < values.length; ++i) {
            words[i / perWord] |= values[i] << ((i % perWord) * bits);
        }
    }

    /// @notice Unpacks the first `length` entries stored by `pack`.
    function unpack(uint256[] storage words, uint256 length, uint256 bits)
        internal
        view
        returns (uint256[] memory values)
    {
        uint256 perWord = 256 / bits;
        uint256 mask = (uint256(1) << bits) - 1;
        values = new uint256[](length);
        uint256 word;
        for (uint256 i = 0; i < length; ++i) {
            if (i % perWord == 0) word = words[i / perWord];
            values[i] = (word >> ((i % perWord) * bits)) & mask;
        }
    }

    /// @notice Reads entry `index` without unpacking the rest.
    function get(uint256[] storage words, uint256 index, uint256 bits) internal view returns (uint256) {
        uint256 perWord = 256 / bits;
        return (words[index / perWord] >> ((index % perWord) * bits)) & ((uint256(1) << bits) - 1);
    }
}
