"""BlobRegistry certificates on anvil: quorum certificates (n - f shards, = 2f + 1 for
n = 3f + 1) certify blobs, f + 1 shard weight invalidates a blob id; everything else is a
named error. The committee is real (Staking with 4 BLS-keyed nodes holding 4, 3, 2 and 1 of
n = 10 shards: f = 3, quorum 7, validity 4); signatures are blspy's.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.registry import (
    BlobCertified,
    BlobInvalidated,
    InvalidSignerSet,
    aggregate_certificate,
    signer_bitmap,
)
from backend.core.bls import BlsSecretKey, aggregate_signatures
from backend.core.intents import blob_certification_message, invalid_blob_message
from tests.contracts.blob_registry_env import (
    RegistryEnv,
    build_env,
    fresh_client,
    funded_client_fixture,
    funded_clients_fixture,
    restore_chain_fixture,
    reverts,
)

N_SHARDS = 10
STAKES = [4 * 10**9, 3 * 10**9, 2 * 10**9, 1 * 10**9]
QUORUM = 7
VALIDITY = 4

pytestmark = pytest.mark.usefixtures("snapshot")


restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"cert-operator", 5)
alice = funded_client_fixture(b"cert-alice")


@pytest.fixture(scope="module")
def env(
    chain: ChainClient, artifacts: Artifacts, wal: Contract, operators: list[ChainClient]
) -> RegistryEnv:
    built = build_env(chain, artifacts, wal, operators[:4], STAKES, n_shards=N_SHARDS)
    assert built.staking.committee().shard_counts == (4, 3, 2, 1)
    return built


# ---------------------------------------------------------------- messages


def test_contract_messages_match_backend_core(env: RegistryEnv) -> None:
    blob_id = bytes(range(32))
    chain_id, registry = env.chain.chain_id, env.registry.address
    assert env.registry.certification_message(7, blob_id, True, 42) == (
        blob_certification_message(chain_id, registry, 7, blob_id, True, 42)
    )
    assert env.registry.certification_message(7, blob_id, False, 0) == (
        blob_certification_message(chain_id, registry, 7, blob_id, False, 0)
    )
    assert env.registry.invalid_blob_message(9, blob_id) == (
        invalid_blob_message(chain_id, registry, 9, blob_id)
    )


# ---------------------------------------------------------------- certification


@pytest.mark.parametrize(
    ("signers", "weight"), [([0, 1], 7), ([0, 2, 3], 7), ([0, 1, 2, 3], 10), ([1, 2, 3], 6)]
)
def test_quorum_weight_decides(
    env: RegistryEnv, alice: ChainClient, signers: list[int], weight: int
) -> None:
    registered = env.register(alice, 1_000, 3)
    bitmap, signature = env.certification(registered, signers)
    if weight < QUORUM:
        with reverts("BlobRegistryInsufficientWeight", weight, QUORUM):
            env.registry.certify_blob(registered.token_id, bitmap, signature)
        assert not env.registry.is_certified(registered.blob_id)
        return
    certified = env.registry.certify_blob(registered.token_id, bitmap, signature)
    epoch = env.epoch()
    assert certified == BlobCertified(
        registered.token_id, registered.blob_id, epoch, registered.end_epoch, True
    )
    assert env.registry.blob_info(registered.token_id).certified_epoch == epoch
    assert env.registry.is_certified(registered.blob_id)
    assert env.registry.certified_until(registered.blob_id) == registered.end_epoch


def test_exactly_2f_shards_fail_and_2f_plus_1_pass(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 3)
    with reverts("BlobRegistryInsufficientWeight", 6, QUORUM):  # 4 + 2 = 2f
        env.registry.certify_blob(registered.token_id, *env.certification(registered, [0, 2]))
    env.registry.certify_blob(registered.token_id, *env.certification(registered, [1, 2, 3, 0]))


def test_a_previous_epochs_certificate_is_rejected(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 4)
    stale = env.certification(registered, [0, 1, 2, 3])
    env.next_epoch()
    with reverts("BlobRegistryInvalidCertificate"):
        env.registry.certify_blob(registered.token_id, *stale)
    env.registry.certify_blob(registered.token_id, *env.certification(registered, [0, 1, 2, 3]))
    assert env.registry.blob_info(registered.token_id).certified_epoch == env.epoch()


def test_the_previous_committee_cannot_certify_after_it_changed(
    env: RegistryEnv, alice: ChainClient, operators: list[ChainClient]
) -> None:
    """Node 5 joins with the largest stake; the old members alone sign the new epoch's
    message with a bitmap read against the old committee: weight and keys no longer fit."""
    newcomer_key = BlsSecretKey.from_seed(b"\x55" * 32)
    as_newcomer = env.staking.as_account(operators[4])
    node_id = as_newcomer.register_node("node-new", "http://127.0.0.1:9299", newcomer_key)
    operators[4].transact(env.wal.functions.approve(env.staking.address, 6 * 10**9))
    as_newcomer.stake(node_id, 6 * 10**9)
    env.node_ids.append(node_id)
    env.keys.append(newcomer_key)
    registered = env.register(alice, 1_000, 4)
    old_epoch = env.epoch()
    env.next_epoch()
    assert env.staking.committee().shard_counts == (2, 2, 1, 1, 4)
    message = env.certification_message(registered)
    old_members = [0, 1, 2, 3]
    signature = env.sign(message, old_members, old_epoch)
    with reverts("BlobRegistryInsufficientWeight"):
        env.registry.certify_blob(registered.token_id, env.bitmap(old_members), signature)
    # The newcomer's own signature carries the weight; a bitmap claiming it must carry its key.
    everyone = [0, 1, 2, 3, 4]
    forged = aggregate_signatures(
        [key.sign(message) for key in env.committee_keys(old_epoch)]
        + [BlsSecretKey.from_seed(b"\x66" * 32).sign(message)]
    ).to_eip2537()
    with reverts("BlobRegistryInvalidCertificate"):
        env.registry.certify_blob(registered.token_id, env.bitmap(everyone), forged)


def test_non_member_signature_is_rejected(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 3)
    message = env.certification_message(registered)
    keys = env.committee_keys()
    outsider = BlsSecretKey.from_seed(b"\x77" * 32)
    # Members 0 and 2 sign, an outsider signs in place of member 1.
    signature = aggregate_signatures([keys[0].sign(message), outsider.sign(message)]).to_eip2537()
    with reverts("BlobRegistryInvalidCertificate"):
        env.registry.certify_blob(registered.token_id, env.bitmap([0, 1]), signature)


def test_duplicated_signer_is_rejected(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 3)
    message = env.registry.certification_message(
        env.epoch(), registered.blob_id, True, registered.token_id
    )
    keys = env.committee_keys()
    # Member 0's signature twice instead of member 0 and member 1.
    doubled = aggregate_signatures([keys[0].sign(message)] * 2).to_eip2537()
    with reverts("BlobRegistryInvalidCertificate"):
        env.registry.certify_blob(registered.token_id, env.bitmap([0, 1]), doubled)


def test_certificate_is_bound_to_the_deletable_token(env: RegistryEnv, alice: ChainClient) -> None:
    first = env.register(alice, 1_000, 3, salt=b"twin")
    second = env.register(alice, 1_000, 3, salt=b"twin")  # same blob id, another token
    bitmap, signature = env.certification(first, [0, 1, 2, 3])
    with reverts("BlobRegistryInvalidCertificate"):
        env.registry.certify_blob(second.token_id, bitmap, signature)
    env.registry.certify_blob(first.token_id, bitmap, signature)


def test_permanent_certificate_serves_every_permanent_token_of_the_blob(
    env: RegistryEnv, alice: ChainClient
) -> None:
    first = env.register(alice, 1_000, 2, deletable=False, salt=b"perm")
    second = env.register(alice, 1_000, 5, deletable=False, salt=b"perm")
    bitmap, signature = env.certification(first, [0, 1])
    env.registry.certify_blob(first.token_id, bitmap, signature)
    env.registry.certify_blob(second.token_id, bitmap, signature)
    status = env.registry.blob_id_status(first.blob_id)
    assert status.permanent_certified_until == second.end_epoch
    assert env.registry.certified_until(first.blob_id) == second.end_epoch


def test_another_owner_may_register_an_already_certified_blob(
    env: RegistryEnv,
    alice: ChainClient,
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
) -> None:
    first = env.register(alice, 1_000, 2, deletable=False, salt=b"shared")
    env.certify(first)
    bob = fresh_client(chain, wal, client_for, b"cert-bob")
    second = env.register(bob, 1_000, 4, deletable=False, salt=b"shared")
    assert second.blob_id == first.blob_id and second.token_id != first.token_id
    assert env.registry.owner_of(second.token_id) == bob.address
    env.certify(second)
    assert env.registry.certified_until(first.blob_id) == second.end_epoch
    assert env.registry.blob_id_status(first.blob_id).registrations == 2


def test_malformed_bitmaps_are_named(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 3)
    _, signature = env.certification(registered, [0, 1, 2, 3])
    for bitmap in (b"", b"\x0f\x00", bytes([0x1F]), bytes([0x80 | 0x0F])):
        with reverts("BlobRegistryInvalidSignerBitmap", len(bitmap), 4):
            env.registry.certify_blob(registered.token_id, bitmap, signature)


def test_malformed_signatures_are_named(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 3)
    bitmap, signature = env.certification(registered, [0, 1, 2, 3])
    with reverts("BLS12381InvalidPointLength", 255):
        env.registry.certify_blob(registered.token_id, bitmap, signature[:255])
    off_curve = bytearray(signature)
    off_curve[255] ^= 1
    with reverts("BLS12381PrecompileFailed"):
        env.registry.certify_blob(registered.token_id, bitmap, bytes(off_curve))
    with reverts("BlobRegistryInvalidCertificate"):
        env.registry.certify_blob(registered.token_id, bitmap, bytes(256))


def test_certify_state_errors(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 1)
    bitmap, signature = env.certification(registered, [0, 1, 2, 3])
    with reverts("BlobRegistryUnknownBlob", 77):
        env.registry.certify_blob(77, bitmap, signature)
    env.registry.certify_blob(registered.token_id, bitmap, signature)
    with reverts("BlobRegistryAlreadyCertified", registered.token_id):
        env.registry.certify_blob(registered.token_id, bitmap, signature)
    late = env.register(alice, 1_000, 1, salt=b"late")
    env.next_epoch()
    with reverts("BlobRegistryBlobExpired", late.token_id, late.end_epoch):
        env.registry.certify_blob(late.token_id, *env.certification(late, [0, 1, 2, 3]))


def test_expiry_ends_certification(env: RegistryEnv, alice: ChainClient) -> None:
    registered = env.register(alice, 1_000, 2, deletable=False)
    env.certify(registered)
    start = env.epoch()
    assert env.registry.is_certified(registered.blob_id, start + 1)
    assert not env.registry.is_certified(registered.blob_id, start + 2)
    env.next_epoch()
    assert env.registry.is_certified(registered.blob_id)
    env.next_epoch()
    assert not env.registry.is_certified(registered.blob_id)


def test_extension_of_a_certified_blob_extends_its_availability(
    env: RegistryEnv, alice: ChainClient
) -> None:
    registered = env.register(alice, 1_000, 2)
    env.certify(registered)
    env.approve(alice, 10**12)
    env.as_user(alice).extend_blob(registered.token_id, 3)
    assert env.registry.certified_until(registered.blob_id) == registered.end_epoch + 3


def test_deleting_the_last_certified_deletable_token_uncertifies_the_blob_id(
    env: RegistryEnv, alice: ChainClient
) -> None:
    first = env.register(alice, 1_000, 3, salt=b"del")
    second = env.register(alice, 1_000, 5, salt=b"del")
    env.certify(first)
    env.certify(second)
    assert env.registry.blob_id_status(first.blob_id).certified_deletable == 2
    env.as_user(alice).delete_blob(second.token_id)
    assert env.registry.is_certified(first.blob_id)
    env.as_user(alice).delete_blob(first.token_id)
    assert not env.registry.is_certified(first.blob_id)
    assert env.registry.certified_until(first.blob_id) == 0


def test_certify_gas_regression_guard(env: RegistryEnv, alice: ChainClient) -> None:
    """Gas is deterministic: all members signing stays near the fixed BLS cost (hash-to-G2
    and a 2-pair pairing, ~160k), each non-signer adds one key read and subtraction."""
    registered = env.register(alice, 1_000, 3, salt=b"gas-all")
    receipt = env.chain.transact(
        env.registry.contract.functions.certifyBlob(
            registered.token_id, *env.certification(registered, [0, 1, 2, 3])
        )
    )
    all_signing = int(receipt["gasUsed"])
    assert all_signing < 245_000
    registered = env.register(alice, 1_000, 3, salt=b"gas-quorum")
    receipt = env.chain.transact(
        env.registry.contract.functions.certifyBlob(
            registered.token_id, *env.certification(registered, [0, 1])
        )
    )
    assert all_signing < int(receipt["gasUsed"]) < all_signing + 2 * 20_000


def test_certificate_aggregated_from_node_confirmations(
    env: RegistryEnv, alice: ChainClient
) -> None:
    """What a publisher does: collect members' signatures, aggregate, submit."""
    registered = env.register(alice, 1_000, 3, deletable=False)
    message = env.registry.certification_message(env.epoch(), registered.blob_id, False, 0)
    keys = env.committee_keys()
    certificate = aggregate_certificate(4, {3: keys[3].sign(message), 0: keys[0].sign(message)})
    assert certificate.signers == bytes([0b1001])
    with reverts("BlobRegistryInsufficientWeight", 5, QUORUM):
        env.registry.certify_blob(registered.token_id, certificate.signers, certificate.signature)
    confirmations = {i: key.sign(message) for i, key in enumerate(keys)}
    certificate = aggregate_certificate(4, confirmations)
    env.registry.certify_blob(registered.token_id, certificate.signers, certificate.signature)
    with pytest.raises(InvalidSignerSet):
        aggregate_certificate(4, {})


def test_signer_bitmap_layout_and_bad_indices() -> None:
    assert signer_bitmap(10, [0, 3, 9]) == bytes([0b0000_1001, 0b0000_0010])
    assert signer_bitmap(8, range(8)) == b"\xff"
    with pytest.raises(InvalidSignerSet, match="outside the committee"):
        signer_bitmap(4, [4])
    with pytest.raises(InvalidSignerSet, match="twice"):
        signer_bitmap(4, [1, 1])
    with pytest.raises(InvalidSignerSet, match="positive"):
        signer_bitmap(0, [])


# ---------------------------------------------------------------- invalidation


def test_f_plus_1_invalidates_and_the_blob_id_is_never_stored_again(
    env: RegistryEnv, alice: ChainClient
) -> None:
    registered = env.register(alice, 1_000, 3, deletable=False)
    env.certify(registered)
    pending = env.register(alice, 1_000, 3, deletable=False)
    with reverts("BlobRegistryInsufficientWeight", 3, VALIDITY):  # member 1 holds f = 3
        env.registry.invalidate_blob(registered.blob_id, *env.invalidation(registered.blob_id, [1]))
    invalidated = env.registry.invalidate_blob(
        registered.blob_id, *env.invalidation(registered.blob_id, [0])
    )
    assert invalidated == BlobInvalidated(registered.blob_id, env.epoch())
    assert not env.registry.is_certified(registered.blob_id)
    assert env.registry.certified_until(registered.blob_id) == 0
    assert env.registry.blob_info(registered.token_id).invalidated
    status = env.registry.blob_id_status(registered.blob_id)
    assert status.invalidated and status.invalidated_epoch == env.epoch()
    blob_id, root, size, encoding = registered.blob_id, registered.root_hash, 1_000, 2
    with reverts("BlobRegistryBlobIdInvalidated", blob_id):
        env.as_user(alice).register_blob(blob_id, root, size, encoding, 1, deletable=True)
    with reverts("BlobRegistryBlobIdInvalidated", blob_id):
        env.registry.certify_blob(pending.token_id, *env.certification(pending, [0, 1, 2, 3]))
    with reverts("BlobRegistryBlobIdInvalidated", blob_id):
        env.as_user(alice).extend_blob(registered.token_id, 1)
    with reverts("BlobRegistryAlreadyInvalidated", blob_id):
        env.registry.invalidate_blob(blob_id, *env.invalidation(blob_id, [0, 1]))
    # The token of an invalidated blob may be burnt before its end epoch.
    assert env.as_user(alice).burn_blob(registered.token_id).token_id == registered.token_id


def test_invalidation_needs_a_valid_signature(env: RegistryEnv) -> None:
    blob_id = bytes([9]) * 32
    certificate_message = env.registry.certification_message(env.epoch(), blob_id, False, 0)
    wrong_intent = env.sign(certificate_message, [0, 1])
    with reverts("BlobRegistryInvalidCertificate"):
        env.registry.invalidate_blob(blob_id, signer_bitmap(4, [0, 1]), wrong_intent)
    assert not env.registry.blob_id_status(blob_id).invalidated
