// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IStaking
/// @notice What BlobRegistry (and off-chain clients) need from the staking and
/// epoch contract: the epoch, the committee with its shard weights and keys, and
/// the current prices. Implemented by `Staking`.
interface IStaking {
    /// @notice The current epoch number (0 before the first committee is chosen).
    function currentEpoch() external view returns (uint32);

    /// @notice Number of shards the blobs are encoded for (n).
    function nShards() external view returns (uint16);

    /// @notice The committee of `epoch`: node ids in committee order and the
    /// number of shards each holds (sums to nShards()). Certificates' signer
    /// bitmaps index this order.
    function committeeOf(uint32 epoch)
        external
        view
        returns (uint256[] memory nodeIds, uint16[] memory shardCounts);

    /// @notice Shard counts of `epoch`'s committee in committee order, without the
    /// node ids: what certificate checks need, kept cheap (packed storage).
    function committeeShardCounts(uint32 epoch) external view returns (uint16[] memory);

    /// @notice `epoch`'s committee size and its shard counts as stored: 16-bit entries,
    /// 16 per word, member i at bits 16 * (i % 16) of word i / 16. Certificate checks read
    /// this (a few storage words) instead of unpacking per member.
    function committeePackedShardCounts(uint32 epoch)
        external
        view
        returns (uint256 size, uint256[] memory words);

    /// @notice BLS public key (128-byte EIP-2537 G1 point) of the committee member at
    /// `memberIndex` in `epoch`'s committee order (used to subtract non-signers).
    function committeeMemberKey(uint32 epoch, uint256 memberIndex)
        external
        view
        returns (bytes memory);

    /// @notice For `epoch`, the node id owning each shard index 0..nShards()-1.
    function shardAssignment(uint32 epoch) external view returns (uint256[] memory ownerOfShard);

    /// @notice Sum of the committee members' BLS public keys for `epoch`
    /// (128-byte EIP-2537 G1 point).
    function committeeAggregateKey(uint32 epoch) external view returns (bytes memory);

    /// @notice A registered node's BLS public key (128-byte EIP-2537 G1 point).
    function nodePublicKey(uint256 nodeId) external view returns (bytes memory);

    /// @notice Price of storage in FROST per MiB of encoded size per epoch.
    function storagePrice() external view returns (uint256);

    /// @notice One-off price of a write in FROST per MiB of encoded size.
    function writePrice() external view returns (uint256);

    /// @notice The rewards contract that receives finished epochs' storage pools (the zero
    /// address until it is set; pools then stay with Staking).
    function rewards() external view returns (address);

    /// @notice A registered node's operator and commission (one storage read).
    function nodeOperatorAndCommission(uint256 nodeId)
        external
        view
        returns (address operator, uint16 commissionBps);

    /// @notice The node's total stake in `epoch` (the current epoch or later).
    function nodeStakeAt(uint256 nodeId, uint32 epoch) external view returns (uint256);
}
