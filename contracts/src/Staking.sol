// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStaking} from "./interfaces/IStaking.sol";
import {IStakingRewards} from "./interfaces/IStakingRewards.sol";
import {BLS12381} from "./lib/BLS12381.sol";
import {PackedArrays} from "./lib/PackedArrays.sol";
import {ShardAssignment} from "./lib/ShardAssignment.sol";
import {SortUint} from "./lib/SortUint.sol";
import {WeightedPercentile} from "./lib/WeightedPercentile.sol";

/// @title Staking
/// @notice Storage nodes, WAL stake delegated to them, epochs, the committee of each
/// epoch with its shard assignment and aggregate BLS key, and the prices the committee
/// votes for.
/// @dev Epochs: epoch 0 has no committee. The first epoch change may be started by anyone
/// as soon as one node qualifies (stake >= minStake for epoch 1), without waiting; every
/// later change may be started by anyone once `epochDuration` seconds have passed since
/// the current epoch started. A change selects the committee and prices of the new epoch
/// at once and puts it in the Syncing state until members holding a quorum (n - f) of
/// shards report `epochSyncDone`; a change is not blocked by the previous one's sync.
/// Stake added or withdrawn before the epoch's midpoint takes effect in the next epoch,
/// otherwise in the one after (in epoch 0 always in epoch 1). Rewards live in a separate
/// contract (`rewards`, set once) that Staking notifies of epoch starts and position changes.
contract Staking is IStaking, Ownable {
    using SafeERC20 for IERC20;

    /// @notice Whether the current epoch's committee has finished taking over its shards.
    enum EpochState {
        Syncing,
        Done
    }

    /// @notice A registered storage node as returned by `node`.
    struct NodeInfo {
        address operator;
        string name;
        string httpUrl;
        bytes publicKey;
        uint16 commissionBps;
        uint64 capacity;
        uint128 storagePriceVote;
        uint128 writePriceVote;
    }

    /// @notice A stake position: `amount` WAL staked by `owner` with `nodeId`, counted from
    /// `activationEpoch`; once a withdrawal is requested it stops counting at
    /// `withdrawEpoch` and can be withdrawn from then on (0 = no withdrawal requested).
    struct Position {
        address owner;
        uint32 activationEpoch;
        uint32 withdrawEpoch;
        uint128 amount;
        uint64 nodeId;
    }

    struct Node {
        address operator;
        uint16 commissionBps;
        uint64 capacity;
        uint128 storagePriceVote;
        uint128 writePriceVote;
        bytes32[4] publicKey;
        string name;
        string httpUrl;
    }

    /// @dev A node's stake as `committed` plus at most two pending changes, each taking
    /// effect at its epoch (stake only ever changes at the next or the one after).
    struct NodeStake {
        uint128 committed;
        uint32 epochA;
        uint32 epochB;
        int128 deltaA;
        int128 deltaB;
    }

    struct Committee {
        uint16 size;
        bytes32[4] aggregateKey;
        uint256[] nodeIdWords; // uint32 node ids, committee order (ascending id)
        uint256[] shardCountWords; // uint16 shard counts, committee order
        uint256[] shardOwnerWords; // uint16 member index per shard index
    }

    uint256 private constant NODE_ID_BITS = 32;
    uint256 private constant COUNT_BITS = 16;
    uint256 private constant MAX_NAME_LENGTH = 64;
    uint256 private constant MAX_URL_LENGTH = 256;
    uint16 private constant BPS = 10_000;
    uint8 private constant INTENT_PROOF_OF_POSSESSION = 0;
    uint8 private constant INTENT_VERSION = 0;
    uint8 private constant APP_ID = 3;
    uint256 private constant ON_CURVE_GAS = 20_000;

    /// @notice The WAL token staked here.
    IERC20 public immutable wal;
    /// @inheritdoc IStaking
    uint16 public immutable nShards;

    /// @inheritdoc IStaking
    uint32 public currentEpoch;
    /// @notice Sync state of the current epoch's committee.
    EpochState public epochState;
    /// @notice Shards held by the members that reported `epochSyncDone` this epoch.
    uint16 public syncDoneWeight;
    /// @notice When the current epoch started (unix seconds).
    uint64 public epochStartTime;
    /// @notice Length of an epoch in seconds.
    uint64 public epochDuration;
    /// @notice Largest committee (members by stake, highest first).
    uint16 public maxCommitteeSize;
    /// @notice Most shards one node may hold, in basis points of nShards (raised to
    /// ceil(nShards / members) when the committee is too small for all shards).
    uint16 public maxShardShareBps;
    /// @notice Least stake for committee membership.
    uint256 public minStake;

    /// @inheritdoc IStaking
    uint256 public storagePrice;
    /// @inheritdoc IStaking
    uint256 public writePrice;
    /// @notice Total encoded bytes the committee offers, chosen by its capacity votes.
    uint256 public totalCapacity;

    /// @notice Number of registered nodes (ids run from 1 to nodeCount).
    uint256 public nodeCount;
    /// @notice Number of stake positions ever created (ids run from 1).
    uint256 public positionCount;
    /// @inheritdoc IStaking
    address public rewards;

    mapping(uint256 nodeId => Node) private _nodes;
    mapping(uint256 nodeId => NodeStake) private _stakes;
    mapping(bytes32 keyHash => bool) private _keyUsed;
    mapping(uint256 positionId => Position) private _positions;
    mapping(address owner => uint256[]) private _positionIds;
    mapping(uint32 epoch => Committee) private _committees;
    mapping(uint32 epoch => mapping(uint256 nodeId => bool)) private _syncReported;
    /// @dev WAL in a node's live positions (also those waiting for withdrawal).
    mapping(uint256 nodeId => uint256) private _principal;
    /// @dev Nodes considered at committee selection: listed by the stake that brings their
    /// principal to minStake, removed when their last position is withdrawn. Keeps the
    /// selection loop independent of how many nodes merely registered.
    uint256[] private _candidates;
    mapping(uint256 nodeId => uint256) private _candidateSlot; // index + 1, 0 = not listed

    /// @notice A node was registered.
    event NodeRegistered(
        uint256 indexed nodeId,
        address indexed operator,
        string name,
        string httpUrl,
        bytes publicKey,
        uint16 commissionBps,
        uint64 capacity
    );
    /// @notice A node's name or HTTP URL changed.
    event NodeMetadataUpdated(uint256 indexed nodeId, string name, string httpUrl);
    /// @notice A node's commission changed.
    event CommissionUpdated(uint256 indexed nodeId, uint16 commissionBps);
    /// @notice A node's votes changed.
    event VotesCast(uint256 indexed nodeId, uint128 storagePrice, uint128 writePrice, uint64 capacity);
    /// @notice WAL was staked with a node.
    event Staked(
        uint256 indexed positionId,
        address indexed staker,
        uint256 indexed nodeId,
        uint256 amount,
        uint32 activationEpoch
    );
    /// @notice A withdrawal was requested; the stake stops counting at `withdrawEpoch`.
    event WithdrawalRequested(
        uint256 indexed positionId,
        address indexed staker,
        uint256 indexed nodeId,
        uint256 amount,
        uint32 withdrawEpoch
    );
    /// @notice Staked WAL was paid back.
    event Withdrawn(uint256 indexed positionId, address indexed staker, uint256 indexed nodeId, uint256 amount);
    /// @notice Epoch `epoch` started; its committee follows in `CommitteeSelected`.
    event EpochChangeStarted(uint32 indexed epoch, uint64 startTime);
    /// @notice The committee of `epoch` in committee order with its shard counts.
    event CommitteeSelected(uint32 indexed epoch, uint256[] nodeIds, uint16[] shardCounts);
    /// @notice Prices and capacity chosen by the votes of `epoch`'s committee.
    event EpochParametersSelected(
        uint32 indexed epoch, uint256 storagePrice, uint256 writePrice, uint256 totalCapacity
    );
    /// @notice A committee member reported having synced its shards for `epoch`.
    event EpochSyncDoneReported(uint32 indexed epoch, uint256 indexed nodeId, uint16 syncDoneWeight);
    /// @notice Members holding a quorum of shards have synced: the epoch change is complete.
    event EpochChangeDone(uint32 indexed epoch);
    /// @notice The owner changed the epoch duration.
    event EpochDurationUpdated(uint64 epochDuration);
    /// @notice The owner set the rewards contract (once).
    event RewardsContractSet(address rewards);
    /// @notice The owner changed the committee selection parameters.
    event CommitteeParametersUpdated(uint256 minStake, uint16 maxCommitteeSize, uint16 maxShardShareBps);

    /// @notice The node id is not registered.
    error StakingUnknownNode(uint256 nodeId);
    /// @notice Only the node's operator may do this.
    error StakingNotOperator(uint256 nodeId, address caller);
    /// @notice The public key is not a 128-byte G1 point other than infinity.
    error StakingInvalidPublicKey();
    /// @notice The public key is already registered by another node.
    error StakingPublicKeyAlreadyRegistered();
    /// @notice The proof of possession does not verify for this key, operator and contract.
    error StakingInvalidProofOfPossession();
    /// @notice The node name is empty or longer than 64 bytes.
    error StakingInvalidName(uint256 length);
    /// @notice The node URL is empty or longer than 256 bytes.
    error StakingInvalidUrl(uint256 length);
    /// @notice Commission above 10,000 basis points.
    error StakingInvalidCommission(uint256 commissionBps);
    /// @notice Amounts must be positive.
    error StakingZeroAmount();
    /// @notice The position does not exist (or was withdrawn).
    error StakingUnknownPosition(uint256 positionId);
    /// @notice Only the position's owner may do this.
    error StakingNotPositionOwner(uint256 positionId, address caller);
    /// @notice The requested amount is larger than the position.
    error StakingAmountExceedsPosition(uint256 positionId, uint256 amount, uint256 available);
    /// @notice A withdrawal was already requested for this position.
    error StakingWithdrawalAlreadyRequested(uint256 positionId);
    /// @notice No withdrawal was requested for this position.
    error StakingWithdrawalNotRequested(uint256 positionId);
    /// @notice The position becomes withdrawable in `withdrawEpoch`.
    error StakingWithdrawalNotReady(uint256 positionId, uint32 withdrawEpoch);
    /// @notice The current epoch lasts until `epochEnd` (unix seconds).
    error StakingEpochNotOver(uint256 epochEnd);
    /// @notice No node has enough stake for the next epoch.
    error StakingNoEligibleNodes();
    /// @notice The call is about `epoch` but the current epoch is `currentEpoch`.
    error StakingWrongEpoch(uint32 epoch, uint32 currentEpoch);
    /// @notice The node is not in `epoch`'s committee.
    error StakingNotInCommittee(uint256 nodeId, uint32 epoch);
    /// @notice The node already reported sync done for `epoch`.
    error StakingSyncAlreadyReported(uint256 nodeId, uint32 epoch);
    /// @notice `epoch` has no committee (epoch 0 or not reached yet).
    error StakingUnknownEpoch(uint32 epoch);
    /// @notice `memberIndex` is not below the size of `epoch`'s committee.
    error StakingMemberIndexOutOfRange(uint32 epoch, uint256 memberIndex);
    /// @notice A parameter is out of its allowed range.
    error StakingInvalidParameter(string name, uint256 value);

    /// @param wal_ The WAL token.
    /// @param initialOwner Who may change parameters (later the governance timelock).
    /// @param nShards_ Shards the blobs are encoded for (4 ..= 65535).
    /// @param epochDuration_ Epoch length in seconds (> 0).
    /// @param initialStoragePrice FROST per MiB of encoded size per epoch until the first vote.
    /// @param initialWritePrice FROST per MiB of encoded size per write until the first vote.
    /// @param minStake_ Least stake for committee membership.
    /// @param maxCommitteeSize_ Largest committee (1 ..= nShards).
    /// @param maxShardShareBps_ Most shards per node in basis points of nShards (1 ..= 10,000).
    constructor(
        IERC20 wal_,
        address initialOwner,
        uint16 nShards_,
        uint64 epochDuration_,
        uint256 initialStoragePrice,
        uint256 initialWritePrice,
        uint256 minStake_,
        uint16 maxCommitteeSize_,
        uint16 maxShardShareBps_
    ) Ownable(initialOwner) {
        if (nShards_ < 4) revert StakingInvalidParameter("nShards", nShards_);
        wal = wal_;
        nShards = nShards_;
        _setEpochDuration(epochDuration_);
        _setCommitteeParameters(minStake_, maxCommitteeSize_, maxShardShareBps_);
        storagePrice = initialStoragePrice;
        writePrice = initialWritePrice;
        epochState = EpochState.Done;
        epochStartTime = uint64(block.timestamp);
    }

    // ------------------------------------------------------------------ nodes

    /// @notice Registers a storage node operated by the caller.
    /// @param name Display name (1 ..= 64 bytes).
    /// @param httpUrl Base URL of the node's HTTP API (1 ..= 256 bytes).
    /// @param publicKey BLS public key, a 128-byte EIP-2537 G1 point.
    /// @param proofOfPossession BLS signature (256-byte G2 point) with `publicKey` over
    /// `proofOfPossessionMessage(msg.sender, publicKey)`.
    /// @param commissionBps Share of the stakers' rewards kept by the operator.
    /// @param capacity Bytes of encoded storage the node offers (its capacity vote).
    /// @return nodeId The new node's id (sequential from 1).
    function registerNode(
        string calldata name,
        string calldata httpUrl,
        bytes calldata publicKey,
        bytes calldata proofOfPossession,
        uint16 commissionBps,
        uint64 capacity
    ) external returns (uint256 nodeId) {
        _checkMetadata(name, httpUrl);
        if (commissionBps > BPS) revert StakingInvalidCommission(commissionBps);
        if (
            publicKey.length != BLS12381.G1_POINT_LENGTH || BLS12381.isG1Infinity(publicKey)
                || !_onCurve(BLS12381.G1_ADD, publicKey)
        ) {
            revert StakingInvalidPublicKey();
        }
        bytes32 keyHash = keccak256(publicKey);
        if (_keyUsed[keyHash]) revert StakingPublicKeyAlreadyRegistered();
        if (
            proofOfPossession.length != BLS12381.G2_POINT_LENGTH
                || !_onCurve(BLS12381.G2_ADD, proofOfPossession)
        ) {
            revert StakingInvalidProofOfPossession();
        }
        if (!BLS12381.verify(publicKey, proofOfPossessionMessage(msg.sender, publicKey), proofOfPossession)) {
            revert StakingInvalidProofOfPossession();
        }

        nodeId = ++nodeCount;
        _keyUsed[keyHash] = true;
        Node storage stored = _nodes[nodeId];
        stored.operator = msg.sender;
        stored.commissionBps = commissionBps;
        stored.capacity = capacity;
        stored.storagePriceVote = SafeCast.toUint128(storagePrice);
        stored.writePriceVote = SafeCast.toUint128(writePrice);
        stored.publicKey = abi.decode(publicKey, (bytes32[4]));
        stored.name = name;
        stored.httpUrl = httpUrl;
        emit NodeRegistered(nodeId, msg.sender, name, httpUrl, publicKey, commissionBps, capacity);
    }

    /// @notice Changes the node's name and HTTP URL (operator only).
    /// @param nodeId The node.
    /// @param name New display name (1 ..= 64 bytes).
    /// @param httpUrl New base URL (1 ..= 256 bytes).
    function setNodeMetadata(uint256 nodeId, string calldata name, string calldata httpUrl) external {
        Node storage stored = _operatedNode(nodeId);
        _checkMetadata(name, httpUrl);
        stored.name = name;
        stored.httpUrl = httpUrl;
        emit NodeMetadataUpdated(nodeId, name, httpUrl);
    }

    /// @notice Changes the node's commission (operator only).
    /// @param nodeId The node.
    /// @param commissionBps New commission in basis points (<= 10,000).
    function setCommission(uint256 nodeId, uint16 commissionBps) external {
        Node storage stored = _operatedNode(nodeId);
        if (commissionBps > BPS) revert StakingInvalidCommission(commissionBps);
        stored.commissionBps = commissionBps;
        emit CommissionUpdated(nodeId, commissionBps);
    }

    /// @notice Sets the node's votes (operator only); they count from the next epoch change.
    /// @param nodeId The node.
    /// @param storagePriceVote FROST per MiB of encoded size per epoch.
    /// @param writePriceVote FROST per MiB of encoded size per write.
    /// @param capacity Bytes of encoded storage the node offers.
    function castVotes(uint256 nodeId, uint128 storagePriceVote, uint128 writePriceVote, uint64 capacity)
        external
    {
        Node storage stored = _operatedNode(nodeId);
        stored.storagePriceVote = storagePriceVote;
        stored.writePriceVote = writePriceVote;
        stored.capacity = capacity;
        emit VotesCast(nodeId, storagePriceVote, writePriceVote, capacity);
    }

    // ------------------------------------------------------------------ stake

    /// @notice Stakes `amount` WAL (pulled with transferFrom) with `nodeId`.
    /// @param nodeId The node to stake with.
    /// @param amount FROST to stake.
    /// @return positionId The new stake position.
    function stake(uint256 nodeId, uint256 amount) external returns (uint256 positionId) {
        return _stake(nodeId, amount);
    }

    /// @notice Like `stake`, approving the transfer with an EIP-2612 permit first.
    /// @dev A failing permit is ignored (it may have been front-run); the transfer then
    /// needs an allowance as usual.
    /// @param nodeId The node to stake with.
    /// @param amount FROST to stake.
    /// @param deadline Permit deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    /// @return positionId The new stake position.
    function stakeWithPermit(uint256 nodeId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 positionId)
    {
        try IERC20Permit(address(wal)).permit(msg.sender, address(this), amount, deadline, v, r, s) {}
            catch {}
        return _stake(nodeId, amount);
    }

    /// @notice Requests the withdrawal of `amount` from a position. The stake keeps counting
    /// (and stays at risk) until its withdraw epoch, from which on `withdraw` pays it back.
    /// A partial amount is split off into a new position, which is the one to withdraw.
    /// @param positionId The position.
    /// @param amount FROST to withdraw (<= the position's amount).
    /// @return withdrawingPositionId The position now waiting for withdrawal.
    function requestWithdraw(uint256 positionId, uint256 amount)
        external
        returns (uint256 withdrawingPositionId)
    {
        Position storage stored = _ownedPosition(positionId);
        if (stored.withdrawEpoch != 0) revert StakingWithdrawalAlreadyRequested(positionId);
        if (amount == 0) revert StakingZeroAmount();
        if (amount > stored.amount) revert StakingAmountExceedsPosition(positionId, amount, stored.amount);

        uint32 withdrawEpoch = stakeChangeEpoch();
        uint256 nodeId = stored.nodeId;
        if (amount == stored.amount) {
            stored.withdrawEpoch = withdrawEpoch;
            withdrawingPositionId = positionId;
        } else {
            stored.amount -= uint128(amount);
            withdrawingPositionId = ++positionCount;
            _positions[withdrawingPositionId] = Position({
                owner: msg.sender,
                activationEpoch: stored.activationEpoch,
                withdrawEpoch: withdrawEpoch,
                amount: uint128(amount),
                nodeId: uint64(nodeId)
            });
            _positionIds[msg.sender].push(withdrawingPositionId);
        }
        _changeStake(nodeId, withdrawEpoch, -SafeCast.toInt256(amount));
        emit WithdrawalRequested(withdrawingPositionId, msg.sender, nodeId, amount, withdrawEpoch);
        _notifyStakeChange(nodeId, withdrawEpoch, positionId, withdrawingPositionId);
    }

    /// @notice Pays back a position whose withdraw epoch has been reached, and deletes it;
    /// the rewards contract pays its unclaimed rewards along with it.
    /// @param positionId The position.
    /// @return amount FROST of stake paid back to the caller.
    function withdraw(uint256 positionId) external returns (uint256 amount) {
        Position memory closed = _ownedPosition(positionId);
        if (closed.withdrawEpoch == 0) revert StakingWithdrawalNotRequested(positionId);
        if (currentEpoch < closed.withdrawEpoch) revert StakingWithdrawalNotReady(positionId, closed.withdrawEpoch);
        amount = closed.amount;
        uint256 nodeId = closed.nodeId;
        delete _positions[positionId];
        uint256 principal = _principal[nodeId] - amount;
        _principal[nodeId] = principal;
        if (principal == 0) _removeCandidate(nodeId);
        emit Withdrawn(positionId, msg.sender, nodeId, amount);
        wal.safeTransfer(msg.sender, amount);
        if (rewards != address(0)) {
            IStakingRewards(rewards).positionClosed(
                positionId, msg.sender, nodeId, amount, closed.activationEpoch, closed.withdrawEpoch, principal == 0
            );
        }
    }

    // ------------------------------------------------------------------ epochs

    /// @notice Starts the next epoch: selects its committee (the `maxCommitteeSize` nodes
    /// with the most stake for it, at least `minStake`), assigns the shards in proportion
    /// to stake (capped), stores the committee's aggregate BLS key and sets the prices and
    /// capacity from the new committee's votes. Anyone may call it once the current epoch
    /// is over (the first time: as soon as a node qualifies).
    function initiateEpochChange() external {
        uint32 epoch = currentEpoch + 1;
        if (epoch > 1 && block.timestamp < uint256(epochStartTime) + epochDuration) {
            revert StakingEpochNotOver(uint256(epochStartTime) + epochDuration);
        }
        (uint256[] memory nodeIds, uint256[] memory stakes) = _selectCandidates(epoch);
        uint256[] memory counts = ShardAssignment.apportion(stakes, nShards, _shardCap());
        (nodeIds, counts) = _dropShardless(nodeIds, counts);

        currentEpoch = epoch;
        epochStartTime = uint64(block.timestamp);
        epochState = EpochState.Syncing;
        syncDoneWeight = 0;
        _storeCommittee(epoch, nodeIds, counts);
        _selectParameters(nodeIds, counts);

        emit EpochChangeStarted(epoch, uint64(block.timestamp));
        emit CommitteeSelected(epoch, nodeIds, _toUint16(counts));
        emit EpochParametersSelected(epoch, storagePrice, writePrice, totalCapacity);
        if (rewards != address(0)) IStakingRewards(rewards).epochStarted(epoch);
    }

    /// @notice Reports that the node has taken over its shards of the current epoch
    /// (operator only). Completes the epoch change once a quorum of shards has reported.
    /// @param nodeId A member of the current committee.
    /// @param epoch The current epoch.
    function epochSyncDone(uint256 nodeId, uint32 epoch) external {
        _operatedNode(nodeId);
        if (epoch == 0 || epoch != currentEpoch) revert StakingWrongEpoch(epoch, currentEpoch);
        (bool member, uint256 index) = committeeMemberIndex(epoch, nodeId);
        if (!member) revert StakingNotInCommittee(nodeId, epoch);
        if (_syncReported[epoch][nodeId]) revert StakingSyncAlreadyReported(nodeId, epoch);

        _syncReported[epoch][nodeId] = true;
        uint16 weight =
            syncDoneWeight + uint16(PackedArrays.get(_committees[epoch].shardCountWords, index, COUNT_BITS));
        syncDoneWeight = weight;
        emit EpochSyncDoneReported(epoch, nodeId, weight);
        if (epochState == EpochState.Syncing && weight >= quorumWeight()) {
            epochState = EpochState.Done;
            emit EpochChangeDone(epoch);
        }
    }

    // ------------------------------------------------------------------ owner

    /// @notice Sets the rewards contract (owner only, once): from then on it receives the
    /// finished epochs' storage pools and is told of every epoch start and position change.
    /// @param rewards_ The `StakingRewards` contract for this Staking.
    function setRewards(address rewards_) external onlyOwner {
        if (rewards != address(0) || rewards_ == address(0)) {
            revert StakingInvalidParameter("rewards", uint160(rewards_));
        }
        rewards = rewards_;
        emit RewardsContractSet(rewards_);
    }

    /// @notice Sets the epoch length in seconds (owner only); applies to the current epoch.
    /// @param epochDuration_ Seconds (> 0).
    function setEpochDuration(uint64 epochDuration_) external onlyOwner {
        _setEpochDuration(epochDuration_);
    }

    /// @notice Sets the committee selection parameters (owner only), used from the next
    /// epoch change.
    /// @param minStake_ Least stake for membership.
    /// @param maxCommitteeSize_ Largest committee (1 ..= nShards).
    /// @param maxShardShareBps_ Most shards per node in basis points of nShards (1 ..= 10,000).
    function setCommitteeParameters(uint256 minStake_, uint16 maxCommitteeSize_, uint16 maxShardShareBps_)
        external
        onlyOwner
    {
        _setCommitteeParameters(minStake_, maxCommitteeSize_, maxShardShareBps_);
    }

    // ------------------------------------------------------------------ views

    /// @notice The message a node key's proof of possession signs (docs/protocol.md, intent 0).
    /// @param operator The registering operator.
    /// @param publicKey The 128-byte G1 public key.
    /// @return The message bytes.
    function proofOfPossessionMessage(address operator, bytes calldata publicKey)
        public
        view
        returns (bytes memory)
    {
        return abi.encodePacked(
            INTENT_PROOF_OF_POSSESSION, INTENT_VERSION, APP_ID, block.chainid, address(this), operator, publicKey
        );
    }

    /// @notice Epoch from which a stake or withdrawal made now takes effect.
    /// @return The current epoch + 1 before the current epoch's midpoint (and in epoch 0),
    /// otherwise + 2.
    function stakeChangeEpoch() public view returns (uint32) {
        if (currentEpoch == 0 || block.timestamp < uint256(epochStartTime) + epochDuration / 2) {
            return currentEpoch + 1;
        }
        return currentEpoch + 2;
    }

    /// @notice Shard weight that completes a quorum: n - f with f = (n - 1) / 3.
    /// @return The weight.
    function quorumWeight() public view returns (uint16) {
        return nShards - (nShards - 1) / 3;
    }

    /// @inheritdoc IStaking
    function nodeOperatorAndCommission(uint256 nodeId) external view returns (address, uint16) {
        Node storage stored = _requireNode(nodeId);
        return (stored.operator, stored.commissionBps);
    }

    /// @inheritdoc IStaking
    function nodeStakeAt(uint256 nodeId, uint32 epoch) public view returns (uint256) {
        _requireNode(nodeId);
        if (epoch < currentEpoch) revert StakingWrongEpoch(epoch, currentEpoch);
        return _stakeAt(_stakes[nodeId], epoch);
    }

    /// @notice A registered node's details.
    /// @param nodeId The node.
    /// @return info Its operator, metadata, key and votes.
    function node(uint256 nodeId) external view returns (NodeInfo memory info) {
        Node storage stored = _requireNode(nodeId);
        info = NodeInfo({
            operator: stored.operator,
            name: stored.name,
            httpUrl: stored.httpUrl,
            publicKey: abi.encodePacked(stored.publicKey),
            commissionBps: stored.commissionBps,
            capacity: stored.capacity,
            storagePriceVote: stored.storagePriceVote,
            writePriceVote: stored.writePriceVote
        });
    }

    /// @inheritdoc IStaking
    function nodePublicKey(uint256 nodeId) external view returns (bytes memory) {
        return abi.encodePacked(_requireNode(nodeId).publicKey);
    }

    /// @notice A stake position.
    /// @param positionId The position.
    /// @return The position (reverts if unknown or withdrawn).
    function position(uint256 positionId) external view returns (Position memory) {
        Position memory stored = _positions[positionId];
        if (stored.owner == address(0)) revert StakingUnknownPosition(positionId);
        return stored;
    }

    /// @notice Ids of every position `owner` ever held (withdrawn ones no longer resolve).
    /// @param owner The staker.
    /// @return The position ids in creation order.
    function positionIdsOf(address owner) external view returns (uint256[] memory) {
        return _positionIds[owner];
    }

    /// @notice Nodes considered at the next committee selection (in no particular order):
    /// those with live positions whose total reached minStake when last staked to.
    /// @return The node ids.
    function candidateNodeIds() external view returns (uint256[] memory) {
        return _candidates;
    }

    /// @notice Whether `nodeId` reported sync done for `epoch`.
    /// @param epoch The epoch.
    /// @param nodeId The node.
    /// @return True if it did.
    function syncReported(uint32 epoch, uint256 nodeId) external view returns (bool) {
        return _syncReported[epoch][nodeId];
    }

    /// @notice When the current epoch ends and the next change may start (unix seconds).
    /// @return The time.
    function epochEndTime() external view returns (uint256) {
        return uint256(epochStartTime) + epochDuration;
    }

    /// @inheritdoc IStaking
    function committeeOf(uint32 epoch)
        external
        view
        returns (uint256[] memory nodeIds, uint16[] memory shardCounts)
    {
        Committee storage committee = _committee(epoch);
        nodeIds = PackedArrays.unpack(committee.nodeIdWords, committee.size, NODE_ID_BITS);
        shardCounts = _toUint16(PackedArrays.unpack(committee.shardCountWords, committee.size, COUNT_BITS));
    }

    /// @inheritdoc IStaking
    function committeeShardCounts(uint32 epoch) external view returns (uint16[] memory) {
        Committee storage committee = _committee(epoch);
        return _toUint16(PackedArrays.unpack(committee.shardCountWords, committee.size, COUNT_BITS));
    }

    /// @inheritdoc IStaking
    function committeePackedShardCounts(uint32 epoch)
        external
        view
        returns (uint256 size, uint256[] memory words)
    {
        Committee storage committee = _committee(epoch);
        return (committee.size, committee.shardCountWords);
    }

    /// @inheritdoc IStaking
    function committeeMemberKey(uint32 epoch, uint256 memberIndex) external view returns (bytes memory) {
        Committee storage committee = _committee(epoch);
        if (memberIndex >= committee.size) revert StakingMemberIndexOutOfRange(epoch, memberIndex);
        uint256 nodeId = PackedArrays.get(committee.nodeIdWords, memberIndex, NODE_ID_BITS);
        return abi.encodePacked(_nodes[nodeId].publicKey);
    }

    /// @notice Position of `nodeId` in `epoch`'s committee order.
    /// @param epoch An epoch with a committee.
    /// @param nodeId The node.
    /// @return isMember Whether the node is in the committee.
    /// @return memberIndex Its index in committee order (0 when not a member).
    function committeeMemberIndex(uint32 epoch, uint256 nodeId)
        public
        view
        returns (bool isMember, uint256 memberIndex)
    {
        Committee storage committee = _committee(epoch);
        uint256[] memory ids = PackedArrays.unpack(committee.nodeIdWords, committee.size, NODE_ID_BITS);
        for (uint256 i = 0; i < ids.length; ++i) {
            if (ids[i] == nodeId) return (true, i);
        }
        return (false, 0);
    }

    /// @inheritdoc IStaking
    function shardAssignment(uint32 epoch) external view returns (uint256[] memory ownerOfShard) {
        Committee storage committee = _committee(epoch);
        uint256[] memory ids = PackedArrays.unpack(committee.nodeIdWords, committee.size, NODE_ID_BITS);
        ownerOfShard = PackedArrays.unpack(committee.shardOwnerWords, nShards, COUNT_BITS);
        for (uint256 shard = 0; shard < ownerOfShard.length; ++shard) {
            ownerOfShard[shard] = ids[ownerOfShard[shard]];
        }
    }

    /// @inheritdoc IStaking
    function committeeAggregateKey(uint32 epoch) external view returns (bytes memory) {
        return abi.encodePacked(_committee(epoch).aggregateKey);
    }

    // ------------------------------------------------------------------ internals

    function _stake(uint256 nodeId, uint256 amount) private returns (uint256 positionId) {
        _requireNode(nodeId);
        if (amount == 0) revert StakingZeroAmount();
        uint32 activationEpoch = stakeChangeEpoch();
        positionId = ++positionCount;
        _positions[positionId] = Position({
            owner: msg.sender,
            activationEpoch: activationEpoch,
            withdrawEpoch: 0,
            amount: SafeCast.toUint128(amount),
            nodeId: uint64(nodeId)
        });
        _positionIds[msg.sender].push(positionId);
        uint256 principal = _principal[nodeId] + amount;
        _principal[nodeId] = principal;
        if (principal >= minStake && _candidateSlot[nodeId] == 0) {
            _candidates.push(nodeId);
            _candidateSlot[nodeId] = _candidates.length;
        }
        _changeStake(nodeId, activationEpoch, SafeCast.toInt256(amount));
        emit Staked(positionId, msg.sender, nodeId, amount, activationEpoch);
        wal.safeTransferFrom(msg.sender, address(this), amount);
        _notifyStakeChange(nodeId, activationEpoch, positionId, positionId);
    }

    /// @dev Adds `delta` to the node's stake from `epoch` on (current + 1 or + 2).
    function _changeStake(uint256 nodeId, uint32 epoch, int256 delta) private {
        NodeStake storage nodeStake = _stakes[nodeId];
        uint32 current = currentEpoch;
        if (nodeStake.epochA != 0 && nodeStake.epochA <= current) {
            nodeStake.committed = SafeCast.toUint128(uint256(int256(uint256(nodeStake.committed)) + nodeStake.deltaA));
            (nodeStake.epochA, nodeStake.deltaA) = (0, 0);
        }
        if (nodeStake.epochB != 0 && nodeStake.epochB <= current) {
            nodeStake.committed = SafeCast.toUint128(uint256(int256(uint256(nodeStake.committed)) + nodeStake.deltaB));
            (nodeStake.epochB, nodeStake.deltaB) = (0, 0);
        }
        int128 change = SafeCast.toInt128(delta);
        if (nodeStake.epochA == epoch) {
            nodeStake.deltaA += change;
        } else if (nodeStake.epochB == epoch) {
            nodeStake.deltaB += change;
        } else if (nodeStake.epochA == 0) {
            (nodeStake.epochA, nodeStake.deltaA) = (epoch, change);
        } else {
            // Pending epochs are all > current and epoch is current + 1 or + 2: B is free.
            (nodeStake.epochB, nodeStake.deltaB) = (epoch, change);
        }
    }

    /// @dev Whether the addition precompile accepts `point` (canonical coordinates, on the
    /// curve) by adding the point at infinity, with a small gas stipend: a rejected input
    /// burns the stipend instead of the whole transaction's gas, and the caller can revert
    /// with its own error. Subgroup membership is left to the pairing check.
    function _onCurve(address addPrecompile, bytes calldata point) private view returns (bool ok) {
        (ok,) = addPrecompile.staticcall{gas: ON_CURVE_GAS}(bytes.concat(point, new bytes(point.length)));
    }

    function _notifyStakeChange(uint256 nodeId, uint32 epoch, uint256 fromPositionId, uint256 toPositionId)
        private
    {
        if (rewards != address(0)) {
            IStakingRewards(rewards).stakeChanged(nodeId, epoch, fromPositionId, toPositionId);
        }
    }

    function _removeCandidate(uint256 nodeId) private {
        uint256 slot = _candidateSlot[nodeId];
        if (slot == 0) return;
        uint256 last = _candidates[_candidates.length - 1];
        _candidates[slot - 1] = last;
        _candidateSlot[last] = slot;
        _candidates.pop();
        delete _candidateSlot[nodeId];
    }

    function _stakeAt(NodeStake storage nodeStake, uint32 epoch) private view returns (uint256) {
        int256 total = int256(uint256(nodeStake.committed));
        if (nodeStake.epochA != 0 && nodeStake.epochA <= epoch) total += nodeStake.deltaA;
        if (nodeStake.epochB != 0 && nodeStake.epochB <= epoch) total += nodeStake.deltaB;
        return uint256(total);
    }

    /// @dev The committee candidates for `epoch`: the top `maxCommitteeSize` nodes by stake
    /// (ties to the lower id) with at least `minStake` and more than zero, in ascending id.
    function _selectCandidates(uint32 epoch)
        private
        view
        returns (uint256[] memory nodeIds, uint256[] memory stakes)
    {
        uint256 count = _candidates.length;
        uint256[] memory keys = new uint256[](count);
        uint256 eligible = 0;
        uint256 threshold = minStake == 0 ? 1 : minStake;
        for (uint256 i = 0; i < count; ++i) {
            uint256 nodeId = _candidates[i];
            uint256 amount = _stakeAt(_stakes[nodeId], epoch);
            if (amount >= threshold) {
                // Ascending order of (stake, -id): the best candidates come last.
                keys[eligible++] = (amount << NODE_ID_BITS) | (type(uint32).max - nodeId);
            }
        }
        if (eligible == 0) revert StakingNoEligibleNodes();
        assembly ("memory-safe") {
            mstore(keys, eligible)
        }
        SortUint.sort(keys);
        uint256 size = eligible < maxCommitteeSize ? eligible : maxCommitteeSize;
        uint256[] memory byId = new uint256[](size);
        for (uint256 i = 0; i < size; ++i) {
            uint256 key = keys[eligible - 1 - i];
            uint256 nodeId = type(uint32).max - (key & type(uint32).max);
            byId[i] = (nodeId << 128) | (key >> NODE_ID_BITS);
        }
        SortUint.sort(byId);
        nodeIds = new uint256[](size);
        stakes = new uint256[](size);
        for (uint256 i = 0; i < size; ++i) {
            nodeIds[i] = byId[i] >> 128;
            stakes[i] = byId[i] & type(uint128).max;
        }
    }

    function _shardCap() private view returns (uint256) {
        uint256 cap = (uint256(nShards) * maxShardShareBps) / BPS;
        return cap == 0 ? 1 : cap;
    }

    /// @dev Members with no shard carry no weight and are left out of the committee.
    function _dropShardless(uint256[] memory nodeIds, uint256[] memory counts)
        private
        pure
        returns (uint256[] memory keptIds, uint256[] memory keptCounts)
    {
        uint256 kept = 0;
        for (uint256 i = 0; i < counts.length; ++i) {
            if (counts[i] != 0) {
                nodeIds[kept] = nodeIds[i];
                counts[kept] = counts[i];
                ++kept;
            }
        }
        assembly ("memory-safe") {
            mstore(nodeIds, kept)
            mstore(counts, kept)
        }
        return (nodeIds, counts);
    }

    function _storeCommittee(uint32 epoch, uint256[] memory nodeIds, uint256[] memory counts) private {
        Committee storage committee = _committees[epoch];
        committee.size = uint16(nodeIds.length);
        committee.nodeIdWords = PackedArrays.pack(nodeIds, NODE_ID_BITS);
        committee.shardCountWords = PackedArrays.pack(counts, COUNT_BITS);
        committee.shardOwnerWords = PackedArrays.pack(_assignShards(epoch, nodeIds, counts), COUNT_BITS);

        bytes memory aggregate = abi.encodePacked(_nodes[nodeIds[0]].publicKey);
        for (uint256 i = 1; i < nodeIds.length; ++i) {
            aggregate = BLS12381.g1Add(aggregate, abi.encodePacked(_nodes[nodeIds[i]].publicKey));
        }
        committee.aggregateKey = abi.decode(aggregate, (bytes32[4]));
    }

    /// @dev Shard owners (member indices) for `epoch`, keeping each member's shards of the
    /// previous epoch up to its new count.
    function _assignShards(uint32 epoch, uint256[] memory nodeIds, uint256[] memory counts)
        private
        view
        returns (uint256[] memory)
    {
        uint256 n = nShards;
        uint256[] memory previousOwner = new uint256[](n);
        uint256 none = ShardAssignment.noMember();
        for (uint256 shard = 0; shard < n; ++shard) {
            previousOwner[shard] = none;
        }
        if (epoch > 1) {
            Committee storage previous = _committees[epoch - 1];
            uint256[] memory previousIds = PackedArrays.unpack(previous.nodeIdWords, previous.size, NODE_ID_BITS);
            uint256[] memory previousMember = PackedArrays.unpack(previous.shardOwnerWords, n, COUNT_BITS);
            // Map previous member index -> new member index via node ids (both ascending).
            uint256[] memory newIndexOfPrevious = new uint256[](previousIds.length);
            uint256 j = 0;
            for (uint256 i = 0; i < previousIds.length; ++i) {
                while (j < nodeIds.length && nodeIds[j] < previousIds[i]) ++j;
                newIndexOfPrevious[i] = (j < nodeIds.length && nodeIds[j] == previousIds[i]) ? j : none;
            }
            for (uint256 shard = 0; shard < n; ++shard) {
                previousOwner[shard] = newIndexOfPrevious[previousMember[shard]];
            }
        }
        return ShardAssignment.assign(previousOwner, counts);
    }

    /// @dev Prices: lowest value a quorum of shards voted at or below; capacity: highest
    /// per-shard-normalised capacity a quorum voted at or above (Walrus's rules).
    function _selectParameters(uint256[] memory nodeIds, uint256[] memory counts) private {
        uint256 size = nodeIds.length;
        uint256[] memory storageVotes = new uint256[](size);
        uint256[] memory writeVotes = new uint256[](size);
        uint256[] memory capacityVotes = new uint256[](size);
        for (uint256 i = 0; i < size; ++i) {
            Node storage member = _nodes[nodeIds[i]];
            storageVotes[i] = member.storagePriceVote;
            writeVotes[i] = member.writePriceVote;
            capacityVotes[i] = (uint256(member.capacity) * nShards) / counts[i];
        }
        storagePrice = WeightedPercentile.quorumBelow(storageVotes, counts, nShards);
        writePrice = WeightedPercentile.quorumBelow(writeVotes, counts, nShards);
        totalCapacity = WeightedPercentile.quorumAbove(capacityVotes, counts, nShards);
    }

    function _committee(uint32 epoch) private view returns (Committee storage committee) {
        committee = _committees[epoch];
        if (committee.size == 0) revert StakingUnknownEpoch(epoch);
    }

    function _requireNode(uint256 nodeId) private view returns (Node storage node_) {
        node_ = _nodes[nodeId];
        if (node_.operator == address(0)) revert StakingUnknownNode(nodeId);
    }

    function _operatedNode(uint256 nodeId) private view returns (Node storage node_) {
        node_ = _requireNode(nodeId);
        if (node_.operator != msg.sender) revert StakingNotOperator(nodeId, msg.sender);
    }

    function _ownedPosition(uint256 positionId) private view returns (Position storage stored) {
        stored = _positions[positionId];
        if (stored.owner == address(0)) revert StakingUnknownPosition(positionId);
        if (stored.owner != msg.sender) revert StakingNotPositionOwner(positionId, msg.sender);
    }

    function _checkMetadata(string calldata name, string calldata httpUrl) private pure {
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert StakingInvalidName(nameLength);
        uint256 urlLength = bytes(httpUrl).length;
        if (urlLength == 0 || urlLength > MAX_URL_LENGTH) revert StakingInvalidUrl(urlLength);
    }

    function _setEpochDuration(uint64 epochDuration_) private {
        if (epochDuration_ == 0) revert StakingInvalidParameter("epochDuration", 0);
        epochDuration = epochDuration_;
        emit EpochDurationUpdated(epochDuration_);
    }

    function _setCommitteeParameters(uint256 minStake_, uint16 maxCommitteeSize_, uint16 maxShardShareBps_)
        private
    {
        if (maxCommitteeSize_ == 0 || maxCommitteeSize_ > nShards) {
            revert StakingInvalidParameter("maxCommitteeSize", maxCommitteeSize_);
        }
        if (maxShardShareBps_ == 0 || maxShardShareBps_ > BPS) {
            revert StakingInvalidParameter("maxShardShareBps", maxShardShareBps_);
        }
        minStake = minStake_;
        maxCommitteeSize = maxCommitteeSize_;
        maxShardShareBps = maxShardShareBps_;
        emit CommitteeParametersUpdated(minStake_, maxCommitteeSize_, maxShardShareBps_);
    }

    function _toUint16(uint256[] memory values) private pure returns (uint16[] memory out) {
        out = new uint16[](values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            out[i] = uint16(values[i]);
        }
    }
}
