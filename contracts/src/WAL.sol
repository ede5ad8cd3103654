// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title WAL, the walrus-evm token
/// @notice 5,000,000,000 WAL with 9 decimals (1 FROST = 1e-9 WAL), all minted once in the
/// constructor to five allocation addresses; there is no way to mint afterwards. Holders
/// may destroy their own WAL (`burn`, `burnFrom`): the staking rewards burn their burn share
/// that way, so the supply only ever falls, by exactly what was burned.
/// @dev Votes are checkpointed by timestamp (EIP-6372 `mode=timestamp`), so governance
/// periods are in seconds; a Governor using this token must use the same clock.
contract WAL is ERC20, ERC20Burnable, ERC20Permit, ERC20Votes {
    /// @notice Supply minted at deploy in FROST (totalSupply() is this minus what was burned).
    uint256 public constant TOTAL_SUPPLY = 5_000_000_000 * 10 ** 9;

    /// @notice Allocation shares in basis points: community reserve, user drop, subsidies,
    /// contributors, investors (43%, 10%, 10%, 30%, 7%).
    uint16 public constant COMMUNITY_RESERVE_BPS = 4300;
    uint16 public constant USER_DROP_BPS = 1000;
    uint16 public constant SUBSIDIES_BPS = 1000;
    uint16 public constant CONTRIBUTORS_BPS = 3000;
    uint16 public constant INVESTORS_BPS = 700;

    /// @notice Index of an allocation, in constructor argument order.
    enum Allocation {
        CommunityReserve,
        UserDrop,
        Subsidies,
        Contributors,
        Investors
    }

    /// @notice An allocation address was the zero address.
    error WALAllocationZeroAddress(Allocation allocation);

    /// @notice Emitted once per allocation when the supply is minted at deploy.
    event AllocationMinted(Allocation indexed allocation, address indexed recipient, uint256 amount);

    /// @notice Mints the whole supply to the five allocation addresses.
    /// @param communityReserve receives 43%
    /// @param userDrop receives 10%
    /// @param subsidies receives 10%
    /// @param contributors receives 30%
    /// @param investors receives 7%
    constructor(
        address communityReserve,
        address userDrop,
        address subsidies,
        address contributors,
        address investors
    ) ERC20("Walrus", "WAL") ERC20Permit("Walrus") {
        address[5] memory recipients = [communityReserve, userDrop, subsidies, contributors, investors];
        uint16[5] memory shares =
            [COMMUNITY_RESERVE_BPS, USER_DROP_BPS, SUBSIDIES_BPS, CONTRIBUTORS_BPS, INVESTORS_BPS];
        for (uint256 i = 0; i < 5; ++i) {
            if (recipients[i] == address(0)) revert WALAllocationZeroAddress(Allocation(i));
        }
        for (uint256 i = 0; i < 5; ++i) {
            uint256 amount = TOTAL_SUPPLY * shares[i] / 10_000;
            _mint(recipients[i], amount);
            emit AllocationMinted(Allocation(i), recipients[i], amount);
        }
    }

    /// @notice 9 decimals: amounts are in FROST.
    function decimals() public pure override returns (uint8) {
        return 9;
    }

    /// @notice The vote clock: the block timestamp (EIP-6372).
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice Describes the vote clock (EIP-6372).
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice The permit nonce of `owner` (shared by ERC20Permit and vote delegation by signature).
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
