"""BlobRegistry on anvil: registration and payment, extension, deletion, burning, attributes,
token transfer, reward release, and the on-chain encoded size and blob id.

One Staking + BlobRegistry pair per module with a real committee of 4 BLS-keyed nodes
(stakes 4:3:2:1 over n = 10 shards, epoch 1 started); each test runs in an evm snapshot.
Certificates and invalidation are in test_blob_registry_certificates.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.registry import (
    EVENT_FIELDS,
    BlobAttributeRemoved,
    BlobAttributeSet,
    BlobDeleted,
    BlobRegistered,
    BlobRegistryContract,
    BlobTransferred,
    MaxEpochsAheadUpdated,
    RegistryParameters,
    sign_permit,
)
from backend.chain.staking import StakingParameters
from backend.core.blob_id import compute_blob_id
from backend.core.params import encoded_length, max_blob_size
from tests.contracts.blob_registry_env import (
    STORAGE_PRICE,
    WRITE_PRICE,
    RegistryEnv,
    blob_fields,
    build_env,
    fresh_client,
    funded_client_fixture,
    funded_clients_fixture,
    registry_env_fixture,
    restore_chain_fixture,
    reverts,
)

N_SHARDS = 10
STAKES = [4 * 10**9, 3 * 10**9, 2 * 10**9, 1 * 10**9]
MIB = 2**20

pytestmark = pytest.mark.usefixtures("snapshot")


restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"operator", 6)
env = registry_env_fixture(STAKES, n_shards=N_SHARDS)
alice = funded_client_fixture(b"alice")
bob = funded_client_fixture(b"bob")


def mib_of(size: int) -> int:
    return -(-encoded_length(N_SHARDS, size) // MIB)


# ---------------------------------------------------------------- registration


def test_register_mints_a_token_and_pays_storage_and_write(
    env: RegistryEnv, alice: ChainClient
) -> None:
    size, epochs = 5_000_000, 3
    mib = mib_of(size)
    assert mib > 1  # a multi-MiB blob, so rounding and multiplication both matter
    before = env.wal_balance(alice.address)
    epoch = env.epoch()

    registered = env.register(alice, size, epochs, deletable=False)

    storage_per_epoch = STORAGE_PRICE * mib
    assert registered.cost == storage_per_epoch * epochs + WRITE_PRICE * mib
    assert env.wal_balance(alice.address) == before - registered.cost
    assert env.wal_balance(env.registry.address) == registered.cost
    assert env.registry.unreleased_total() == registered.cost
    expected_pools = [
        storage_per_epoch + WRITE_PRICE * mib,
        storage_per_epoch,
        storage_per_epoch,
        0,
    ]
    assert [env.registry.epoch_pool(epoch + i) for i in range(epochs + 1)] == expected_pools
    assert env.registry.epoch_pools(epoch - 1, epochs + 2) == [0, *expected_pools]
    info = env.registry.blob_info(registered.token_id)
    assert info.owner == alice.address
    assert (info.size, info.encoding_type) == (size, 2)
    assert info.encoded_size == encoded_length(N_SHARDS, size)
    assert (info.registered_epoch, info.end_epoch) == (epoch, epoch + epochs)
    assert info.certified_epoch is None and not info.deletable and not info.invalidated
    assert env.registry.owner_of(registered.token_id) == alice.address
    assert env.registry.blob_id_status(info.blob_id).registrations == 1


def test_token_ids_are_sequential_and_each_registration_owns_one(
    env: RegistryEnv, alice: ChainClient, bob: ChainClient
) -> None:
    first = env.register(alice, 100, salt=b"same")
    second = env.register(bob, 100, salt=b"same")  # same blob id, another owner
    assert second.token_id == first.token_id + 1
    assert first.blob_id == second.blob_id
    assert env.registry.owner_of(first.token_id) == alice.address
    assert env.registry.owner_of(second.token_id) == bob.address
    assert env.registry.blob_id_status(first.blob_id).registrations == 2


def test_register_event_carries_what_nodes_need(env: RegistryEnv, alice: ChainClient) -> None:
    start = env.chain.block_number() + 1
    registered = env.register(alice, 777, 2, salt=b"event")
    blob_id, root, size, encoding = blob_fields(777, b"event")
    events = env.registry.events.in_blocks(start, env.chain.block_number())
    minted = BlobTransferred(
        Web3.to_checksum_address("0x" + "00" * 20), alice.address, registered.token_id
    )
    assert minted in events
    assert registered in events
    assert registered == BlobRegistered(
        token_id=registered.token_id,
        blob_id=blob_id,
        owner=alice.address,
        root_hash=root,
        size=size,
        encoding_type=encoding,
        encoded_size=encoded_length(N_SHARDS, size),
        registered_epoch=env.epoch(),
        end_epoch=env.epoch() + 2,
        deletable=True,
        cost=(STORAGE_PRICE * 2 + WRITE_PRICE) * mib_of(size),
    )


def test_empty_blob_is_valid_and_costs_the_minimum(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 0, 1)
    assert env.registry.blob_info(registered.token_id).encoded_size == encoded_length(N_SHARDS, 0)
    assert registered.cost == STORAGE_PRICE + WRITE_PRICE  # one MiB, one epoch


def test_register_with_permit_needs_no_allowance(env: RegistryEnv, alice: ChainClient) -> None:
    blob_id, root, size, encoding = blob_fields(4_000, b"permit")
    cost = env.registry.registration_cost(size, 2).total
    deadline = env.chain.w3.eth.get_block("latest")["timestamp"] + 3_600
    permit = sign_permit(alice, env.wal, env.registry.address, cost, deadline)
    before = env.wal_balance(alice.address)
    registered = env.as_user(alice).register_blob(
        blob_id, root, size, encoding, 2, deletable=True, permit=permit
    )
    assert registered.cost == cost
    assert env.wal_balance(alice.address) == before - cost


def test_register_rejects_a_blob_id_that_does_not_match_its_fields(
    env: RegistryEnv, alice: ChainClient
) -> None:
    blob_id, root, size, encoding = blob_fields(1_000)
    expected = env.registry.compute_blob_id(encoding, size, root)
    registry = env.as_user(alice)
    with reverts("BlobRegistryInvalidBlobId", bytes(32), expected):
        registry.register_blob(bytes(32), root, size, encoding, 1, deletable=True)
    with reverts("BlobRegistryInvalidBlobId"):  # id of another size
        registry.register_blob(blob_id, root, size + 1, encoding, 1, deletable=True)
    with reverts("BlobRegistryInvalidBlobId"):  # id of another encoding type
        registry.register_blob(blob_id, root, size, 1, 1, deletable=True)


@pytest.mark.parametrize("encoding_type", [0, 3, 255])
def test_register_rejects_unknown_encoding_types(
    env: RegistryEnv, alice: ChainClient, encoding_type: int
) -> None:
    blob_id, root, size, _ = blob_fields(1_000, encoding_type=encoding_type)
    with reverts("BlobRegistryUnsupportedEncodingType", encoding_type, N_SHARDS):
        env.as_user(alice).register_blob(blob_id, root, size, encoding_type, 1, deletable=True)


def test_zfec_encoding_is_accepted_for_small_committees(
    env: RegistryEnv, alice: ChainClient
) -> None:
    blob_id, root, size, encoding = blob_fields(1_000, encoding_type=1)
    env.approve(alice, env.registry.registration_cost(size, 1).total)
    registered = env.as_user(alice).register_blob(blob_id, root, size, encoding, 1, deletable=True)
    assert registered.encoding_type == 1


def test_register_rejects_zero_and_too_many_epochs(env: RegistryEnv, alice: ChainClient) -> None:
    blob_id, root, size, encoding = blob_fields(1_000)
    registry = env.as_user(alice)
    env.approve(alice, 10**12)
    with reverts("BlobRegistryZeroEpochs"):
        registry.register_blob(blob_id, root, size, encoding, 0, deletable=True)
    limit = env.registry.max_epochs_ahead()
    with reverts("BlobRegistryTooManyEpochs", limit + 1, limit):
        registry.register_blob(blob_id, root, size, encoding, limit + 1, deletable=True)
    assert registry.register_blob(blob_id, root, size, encoding, limit, deletable=True).end_epoch


def test_register_rejects_blobs_too_large_for_the_committee(
    env: RegistryEnv, alice: ChainClient
) -> None:
    largest = max_blob_size(N_SHARDS)
    blob_id, root, size, encoding = blob_fields(largest + 1)
    with reverts("BlobRegistryBlobTooLarge", largest + 1, largest):
        env.as_user(alice).register_blob(blob_id, root, size, encoding, 1, deletable=True)


def test_register_without_allowance_or_balance_names_the_erc20_error(
    env: RegistryEnv,
    alice: ChainClient,
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
) -> None:
    with reverts("ERC20InsufficientAllowance"):
        env.register(alice, 1_000, approve=False)
    pauper = fresh_client(chain, wal, client_for, b"pauper", wal_amount=0)
    with reverts("ERC20InsufficientBalance"):
        env.register(pauper, 1_000)


def test_nothing_is_registered_or_invalidated_before_the_first_committee(
    chain: ChainClient, artifacts: Artifacts, wal: Contract, alice: ChainClient
) -> None:
    bare = build_env(chain, artifacts, wal, [], [], start_epoch=False)
    with reverts("BlobRegistryNoCommittee"):
        bare.register(alice, 1_000)
    with reverts("BlobRegistryNoCommittee"):
        bare.registry.invalidate_blob(bytes(32), b"\x01", bytes(256))


def test_zfec_encoding_is_refused_beyond_256_shards(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    operators: list[ChainClient],
    alice: ChainClient,
) -> None:
    large = build_env(chain, artifacts, wal, operators[4:5], [10**9], n_shards=300)
    blob_id, root, size, _ = blob_fields(1_000, encoding_type=1)
    with reverts("BlobRegistryUnsupportedEncodingType", 1, 300):
        large.as_user(alice).register_blob(blob_id, root, size, 1, 1, deletable=True)
    assert large.register(alice, 1_000).encoded_size == encoded_length(300, 1_000)


# ---------------------------------------------------------------- extension


def test_extend_pays_for_the_added_epochs(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 3 * MIB, 2)
    mib = mib_of(3 * MIB)
    cost = env.registry.extension_cost(registered.token_id, 3)
    assert cost == STORAGE_PRICE * mib * 3
    env.approve(alice, cost)
    before = env.wal_balance(alice.address)
    extended = env.as_user(alice).extend_blob(registered.token_id, 3)
    assert (extended.end_epoch, extended.cost) == (registered.end_epoch + 3, cost)
    assert env.wal_balance(alice.address) == before - cost
    assert env.registry.blob_info(registered.token_id).end_epoch == registered.end_epoch + 3
    assert env.registry.epoch_pool(registered.end_epoch + 2) == STORAGE_PRICE * mib
    assert env.registry.epoch_pool(registered.end_epoch + 3) == 0


def test_extend_with_permit(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 1)
    cost = env.registry.extension_cost(registered.token_id, 2)
    deadline = env.chain.w3.eth.get_block("latest")["timestamp"] + 3_600
    permit = sign_permit(alice, env.wal, env.registry.address, cost, deadline)
    extended = env.as_user(alice).extend_blob(registered.token_id, 2, permit=permit)
    assert extended.cost == cost


def test_extend_rejects_bad_requests(
    env: RegistryEnv, alice: ChainClient, bob: ChainClient
) -> None:
    registered = env.register(alice, 1_000, 2)
    owner_view = env.as_user(alice)
    env.approve(alice, 10**12)
    with reverts("BlobRegistryZeroEpochs"):
        owner_view.extend_blob(registered.token_id, 0)
    limit = env.registry.max_epochs_ahead()
    with reverts("BlobRegistryTooManyEpochs", limit + 1, limit):
        owner_view.extend_blob(registered.token_id, limit - 1)  # end would be limit + 1 ahead
    with reverts("BlobRegistryNotAuthorized", registered.token_id, bob.address):
        env.as_user(bob).extend_blob(registered.token_id, 1)
    with reverts("BlobRegistryUnknownBlob", 999):
        owner_view.extend_blob(999, 1)
    env.next_epoch()
    env.next_epoch()
    with reverts("BlobRegistryBlobExpired", registered.token_id, registered.end_epoch):
        owner_view.extend_blob(registered.token_id, 1)


# ---------------------------------------------------------------- deletion and burning


def test_delete_refunds_the_epochs_after_the_current_one(
    env: RegistryEnv, alice: ChainClient
) -> None:
    registered = env.register(alice, 2 * MIB, 5)
    rate = STORAGE_PRICE * mib_of(2 * MIB)
    env.next_epoch()  # one epoch used, the current one is paid for too: 3 left to refund
    before = env.wal_balance(alice.address)
    deleted = env.as_user(alice).delete_blob(registered.token_id)
    assert deleted == BlobDeleted(registered.token_id, registered.blob_id, env.epoch(), 3 * rate)
    assert env.wal_balance(alice.address) == before + 3 * rate
    assert env.wal_balance(env.registry.address) == registered.cost - 3 * rate
    assert env.registry.unreleased_total() == registered.cost - 3 * rate
    assert env.registry.epoch_pool(env.epoch()) == rate
    assert env.registry.epoch_pool(env.epoch() + 1) == 0
    with reverts("BlobRegistryUnknownBlob", registered.token_id):
        env.registry.blob_info(registered.token_id)
    with reverts("ERC721NonexistentToken"):
        env.registry.owner_of(registered.token_id)
    assert env.registry.blob_id_status(registered.blob_id).registrations == 0


def test_delete_refunds_each_extension_at_the_price_it_was_paid(
    env: RegistryEnv, alice: ChainClient
) -> None:
    registered = env.register(alice, 1_000, 2)  # epochs 1, 2 at the initial price
    for index, node_id in enumerate(env.node_ids):
        env.staking.as_account(env.operators[index]).cast_votes(
            node_id, storage_price=5 * STORAGE_PRICE, write_price=WRITE_PRICE, capacity=10**12
        )
    env.next_epoch()  # epoch 2: storage costs 5x now
    assert env.staking.prices().storage_price == 5 * STORAGE_PRICE
    env.approve(alice, 10**12)
    env.as_user(alice).extend_blob(registered.token_id, 3)  # epochs 3, 4, 5 at 5x
    deleted = env.as_user(alice).delete_blob(registered.token_id)
    assert deleted.refund == 3 * 5 * STORAGE_PRICE  # epochs 3-5; epoch 2 (current) is spent
    assert env.registry.unreleased_total() == env.wal_balance(env.registry.address)
    assert env.registry.epoch_pool(3) == 0


def test_only_the_owner_deletes_and_only_deletable_blobs(
    env: RegistryEnv, alice: ChainClient, bob: ChainClient
) -> None:
    deletable = env.register(alice, 1_000, 2, salt=b"d")
    permanent = env.register(alice, 1_000, 2, deletable=False, salt=b"p")
    with reverts("BlobRegistryNotAuthorized", deletable.token_id, bob.address):
        env.as_user(bob).delete_blob(deletable.token_id)
    with reverts("BlobRegistryNotDeletable", permanent.token_id):
        env.as_user(alice).delete_blob(permanent.token_id)
    with reverts("BlobRegistryUnknownBlob", 12345):
        env.as_user(alice).delete_blob(12345)
    env.as_user(alice).delete_blob(deletable.token_id)


def test_transfer_moves_delete_and_extend_rights_and_the_refund(
    env: RegistryEnv, alice: ChainClient, bob: ChainClient
) -> None:
    registered = env.register(alice, 1_000, 4)
    env.as_user(alice).transfer(registered.token_id, bob.address)
    assert env.registry.blob_info(registered.token_id).owner == bob.address
    with reverts("BlobRegistryNotAuthorized", registered.token_id, alice.address):
        env.as_user(alice).delete_blob(registered.token_id)
    with reverts("BlobRegistryNotAuthorized", registered.token_id, alice.address):
        env.as_user(alice).extend_blob(registered.token_id, 1)
    env.approve(bob, 10**12)
    env.as_user(bob).extend_blob(registered.token_id, 1)
    alice_before, bob_before = env.wal_balance(alice.address), env.wal_balance(bob.address)
    refund = env.as_user(bob).delete_blob(registered.token_id).refund
    assert refund == 4 * STORAGE_PRICE  # epochs after the current one: 2, 3, 4, 5
    assert env.wal_balance(bob.address) == bob_before + refund
    assert env.wal_balance(alice.address) == alice_before


def test_approved_operator_may_act_and_the_owner_gets_the_refund(
    env: RegistryEnv, alice: ChainClient, bob: ChainClient
) -> None:
    registered = env.register(alice, 1_000, 3)
    env.as_user(alice).approve(bob.address, registered.token_id)
    env.as_user(bob).set_attribute(registered.token_id, "by", "operator")
    alice_before = env.wal_balance(alice.address)
    refund = env.as_user(bob).delete_blob(registered.token_id).refund
    assert refund == 2 * STORAGE_PRICE
    assert env.wal_balance(alice.address) == alice_before + refund


def test_burn_only_after_expiry(env: RegistryEnv, alice: ChainClient, bob: ChainClient) -> None:
    registered = env.register(alice, 1_000, 2, deletable=False)
    with reverts("BlobRegistryBlobNotExpired", registered.token_id, registered.end_epoch):
        env.as_user(alice).burn_blob(registered.token_id)
    env.next_epoch()
    with reverts("BlobRegistryBlobNotExpired"):
        env.as_user(alice).burn_blob(registered.token_id)
    env.next_epoch()
    assert env.epoch() == registered.end_epoch
    with reverts("BlobRegistryNotAuthorized", registered.token_id, bob.address):
        env.as_user(bob).burn_blob(registered.token_id)
    before = env.wal_balance(alice.address)
    burned = env.as_user(alice).burn_blob(registered.token_id)
    assert burned.token_id == registered.token_id
    assert env.wal_balance(alice.address) == before  # nothing paid back
    assert env.registry.balance_of(alice.address) == 0


# ---------------------------------------------------------------- attributes


def test_attributes_set_overwrite_and_remove(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000)
    registry = env.as_user(alice)
    start = env.chain.block_number() + 1
    registry.set_attribute(registered.token_id, "content-type", "text/plain")
    registry.set_attribute(registered.token_id, "content-type", "image/png")
    registry.set_attribute(registered.token_id, "empty", "")
    assert env.registry.attribute(registered.token_id, "content-type") == "image/png"
    assert env.registry.attribute(registered.token_id, "empty") == ""
    assert env.registry.attribute(registered.token_id, "missing") is None
    registry.remove_attribute(registered.token_id, "content-type")
    assert env.registry.attribute(registered.token_id, "content-type") is None
    events = env.registry.events.in_blocks(start, env.chain.block_number())
    assert events == [
        BlobAttributeSet(registered.token_id, "content-type", "text/plain"),
        BlobAttributeSet(registered.token_id, "content-type", "image/png"),
        BlobAttributeSet(registered.token_id, "empty", ""),
        BlobAttributeRemoved(registered.token_id, "content-type"),
    ]


def test_attribute_errors(env: RegistryEnv, alice: ChainClient, bob: ChainClient) -> None:
    registered = env.register(alice, 1_000)
    registry = env.as_user(alice)
    with reverts("BlobRegistryInvalidAttributeKey", 0):
        registry.set_attribute(registered.token_id, "", "v")
    with reverts("BlobRegistryInvalidAttributeKey", 65):
        registry.set_attribute(registered.token_id, "k" * 65, "v")
    with reverts("BlobRegistryInvalidAttributeValue", 1025):
        registry.set_attribute(registered.token_id, "k", "v" * 1025)
    with reverts("BlobRegistryUnknownAttribute", registered.token_id, "nope"):
        registry.remove_attribute(registered.token_id, "nope")
    with reverts("BlobRegistryNotAuthorized", registered.token_id, bob.address):
        env.as_user(bob).set_attribute(registered.token_id, "k", "v")
    with reverts("BlobRegistryNotAuthorized"):
        env.as_user(bob).remove_attribute(registered.token_id, "k")
    with reverts("BlobRegistryUnknownBlob", 4242):
        env.registry.attribute(4242, "k")


# ---------------------------------------------------------------- rewards and owner


def test_release_moves_a_finished_epochs_pool_to_staking(
    env: RegistryEnv, alice: ChainClient
) -> None:
    registered = env.register(alice, 1_000, 2)
    first = env.epoch()
    assert env.registry.next_epoch_to_release() == first
    with reverts("BlobRegistryEpochNotReleasable", first, first, first):
        env.registry.release_epoch_rewards(first)  # not over yet
    env.next_epoch()
    with reverts("BlobRegistryEpochNotReleasable", first + 1, first, first + 1):
        env.registry.release_epoch_rewards(first + 1)
    pool = env.registry.epoch_pool(first)
    assert pool == STORAGE_PRICE + WRITE_PRICE
    staking_before = env.wal_balance(env.staking.address)
    assert env.registry.release_epoch_rewards(first) == pool
    assert env.wal_balance(env.staking.address) == staking_before + pool
    assert env.wal_balance(env.registry.address) == registered.cost - pool
    assert env.registry.epoch_pool(first) == 0
    with reverts("BlobRegistryEpochNotReleasable", first, first + 1, first + 1):
        env.registry.release_epoch_rewards(first)  # already released


def test_max_epochs_ahead_is_owner_only(env: RegistryEnv, bob: ChainClient) -> None:
    env.registry.set_max_epochs_ahead(20)
    assert env.registry.max_epochs_ahead() == 20
    with reverts("BlobRegistryInvalidMaxEpochsAhead", 0):
        env.registry.set_max_epochs_ahead(0)
    with reverts("OwnableUnauthorizedAccount", bob.address):
        env.as_user(bob).set_max_epochs_ahead(100)


# ---------------------------------------------------------------- deployment and pure views


def test_the_deployment_includes_a_registry_wired_to_wal_and_staking(
    chain: ChainClient, artifacts: Artifacts, deployment: Deployment
) -> None:
    registry = BlobRegistryContract.at(
        chain, deployment.address("BlobRegistry"), artifacts.abi("BlobRegistry")
    )
    assert registry.wal_address() == deployment.address("WAL")
    assert registry.staking_address() == deployment.address("Staking")
    assert registry.max_epochs_ahead() == RegistryParameters().max_epochs_ahead
    assert registry.next_token_id() == 1
    assert registry.n_shards() == StakingParameters().n_shards


def test_every_registry_event_has_a_decoder(env: RegistryEnv) -> None:
    abi_events = {entry["name"] for entry in env.registry.contract.abi if entry["type"] == "event"}
    not_followed = {"Approval", "ApprovalForAll", "OwnershipTransferred"}
    assert abi_events - not_followed == set(EVENT_FIELDS)
    start = env.chain.block_number() + 1
    env.registry.set_max_epochs_ahead(7)
    assert env.registry.events.in_blocks(start, env.chain.block_number()) == [
        MaxEpochsAheadUpdated(7)
    ]


def test_on_chain_encoded_size_matches_backend_core(env: RegistryEnv) -> None:
    rng = random.Random(5)
    cases = [(n, size) for n in (4, 5, 7, 10, 13, 100, 256, 1000) for size in (0, 1, 2, 3)]
    for n in (4, 10, 31, 100, 1000, 65535):
        p_times_s = (n - 2 * ((n - 1) // 3)) * (n - (n - 1) // 3)
        largest = max_blob_size(n)
        cases += [(n, p_times_s * k + d) for k in (1, 2, 3) for d in (-1, 0, 1)]
        cases += [(n, largest), (n, largest - 1)]
        cases += [(n, rng.randrange(largest)) for _ in range(5)]
    for n in (rng.randrange(4, 65536) for _ in range(20)):
        cases.append((n, rng.randrange(min(2**40, max_blob_size(n)))))
    for n, size in cases:
        assert env.registry.encoded_size(n, size) == encoded_length(n, size), (n, size)


def test_encoded_size_rejects_impossible_inputs(env: RegistryEnv) -> None:
    with reverts("EncodedSizeInvalidShardCount", 3):
        env.registry.encoded_size(3, 10)
    with reverts("EncodedSizeBlobTooLarge", max_blob_size(10) + 1, max_blob_size(10)):
        env.registry.encoded_size(10, max_blob_size(10) + 1)


def test_on_chain_blob_id_matches_backend_core(env: RegistryEnv) -> None:
    root = bytes(range(32))
    for encoding, size in [(1, 0), (2, 1), (2, 0x0102030405060708), (1, 2**64 - 1)]:
        expected = compute_blob_id(encoding, size, root).raw
        assert env.registry.compute_blob_id(encoding, size, root) == expected


def test_registration_cost_rejects_too_large_sizes(env: RegistryEnv) -> None:
    with reverts("EncodedSizeBlobTooLarge"):
        env.registry.registration_cost(max_blob_size(N_SHARDS) + 1, 1)
