// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStaking} from "./interfaces/IStaking.sol";
import {BLS12381} from "./lib/BLS12381.sol";
import {EncodedSize} from "./lib/EncodedSize.sol";
import {StorageAccounting} from "./lib/StorageAccounting.sol";

/// @title BlobRegistry
/// @notice One ERC-721 token per registered blob: whoever owns the token owns the data and
/// may extend, delete (deletable blobs only), annotate or burn it. Registration pays WAL for
/// the blob's encoded size (storage price per epoch plus a one-off write price); a quorum
/// certificate of the current committee (aggregate BLS signature) certifies it; f + 1 shard
/// weight of attestations invalidates a blob id for good.
/// @dev Payments go into per-epoch pools (`StorageAccounting`); `releaseEpochRewards` hands a
/// finished epoch's pool to the Staking contract. The registry's WAL balance always equals
/// `unreleasedTotal()`. Quorum = n - f shards with f = (n - 1) / 3 (= 2f + 1 when n = 3f + 1,
/// and enough for p = n - 2f honest holders in general).
contract BlobRegistry is ERC721, Ownable {
    using SafeERC20 for IERC20;
    using StorageAccounting for StorageAccounting.Pools;

    /// @notice An EIP-2612 permit for `registerBlobWithPermit` / `extendBlobWithPermit`.
    struct Permit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A registration as returned by `blobInfo`.
    struct BlobInfo {
        address owner;
        bytes32 blobId;
        bytes32 rootHash;
        uint64 size;
        uint8 encodingType;
        uint64 encodedSize;
        uint32 registeredEpoch;
        uint32 certifiedEpoch;
        uint32 endEpoch;
        bool deletable;
        bool invalidated;
    }

    /// @notice What the nodes need about a blob id over all its registrations.
    /// @dev `permanentCertifiedUntil` is exact (permanent tokens cannot be deleted).
    /// `deletableCertifiedUntil` is the largest end epoch of certified deletable tokens,
    /// reset to 0 when the last of them is deleted or burnt (an upper bound meanwhile).
    struct BlobIdStatus {
        uint32 registrations;
        uint32 certifiedDeletable;
        uint32 permanentCertifiedUntil;
        uint32 deletableCertifiedUntil;
        uint32 invalidatedEpoch;
        bool invalidated;
    }

    struct Blob {
        bytes32 blobId;
        bytes32 rootHash;
        uint64 size;
        uint64 encodedSize;
        uint32 registeredEpoch;
        uint32 certifiedEpoch;
        uint32 endEpoch;
        uint8 encodingType;
        bool deletable;
        uint16 segmentCount;
    }

    /// @dev The storage rate paid per epoch from `startEpoch` until the next segment (or the
    /// end epoch); a new segment starts when an extension is paid at a different price.
    struct Segment {
        uint32 startEpoch;
        uint224 rate;
    }

    uint8 public constant ENCODING_RS_GF256 = 1;
    uint8 public constant ENCODING_RS_GF65536 = 2;
    uint256 public constant MAX_SHARDS_GF256 = 256;
    uint256 public constant MAX_ATTRIBUTE_KEY_LENGTH = 64;
    uint256 public constant MAX_ATTRIBUTE_VALUE_LENGTH = 1024;
    uint8 private constant INTENT_BLOB_CERTIFICATION = 1;
    uint8 private constant INTENT_INVALID_BLOB = 2;
    uint8 private constant INTENT_VERSION = 0;
    uint8 private constant APP_ID = 3;

    /// @notice The WAL token payments are made in.
    IERC20 public immutable wal;
    /// @notice The staking contract: epochs, committees, prices; receives released pools.
    IStaking public immutable staking;
    /// @notice Shards the blobs are encoded for (Staking's, fixed at its deployment).
    uint16 public immutable nShards;

    /// @notice Registrations and extensions may pay for at most this many epochs ahead.
    uint32 public maxEpochsAhead;
    /// @notice Token id of the next registration (ids run from 1).
    uint256 public nextTokenId = 1;

    StorageAccounting.Pools private _pools;
    mapping(uint256 tokenId => Blob) private _blobs;
    mapping(uint256 tokenId => mapping(uint256 index => Segment)) private _segments;
    mapping(bytes32 blobId => BlobIdStatus) private _blobIds;
    mapping(uint256 tokenId => mapping(string key => string)) private _attributes;
    mapping(uint256 tokenId => mapping(string key => bool)) private _hasAttribute;

    /// @notice A blob was registered and paid for epochs [registeredEpoch, endEpoch).
    event BlobRegistered(
        uint256 indexed tokenId,
        bytes32 indexed blobId,
        address indexed owner,
        bytes32 rootHash,
        uint64 size,
        uint8 encodingType,
        uint64 encodedSize,
        uint32 registeredEpoch,
        uint32 endEpoch,
        bool deletable,
        uint256 cost
    );
    /// @notice A quorum of `epoch`'s committee certified the blob: it is available until `endEpoch`.
    event BlobCertified(uint256 indexed tokenId, bytes32 indexed blobId, uint32 epoch, uint32 endEpoch, bool deletable);
    /// @notice The blob's storage was extended to `endEpoch` for `cost` WAL.
    event BlobExtended(uint256 indexed tokenId, bytes32 indexed blobId, uint32 endEpoch, uint256 cost);
    /// @notice The owner deleted a deletable blob in `epoch` and got `refund` back.
    event BlobDeleted(uint256 indexed tokenId, bytes32 indexed blobId, uint32 epoch, uint256 refund);
    /// @notice An expired (or invalidated) blob's token was burnt.
    event BlobBurned(uint256 indexed tokenId, bytes32 indexed blobId);
    /// @notice f + 1 shard weight of `epoch`'s committee attested that the blob id is inconsistently encoded.
    event BlobInvalidated(bytes32 indexed blobId, uint32 epoch);
    /// @notice An attribute of the blob was set.
    event BlobAttributeSet(uint256 indexed tokenId, string key, string value);
    /// @notice An attribute of the blob was removed.
    event BlobAttributeRemoved(uint256 indexed tokenId, string key);
    /// @notice The pool of `epoch` was transferred to the staking contract.
    event EpochRewardsReleased(uint32 indexed epoch, uint256 amount);
    /// @notice The owner changed how many epochs ahead storage may be bought.
    event MaxEpochsAheadUpdated(uint32 maxEpochsAhead);

    /// @notice `blobId` is not sha256(encodingType ‖ size (u64 little-endian) ‖ rootHash) = `expected`.
    error BlobRegistryInvalidBlobId(bytes32 blobId, bytes32 expected);
    /// @notice The encoding type is unknown or cannot encode for `nShards` shards.
    error BlobRegistryUnsupportedEncodingType(uint8 encodingType, uint256 nShards);
    /// @notice The blob is larger than the committee's shards can encode.
    error BlobRegistryBlobTooLarge(uint256 size, uint256 maxSize);
    /// @notice Storage must be bought for at least one epoch.
    error BlobRegistryZeroEpochs();
    /// @notice The end epoch would be `epochsAhead` epochs after the current one, more than `maxEpochsAhead`.
    error BlobRegistryTooManyEpochs(uint256 epochsAhead, uint32 maxEpochsAhead);
    /// @notice There is no committee yet (epoch 0): nothing could store the blob.
    error BlobRegistryNoCommittee();
    /// @notice No blob token with this id exists (never minted, deleted or burnt).
    error BlobRegistryUnknownBlob(uint256 tokenId);
    /// @notice Only the token owner or an approved operator may do this.
    error BlobRegistryNotAuthorized(uint256 tokenId, address caller);
    /// @notice The blob is already certified.
    error BlobRegistryAlreadyCertified(uint256 tokenId);
    /// @notice The blob's storage ended at `endEpoch`.
    error BlobRegistryBlobExpired(uint256 tokenId, uint32 endEpoch);
    /// @notice The blob is stored until `endEpoch` and was not invalidated: it cannot be burnt yet.
    error BlobRegistryBlobNotExpired(uint256 tokenId, uint32 endEpoch);
    /// @notice The blob id was invalidated (inconsistently encoded): it is never stored again.
    error BlobRegistryBlobIdInvalidated(bytes32 blobId);
    /// @notice The blob was registered as permanent and cannot be deleted.
    error BlobRegistryNotDeletable(uint256 tokenId);
    /// @notice The signer bitmap must have ceil(committeeSize / 8) bytes and no bit beyond the committee.
    error BlobRegistryInvalidSignerBitmap(uint256 length, uint256 committeeSize);
    /// @notice The signers hold `weight` shards, fewer than the `required` weight.
    error BlobRegistryInsufficientWeight(uint256 weight, uint256 required);
    /// @notice The aggregate signature does not verify for the signers and the message.
    error BlobRegistryInvalidCertificate();
    /// @notice `epoch`'s pool can only be released after the epoch, and in order from `nextEpoch`.
    error BlobRegistryEpochNotReleasable(uint32 epoch, uint32 nextEpoch, uint32 currentEpoch);
    /// @notice Attribute keys have 1 to 64 bytes.
    error BlobRegistryInvalidAttributeKey(uint256 length);
    /// @notice Attribute values have at most 1024 bytes.
    error BlobRegistryInvalidAttributeValue(uint256 length);
    /// @notice The blob has no attribute with this key.
    error BlobRegistryUnknownAttribute(uint256 tokenId, string key);
    /// @notice The blob id was already invalidated.
    error BlobRegistryAlreadyInvalidated(bytes32 blobId);
    /// @notice `maxEpochsAhead` must be positive.
    error BlobRegistryInvalidMaxEpochsAhead(uint32 maxEpochsAhead);

    /// @param wal_ The WAL token.
    /// @param staking_ The staking contract (epochs, committees, prices; receives released pools).
    /// @param initialOwner Who may change `maxEpochsAhead` (later the governance timelock).
    /// @param maxEpochsAhead_ How many epochs ahead storage may be bought (> 0).
    constructor(IERC20 wal_, IStaking staking_, address initialOwner, uint32 maxEpochsAhead_)
        ERC721("Walrus Blob", "BLOB")
        Ownable(initialOwner)
    {
        wal = wal_;
        staking = staking_;
        nShards = staking_.nShards();
        _setMaxEpochsAhead(maxEpochsAhead_);
        uint32 current = staking_.currentEpoch();
        _pools.nextRelease = current == 0 ? 1 : current;
    }

    // ------------------------------------------------------------------ blobs

    /// @notice Registers a blob and pays for its storage from the current epoch on, pulling
    /// the WAL with transferFrom (approve `registrationCost` first). Mints a token to the caller.
    /// @param blobId sha256(encodingType ‖ size as u64 little-endian ‖ rootHash).
    /// @param rootHash Merkle root over the blob's sliver pair hashes.
    /// @param size Unencoded size in bytes (0 allowed).
    /// @param encodingType 1 (RS over GF(2^8), n <= 256) or 2 (RS over GF(2^16)).
    /// @param epochs Number of epochs to store, from the current one (1 ..= maxEpochsAhead).
    /// @param deletable Whether the owner may delete the blob before its end epoch.
    /// @return tokenId The new token.
    function registerBlob(
        bytes32 blobId,
        bytes32 rootHash,
        uint64 size,
        uint8 encodingType,
        uint32 epochs,
        bool deletable
    ) external returns (uint256 tokenId) {
        return _register(blobId, rootHash, size, encodingType, epochs, deletable);
    }

    /// @notice Like `registerBlob`, approving the payment with an EIP-2612 permit first.
    /// @dev A failing permit is ignored (it may have been front-run); the transfer then needs
    /// an allowance as usual.
    /// @param blobId See `registerBlob`.
    /// @param rootHash See `registerBlob`.
    /// @param size See `registerBlob`.
    /// @param encodingType See `registerBlob`.
    /// @param epochs See `registerBlob`.
    /// @param deletable See `registerBlob`.
    /// @param permit A permit for this contract of at least `registrationCost`.
    /// @return tokenId The new token.
    function registerBlobWithPermit(
        bytes32 blobId,
        bytes32 rootHash,
        uint64 size,
        uint8 encodingType,
        uint32 epochs,
        bool deletable,
        Permit calldata permit
    ) external returns (uint256 tokenId) {
        _permit(permit);
        return _register(blobId, rootHash, size, encodingType, epochs, deletable);
    }

    /// @notice Certifies a registered blob with a quorum certificate of the current committee:
    /// the members in `signers` (bitmap over committee order, bit i = byte i / 8, bit i % 8)
    /// hold at least n - f shards and `signature` is their aggregate BLS signature over
    /// `certificationMessage(epoch, blobId, deletable, deletable ? tokenId : 0)`. Anyone may submit it.
    /// @param tokenId The blob token.
    /// @param signers Signer bitmap, ceil(committee size / 8) bytes.
    /// @param signature Aggregate signature, a 256-byte EIP-2537 G2 point.
    function certifyBlob(uint256 tokenId, bytes calldata signers, bytes calldata signature) external {
        Blob storage blob = _existingBlob(tokenId);
        uint32 epoch = staking.currentEpoch();
        bytes memory message = _certifiableMessage(tokenId, blob, epoch);
        _verifyCertificate(epoch, signers, signature, message, _quorumWeight());
        _markCertified(tokenId, blob, epoch);
    }

    /// @notice Pays for `extraEpochs` more epochs of storage (owner or approved operator).
    /// @param tokenId The blob token (not expired).
    /// @param extraEpochs Epochs to add (the new end may be at most maxEpochsAhead ahead).
    function extendBlob(uint256 tokenId, uint32 extraEpochs) external {
        _extend(tokenId, extraEpochs);
    }

    /// @notice Like `extendBlob`, approving the payment with an EIP-2612 permit first.
    /// @param tokenId The blob token (not expired).
    /// @param extraEpochs Epochs to add.
    /// @param permit A permit for this contract of at least `extensionCost`.
    function extendBlobWithPermit(uint256 tokenId, uint32 extraEpochs, Permit calldata permit) external {
        _permit(permit);
        _extend(tokenId, extraEpochs);
    }

    /// @notice Deletes a deletable blob (owner or approved operator) and burns its token. The
    /// storage paid for the epochs after the current one is paid back to the token owner.
    /// @param tokenId The blob token.
    /// @return refund WAL paid back.
    function deleteBlob(uint256 tokenId) external returns (uint256 refund) {
        Blob storage blob = _authorizedBlob(tokenId);
        if (!blob.deletable) revert BlobRegistryNotDeletable(tokenId);
        address owner = _ownerOf(tokenId);
        uint32 epoch = staking.currentEpoch();
        bytes32 blobId = blob.blobId;

        refund = _refundFutureEpochs(tokenId, blob, epoch + 1);
        _forget(tokenId, blob);
        emit BlobDeleted(tokenId, blobId, epoch, refund);
        if (refund != 0) wal.safeTransfer(owner, refund);
    }

    /// @notice Burns the token of an expired or invalidated blob (owner or approved operator).
    /// Nothing is paid back.
    /// @param tokenId The blob token.
    function burnBlob(uint256 tokenId) external {
        Blob storage blob = _authorizedBlob(tokenId);
        uint32 epoch = staking.currentEpoch();
        bytes32 blobId = blob.blobId;
        if (blob.endEpoch > epoch && !_blobIds[blobId].invalidated) {
            revert BlobRegistryBlobNotExpired(tokenId, blob.endEpoch);
        }
        _forget(tokenId, blob);
        emit BlobBurned(tokenId, blobId);
    }

    /// @notice Marks `blobId` as inconsistently encoded, with attestations of the current
    /// committee holding at least f + 1 shards over `invalidBlobMessage(epoch, blobId)`.
    /// An invalidated blob id is never certified or registered again.
    /// @param blobId The blob id.
    /// @param signers Signer bitmap, ceil(committee size / 8) bytes.
    /// @param signature Aggregate signature, a 256-byte EIP-2537 G2 point.
    function invalidateBlob(bytes32 blobId, bytes calldata signers, bytes calldata signature) external {
        BlobIdStatus storage status = _blobIds[blobId];
        if (status.invalidated) revert BlobRegistryAlreadyInvalidated(blobId);
        uint32 epoch = staking.currentEpoch();
        _verifyCertificate(epoch, signers, signature, invalidBlobMessage(epoch, blobId), _validityWeight());
        status.invalidated = true;
        status.invalidatedEpoch = epoch;
        emit BlobInvalidated(blobId, epoch);
    }

    /// @notice Sets attribute `key` of the blob to `value` (owner or approved operator).
    /// @param tokenId The blob token.
    /// @param key 1 to 64 bytes.
    /// @param value At most 1024 bytes.
    function setAttribute(uint256 tokenId, string calldata key, string calldata value) external {
        _authorizedBlob(tokenId);
        uint256 keyLength = bytes(key).length;
        if (keyLength == 0 || keyLength > MAX_ATTRIBUTE_KEY_LENGTH) revert BlobRegistryInvalidAttributeKey(keyLength);
        if (bytes(value).length > MAX_ATTRIBUTE_VALUE_LENGTH) {
            revert BlobRegistryInvalidAttributeValue(bytes(value).length);
        }
        _attributes[tokenId][key] = value;
        _hasAttribute[tokenId][key] = true;
        emit BlobAttributeSet(tokenId, key, value);
    }

    /// @notice Removes attribute `key` of the blob (owner or approved operator).
    /// @param tokenId The blob token.
    /// @param key An existing attribute key.
    function removeAttribute(uint256 tokenId, string calldata key) external {
        _authorizedBlob(tokenId);
        if (!_hasAttribute[tokenId][key]) revert BlobRegistryUnknownAttribute(tokenId, key);
        delete _attributes[tokenId][key];
        delete _hasAttribute[tokenId][key];
        emit BlobAttributeRemoved(tokenId, key);
    }

    // ------------------------------------------------------------------ rewards

    /// @notice Transfers the pool of a finished epoch to the staking rewards contract
    /// (`staking.rewards()`, or Staking itself while none is set), which distributes it.
    /// Anyone may call it; epochs are released in order (the rewards contract does so at
    /// every epoch change).
    /// @param epoch `nextEpochToRelease()`, which must be before the current epoch.
    /// @return amount WAL transferred.
    function releaseEpochRewards(uint32 epoch) external returns (uint256 amount) {
        uint32 current = staking.currentEpoch();
        uint32 next = _pools.nextRelease;
        if (epoch != next || epoch >= current) revert BlobRegistryEpochNotReleasable(epoch, next, current);
        amount = _pools.release(epoch);
        emit EpochRewardsReleased(epoch, amount);
        address recipient = staking.rewards();
        if (recipient == address(0)) recipient = address(staking);
        if (amount != 0) wal.safeTransfer(recipient, amount);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Sets how many epochs ahead storage may be bought (owner only).
    /// @param maxEpochsAhead_ Epochs (> 0).
    function setMaxEpochsAhead(uint32 maxEpochsAhead_) external onlyOwner {
        _setMaxEpochsAhead(maxEpochsAhead_);
    }

    // ------------------------------------------------------------------ views

    /// @notice A registration's fields, owner and invalidation state.
    /// @param tokenId The blob token.
    /// @return info The blob (reverts with `BlobRegistryUnknownBlob` if it does not exist).
    function blobInfo(uint256 tokenId) external view returns (BlobInfo memory info) {
        Blob storage blob = _existingBlob(tokenId);
        info = BlobInfo({
            owner: _ownerOf(tokenId),
            blobId: blob.blobId,
            rootHash: blob.rootHash,
            size: blob.size,
            encodingType: blob.encodingType,
            encodedSize: blob.encodedSize,
            registeredEpoch: blob.registeredEpoch,
            certifiedEpoch: blob.certifiedEpoch,
            endEpoch: blob.endEpoch,
            deletable: blob.deletable,
            invalidated: _blobIds[blob.blobId].invalidated
        });
    }

    /// @notice The state of a blob id over all its registrations.
    /// @param blobId The blob id.
    /// @return The counters and epochs (all zero for an unknown blob id).
    function blobIdStatus(bytes32 blobId) external view returns (BlobIdStatus memory) {
        return _blobIds[blobId];
    }

    /// @notice The epoch until which (exclusive) some certified registration keeps `blobId`
    /// stored; 0 if none or if the blob id was invalidated.
    /// @param blobId The blob id.
    /// @return The end epoch.
    function certifiedUntil(bytes32 blobId) public view returns (uint32) {
        BlobIdStatus storage status = _blobIds[blobId];
        if (status.invalidated) return 0;
        uint32 deletableUntil = status.certifiedDeletable == 0 ? 0 : status.deletableCertifiedUntil;
        return status.permanentCertifiedUntil > deletableUntil ? status.permanentCertifiedUntil : deletableUntil;
    }

    /// @notice Whether `blobId` is certified and stored in `epoch`.
    /// @param blobId The blob id.
    /// @param epoch The epoch asked about.
    /// @return True if a certified registration covers `epoch` and the blob id is valid.
    function isCertifiedAt(bytes32 blobId, uint32 epoch) external view returns (bool) {
        return certifiedUntil(blobId) > epoch;
    }

    /// @notice Whether `blobId` is certified and stored in the current epoch.
    /// @param blobId The blob id.
    /// @return True if a certified registration covers the current epoch.
    function isCertified(bytes32 blobId) external view returns (bool) {
        return certifiedUntil(blobId) > staking.currentEpoch();
    }

    /// @notice Attribute `key` of the blob.
    /// @param tokenId The blob token.
    /// @param key The key.
    /// @return exists Whether it is set.
    /// @return value Its value ("" when not set).
    function attribute(uint256 tokenId, string calldata key) external view returns (bool exists, string memory value) {
        _existingBlob(tokenId);
        return (_hasAttribute[tokenId][key], _attributes[tokenId][key]);
    }

    /// @notice Encoded length (bytes over all shards) of a blob of `size` bytes on `shards`
    /// shards, as backend/core computes it.
    /// @param shards Shard count (>= 4).
    /// @param size Unencoded size.
    /// @return The encoded length.
    function encodedSize(uint256 shards, uint256 size) external pure returns (uint256) {
        return EncodedSize.encodedLength(shards, size);
    }

    /// @notice The blob id for these fields: sha256(encodingType ‖ size u64 LE ‖ rootHash).
    /// @param encodingType The encoding type.
    /// @param size The unencoded size.
    /// @param rootHash The blob root.
    /// @return The blob id.
    function computeBlobId(uint8 encodingType, uint64 size, bytes32 rootHash) public pure returns (bytes32) {
        return sha256(abi.encodePacked(encodingType, _littleEndian64(size), rootHash));
    }

    /// @notice What registering a blob of `size` bytes for `epochs` epochs costs at current prices.
    /// @param size Unencoded size.
    /// @param epochs Epochs of storage.
    /// @return storageCost storagePrice * encoded MiB * epochs.
    /// @return writeCost writePrice * encoded MiB.
    function registrationCost(uint64 size, uint32 epochs)
        external
        view
        returns (uint256 storageCost, uint256 writeCost)
    {
        uint256 mib = EncodedSize.toMiBRoundedUp(EncodedSize.encodedLength(nShards, size));
        storageCost = staking.storagePrice() * mib * epochs;
        writeCost = staking.writePrice() * mib;
    }

    /// @notice What extending the blob by `extraEpochs` costs at the current storage price.
    /// @param tokenId The blob token.
    /// @param extraEpochs Epochs to add.
    /// @return The cost in FROST.
    function extensionCost(uint256 tokenId, uint32 extraEpochs) external view returns (uint256) {
        return _storageRate(_existingBlob(tokenId).encodedSize) * extraEpochs;
    }

    /// @notice The message a storage confirmation signs (docs/protocol.md, intent 1).
    /// @param epoch The epoch of the signing committee.
    /// @param blobId The blob id.
    /// @param deletable Persistence: true for deletable, false for permanent.
    /// @param tokenId The token id for deletable blobs, 0 for permanent ones.
    /// @return The message bytes.
    function certificationMessage(uint32 epoch, bytes32 blobId, bool deletable, uint256 tokenId)
        public
        view
        returns (bytes memory)
    {
        return abi.encodePacked(
            INTENT_BLOB_CERTIFICATION,
            INTENT_VERSION,
            APP_ID,
            block.chainid,
            address(this),
            epoch,
            blobId,
            deletable ? uint8(1) : uint8(0),
            tokenId
        );
    }

    /// @notice The message an invalid-blob attestation signs (docs/protocol.md, intent 2).
    /// @param epoch The epoch of the signing committee.
    /// @param blobId The blob id.
    /// @return The message bytes.
    function invalidBlobMessage(uint32 epoch, bytes32 blobId) public view returns (bytes memory) {
        return abi.encodePacked(INTENT_INVALID_BLOB, INTENT_VERSION, APP_ID, block.chainid, address(this), epoch, blobId);
    }

    /// @notice The first epoch whose pool has not been released yet.
    /// @return The epoch.
    function nextEpochToRelease() external view returns (uint32) {
        return _pools.nextRelease;
    }

    /// @notice The WAL held for `epoch`'s pool (0 once released).
    /// @dev Walks the epochs from `nextEpochToRelease()`: for off-chain use.
    /// @param epoch The epoch.
    /// @return The amount in FROST.
    function epochPool(uint32 epoch) external view returns (uint256) {
        return _pools.poolOf(epoch);
    }

    /// @notice The pools of `count` consecutive epochs from `fromEpoch` (0 for released ones).
    /// @param fromEpoch The first epoch.
    /// @param count How many epochs.
    /// @return pools The amounts in FROST.
    function epochPools(uint32 fromEpoch, uint32 count) external view returns (uint256[] memory pools) {
        return _pools.poolsOf(fromEpoch, count);
    }

    /// @notice Sum of all unreleased pools; equals this contract's WAL balance.
    /// @return The amount in FROST.
    function unreleasedTotal() external view returns (uint256) {
        return _pools.unreleased;
    }

    // ------------------------------------------------------------------ internals

    function _register(
        bytes32 blobId,
        bytes32 rootHash,
        uint64 size,
        uint8 encodingType,
        uint32 epochs,
        bool deletable
    ) private returns (uint256 tokenId) {
        bytes32 expected = computeBlobId(encodingType, size, rootHash);
        if (blobId != expected) revert BlobRegistryInvalidBlobId(blobId, expected);
        if (_blobIds[blobId].invalidated) revert BlobRegistryBlobIdInvalidated(blobId);
        uint64 encoded = uint64(_checkedEncodedSize(size, encodingType));
        uint32 epoch = _checkedEpochs(epochs);
        return _mintRegistration(
            Blob({
                blobId: blobId,
                rootHash: rootHash,
                size: size,
                encodedSize: encoded,
                registeredEpoch: epoch,
                certifiedEpoch: 0,
                endEpoch: epoch + epochs,
                encodingType: encodingType,
                deletable: deletable,
                segmentCount: 1
            })
        );
    }

    /// @dev Books the payment of a checked registration, stores it and mints its token.
    function _mintRegistration(Blob memory blob) private returns (uint256 tokenId) {
        uint256 mib = EncodedSize.toMiBRoundedUp(blob.encodedSize);
        uint256 rate = staking.storagePrice() * mib;
        uint256 writeFee = staking.writePrice() * mib;
        uint256 cost = _pools.addStorage(blob.registeredEpoch, blob.endEpoch, rate) + writeFee;
        _pools.addOneOff(blob.registeredEpoch, writeFee);

        tokenId = nextTokenId++;
        _blobs[tokenId] = blob;
        _segments[tokenId][0] = Segment({startEpoch: blob.registeredEpoch, rate: SafeCast.toUint224(rate)});
        _blobIds[blob.blobId].registrations += 1;
        _mint(msg.sender, tokenId);
        _emitRegistered(tokenId, blob, cost);
        if (cost != 0) wal.safeTransferFrom(msg.sender, address(this), cost);
    }

    function _emitRegistered(uint256 tokenId, Blob memory blob, uint256 cost) private {
        emit BlobRegistered(
            tokenId,
            blob.blobId,
            msg.sender,
            blob.rootHash,
            blob.size,
            blob.encodingType,
            blob.encodedSize,
            blob.registeredEpoch,
            blob.endEpoch,
            blob.deletable,
            cost
        );
    }

    function _extend(uint256 tokenId, uint32 extraEpochs) private {
        Blob storage blob = _authorizedBlob(tokenId);
        if (extraEpochs == 0) revert BlobRegistryZeroEpochs();
        uint32 epoch = staking.currentEpoch();
        uint32 oldEnd = blob.endEpoch;
        if (oldEnd <= epoch) revert BlobRegistryBlobExpired(tokenId, oldEnd);
        bytes32 blobId = blob.blobId;
        BlobIdStatus storage status = _blobIds[blobId];
        if (status.invalidated) revert BlobRegistryBlobIdInvalidated(blobId);
        uint256 newEnd = uint256(oldEnd) + extraEpochs;
        if (newEnd - epoch > maxEpochsAhead) revert BlobRegistryTooManyEpochs(newEnd - epoch, maxEpochsAhead);

        uint256 rate = _storageRate(blob.encodedSize);
        uint256 cost = _pools.addStorage(oldEnd, uint32(newEnd), rate);
        uint256 last = blob.segmentCount - 1;
        if (_segments[tokenId][last].rate != rate) {
            _segments[tokenId][last + 1] = Segment({startEpoch: oldEnd, rate: SafeCast.toUint224(rate)});
            blob.segmentCount = SafeCast.toUint16(last + 2);
        }
        blob.endEpoch = uint32(newEnd);
        if (blob.certifiedEpoch != 0) {
            if (blob.deletable) {
                if (newEnd > status.deletableCertifiedUntil) status.deletableCertifiedUntil = uint32(newEnd);
            } else if (newEnd > status.permanentCertifiedUntil) {
                status.permanentCertifiedUntil = uint32(newEnd);
            }
        }
        emit BlobExtended(tokenId, blobId, uint32(newEnd), cost);
        if (cost != 0) wal.safeTransferFrom(msg.sender, address(this), cost);
    }

    /// @dev The message the certificate of `tokenId` must sign in `epoch`, after checking the
    /// blob can be certified (not yet certified, not expired, blob id not invalidated).
    function _certifiableMessage(uint256 tokenId, Blob storage blob, uint32 epoch)
        private
        view
        returns (bytes memory)
    {
        if (blob.certifiedEpoch != 0) revert BlobRegistryAlreadyCertified(tokenId);
        if (blob.endEpoch <= epoch) revert BlobRegistryBlobExpired(tokenId, blob.endEpoch);
        bytes32 blobId = blob.blobId;
        if (_blobIds[blobId].invalidated) revert BlobRegistryBlobIdInvalidated(blobId);
        bool deletable = blob.deletable;
        return certificationMessage(epoch, blobId, deletable, deletable ? tokenId : 0);
    }

    function _markCertified(uint256 tokenId, Blob storage blob, uint32 epoch) private {
        blob.certifiedEpoch = epoch;
        uint32 endEpoch = blob.endEpoch;
        bytes32 blobId = blob.blobId;
        bool deletable = blob.deletable;
        BlobIdStatus storage status = _blobIds[blobId];
        if (deletable) {
            status.certifiedDeletable += 1;
            if (endEpoch > status.deletableCertifiedUntil) status.deletableCertifiedUntil = endEpoch;
        } else if (endEpoch > status.permanentCertifiedUntil) {
            status.permanentCertifiedUntil = endEpoch;
        }
        emit BlobCertified(tokenId, blobId, epoch, endEpoch, deletable);
    }

    /// @dev Takes the storage of epochs [fromEpoch, endEpoch) back out of the pools, segment
    /// by segment from the last one, and returns its total.
    function _refundFutureEpochs(uint256 tokenId, Blob storage blob, uint32 fromEpoch)
        private
        returns (uint256 refund)
    {
        uint32 end = blob.endEpoch;
        for (uint256 i = blob.segmentCount; i > 0 && fromEpoch < end; --i) {
            Segment memory segment = _segments[tokenId][i - 1];
            uint32 start = segment.startEpoch > fromEpoch ? segment.startEpoch : fromEpoch;
            refund += _pools.removeStorage(start, end, segment.rate);
            end = start;
        }
    }

    /// @dev Removes a registration (delete or burn): counters, segments, token.
    function _forget(uint256 tokenId, Blob storage blob) private {
        BlobIdStatus storage status = _blobIds[blob.blobId];
        status.registrations -= 1;
        if (blob.deletable && blob.certifiedEpoch != 0) {
            status.certifiedDeletable -= 1;
            if (status.certifiedDeletable == 0) status.deletableCertifiedUntil = 0;
        }
        for (uint256 i = blob.segmentCount; i > 0; --i) {
            delete _segments[tokenId][i - 1];
        }
        delete _blobs[tokenId];
        _burn(tokenId);
    }

    /// @dev Checks `signers` against `epoch`'s committee, their shard weight against
    /// `required`, and the aggregate signature against the committee key minus non-signers.
    /// Costs a few storage words for the weights; each non-signer adds one key subtraction.
    function _verifyCertificate(
        uint32 epoch,
        bytes calldata signers,
        bytes calldata signature,
        bytes memory message,
        uint256 required
    ) private view {
        if (epoch == 0) revert BlobRegistryNoCommittee();
        (uint256 size, uint256[] memory countWords) = staking.committeePackedShardCounts(epoch);
        _checkBitmap(signers, size);
        uint256 weight = _signerWeight(signers, countWords);
        if (weight < required) revert BlobRegistryInsufficientWeight(weight, required);

        if (!BLS12381.verify(_signersKey(epoch, signers, size), message, signature)) {
            revert BlobRegistryInvalidCertificate();
        }
    }

    /// @dev The committee's aggregate key minus the keys of the members not in `signers`.
    function _signersKey(uint32 epoch, bytes calldata signers, uint256 size)
        private
        view
        returns (bytes memory aggregateKey)
    {
        aggregateKey = staking.committeeAggregateKey(epoch);
        for (uint256 byteIndex = 0; byteIndex < signers.length; ++byteIndex) {
            uint256 bits = uint8(signers[byteIndex]);
            if (bits == 0xFF) continue;
            for (uint256 bit = 0; bit < 8; ++bit) {
                uint256 member = byteIndex * 8 + bit;
                if (member >= size) break;
                if ((bits >> bit) & 1 == 0) {
                    aggregateKey = BLS12381.g1Sub(aggregateKey, staking.committeeMemberKey(epoch, member));
                }
            }
        }
    }

    /// @dev The bitmap has exactly ceil(size / 8) bytes and no bit set beyond the committee.
    function _checkBitmap(bytes calldata signers, uint256 size) private pure {
        if (signers.length != (size + 7) / 8 || (size % 8 != 0 && uint8(signers[size / 8]) >> (size % 8) != 0)) {
            revert BlobRegistryInvalidSignerBitmap(signers.length, size);
        }
    }

    /// @dev Sum of the signers' shard counts. Byte b of the bitmap covers members 8b..8b+7,
    /// whose 16-bit counts are the half (b % 2) of packed word b / 2.
    function _signerWeight(bytes calldata signers, uint256[] memory countWords)
        private
        pure
        returns (uint256 weight)
    {
        unchecked {
            for (uint256 byteIndex = 0; byteIndex < signers.length; ++byteIndex) {
                uint256 bits = uint8(signers[byteIndex]);
                if (bits == 0) continue;
                uint256 counts = countWords[byteIndex / 2] >> ((byteIndex % 2) * 128);
                for (uint256 bit = 0; bit < 8; ++bit) {
                    if ((bits >> bit) & 1 == 1) weight += (counts >> (bit * 16)) & 0xFFFF;
                }
            }
        }
    }

    function _existingBlob(uint256 tokenId) private view returns (Blob storage blob) {
        if (_ownerOf(tokenId) == address(0)) revert BlobRegistryUnknownBlob(tokenId);
        return _blobs[tokenId];
    }

    function _authorizedBlob(uint256 tokenId) private view returns (Blob storage blob) {
        address owner = _ownerOf(tokenId);
        if (owner == address(0)) revert BlobRegistryUnknownBlob(tokenId);
        if (!_isAuthorized(owner, msg.sender, tokenId)) revert BlobRegistryNotAuthorized(tokenId, msg.sender);
        return _blobs[tokenId];
    }

    function _checkedEncodedSize(uint64 size, uint8 encodingType) private view returns (uint256) {
        uint256 n = nShards;
        bool supported = encodingType == ENCODING_RS_GF65536
            || (encodingType == ENCODING_RS_GF256 && n <= MAX_SHARDS_GF256);
        if (!supported) revert BlobRegistryUnsupportedEncodingType(encodingType, n);
        uint256 maxSize = EncodedSize.maxBlobSize(n);
        if (size > maxSize) revert BlobRegistryBlobTooLarge(size, maxSize);
        return EncodedSize.encodedLength(n, size);
    }

    /// @dev The current epoch, after checking that `epochs` may be bought now.
    function _checkedEpochs(uint32 epochs) private view returns (uint32 epoch) {
        if (epochs == 0) revert BlobRegistryZeroEpochs();
        if (epochs > maxEpochsAhead) revert BlobRegistryTooManyEpochs(epochs, maxEpochsAhead);
        epoch = staking.currentEpoch();
        if (epoch == 0) revert BlobRegistryNoCommittee();
    }

    function _storageRate(uint256 encoded) private view returns (uint256) {
        return staking.storagePrice() * EncodedSize.toMiBRoundedUp(encoded);
    }

    function _quorumWeight() private view returns (uint256) {
        uint256 n = nShards;
        return n - (n - 1) / 3;
    }

    function _validityWeight() private view returns (uint256) {
        return (uint256(nShards) - 1) / 3 + 1;
    }

    function _permit(Permit calldata permit) private {
        try IERC20Permit(address(wal)).permit(
            msg.sender, address(this), permit.value, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {}
    }

    function _setMaxEpochsAhead(uint32 maxEpochsAhead_) private {
        if (maxEpochsAhead_ == 0) revert BlobRegistryInvalidMaxEpochsAhead(maxEpochsAhead_);
        maxEpochsAhead = maxEpochsAhead_;
        emit MaxEpochsAheadUpdated(maxEpochsAhead_);
    }

    function _littleEndian64(uint64 value) private pure returns (bytes8) {
        uint64 v = value;
        v = ((v & 0xFF00FF00FF00FF00) >> 8) | ((v & 0x00FF00FF00FF00FF) << 8);
        v = ((v & 0xFFFF0000FFFF0000) >> 16) | ((v & 0x0000FFFF0000FFFF) << 16);
        v = (v >> 32) | (v << 32);
        return bytes8(v);
    }
}
