// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title WalrusTimelock, owner of every walrus-evm parameter setter
/// @notice An unmodified OpenZeppelin TimelockController: a passed governance proposal is
/// scheduled here and can be executed by anyone once `getMinDelay()` seconds have passed.
/// @dev Deployed with the deployer as temporary admin; the deployment grants the proposer
/// and canceller roles to WalrusGovernor, then the deployer renounces the admin role, so
/// afterwards only a proposal can change roles or the delay.
contract WalrusTimelock is TimelockController {
    /// @notice Creates the timelock.
    /// @param minDelay seconds between a proposal being queued and becoming executable
    /// @param proposers accounts allowed to schedule (normally none at deploy: the governor
    /// is granted the role once it exists)
    /// @param executors accounts allowed to execute; address(0) lets anyone execute
    /// @param admin temporary admin that wires the governor in and then renounces
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
