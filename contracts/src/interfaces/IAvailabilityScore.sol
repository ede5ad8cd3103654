// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IAvailabilityScore
/// @notice How much of its epoch reward a committee node earns, as measured by storage
/// challenges. Read by the staking rewards when a score contract is set (otherwise every
/// node gets full weight).
interface IAvailabilityScore {
    /// @notice Reward weight of `nodeId` for `epoch` in basis points: 10,000 = full reward,
    /// less for a node that failed challenges. Values above 10,000 are treated as 10,000.
    /// @param epoch A finished epoch.
    /// @param nodeId A member of `epoch`'s committee.
    /// @return The weight in basis points (0 ..= 10,000).
    function rewardWeightBps(uint32 epoch, uint256 nodeId) external view returns (uint16);
}
