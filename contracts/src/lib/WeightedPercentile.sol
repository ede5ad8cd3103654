// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SortUint} from "./SortUint.sol";

/// @title WeightedPercentile
/// @notice Aggregates the committee's votes weighted by shard count, as Walrus does
/// (`quorum_below` / `quorum_above`): with `total` shards, `f = (total - 1) / 3` and a
/// quorum of `total - f` (2f+1 when total = 3f+1).
library WeightedPercentile {
    /// @notice The lowest value such that a quorum of weight voted for it or less: a
    /// minority of at most f shards cannot raise it (prices).
    function quorumBelow(uint256[] memory values, uint256[] memory weights, uint256 total)
        internal
        pure
        returns (uint256)
    {
        return _fromTop(values, weights, (total - 1) / 3 + 1);
    }

    /// @notice The highest value such that a quorum of weight voted for it or more: a
    /// minority of at most f shards cannot raise it (capacity).
    function quorumAbove(uint256[] memory values, uint256[] memory weights, uint256 total)
        internal
        pure
        returns (uint256)
    {
        return _fromTop(values, weights, total - (total - 1) / 3);
    }

    /// @dev Walks the votes from the highest value down and returns the value at which the
    /// accumulated weight first reaches `threshold`. Values must be below 2**224 and
    /// weights below 2**32; `threshold` must not exceed the sum of the weights.
    function _fromTop(uint256[] memory values, uint256[] memory weights, uint256 threshold)
        private
        pure
        returns (uint256)
    {
        uint256[] memory keys = new uint256[](values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            keys[i] = (values[i] << 32) | weights[i];
        }
        SortUint.sort(keys);
        uint256 accumulated = 0;
        for (uint256 i = keys.length; i > 0; --i) {
            accumulated += keys[i - 1] & type(uint32).max;
            if (accumulated >= threshold) return keys[i - 1] >> 32;
        }
        return 0;
    }
}
