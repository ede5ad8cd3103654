// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IStakingRewards
/// @notice What `Staking` tells its rewards contract, so that rewards follow epochs and
/// stake positions without looping over stakers. Only the staking contract may call these.
interface IStakingRewards {
    /// @notice Epoch `epoch` has just started (its committee is stored): distribute the
    /// finished epoch `epoch - 1` and record the stake of `epoch`'s members.
    /// @param epoch The new current epoch.
    function epochStarted(uint32 epoch) external;

    /// @notice A node's stake changes from `epoch` on (a stake or a withdrawal request).
    /// When a withdrawal request split position `fromPositionId` into `toPositionId`, the new
    /// position inherits the old one's reward bookkeeping (pass equal ids otherwise).
    /// @param nodeId The node.
    /// @param epoch The epoch the change takes effect in.
    /// @param fromPositionId The position split from (or equal to `toPositionId`).
    /// @param toPositionId The position split off (or equal to `fromPositionId`).
    function stakeChanged(uint256 nodeId, uint32 epoch, uint256 fromPositionId, uint256 toPositionId) external;

    /// @notice A position was withdrawn: pay its unclaimed rewards to `owner`.
    /// @param positionId The position (already deleted in Staking).
    /// @param owner Who withdrew it.
    /// @param nodeId Its node.
    /// @param amount Its stake in FROST.
    /// @param activationEpoch First epoch it counted in.
    /// @param withdrawEpoch First epoch it no longer counted in.
    /// @param nodeEmpty Whether the node has no position left (its rounding dust can be swept).
    /// @return paid FROST of rewards paid to `owner`.
    function positionClosed(
        uint256 positionId,
        address owner,
        uint256 nodeId,
        uint256 amount,
        uint32 activationEpoch,
        uint32 withdrawEpoch,
        bool nodeEmpty
    ) external returns (uint256 paid);
}
