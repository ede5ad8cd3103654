// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title StorageAccounting
/// @notice Per-epoch reward pools funded by storage payments, kept so that no WAL is ever
/// created or lost: `unreleased` always equals the sum of the pools of the epochs not yet
/// released, and the owner of a `Pools` keeps exactly that much WAL.
/// @dev Storage paid for epochs [from, to) at `rate` per epoch is a difference array entry
/// (`rateDelta[from] += rate`, `rateDelta[to] -= rate`), so a registration costs two storage
/// writes whatever its length. Epochs are released in order; `runningRate` is the storage
/// rate of the last released epoch, from which each later pool follows. Every change must
/// concern epochs >= `nextRelease`.
library StorageAccounting {
    /// @notice A change touches an epoch that has already been released.
    error StorageAccountingEpochReleased(uint32 epoch, uint32 nextRelease);
    /// @notice The epoch range [from, to) is empty.
    error StorageAccountingEmptyRange(uint32 from, uint32 to);
    /// @notice Only `nextRelease` can be released next.
    error StorageAccountingReleaseOutOfOrder(uint32 epoch, uint32 nextRelease);

    struct Pools {
        uint32 nextRelease;
        uint256 runningRate;
        uint256 unreleased;
        mapping(uint32 epoch => int256) rateDelta;
        mapping(uint32 epoch => uint256) oneOff;
    }

    /// @notice Adds `rate` to the pools of epochs [from, to).
    /// @return amount rate * (to - from), the WAL this adds to the pools.
    function addStorage(Pools storage pools, uint32 from, uint32 to, uint256 rate)
        internal
        returns (uint256 amount)
    {
        _checkRange(pools, from, to);
        amount = rate * (to - from);
        if (amount == 0) return 0;
        int256 delta = int256(rate);
        pools.rateDelta[from] += delta;
        pools.rateDelta[to] -= delta;
        pools.unreleased += amount;
    }

    /// @notice Takes `rate` back out of the pools of epochs [from, to) (a refund).
    /// @return amount rate * (to - from), the WAL this removes from the pools.
    function removeStorage(Pools storage pools, uint32 from, uint32 to, uint256 rate)
        internal
        returns (uint256 amount)
    {
        _checkRange(pools, from, to);
        amount = rate * (to - from);
        if (amount == 0) return 0;
        int256 delta = int256(rate);
        pools.rateDelta[from] -= delta;
        pools.rateDelta[to] += delta;
        pools.unreleased -= amount;
    }

    /// @notice Adds a one-off `amount` (a write fee) to the pool of `epoch`.
    function addOneOff(Pools storage pools, uint32 epoch, uint256 amount) internal {
        if (epoch < pools.nextRelease) revert StorageAccountingEpochReleased(epoch, pools.nextRelease);
        if (amount == 0) return;
        pools.oneOff[epoch] += amount;
        pools.unreleased += amount;
    }

    /// @notice Closes the pool of `epoch` (which must be `nextRelease`) and returns its amount.
    function release(Pools storage pools, uint32 epoch) internal returns (uint256 amount) {
        if (epoch != pools.nextRelease) revert StorageAccountingReleaseOutOfOrder(epoch, pools.nextRelease);
        uint256 rate = uint256(int256(pools.runningRate) + pools.rateDelta[epoch]);
        amount = rate + pools.oneOff[epoch];
        pools.runningRate = rate;
        pools.nextRelease = epoch + 1;
        pools.unreleased -= amount;
        delete pools.rateDelta[epoch];
        delete pools.oneOff[epoch];
    }

    /// @notice The pool of an unreleased `epoch` (0 for released ones).
    /// @dev Walks the difference array from `nextRelease`: meant for views, not transactions.
    function poolOf(Pools storage pools, uint32 epoch) internal view returns (uint256) {
        if (epoch < pools.nextRelease) return 0;
        int256 rate = int256(pools.runningRate);
        for (uint32 e = pools.nextRelease; e <= epoch; ++e) {
            rate += pools.rateDelta[e];
        }
        return uint256(rate) + pools.oneOff[epoch];
    }

    /// @notice The pools of `count` consecutive epochs from `from` (0 for released ones).
    function poolsOf(Pools storage pools, uint32 from, uint32 count) internal view returns (uint256[] memory out) {
        out = new uint256[](count);
        uint32 next = pools.nextRelease;
        int256 rate = int256(pools.runningRate);
        uint32 e = next;
        for (uint32 i = 0; i < count; ++i) {
            uint32 epoch = from + i;
            if (epoch < next) continue;
            for (; e <= epoch; ++e) {
                rate += pools.rateDelta[e];
            }
            out[i] = uint256(rate) + pools.oneOff[epoch];
        }
    }

    function _checkRange(Pools storage pools, uint32 from, uint32 to) private view {
        if (from < pools.nextRelease) revert StorageAccountingEpochReleased(from, pools.nextRelease);
        if (to <= from) revert StorageAccountingEmptyRange(from, to);
    }
}
