"""Staking's pure helpers on chain (through StakingMathHarness) against Python models.

Hypothesis drives apportionment, shard assignment, vote aggregation and sorting with
random inputs up to Walrus sizes (1000 shards, 100 members); every case is an eth_call.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.contract import Contract

NO_MEMBER = 2**256 - 1
HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def capped_largest_remainder(stakes: list[int], n_shards: int, cap: int) -> list[int]:
    """Model of the apportionment, in exact fractions: members whose share reaches the cap
    get the cap and the rest is shared again; then floors plus largest remainders (ties to
    the lower index). The cap is raised to ceil(n_shards / members) if it is too small."""
    cap = max(cap, -(-n_shards // len(stakes)))
    counts = [0] * len(stakes)
    capped = [False] * len(stakes)
    remaining = n_shards
    while True:
        open_stake = sum(s for s, c in zip(stakes, capped, strict=True) if not c)
        reaching = [
            i
            for i, s in enumerate(stakes)
            if not capped[i] and open_stake and Fraction(remaining * s, open_stake) >= cap
        ]
        if not reaching:
            break
        # Capping one member only raises the others' shares, so the order does not matter.
        capped[reaching[0]] = True
        counts[reaching[0]] = cap
        remaining -= cap
    open_members = [i for i in range(len(stakes)) if not capped[i]]
    if not open_members:
        return counts
    open_stake = sum(stakes[i] for i in open_members)
    quotas = {i: Fraction(remaining * stakes[i], open_stake) for i in open_members}
    for i in open_members:
        counts[i] = int(quotas[i])
    left = remaining - sum(counts[i] for i in open_members)
    for i in sorted(open_members, key=lambda i: (-(quotas[i] - int(quotas[i])), i))[:left]:
        counts[i] += 1
    return counts


def quorum_below(votes: list[int], weights: list[int]) -> int:
    """Lowest vote such that members holding n - f shards voted for it or less."""
    total = sum(weights)
    quorum = total - (total - 1) // 3
    for value in sorted(set(votes)):
        if sum(w for v, w in zip(votes, weights, strict=True) if v <= value) >= quorum:
            return value
    raise AssertionError("weights do not reach a quorum")


def quorum_above(votes: list[int], weights: list[int]) -> int:
    """Highest vote such that members holding n - f shards voted for it or more."""
    total = sum(weights)
    quorum = total - (total - 1) // 3
    for value in sorted(set(votes), reverse=True):
        if sum(w for v, w in zip(votes, weights, strict=True) if v >= value) >= quorum:
            return value
    raise AssertionError("weights do not reach a quorum")


@pytest.fixture(scope="module")
def harness(deploy_contract: Callable[..., Contract]) -> Contract:
    return deploy_contract("StakingMathHarness")


def call(harness: Contract, name: str, *args: Any) -> Any:
    return harness.functions[name](*args).call({"gas": 30_000_000})


@st.composite
def stake_vectors(draw: st.DrawFn) -> tuple[list[int], int, int]:
    n_shards = draw(st.sampled_from([4, 7, 10, 31, 100, 1000]) | st.integers(4, 1000))
    members = draw(st.integers(1, min(100, n_shards)))
    small_or_big = st.integers(1, 10**6) | st.integers(10**6, 5 * 10**18)
    stakes = draw(st.lists(small_or_big, min_size=members, max_size=members))
    cap_bps = draw(st.integers(1, 10_000))
    return stakes, n_shards, max(1, n_shards * cap_bps // 10_000)


@HYPOTHESIS
@given(stake_vectors())
def test_apportionment_matches_the_model(
    harness: Contract, case: tuple[list[int], int, int]
) -> None:
    stakes, n_shards, cap = case
    counts = call(harness, "apportion", stakes, n_shards, cap)
    assert sum(counts) == n_shards
    assert max(counts) <= max(cap, -(-n_shards // len(stakes)))
    assert counts == capped_largest_remainder(stakes, n_shards, cap)


def test_apportionment_examples(harness: Contract) -> None:
    assert call(harness, "apportion", [1, 1, 1, 1], 10, 10) == [3, 3, 2, 2]
    assert call(harness, "apportion", [100, 1, 1, 1], 10, 5) == [5, 2, 2, 1]
    assert call(harness, "apportion", [3, 1], 10, 1) == [5, 5]
    assert call(harness, "apportion", [10**18] + [1] * 99, 1000, 1000) == [1000] + [0] * 99


@st.composite
def reassignments(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    n_shards = draw(st.integers(4, 300))
    members = draw(st.integers(1, min(30, n_shards)))
    cuts = sorted(
        draw(st.lists(st.integers(0, n_shards), min_size=members - 1, max_size=members - 1))
    )
    counts = [b - a for a, b in zip([0, *cuts], [*cuts, n_shards], strict=True)]
    previous = draw(
        st.lists(
            st.integers(0, members - 1) | st.just(NO_MEMBER),
            min_size=n_shards,
            max_size=n_shards,
        )
    )
    return previous, counts


@HYPOTHESIS
@given(reassignments())
def test_assignment_keeps_shards_and_moves_only_what_it_must(
    harness: Contract, case: tuple[list[int], list[int]]
) -> None:
    previous, counts = case
    owners = call(harness, "assign", previous, counts)
    for member, count in enumerate(counts):
        assert owners.count(member) == count
        had = [shard for shard, owner in enumerate(previous) if owner == member]
        keeps = had[: min(len(had), count)]
        assert all(owners[shard] == member for shard in keeps)
    moved = sum(1 for old, new in zip(previous, owners, strict=True) if old != new)
    kept_total = sum(min(previous.count(member), count) for member, count in enumerate(counts))
    assert moved == len(previous) - kept_total


@st.composite
def votes(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    members = draw(st.integers(1, 50))
    weights = draw(st.lists(st.integers(1, 40), min_size=members, max_size=members))
    values = draw(
        st.lists(st.integers(0, 2**128 - 1) | st.integers(0, 5), min_size=members, max_size=members)
    )
    return values, weights


@HYPOTHESIS
@given(votes())
def test_vote_aggregation_matches_the_model(
    harness: Contract, case: tuple[list[int], list[int]]
) -> None:
    values, weights = case
    total = sum(weights)
    assert call(harness, "quorumBelow", values, weights, total) == quorum_below(values, weights)
    assert call(harness, "quorumAbove", values, weights, total) == quorum_above(values, weights)


@HYPOTHESIS
@given(st.lists(st.integers(0, 2**256 - 1) | st.integers(0, 8), max_size=200))
def test_sort_sorts(harness: Contract, values: list[int]) -> None:
    assert call(harness, "sort", values) == sorted(values)
