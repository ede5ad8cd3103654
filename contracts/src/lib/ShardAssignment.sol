// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ShardAssignment
/// @notice Splits `nShards` shards among committee members in proportion to stake
/// (largest remainder, capped per member) and maps shard indices to members so that
/// a member keeps as many of its previous shard indices as its new count allows.
library ShardAssignment {
    uint256 private constant NO_MEMBER = type(uint256).max;

    /// @notice Shard counts in proportion to `stakes` (all > 0), summing to `nShards`.
    /// @dev Members whose proportional share reaches `cap` are fixed at `cap` and the rest
    /// is shared again among the others; the cap is raised to ceil(nShards / members)
    /// when it is too small for all shards to be assigned. Leftover shards after the
    /// floors go to the largest remainders, ties to the lower index.
    function apportion(uint256[] memory stakes, uint256 nShards, uint256 cap)
        internal
        pure
        returns (uint256[] memory counts)
    {
        uint256 members = stakes.length;
        counts = new uint256[](members);
        if (members == 0) return counts;
        uint256 minCap = (nShards + members - 1) / members;
        if (cap < minCap) cap = minCap;

        bool[] memory capped = new bool[](members);
        uint256 remaining = nShards;
        uint256 openStake = 0;
        for (uint256 i = 0; i < members; ++i) {
            openStake += stakes[i];
        }
        bool changed = true;
        while (changed && openStake > 0) {
            changed = false;
            for (uint256 i = 0; i < members; ++i) {
                if (!capped[i] && (remaining * stakes[i]) / openStake >= cap) {
                    capped[i] = true;
                    counts[i] = cap;
                    remaining -= cap;
                    openStake -= stakes[i];
                    changed = true;
                }
            }
        }
        if (openStake == 0) return counts;

        uint256[] memory remainders = new uint256[](members);
        uint256 assigned = 0;
        for (uint256 i = 0; i < members; ++i) {
            if (capped[i]) continue;
            uint256 product = remaining * stakes[i];
            counts[i] = product / openStake;
            remainders[i] = product % openStake;
            assigned += counts[i];
        }
        for (uint256 left = remaining - assigned; left > 0; --left) {
            uint256 best = NO_MEMBER;
            for (uint256 i = 0; i < members; ++i) {
                if (capped[i]) continue;
                if (best == NO_MEMBER || remainders[i] > remainders[best]) best = i;
            }
            counts[best] += 1;
            capped[best] = true; // at most one extra shard each
        }
    }

    /// @notice Owner (member index) of each shard index, given the new `counts` and each
    /// shard's previous owner expressed as a new member index (`NO_MEMBER` if the previous
    /// owner left the committee). Members keep their previous shards up to their new
    /// count, in shard order; freed shards are handed out in shard and member order.
    function assign(uint256[] memory previousOwner, uint256[] memory counts)
        internal
        pure
        returns (uint256[] memory owner)
    {
        uint256 nShards = previousOwner.length;
        owner = new uint256[](nShards);
        uint256[] memory held = new uint256[](counts.length);
        for (uint256 shard = 0; shard < nShards; ++shard) {
            uint256 member = previousOwner[shard];
            if (member != NO_MEMBER && held[member] < counts[member]) {
                owner[shard] = member;
                held[member] += 1;
            } else {
                owner[shard] = NO_MEMBER;
            }
        }
        uint256 next = 0;
        for (uint256 shard = 0; shard < nShards; ++shard) {
            if (owner[shard] != NO_MEMBER) continue;
            while (held[next] == counts[next]) ++next;
            owner[shard] = next;
            held[next] += 1;
        }
    }

    /// @notice Marker for "no previous owner in the new committee" in `assign`.
    function noMember() internal pure returns (uint256) {
        return NO_MEMBER;
    }
}
