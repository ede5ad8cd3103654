// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ISealPolicy} from "../interfaces/ISealPolicy.sol";

/// @dev `balanceOf(address)` is the same call on ERC-20 and ERC-721 tokens.
interface IBalanceOf {
    function balanceOf(address owner) external view returns (uint256);
}

/// @title TokenGatedPolicy
/// @notice Readable by holders of at least `minBalance` of a chosen ERC-20 or ERC-721 token
/// (for example the BlobRegistry blob token), checked when a key server asks.
contract TokenGatedPolicy is ISealPolicy {
    /// @notice The gating token (ERC-20 or ERC-721).
    IBalanceOf public immutable token;
    /// @notice Smallest balance that grants access (token units, or number of NFTs).
    uint256 public immutable minBalance;

    /// @notice The policy gates on `token` with at least `minBalance`.
    event TokenGateConfigured(address indexed token, uint256 minBalance);

    error TokenGatedPolicyNotAContract(address token);
    error TokenGatedPolicyZeroBalance();

    /// @param token_ An ERC-20 or ERC-721 contract.
    /// @param minBalance_ At least 1.
    constructor(address token_, uint256 minBalance_) {
        if (token_.code.length == 0) revert TokenGatedPolicyNotAContract(token_);
        if (minBalance_ == 0) revert TokenGatedPolicyZeroBalance();
        token = IBalanceOf(token_);
        minBalance = minBalance_;
        emit TokenGateConfigured(token_, minBalance_);
    }

    /// @inheritdoc ISealPolicy
    function sealApprove(bytes32, address requester) external view returns (bool) {
        return token.balanceOf(requester) >= minBalance;
    }
}
