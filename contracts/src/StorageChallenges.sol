// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BlobRegistry} from "./BlobRegistry.sol";
import {Staking} from "./Staking.sol";
import {IAvailabilityScore} from "./interfaces/IAvailabilityScore.sol";
import {ChallengeProof} from "./lib/ChallengeProof.sol";

/// @title StorageChallenges
/// @notice On-chain storage challenges. Once per epoch anyone calls `issueChallenges`: chain
/// randomness picks, for every committee member, a certified and live blob, one of the member's
/// shards (hence a sliver pair), primary or secondary, and a symbol index of that expanded
/// sliver. The member's operator answers with `respond` before the deadline: the symbol, its
/// Merkle proof to the sliver hash, the metadata leaf of that sliver and its proof to the blob
/// root, size and encoding type; the contract recomputes the blob id. Unanswered challenges
/// fail after the deadline. `rewardWeightBps` feeds the result into rewards.
/// @dev Randomness is `block.prevrandao` of the issuing block mixed with the epoch. On anvil it
/// changes every block; on a proof-of-stake chain a proposer can bias it by one bit per slot
/// (by withholding its block), which a commit-reveal or VRF beacon would remove.
contract StorageChallenges is IAvailabilityScore {
    /// @notice One node's challenge in one epoch.
    struct Challenge {
        bytes32 blobId;
        uint16 sliverIndex;
        uint16 symbolIndex;
        bool secondary;
        bool answered;
    }

    /// @notice An epoch's round: issued once, answers accepted until `deadline` (unix seconds).
    struct Round {
        uint64 deadline;
        uint32 challenged;
        uint32 passed;
        bool issued;
        bool closed;
    }

    /// @notice A node's challenge results over all closed and answered rounds.
    struct NodeRecord {
        uint32 passed;
        uint32 failed;
    }

    /// @notice A node's answer to its challenge.
    /// @param symbol The challenged symbol of the expanded sliver (symbol-size bytes).
    /// @param symbolProof Merkle proof of the symbol to the sliver hash (ceil(log2 n) hashes).
    /// @param primaryHash Primary sliver hash at the challenged sliver index (metadata leaf).
    /// @param secondaryHash Secondary sliver hash at the same index.
    /// @param leafProof Merkle proof of that metadata leaf to the blob root.
    /// @param size The blob's unencoded size.
    /// @param encodingType The blob's encoding type.
    struct Answer {
        bytes symbol;
        bytes32[] symbolProof;
        bytes32 primaryHash;
        bytes32 secondaryHash;
        bytes32[] leafProof;
        uint64 size;
        uint8 encodingType;
    }

    uint256 public constant MAX_BPS = 10_000;
    /// @notice Token ids drawn per member before giving up on finding a live certified blob.
    uint256 public constant SAMPLE_ATTEMPTS = 8;
    /// @notice Blobs whose symbols are larger are not drawn: the answer carries one symbol in
    /// calldata (16 gas per byte), and transactions are limited in size (128 KiB in geth).
    uint256 public constant MAX_SYMBOL_BYTES = 65_536;

    /// @notice Epochs, committees, shard assignment, node operators.
    Staking public immutable staking;
    /// @notice Where the challenged blobs are registered and certified.
    BlobRegistry public immutable registry;
    /// @notice Seconds after `issueChallenges` during which answers are accepted.
    uint64 public immutable responseWindow;
    /// @notice Shards n (Staking's, fixed).
    uint16 public immutable nShards;

    mapping(uint32 epoch => Round) private _rounds;
    mapping(uint32 epoch => mapping(uint256 nodeId => Challenge)) private _challenges;
    mapping(uint256 nodeId => NodeRecord) private _records;

    /// @notice `nodeId` must prove it holds symbol `symbolIndex` of the (primary or secondary)
    /// sliver `sliverIndex` of `blobId` by `deadline`.
    event ChallengeIssued(
        uint32 indexed epoch,
        uint256 indexed nodeId,
        bytes32 blobId,
        uint16 sliverIndex,
        bool secondary,
        uint16 symbolIndex,
        uint64 deadline
    );
    /// @notice The node answered its challenge correctly.
    event ChallengePassed(uint32 indexed epoch, uint256 indexed nodeId);
    /// @notice The node did not answer its challenge before the deadline.
    event ChallengeFailed(uint32 indexed epoch, uint256 indexed nodeId);

    /// @notice Challenges are issued for the current epoch only.
    error StorageChallengesWrongEpoch(uint32 epoch, uint32 currentEpoch);
    /// @notice The epoch's challenges were already issued.
    error StorageChallengesAlreadyIssued(uint32 epoch);
    /// @notice The epoch's challenges were not issued.
    error StorageChallengesNotIssued(uint32 epoch);
    /// @notice `nodeId` has no challenge in `epoch`.
    error StorageChallengesNoChallenge(uint32 epoch, uint256 nodeId);
    /// @notice The challenge was already answered (a replayed answer changes nothing).
    error StorageChallengesAlreadyAnswered(uint32 epoch, uint256 nodeId);
    /// @notice Answers were accepted until `deadline`.
    error StorageChallengesDeadlinePassed(uint32 epoch, uint256 deadline);
    /// @notice The round can only be closed after its deadline, once.
    error StorageChallengesNotClosable(uint32 epoch);
    /// @notice Only the node's operator answers its challenge.
    error StorageChallengesNotOperator(uint256 nodeId, address caller);
    /// @notice The symbol has `length` bytes; this blob's symbols have `expected`.
    error StorageChallengesWrongSymbolSize(uint256 length, uint256 expected);
    /// @notice A Merkle proof has `length` hashes; trees of n leaves need `expected`.
    error StorageChallengesWrongProofLength(uint256 length, uint256 expected);
    /// @notice The symbol and its proof do not lead to the sliver hash given.
    error StorageChallengesInvalidSymbolProof();
    /// @notice The sliver hashes, proof, size and encoding type do not hash to the challenged blob id.
    error StorageChallengesInvalidBlobProof(bytes32 expected, bytes32 computed);

    /// @param staking_ The staking contract.
    /// @param registry_ The blob registry (following `staking_`).
    /// @param responseWindow_ Seconds nodes get to answer (shorter than an epoch).
    constructor(Staking staking_, BlobRegistry registry_, uint64 responseWindow_) {
        staking = staking_;
        registry = registry_;
        responseWindow = responseWindow_;
        nShards = staking_.nShards();
    }

    /// @notice Issues the current epoch's challenges, one per committee member holding shards.
    /// Anyone may call it, once per epoch. A member for which no live certified blob (with
    /// symbols of at most `MAX_SYMBOL_BYTES`) is found in `SAMPLE_ATTEMPTS` draws gets no
    /// challenge.
    /// @param epoch The current epoch.
    function issueChallenges(uint32 epoch) external {
        uint32 current = staking.currentEpoch();
        if (epoch != current || epoch == 0) revert StorageChallengesWrongEpoch(epoch, current);
        Round storage round = _rounds[epoch];
        if (round.issued) revert StorageChallengesAlreadyIssued(epoch);
        round.issued = true;
        uint64 deadline = uint64(block.timestamp) + responseWindow;
        round.deadline = deadline;

        uint256 tokens = registry.nextTokenId() - 1;
        if (tokens == 0) return;
        (uint256[] memory nodeIds, uint16[] memory counts) = staking.committeeOf(epoch);
        uint256[] memory owners = staking.shardAssignment(epoch);
        bytes32 seed = keccak256(abi.encode(block.prevrandao, epoch, address(this)));
        uint32 challenged;
        for (uint256 member = 0; member < nodeIds.length; ++member) {
            if (counts[member] == 0) continue;
            bytes32 memberSeed = keccak256(abi.encode(seed, member));
            if (_challenge(epoch, memberSeed, nodeIds[member], counts[member], owners, tokens)) {
                ++challenged;
            }
        }
        round.challenged = challenged;
    }

    /// @notice Answers `nodeId`'s challenge of `epoch` (its operator only, before the deadline).
    /// @param epoch The epoch.
    /// @param nodeId The challenged node.
    /// @param answer The symbol with its proofs, and the blob's size and encoding type.
    function respond(uint32 epoch, uint256 nodeId, Answer calldata answer) external {
        Challenge storage challenge = _challenges[epoch][nodeId];
        if (challenge.blobId == bytes32(0)) revert StorageChallengesNoChallenge(epoch, nodeId);
        if (challenge.answered) revert StorageChallengesAlreadyAnswered(epoch, nodeId);
        uint64 deadline = _rounds[epoch].deadline;
        if (block.timestamp > deadline) revert StorageChallengesDeadlinePassed(epoch, deadline);
        if (staking.node(nodeId).operator != msg.sender) revert StorageChallengesNotOperator(nodeId, msg.sender);
        _checkAnswer(challenge, answer);

        challenge.answered = true;
        _rounds[epoch].passed += 1;
        _records[nodeId].passed += 1;
        emit ChallengePassed(epoch, nodeId);
    }

    /// @notice After the deadline, records every unanswered challenge of `epoch` as failed
    /// (`ChallengeFailed`, `nodeRecord`). Anyone may call it, once per epoch.
    /// @param epoch The epoch.
    function closeChallenges(uint32 epoch) external {
        Round storage round = _rounds[epoch];
        if (!round.issued) revert StorageChallengesNotIssued(epoch);
        if (round.closed || block.timestamp <= round.deadline) revert StorageChallengesNotClosable(epoch);
        round.closed = true;
        (uint256[] memory nodeIds,) = staking.committeeOf(epoch);
        for (uint256 i = 0; i < nodeIds.length; ++i) {
            Challenge storage challenge = _challenges[epoch][nodeIds[i]];
            if (challenge.blobId != bytes32(0) && !challenge.answered) {
                _records[nodeIds[i]].failed += 1;
                emit ChallengeFailed(epoch, nodeIds[i]);
            }
        }
    }

    /// @inheritdoc IAvailabilityScore
    /// @dev 10,000 when the node passed, had no challenge, or may still answer; 0 when its
    /// challenge went unanswered past the deadline.
    function rewardWeightBps(uint32 epoch, uint256 nodeId) external view returns (uint16) {
        Challenge storage challenge = _challenges[epoch][nodeId];
        if (challenge.blobId == bytes32(0) || challenge.answered) return uint16(MAX_BPS);
        return block.timestamp > _rounds[epoch].deadline ? 0 : uint16(MAX_BPS);
    }

    /// @notice `nodeId`'s challenge of `epoch` (blob id 0 when it has none).
    /// @param epoch The epoch.
    /// @param nodeId The node.
    /// @return The challenge.
    function challengeOf(uint32 epoch, uint256 nodeId) external view returns (Challenge memory) {
        return _challenges[epoch][nodeId];
    }

    /// @notice The round of `epoch`.
    /// @param epoch The epoch.
    /// @return The round.
    function roundOf(uint32 epoch) external view returns (Round memory) {
        return _rounds[epoch];
    }

    /// @notice Challenges `nodeId` passed and failed (failures count once the round is closed).
    /// @param nodeId The node.
    /// @return The record.
    function nodeRecord(uint256 nodeId) external view returns (NodeRecord memory) {
        return _records[nodeId];
    }

    /// @dev Reverts unless `answer` proves the challenged symbol belongs to the challenged blob.
    function _checkAnswer(Challenge storage challenge, Answer calldata answer) private view {
        uint256 n = nShards;
        uint256 expectedSize = ChallengeProof.symbolSize(n, answer.size);
        if (answer.symbol.length != expectedSize) {
            revert StorageChallengesWrongSymbolSize(answer.symbol.length, expectedSize);
        }
        uint256 depth = ChallengeProof.depth(n);
        if (answer.symbolProof.length != depth) {
            revert StorageChallengesWrongProofLength(answer.symbolProof.length, depth);
        }
        if (answer.leafProof.length != depth) revert StorageChallengesWrongProofLength(answer.leafProof.length, depth);

        bytes32 sliverRoot =
            ChallengeProof.rootOf(ChallengeProof.leafHash(answer.symbol), challenge.symbolIndex, answer.symbolProof);
        if (sliverRoot != (challenge.secondary ? answer.secondaryHash : answer.primaryHash)) {
            revert StorageChallengesInvalidSymbolProof();
        }
        bytes32 leaf = ChallengeProof.leafHash(abi.encodePacked(answer.primaryHash, answer.secondaryHash));
        bytes32 root = ChallengeProof.rootOf(leaf, challenge.sliverIndex, answer.leafProof);
        bytes32 computed = ChallengeProof.blobId(answer.encodingType, answer.size, root);
        if (computed != challenge.blobId) revert StorageChallengesInvalidBlobProof(challenge.blobId, computed);
    }

    /// @dev Draws a live certified blob and one of the member's shards; stores the challenge.
    function _challenge(
        uint32 epoch,
        bytes32 memberSeed,
        uint256 nodeId,
        uint256 shardCount,
        uint256[] memory owners,
        uint256 tokens
    ) private returns (bool) {
        for (uint256 attempt = 0; attempt < SAMPLE_ATTEMPTS; ++attempt) {
            uint256 draw = uint256(keccak256(abi.encode(memberSeed, attempt)));
            bytes32 blobId = _liveCertifiedBlob(1 + draw % tokens, epoch);
            if (blobId == bytes32(0)) continue;
            uint256 shard = _nthShardOf(owners, nodeId, (draw >> 128) % shardCount);
            _store(epoch, nodeId, _place(blobId, draw, shard, owners.length));
            return true;
        }
        return false;
    }

    function _store(uint32 epoch, uint256 nodeId, Challenge memory challenge) private {
        _challenges[epoch][nodeId] = challenge;
        emit ChallengeIssued(
            epoch,
            nodeId,
            challenge.blobId,
            challenge.sliverIndex,
            challenge.secondary,
            challenge.symbolIndex,
            _rounds[epoch].deadline
        );
    }

    /// @dev The sliver of `shard`'s pair (primary or secondary by one bit of `draw`) and a
    /// symbol index of its expansion.
    function _place(bytes32 blobId, uint256 draw, uint256 shard, uint256 n) private pure returns (Challenge memory) {
        uint256 pair = (shard + n - uint256(blobId) % n) % n;
        bool secondary = (draw >> 64) & 1 == 1;
        uint16 sliverIndex = uint16(secondary ? n - 1 - pair : pair);
        return Challenge(blobId, sliverIndex, uint16((draw >> 96) % n), secondary, false);
    }

    /// @dev The blob id of token `tokenId` if it is certified, not expired, not invalidated
    /// and its symbols are at most `MAX_SYMBOL_BYTES`.
    function _liveCertifiedBlob(uint256 tokenId, uint32 epoch) private view returns (bytes32) {
        try registry.blobInfo(tokenId) returns (BlobRegistry.BlobInfo memory info) {
            bool live = info.certifiedEpoch != 0 && info.endEpoch > epoch && !info.invalidated;
            if (live && ChallengeProof.symbolSize(nShards, info.size) <= MAX_SYMBOL_BYTES) return info.blobId;
        } catch {}
        return bytes32(0);
    }

    /// @dev The `rank`-th shard (in index order) owned by `nodeId`.
    function _nthShardOf(uint256[] memory owners, uint256 nodeId, uint256 rank) private pure returns (uint256) {
        for (uint256 shard = 0; shard < owners.length; ++shard) {
            if (owners[shard] == nodeId) {
                if (rank == 0) return shard;
                --rank;
            }
        }
        return 0; // unreachable: rank < the node's shard count
    }
}
