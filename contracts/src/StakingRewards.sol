// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {BlobRegistry} from "./BlobRegistry.sol";
import {Staking} from "./Staking.sol";
import {IAvailabilityScore} from "./interfaces/IAvailabilityScore.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IStakingRewards} from "./interfaces/IStakingRewards.sol";

/// @title StakingRewards
/// @notice Pays each finished epoch's rewards: the epoch's storage pool (released from
/// BlobRegistry) plus a subsidy (pulled from the subsidies allocation's allowance, at most
/// `subsidyRate` per epoch) make the pool; `burnShareBps` of it is burned; the rest is split
/// among the epoch's committee in proportion to shards, times each node's availability weight
/// (`IAvailabilityScore`, full weight when none is set). Of a node's reward, its commission
/// goes to the operator and the rest to the positions staked with it, pro rata to stake.
/// @dev Distribution runs inside `Staking.initiateEpochChange` (permissionless, in order, never
/// lagging) and loops over the committee only. Stakers are paid through a per-node
/// reward-per-stake accumulator: a position earns `amount * (acc after its last epoch - acc
/// before its first epoch) / PRECISION`. The accumulator value before an epoch in which a
/// node's stake changes is snapshotted lazily: Staking reports each change epoch
/// (`stakeChanged`), at most two are pending per node, and they are written just before the
/// accumulator next grows, so every claim is O(1).
/// Rounding: what the shard split, availability weights and burn share leave is burned (so
/// payouts + burn = pool exactly); the stakers' floor dust stays reserved for the node and goes
/// to its operator when the node's last position is withdrawn.
contract StakingRewards is IStakingRewards, Ownable {
    using SafeERC20 for IERC20;

    /// @notice A committee member's stake and stakers' reward in one epoch.
    struct NodeEpoch {
        uint128 stake;
        uint128 stakersReward;
    }

    /// @dev Change epochs whose accumulator snapshot is not written yet (0 = free slot).
    struct PendingSnapshots {
        uint32 first;
        uint32 second;
    }

    uint16 private constant BPS = 10_000;
    uint256 private constant SCORE_GAS = 100_000;
    /// @notice Scale of the reward-per-stake accumulators.
    uint256 public constant PRECISION = 1e27;
    /// @notice Largest subsidy per epoch: 5,000,000 WAL (0.1% of the supply).
    uint256 public constant MAX_SUBSIDY_RATE = 5_000_000 * 10 ** 9;

    /// @notice The WAL token.
    IERC20 public immutable wal;
    /// @notice The staking contract whose epochs and positions are rewarded.
    IStaking public immutable staking;
    /// @notice The registry whose finished epochs' storage pools are released here.
    BlobRegistry public immutable registry;
    /// @notice The holder of the subsidies allocation; it pays by approving this contract.
    address public immutable subsidySource;
    /// @notice The first epoch rewarded (1 when deployed in epoch 0).
    uint32 public immutable firstEpoch;

    /// @notice Share of each epoch's pool that is burned, in basis points.
    uint16 public burnShareBps;
    /// @notice The last epoch whose rewards were distributed.
    uint32 public lastDistributedEpoch;
    /// @notice Most FROST pulled from `subsidySource` per epoch.
    uint256 public subsidyRate;
    /// @notice The challenge results weighting rewards (zero address: full weight for all).
    IAvailabilityScore public availabilityScore;
    /// @notice WAL owed: operators' commission balances plus the stakers' reserves.
    uint256 public liabilities;
    /// @notice WAL burned by this contract so far.
    uint256 public totalBurned;
    /// @notice WAL received from the subsidy source so far.
    uint256 public totalSubsidies;

    /// @notice Per node: cumulative stakers' reward per FROST of stake, times PRECISION.
    mapping(uint256 nodeId => uint256) public rewardPerStake;
    /// @notice Per node: WAL set aside for its positions' rewards and not yet paid.
    mapping(uint256 nodeId => uint256) public stakerReserve;
    /// @notice Per node: commission its operator can claim.
    mapping(uint256 nodeId => uint256) public commissionBalance;

    mapping(uint256 nodeId => PendingSnapshots) private _pending;
    /// @dev Accumulator before `epoch` plus one (0 = not written).
    mapping(uint256 nodeId => mapping(uint32 epoch => uint256)) private _snapshots;
    /// @dev Accumulator a position was paid through plus one (0 = never paid).
    mapping(uint256 positionId => uint256) private _paidThrough;
    mapping(uint32 epoch => mapping(uint256 nodeId => NodeEpoch)) private _nodeEpochs;

    /// @notice Epoch `epoch`'s rewards were distributed: `pool` = storage pool released +
    /// subsidy (+ anything sent here directly); `pool` = `distributed` + `burned`.
    event EpochRewardsDistributed(
        uint32 indexed epoch, uint256 storagePool, uint256 subsidy, uint256 pool, uint256 distributed, uint256 burned
    );
    /// @notice A committee member earned `reward` in `epoch`, `commission` of it for its operator.
    event NodeRewarded(
        uint32 indexed epoch, uint256 indexed nodeId, uint256 reward, uint256 commission, uint256 stake, uint16 weightBps
    );
    /// @notice A position's rewards were paid to its owner.
    event RewardsClaimed(uint256 indexed positionId, address indexed owner, uint256 amount);
    /// @notice An operator claimed its node's commission.
    event CommissionClaimed(uint256 indexed nodeId, address indexed operator, uint256 amount);
    /// @notice The stakers' rounding dust of a node without positions went to its operator.
    event StakerDustSwept(uint256 indexed nodeId, uint256 amount);
    /// @notice The owner changed the burn share.
    event BurnShareUpdated(uint16 burnShareBps);
    /// @notice The owner changed the subsidy rate.
    event SubsidyRateUpdated(uint256 subsidyRate);
    /// @notice The owner changed the availability score contract.
    event AvailabilityScoreUpdated(address availabilityScore);

    /// @notice Only the staking contract may call this.
    error StakingRewardsNotStaking(address caller);
    /// @notice The burn share is above 10,000 basis points.
    error StakingRewardsInvalidBurnShare(uint256 burnShareBps);
    /// @notice The subsidy rate is above `maxRate` FROST per epoch.
    error StakingRewardsInvalidSubsidyRate(uint256 rate, uint256 maxRate);
    /// @notice The address has no contract code.
    error StakingRewardsNotAContract(address account);
    /// @notice Only the position's owner may claim its rewards.
    error StakingRewardsNotPositionOwner(uint256 positionId, address caller);
    /// @notice Only the node's operator may claim its commission.
    error StakingRewardsNotOperator(uint256 nodeId, address caller);
    /// @notice More than two pending stake-change epochs (cannot happen while distribution
    /// runs at every epoch change).
    error StakingRewardsTooManyPendingChanges(uint256 nodeId, uint32 epoch);

    modifier onlyStaking() {
        if (msg.sender != address(staking)) revert StakingRewardsNotStaking(msg.sender);
        _;
    }

    /// @param wal_ The WAL token (ERC20Burnable).
    /// @param staking_ The staking contract; its owner must then call `setRewards(this)`.
    /// @param registry_ The blob registry paying into `staking_` (zero: storage pools are not
    /// released by this contract).
    /// @param subsidySource_ Holder of the subsidies allocation (approves this contract).
    /// @param subsidyRate_ Most FROST pulled per epoch (<= MAX_SUBSIDY_RATE).
    /// @param burnShareBps_ Share of each pool burned (<= 10,000).
    /// @param initialOwner Who may change the parameters (later the governance timelock).
    constructor(
        IERC20 wal_,
        IStaking staking_,
        BlobRegistry registry_,
        address subsidySource_,
        uint256 subsidyRate_,
        uint16 burnShareBps_,
        address initialOwner
    ) Ownable(initialOwner) {
        wal = wal_;
        staking = staking_;
        registry = registry_;
        subsidySource = subsidySource_;
        uint32 current = staking_.currentEpoch();
        // Positions made before this contract was set take effect by current + 2 at the latest.
        uint32 first = current == 0 ? 1 : current + 2;
        firstEpoch = first;
        lastDistributedEpoch = first - 1;
        _setSubsidyRate(subsidyRate_);
        _setBurnShare(burnShareBps_);
    }

    // ------------------------------------------------------------------ staking hooks

    /// @inheritdoc IStakingRewards
    function epochStarted(uint32 epoch) external onlyStaking {
        uint32 finished = epoch - 1;
        uint256 released = _releaseStoragePools(finished);
        if (finished >= firstEpoch && finished > lastDistributedEpoch) _distribute(finished, released);
        if (epoch >= firstEpoch) _recordStakes(epoch);
    }

    /// @inheritdoc IStakingRewards
    function stakeChanged(uint256 nodeId, uint32 epoch, uint256 fromPositionId, uint256 toPositionId)
        external
        onlyStaking
    {
        if (fromPositionId != toPositionId) _paidThrough[toPositionId] = _paidThrough[fromPositionId];
        if (epoch <= firstEpoch) return; // the accumulator is 0 before the first epoch
        PendingSnapshots storage pending = _pending[nodeId];
        // Snapshots whose previous epoch is distributed are final now: the accumulator has not
        // grown since (growth writes pending snapshots first).
        uint32 last = lastDistributedEpoch;
        uint256 value = rewardPerStake[nodeId] + 1;
        if (pending.first != 0 && pending.first - 1 <= last) {
            _snapshots[nodeId][pending.first] = value;
            pending.first = 0;
        }
        if (pending.second != 0 && pending.second - 1 <= last) {
            _snapshots[nodeId][pending.second] = value;
            pending.second = 0;
        }
        if (pending.first == epoch || pending.second == epoch) return;
        if (pending.first == 0) pending.first = epoch;
        else if (pending.second == 0) pending.second = epoch;
        else revert StakingRewardsTooManyPendingChanges(nodeId, epoch);
    }

    /// @inheritdoc IStakingRewards
    function positionClosed(
        uint256 positionId,
        address owner,
        uint256 nodeId,
        uint256 amount,
        uint32 activationEpoch,
        uint32 withdrawEpoch,
        bool nodeEmpty
    ) external onlyStaking returns (uint256 paid) {
        (paid,) = _earned(positionId, nodeId, amount, activationEpoch, withdrawEpoch);
        delete _paidThrough[positionId];
        stakerReserve[nodeId] -= paid;
        liabilities -= paid;
        if (nodeEmpty) {
            uint256 dust = stakerReserve[nodeId];
            if (dust != 0) {
                stakerReserve[nodeId] = 0;
                commissionBalance[nodeId] += dust;
                emit StakerDustSwept(nodeId, dust);
            }
        }
        if (paid != 0) {
            emit RewardsClaimed(positionId, owner, paid);
            wal.safeTransfer(owner, paid);
        }
    }

    // ------------------------------------------------------------------ claims

    /// @notice Pays a position's rewards so far to its owner (the caller), keeping the stake.
    /// @param positionId A live position of the caller.
    /// @return paid FROST paid.
    function claim(uint256 positionId) external returns (uint256 paid) {
        Staking.Position memory position = Staking(address(staking)).position(positionId);
        if (position.owner != msg.sender) revert StakingRewardsNotPositionOwner(positionId, msg.sender);
        uint256 paidThrough;
        (paid, paidThrough) = _earned(
            positionId, position.nodeId, position.amount, position.activationEpoch, position.withdrawEpoch
        );
        if (paidThrough != 0) _paidThrough[positionId] = paidThrough;
        if (paid == 0) return 0;
        stakerReserve[position.nodeId] -= paid;
        liabilities -= paid;
        emit RewardsClaimed(positionId, msg.sender, paid);
        wal.safeTransfer(msg.sender, paid);
    }

    /// @notice Pays the node's commission balance to its operator (the caller).
    /// @param nodeId A node operated by the caller.
    /// @return amount FROST paid.
    function claimCommission(uint256 nodeId) external returns (uint256 amount) {
        (address operator,) = staking.nodeOperatorAndCommission(nodeId);
        if (operator != msg.sender) revert StakingRewardsNotOperator(nodeId, msg.sender);
        amount = commissionBalance[nodeId];
        if (amount == 0) return 0;
        commissionBalance[nodeId] = 0;
        liabilities -= amount;
        emit CommissionClaimed(nodeId, msg.sender, amount);
        wal.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Sets the share of each epoch's pool that is burned (owner only).
    /// @param burnShareBps_ Basis points (<= 10,000).
    function setBurnShare(uint16 burnShareBps_) external onlyOwner {
        _setBurnShare(burnShareBps_);
    }

    /// @notice Sets the most FROST pulled from the subsidy source per epoch (owner only).
    /// @param subsidyRate_ FROST per epoch (<= MAX_SUBSIDY_RATE).
    function setSubsidyRate(uint256 subsidyRate_) external onlyOwner {
        _setSubsidyRate(subsidyRate_);
    }

    /// @notice Sets the contract whose `rewardWeightBps` weights node rewards (owner only);
    /// the zero address gives every node full weight.
    /// @param score An `IAvailabilityScore` contract, or the zero address.
    function setAvailabilityScore(address score) external onlyOwner {
        if (score != address(0) && score.code.length == 0) revert StakingRewardsNotAContract(score);
        availabilityScore = IAvailabilityScore(score);
        emit AvailabilityScoreUpdated(score);
    }

    // ------------------------------------------------------------------ views

    /// @notice Rewards a position could claim now.
    /// @param positionId A live position.
    /// @return FROST claimable.
    function pendingRewards(uint256 positionId) external view returns (uint256) {
        Staking.Position memory position = Staking(address(staking)).position(positionId);
        (uint256 earned,) = _earned(
            positionId, position.nodeId, position.amount, position.activationEpoch, position.withdrawEpoch
        );
        return earned;
    }

    /// @notice A committee member's stake and its stakers' reward in `epoch` (zero for
    /// non-members and for epochs not distributed yet).
    /// @param epoch The epoch.
    /// @param nodeId The node.
    /// @return The stake and the stakers' reward in FROST.
    function nodeEpoch(uint32 epoch, uint256 nodeId) external view returns (NodeEpoch memory) {
        return _nodeEpochs[epoch][nodeId];
    }

    // ------------------------------------------------------------------ internals

    function _releaseStoragePools(uint32 finished) private returns (uint256 released) {
        if (address(registry) == address(0)) return 0;
        for (uint32 next = registry.nextEpochToRelease(); next <= finished; ++next) {
            released += registry.releaseEpochRewards(next);
        }
    }

    function _distribute(uint32 epoch, uint256 released) private {
        uint256 subsidy = _pullSubsidy();
        uint256 pool = wal.balanceOf(address(this)) - liabilities;
        uint256 distributable = pool - (pool * burnShareBps) / BPS;
        (uint256[] memory nodeIds, uint16[] memory counts) = staking.committeeOf(epoch);
        uint256 denominator = uint256(staking.nShards()) * BPS;
        uint256 distributed = 0;
        for (uint256 i = 0; i < nodeIds.length; ++i) {
            uint256 weight = _weight(epoch, nodeIds[i]);
            uint256 reward = Math.mulDiv(distributable, counts[i] * weight, denominator);
            _rewardNode(epoch, nodeIds[i], reward, uint16(weight));
            distributed += reward;
        }
        uint256 burned = pool - distributed;
        lastDistributedEpoch = epoch;
        liabilities += distributed;
        totalBurned += burned;
        emit EpochRewardsDistributed(epoch, released, subsidy, pool, distributed, burned);
        if (burned != 0) ERC20Burnable(address(wal)).burn(burned);
    }

    function _rewardNode(uint32 epoch, uint256 nodeId, uint256 reward, uint16 weight) private {
        (, uint16 commissionBps) = staking.nodeOperatorAndCommission(nodeId);
        NodeEpoch storage record = _nodeEpochs[epoch][nodeId];
        uint256 stake = record.stake;
        uint256 commission = stake == 0 ? reward : (reward * commissionBps) / BPS;
        uint256 stakers = reward - commission;
        if (stakers != 0) {
            _writePendingSnapshots(nodeId, epoch);
            rewardPerStake[nodeId] += (stakers * PRECISION) / stake;
            stakerReserve[nodeId] += stakers;
        }
        commissionBalance[nodeId] += commission;
        record.stakersReward = SafeCast.toUint128(stakers);
        emit NodeRewarded(epoch, nodeId, reward, commission, stake, weight);
    }

    /// @dev Before the accumulator grows for `epoch`, fix the snapshots of change epochs <= it.
    function _writePendingSnapshots(uint256 nodeId, uint32 epoch) private {
        PendingSnapshots storage pending = _pending[nodeId];
        uint256 value = rewardPerStake[nodeId] + 1;
        if (pending.first != 0 && pending.first <= epoch) {
            _snapshots[nodeId][pending.first] = value;
            pending.first = 0;
        }
        if (pending.second != 0 && pending.second <= epoch) {
            _snapshots[nodeId][pending.second] = value;
            pending.second = 0;
        }
    }

    function _recordStakes(uint32 epoch) private {
        (uint256[] memory nodeIds,) = staking.committeeOf(epoch);
        for (uint256 i = 0; i < nodeIds.length; ++i) {
            _nodeEpochs[epoch][nodeIds[i]].stake = SafeCast.toUint128(staking.nodeStakeAt(nodeIds[i], epoch));
        }
    }

    function _pullSubsidy() private returns (uint256 amount) {
        address source = subsidySource;
        if (subsidyRate == 0 || source == address(0)) return 0;
        amount = Math.min(subsidyRate, Math.min(wal.allowance(source, address(this)), wal.balanceOf(source)));
        if (amount == 0) return 0;
        totalSubsidies += amount;
        wal.safeTransferFrom(source, address(this), amount);
    }

    /// @dev The node's availability weight; a missing, failing or malformed score contract
    /// gives full weight, so that it can never block an epoch change.
    function _weight(uint32 epoch, uint256 nodeId) private view returns (uint256) {
        address score = address(availabilityScore);
        if (score == address(0)) return BPS;
        (bool ok, bytes memory data) =
            score.staticcall{gas: SCORE_GAS}(abi.encodeCall(IAvailabilityScore.rewardWeightBps, (epoch, nodeId)));
        if (!ok || data.length < 32) return BPS;
        uint256 weight = abi.decode(data, (uint256));
        return weight > BPS ? BPS : weight;
    }

    /// @dev Unclaimed rewards of a position and the accumulator value they pay through
    /// (0 when the position has not been active in a distributed epoch yet).
    function _earned(uint256 positionId, uint256 nodeId, uint256 amount, uint32 activation, uint32 withdrawal)
        private
        view
        returns (uint256 earned, uint256 paidThrough)
    {
        uint32 last = lastDistributedEpoch;
        if (last < activation) return (0, 0);
        uint256 mark = _paidThrough[positionId];
        uint256 start = mark != 0 ? mark - 1 : _accumulatorBefore(nodeId, activation);
        uint256 end =
            (withdrawal != 0 && withdrawal - 1 <= last) ? _accumulatorBefore(nodeId, withdrawal) : rewardPerStake[nodeId];
        earned = (amount * (end - start)) / PRECISION;
        paidThrough = end + 1;
    }

    /// @dev The node's accumulator before `epoch`'s rewards, for `epoch - 1` distributed.
    function _accumulatorBefore(uint256 nodeId, uint32 epoch) private view returns (uint256) {
        if (epoch <= firstEpoch) return 0;
        uint256 snapshot = _snapshots[nodeId][epoch];
        return snapshot != 0 ? snapshot - 1 : rewardPerStake[nodeId];
    }

    function _setBurnShare(uint16 burnShareBps_) private {
        if (burnShareBps_ > BPS) revert StakingRewardsInvalidBurnShare(burnShareBps_);
        burnShareBps = burnShareBps_;
        emit BurnShareUpdated(burnShareBps_);
    }

    function _setSubsidyRate(uint256 subsidyRate_) private {
        if (subsidyRate_ > MAX_SUBSIDY_RATE) revert StakingRewardsInvalidSubsidyRate(subsidyRate_, MAX_SUBSIDY_RATE);
        subsidyRate = subsidyRate_;
        emit SubsidyRateUpdated(subsidyRate_);
    }
}
