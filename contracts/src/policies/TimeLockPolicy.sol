// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ISealPolicy} from "../interfaces/ISealPolicy.sol";

/// @title TimeLockPolicy
/// @notice Each id is locked once, by anyone, until a time; from that block time on anyone
/// may read it. An id that was never locked is never readable.
contract TimeLockPolicy is ISealPolicy {
    mapping(bytes32 id => uint64) private _unlockAt;

    /// @notice `id` was locked by `locker` until `unlockAt` (unix seconds).
    event TimeLocked(bytes32 indexed id, uint64 unlockAt, address indexed locker);

    error TimeLockPolicyAlreadyLocked(bytes32 id, uint64 unlockAt);
    error TimeLockPolicyZeroTime();

    /// @notice Locks `id` until `unlockAt`; a lock can never be changed.
    /// @param id The identity to encrypt under.
    /// @param unlockAt Unix seconds from which anyone may read.
    function lock(bytes32 id, uint64 unlockAt) external {
        if (unlockAt == 0) revert TimeLockPolicyZeroTime();
        uint64 existing = _unlockAt[id];
        if (existing != 0) revert TimeLockPolicyAlreadyLocked(id, existing);
        _unlockAt[id] = unlockAt;
        emit TimeLocked(id, unlockAt, msg.sender);
    }

    /// @notice When `id` opens (0 if it was never locked).
    /// @param id An identity.
    /// @return Unix seconds.
    function unlockAt(bytes32 id) external view returns (uint64) {
        return _unlockAt[id];
    }

    /// @inheritdoc ISealPolicy
    function sealApprove(bytes32 id, address) external view returns (bool) {
        uint64 opens = _unlockAt[id];
        return opens != 0 && block.timestamp >= opens;
    }
}
