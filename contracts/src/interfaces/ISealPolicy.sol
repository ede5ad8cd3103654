// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ISealPolicy
/// @notice An access policy for Seal-encrypted blobs. Key servers evaluate `sealApprove` by
/// `eth_call` at the latest block and release their share of a blob's data key only when it
/// returns true (docs/seal.md).
interface ISealPolicy {
    /// @notice Whether `requester` may decrypt content encrypted under identity `id`.
    /// @param id The identity written in the blob's Seal header.
    /// @param requester The wallet that signed the key-server session.
    /// @return True to release the key shares, false to refuse.
    function sealApprove(bytes32 id, address requester) external view returns (bool);
}
