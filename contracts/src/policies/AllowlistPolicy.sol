// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {ISealPolicy} from "../interfaces/ISealPolicy.sol";

/// @title AllowlistPolicy
/// @notice The owner keeps a list of readers; every id under this policy is readable by the
/// readers on the list at the time a key server asks, so removal takes effect immediately.
contract AllowlistPolicy is ISealPolicy, Ownable {
    mapping(address reader => bool) private _readers;

    /// @notice `reader` was added to the allowlist.
    event ReaderAdded(address indexed reader);
    /// @notice `reader` was removed from the allowlist.
    event ReaderRemoved(address indexed reader);

    error AllowlistPolicyAlreadyReader(address reader);
    error AllowlistPolicyNotReader(address reader);

    /// @param owner_ Who may add and remove readers.
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Lets `reader` decrypt content under this policy (owner only).
    /// @param reader The wallet to allow.
    function addReader(address reader) external onlyOwner {
        if (_readers[reader]) revert AllowlistPolicyAlreadyReader(reader);
        _readers[reader] = true;
        emit ReaderAdded(reader);
    }

    /// @notice Stops `reader` from obtaining new key shares (owner only).
    /// @param reader A wallet on the allowlist.
    function removeReader(address reader) external onlyOwner {
        if (!_readers[reader]) revert AllowlistPolicyNotReader(reader);
        _readers[reader] = false;
        emit ReaderRemoved(reader);
    }

    /// @notice Whether `reader` is on the allowlist.
    /// @param reader Any address.
    /// @return True when allowed.
    function isReader(address reader) external view returns (bool) {
        return _readers[reader];
    }

    /// @inheritdoc ISealPolicy
    function sealApprove(bytes32, address requester) external view returns (bool) {
        return requester == owner() || _readers[requester];
    }
}
