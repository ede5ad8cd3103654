"""StorageChallenges on anvil: challenges drawn from chain randomness per committee member,
answers checked on chain (symbol Merkle proof to the sliver hash, metadata leaf proof to the
blob root, blob id recomputed), deadline, failures and the reward weight. Real Staking and
BlobRegistry, 4 nodes over n = 8 shards (2 each), blobs really encoded by backend/core."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import pytest
from web3.contract import Contract

from backend.chain.challenges import (
    MAX_BPS,
    Challenge,
    ChallengeAnswer,
    ChallengeIssued,
    ChallengePassed,
    StorageChallengesContract,
    build_answer,
)
from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.rewards import NodeRewarded
from backend.core.encoder import EncodedBlob, encode_blob
from backend.core.sliver_kind import SliverKind
from tests.contracts.blob_registry_env import (
    RegistryEnv,
    build_env,
    fresh_client,
    funded_client_fixture,
    funded_clients_fixture,
    registry_env_fixture,
    restore_chain_fixture,
    reverts,
)
from tests.contracts.test_rewards import build_rewards_env

N_SHARDS = 8
WINDOW = 100

pytestmark = pytest.mark.usefixtures("snapshot")


restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"challenge-operator", 4)
env = registry_env_fixture([10**9] * 4, n_shards=N_SHARDS)
user = funded_client_fixture(b"challenge-user")


@pytest.fixture(scope="module")
def blobs(env: RegistryEnv, user: ChainClient) -> dict[bytes, EncodedBlob]:
    """Three certified blobs (really encoded, random bytes: in an all-zero sliver every symbol
    and every proof would look alike) and one registered but never certified."""
    stored = {}
    for index, size in enumerate((1_000, 5_000, 70_001, 999)):
        encoded = encode_blob(os.urandom(size), N_SHARDS)
        registered = env.register_encoded(user, encoded, 5)
        if index < 3:
            env.certify(registered)
            stored[encoded.blob_id.raw] = encoded
    return stored


@pytest.fixture(scope="module")
def challenges(
    artifacts: Artifacts, env: RegistryEnv, blobs: dict[bytes, EncodedBlob]
) -> StorageChallengesContract:
    return env.deploy_challenges(artifacts, WINDOW)


def operator_of(env: RegistryEnv, node_id: int) -> ChainClient:
    return env.operators[env.node_ids.index(node_id)]


def answer_for(blobs: dict[bytes, EncodedBlob], challenge: Challenge) -> ChallengeAnswer:
    encoded = blobs[challenge.blob_id]
    slivers = encoded.secondary_slivers if challenge.secondary else encoded.primary_slivers
    return build_answer(slivers[challenge.sliver_index], challenge.symbol_index)


def issue(env: RegistryEnv, challenges: StorageChallengesContract) -> list[ChallengeIssued]:
    return challenges.issue_challenges(env.epoch())


def test_every_member_gets_a_challenge_on_a_shard_it_holds(
    env: RegistryEnv, challenges: StorageChallengesContract, blobs: dict[bytes, EncodedBlob]
) -> None:
    issued = issue(env, challenges)
    assert sorted(event.node_id for event in issued) == sorted(env.node_ids)
    for event in issued:
        assert event.blob_id in blobs  # only certified blobs are drawn
        encoded = blobs[event.blob_id]
        pair = N_SHARDS - 1 - event.sliver_index if event.secondary else event.sliver_index
        holder = env.staking.shard_assignment()[(pair + int(encoded.blob_id) % N_SHARDS) % N_SHARDS]
        assert holder == event.node_id
        assert 0 <= event.symbol_index < N_SHARDS
    assert challenges.round_of(env.epoch()).challenged == 4
    with reverts("StorageChallengesAlreadyIssued", env.epoch()):
        issue(env, challenges)
    with reverts("StorageChallengesWrongEpoch", env.epoch() + 1, env.epoch()):
        challenges.issue_challenges(env.epoch() + 1)


def test_honest_answers_pass_and_replays_are_refused(
    env: RegistryEnv, challenges: StorageChallengesContract, blobs: dict[bytes, EncodedBlob]
) -> None:
    issue(env, challenges)
    epoch = env.epoch()
    for node_id in env.node_ids:
        challenge = challenges.challenge_of(epoch, node_id)
        assert challenge is not None and not challenge.answered
        as_node = challenges.as_account(operator_of(env, node_id))
        receipt = as_node.respond(epoch, node_id, answer_for(blobs, challenge))
        assert ChallengePassed(epoch, node_id) in challenges.events.from_receipt(receipt)
        print(f"respond gas: {receipt['gasUsed']}")
        assert challenges.reward_weight_bps(epoch, node_id) == MAX_BPS
        with reverts("StorageChallengesAlreadyAnswered", epoch, node_id):
            as_node.respond(epoch, node_id, answer_for(blobs, challenge))
    assert challenges.round_of(epoch).passed == 4
    env.advance(WINDOW + 1)
    assert challenges.close_challenges(epoch) == []
    assert all(challenges.node_record(node_id).passed == 1 for node_id in env.node_ids)


def test_garbage_answers_are_refused_without_state_change(
    env: RegistryEnv, challenges: StorageChallengesContract, blobs: dict[bytes, EncodedBlob]
) -> None:
    issue(env, challenges)
    epoch = env.epoch()
    node_id = env.node_ids[0]
    challenge = challenges.challenge_of(epoch, node_id)
    assert challenge is not None
    good = answer_for(blobs, challenge)
    as_node = challenges.as_account(operator_of(env, node_id))

    flipped = bytes([good.symbol[0] ^ 1]) + good.symbol[1:]
    with reverts("StorageChallengesInvalidSymbolProof"):
        as_node.respond(epoch, node_id, dataclasses.replace(good, symbol=flipped))
    with reverts("StorageChallengesWrongSymbolSize"):
        as_node.respond(epoch, node_id, dataclasses.replace(good, symbol=good.symbol + b"\0\0"))
    with reverts("StorageChallengesWrongProofLength"):
        as_node.respond(
            epoch, node_id, dataclasses.replace(good, symbol_proof=good.symbol_proof[:-1])
        )
    # a correct symbol of another index (wrong index) does not prove the challenged one
    encoded = blobs[challenge.blob_id]
    slivers = encoded.secondary_slivers if challenge.secondary else encoded.primary_slivers
    other_index = (challenge.symbol_index + 1) % N_SHARDS
    wrong_index = build_answer(slivers[challenge.sliver_index], other_index)
    with reverts("StorageChallengesInvalidSymbolProof"):
        as_node.respond(epoch, node_id, wrong_index)
    # the right symbol, but metadata of another blob (or a lie about the size) is caught
    with reverts("StorageChallengesInvalidBlobProof"):
        as_node.respond(
            epoch, node_id, dataclasses.replace(good, encoding_type=3 - good.encoding_type)
        )
    with reverts("StorageChallengesNotOperator"):
        challenges.as_account(operator_of(env, env.node_ids[1])).respond(epoch, node_id, good)
    with reverts("StorageChallengesNoChallenge", epoch + 1, node_id):
        as_node.respond(epoch + 1, node_id, good)
    assert not challenges.challenge_of(epoch, node_id).answered  # type: ignore[union-attr]
    assert challenges.round_of(epoch).passed == 0

    env.advance(WINDOW + 1)
    with reverts("StorageChallengesDeadlinePassed"):
        as_node.respond(epoch, node_id, good)


def test_unanswered_challenges_fail_and_weigh_zero(
    env: RegistryEnv, challenges: StorageChallengesContract, blobs: dict[bytes, EncodedBlob]
) -> None:
    issue(env, challenges)
    epoch = env.epoch()
    honest, lazy = env.node_ids[0], env.node_ids[1]
    challenge = challenges.challenge_of(epoch, honest)
    assert challenge is not None
    challenges.as_account(operator_of(env, honest)).respond(
        epoch, honest, answer_for(blobs, challenge)
    )
    with reverts("StorageChallengesNotClosable", epoch):
        challenges.close_challenges(epoch)
    assert challenges.reward_weight_bps(epoch, lazy) == MAX_BPS  # may still answer
    env.advance(WINDOW + 1)
    assert challenges.reward_weight_bps(epoch, lazy) == 0
    assert challenges.reward_weight_bps(epoch, honest) == MAX_BPS
    failed = challenges.close_challenges(epoch)
    assert sorted(event.node_id for event in failed) == sorted(set(env.node_ids) - {honest})
    assert challenges.node_record(lazy).failed == 1
    assert challenges.node_record(honest).passed == 1
    with reverts("StorageChallengesNotClosable", epoch):
        challenges.close_challenges(epoch)


def test_an_epoch_without_certified_blobs_challenges_nobody(
    chain: ChainClient, artifacts: Artifacts, env: RegistryEnv
) -> None:
    """A registry with no certified blob (fresh contracts): every node keeps full weight."""
    fresh = build_env(chain, artifacts, env.wal, env.operators, [10**9] * 4, n_shards=N_SHARDS)
    empty = fresh.deploy_challenges(artifacts, WINDOW)
    assert empty.issue_challenges(fresh.epoch()) == []
    fresh.advance(WINDOW + 1)
    assert all(empty.reward_weight_bps(fresh.epoch(), n) == MAX_BPS for n in fresh.node_ids)


def test_challenged_kind_matches_the_sliver(
    env: RegistryEnv, challenges: StorageChallengesContract
) -> None:
    issue(env, challenges)
    for node_id in env.node_ids:
        challenge = challenges.challenge_of(env.epoch(), node_id)
        assert challenge is not None
        expected = SliverKind.SECONDARY if challenge.secondary else SliverKind.PRIMARY
        assert challenge.kind is expected


def test_a_node_that_fails_its_challenge_earns_nothing_for_the_epoch(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
) -> None:
    """StakingRewards weighs each node's share by `rewardWeightBps`: the honest nodes get
    their full share of the epoch's pool, the one that did not answer gets nothing."""
    rewarded_env = build_rewards_env(chain, artifacts, wal, client_for, b"challenge-rewards")
    env = rewarded_env.env
    score = env.deploy_challenges(artifacts, WINDOW)
    rewarded_env.rewards.set_availability_score(score.address)
    writer = fresh_client(chain, wal, client_for, b"challenge-rewards-user")
    n = env.staking.n_shards
    encoded = encode_blob(os.urandom(4_000), n)
    registered = env.register_encoded(writer, encoded, 2)
    env.certify(registered)
    epoch = env.epoch()
    score.issue_challenges(epoch)
    lazy, *honest = env.node_ids
    for node_id in honest:
        challenge = score.challenge_of(epoch, node_id)
        assert challenge is not None
        score.as_account(operator_of(env, node_id)).respond(
            epoch, node_id, answer_for({encoded.blob_id.raw: encoded}, challenge)
        )
    env.advance(WINDOW + 1)
    events = rewarded_env.next_epoch()
    rewards = {event.node_id: event for event in events if isinstance(event, NodeRewarded)}
    assert (rewards[lazy].weight_bps, rewards[lazy].reward) == (0, 0)
    for node_id in honest:
        assert rewards[node_id].weight_bps == MAX_BPS and rewards[node_id].reward > 0
