// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ISealPolicy} from "../interfaces/ISealPolicy.sol";

/// @title SubscriptionPolicy
/// @notice A creator's content is readable by subscribers: paying `pricePerDay` WAL per day
/// (straight to the creator) gives access until the paid time runs out. Renewing extends
/// from the current end, or from now once it has passed.
contract SubscriptionPolicy is ISealPolicy {
    using SafeERC20 for IERC20;

    uint256 private constant DAY = 1 days;
    uint16 private constant MAX_DAYS = 3660;

    /// @notice The token subscriptions are paid in (WAL).
    IERC20 public immutable wal;
    /// @notice The creator, who is paid and may always read.
    address public immutable creator;
    /// @notice Price of one day of access in FROST.
    uint256 public immutable pricePerDay;

    mapping(address subscriber => uint64) private _paidUntil;

    /// @notice `subscriber` paid `paid` FROST for `days_` days; access now ends at `until`.
    event Subscribed(address indexed subscriber, uint16 days_, uint256 paid, uint64 until);

    error SubscriptionPolicyInvalidDays(uint256 days_);

    /// @param wal_ The payment token.
    /// @param creator_ Who receives payments.
    /// @param pricePerDay_ FROST per day of access.
    constructor(IERC20 wal_, address creator_, uint256 pricePerDay_) {
        wal = wal_;
        creator = creator_;
        pricePerDay = pricePerDay_;
    }

    /// @notice Pays for `days_` days of access for the caller (approve `days_ * pricePerDay`
    /// WAL to this contract first).
    /// @param days_ 1 to 3660 days.
    /// @return until The new end of access (unix seconds).
    function subscribe(uint16 days_) external returns (uint64 until) {
        if (days_ == 0 || days_ > MAX_DAYS) revert SubscriptionPolicyInvalidDays(days_);
        uint64 start = _paidUntil[msg.sender];
        if (start < block.timestamp) start = uint64(block.timestamp);
        until = start + uint64(days_ * DAY);
        _paidUntil[msg.sender] = until;
        uint256 paid = pricePerDay * days_;
        emit Subscribed(msg.sender, days_, paid, until);
        if (paid != 0) wal.safeTransferFrom(msg.sender, creator, paid);
    }

    /// @notice When `subscriber`'s access ends (0 if never subscribed).
    /// @param subscriber Any address.
    /// @return Unix seconds; access holds while block time is before it.
    function paidUntil(address subscriber) external view returns (uint64) {
        return _paidUntil[subscriber];
    }

    /// @inheritdoc ISealPolicy
    function sealApprove(bytes32, address requester) external view returns (bool) {
        return requester == creator || block.timestamp < _paidUntil[requester];
    }
}
