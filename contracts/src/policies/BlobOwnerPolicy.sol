// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

import {ISealPolicy} from "../interfaces/ISealPolicy.sol";

/// @title BlobOwnerPolicy
/// @notice Per-blob ownership: id is a blob token id (as bytes32); its current owner, the
/// operator approved for that token, and operators approved for all the owner's tokens may
/// read. Transferring the token moves read access with it.
contract BlobOwnerPolicy is ISealPolicy {
    /// @notice The blob token contract (BlobRegistry).
    IERC721 public immutable registry;

    /// @notice The policy follows the owners of `registry`'s tokens.
    event BlobOwnerPolicyConfigured(address indexed registry);

    error BlobOwnerPolicyNotAContract(address registry);

    /// @param registry_ The BlobRegistry (ERC-721).
    constructor(address registry_) {
        if (registry_.code.length == 0) revert BlobOwnerPolicyNotAContract(registry_);
        registry = IERC721(registry_);
        emit BlobOwnerPolicyConfigured(registry_);
    }

    /// @inheritdoc ISealPolicy
    function sealApprove(bytes32 id, address requester) external view returns (bool) {
        uint256 tokenId = uint256(id);
        address owner;
        try registry.ownerOf(tokenId) returns (address current) {
            owner = current;
        } catch {
            return false; // burned or never minted
        }
        return requester == owner || registry.getApproved(tokenId) == requester
            || registry.isApprovedForAll(owner, requester);
    }
}
