// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

import {BlobRegistry} from "./BlobRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @dev The BlobRegistry calls SharedBlob needs.
interface IExtendableRegistry {
    function extensionCost(uint256 tokenId, uint32 extraEpochs) external view returns (uint256);
    function extendBlob(uint256 tokenId, uint32 extraEpochs) external;
    function blobInfo(uint256 tokenId) external view returns (BlobRegistry.BlobInfo memory);
    function staking() external view returns (IStaking);
}

/// @title SharedBlob
/// @notice Holds blob tokens so that nobody can delete them, and lets anyone fund their
/// lifetime. The owner shares a blob by sending its token here (`safeTransferFrom`); from
/// then on anyone may `fund` it with WAL and anyone may `extend` it, paid from its funds.
/// @dev There is no way to take a token out: sharing is final, as in Walrus.
contract SharedBlob is IERC721Receiver {
    using SafeERC20 for IERC20;

    /// @notice The BlobRegistry whose tokens are shared.
    IExtendableRegistry public immutable registry;
    /// @notice The payment token (WAL).
    IERC20 public immutable wal;

    mapping(uint256 tokenId => bool) private _shared;
    mapping(uint256 tokenId => uint256) private _funds;

    /// @notice `from` shared blob token `tokenId`.
    event BlobShared(uint256 indexed tokenId, address indexed from);
    /// @notice `funder` added `amount` FROST to the funds of `tokenId`.
    event SharedBlobFunded(uint256 indexed tokenId, address indexed funder, uint256 amount);
    /// @notice `tokenId` was extended by `extraEpochs`, paying `cost` from its funds.
    event SharedBlobExtended(uint256 indexed tokenId, uint32 extraEpochs, uint256 cost);

    error SharedBlobNotRegistry(address sender);
    error SharedBlobNotShared(uint256 tokenId);
    error SharedBlobZeroAmount();
    error SharedBlobInsufficientFunds(uint256 tokenId, uint256 cost, uint256 funds);
    /// @notice The blob's storage ended at `endEpoch`: it can no longer be extended, so funds
    /// sent now could never be used.
    error SharedBlobExpired(uint256 tokenId, uint32 endEpoch);
    /// @notice The blob id was invalidated: the blob can never be extended.
    error SharedBlobInvalidated(uint256 tokenId);

    /// @param registry_ The BlobRegistry.
    /// @param wal_ The WAL token.
    constructor(IExtendableRegistry registry_, IERC20 wal_) {
        registry = registry_;
        wal = wal_;
    }

    /// @notice Accepts a blob token from the registry, making it shared.
    /// @return The ERC-721 receiver selector.
    function onERC721Received(address, address from, uint256 tokenId, bytes calldata)
        external
        returns (bytes4)
    {
        if (msg.sender != address(registry)) revert SharedBlobNotRegistry(msg.sender);
        _shared[tokenId] = true;
        emit BlobShared(tokenId, from);
        return IERC721Receiver.onERC721Received.selector;
    }

    /// @notice Adds `amount` FROST to the funds of shared blob `tokenId` (approve first).
    /// Funds cannot be taken out again, so a blob that can no longer be extended (expired or
    /// invalidated) is refused.
    /// @param tokenId A shared blob token, still stored and not invalidated.
    /// @param amount FROST, more than 0.
    function fund(uint256 tokenId, uint256 amount) external {
        if (!_shared[tokenId]) revert SharedBlobNotShared(tokenId);
        if (amount == 0) revert SharedBlobZeroAmount();
        BlobRegistry.BlobInfo memory info = registry.blobInfo(tokenId);
        if (info.invalidated) revert SharedBlobInvalidated(tokenId);
        if (info.endEpoch <= registry.staking().currentEpoch()) {
            revert SharedBlobExpired(tokenId, info.endEpoch);
        }
        _funds[tokenId] += amount;
        emit SharedBlobFunded(tokenId, msg.sender, amount);
        wal.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Extends shared blob `tokenId` by `extraEpochs`, paid from its funds (anyone).
    /// @param tokenId A shared blob token.
    /// @param extraEpochs Epochs to add.
    /// @return cost FROST taken from the funds.
    function extend(uint256 tokenId, uint32 extraEpochs) external returns (uint256 cost) {
        if (!_shared[tokenId]) revert SharedBlobNotShared(tokenId);
        cost = registry.extensionCost(tokenId, extraEpochs);
        uint256 available = _funds[tokenId];
        if (cost > available) revert SharedBlobInsufficientFunds(tokenId, cost, available);
        _funds[tokenId] = available - cost;
        emit SharedBlobExtended(tokenId, extraEpochs, cost);
        wal.forceApprove(address(registry), cost);
        registry.extendBlob(tokenId, extraEpochs);
    }

    /// @notice Whether `tokenId` is held here.
    /// @param tokenId A blob token id.
    /// @return True once shared.
    function isShared(uint256 tokenId) external view returns (bool) {
        return _shared[tokenId];
    }

    /// @notice FROST available to extend `tokenId`.
    /// @param tokenId A blob token id.
    /// @return The remaining funds.
    function funds(uint256 tokenId) external view returns (uint256) {
        return _funds[tokenId];
    }
}
