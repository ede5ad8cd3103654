// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ShardAssignment} from "../lib/ShardAssignment.sol";
import {SortUint} from "../lib/SortUint.sol";
import {WeightedPercentile} from "../lib/WeightedPercentile.sol";

/// @title StakingMathHarness
/// @notice External wrapper over Staking's pure helper libraries (apportionment, shard
/// assignment, vote aggregation, sorting), deployed only by tests. Not part of the product.
contract StakingMathHarness {
    /// @notice See `ShardAssignment.apportion`.
    function apportion(uint256[] memory stakes, uint256 nShards, uint256 cap)
        external
        pure
        returns (uint256[] memory)
    {
        return ShardAssignment.apportion(stakes, nShards, cap);
    }

    /// @notice See `ShardAssignment.assign`; `previousOwner` uses type(uint256).max for none.
    function assign(uint256[] memory previousOwner, uint256[] memory counts)
        external
        pure
        returns (uint256[] memory)
    {
        return ShardAssignment.assign(previousOwner, counts);
    }

    /// @notice See `WeightedPercentile.quorumBelow`.
    function quorumBelow(uint256[] memory values, uint256[] memory weights, uint256 total)
        external
        pure
        returns (uint256)
    {
        return WeightedPercentile.quorumBelow(values, weights, total);
    }

    /// @notice See `WeightedPercentile.quorumAbove`.
    function quorumAbove(uint256[] memory values, uint256[] memory weights, uint256 total)
        external
        pure
        returns (uint256)
    {
        return WeightedPercentile.quorumAbove(values, weights, total);
    }

    /// @notice See `SortUint.sort`.
    function sort(uint256[] memory values) external pure returns (uint256[] memory) {
        SortUint.sort(values);
        return values;
    }
}
