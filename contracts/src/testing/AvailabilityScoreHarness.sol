// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAvailabilityScore} from "../interfaces/IAvailabilityScore.sol";

/// @title AvailabilityScoreHarness
/// @notice Test-only availability score: weights set directly per epoch and node (default
/// full weight), to test how StakingRewards applies them without running challenges.
contract AvailabilityScoreHarness is IAvailabilityScore {
    mapping(uint32 epoch => mapping(uint256 nodeId => uint16)) private _reduced;
    mapping(uint32 epoch => mapping(uint256 nodeId => bool)) private _isSet;

    /// @notice Sets `nodeId`'s weight for `epoch`.
    /// @param epoch The epoch.
    /// @param nodeId The node.
    /// @param weightBps The weight in basis points.
    function setWeight(uint32 epoch, uint256 nodeId, uint16 weightBps) external {
        _reduced[epoch][nodeId] = weightBps;
        _isSet[epoch][nodeId] = true;
    }

    /// @inheritdoc IAvailabilityScore
    function rewardWeightBps(uint32 epoch, uint256 nodeId) external view returns (uint16) {
        return _isSet[epoch][nodeId] ? _reduced[epoch][nodeId] : 10_000;
    }
}
