"""`verify`: proof of availability from chain data, re-checked locally (4 nodes, 8 shards:
quorum n - f = 6 shards = 3 nodes, invalidation f + 1 = 3 shards = 2 nodes)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from web3.contract import Contract

from backend.api.app import create_app
from backend.chain.availability import committee_keys
from backend.chain.compiler import Artifacts
from backend.core.blob_id import BlobId
from backend.core.bls import BlsSecretKey, aggregate_signatures
from backend.core.intents import blob_certification_message
from backend.sdk.availability import (
    InvalidVerifyTarget,
    check_certificate,
    verify_availability,
)
from backend.sdk.client import Client
from tests.contracts.blob_registry_env import fresh_client
from tests.integration.network import Network
from tests.integration.user_client import network_client


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return network_client(network, artifacts)


def _check(client: Client, record, committee_epoch: int):  # type: ignore[no-untyped-def]
    return check_certificate(
        record,
        committee_keys(client.staking, committee_epoch),
        chain_id=client.chain.chain_id,
        registry=client.registry.address,
        n_shards=client.n_shards,
    )


def test_a_stored_blob_is_available_by_blob_id_and_token_id(client: Client) -> None:
    stored = client.store(os.urandom(3000), epochs=2)
    report = verify_availability(client, stored.blob_id, deep=True, samples=8)
    assert report.available, report.to_json()
    assert report.state == "available"
    record, check = report.certification, report.certificate
    assert record is not None and check is not None
    assert record.token_id == stored.token_id
    assert record.epoch == client.staking.current_epoch()
    assert check.valid and check.signer_weight >= check.required_weight == 6
    assert report.end_epoch == stored.end_epoch
    assert report.deep is not None and len(report.deep.pairs_ok) == 8  # every pair verified

    receipt = client.chain.w3.eth.get_transaction_receipt(record.transaction_hash)
    assert receipt["blockNumber"] == record.block_number
    certified = client.registry.events.from_receipt(receipt)
    assert [event.token_id for event in certified] == [stored.token_id]  # type: ignore[union-attr]

    by_token = verify_availability(client, str(stored.token_id))
    assert by_token.available and by_token.blob_id == stored.blob_id


def test_a_forged_certificate_is_rejected(client: Client) -> None:
    stored = client.store(os.urandom(500), epochs=2)
    record = verify_availability(client, stored.blob_id).certification
    assert record is not None
    epoch = record.epoch
    message = blob_certification_message(
        client.chain.chain_id, client.registry.address, epoch, record.blob_id, False, 0
    )
    outsider = BlsSecretKey.from_seed(b"not a committee member".ljust(32, b"!"))
    forged = dataclasses.replace(record, signature=outsider.sign(message).to_eip2537())
    check = _check(client, forged, epoch)
    assert not check.valid and "does not verify" in (check.problem or "")

    other_blob = dataclasses.replace(record, blob_id=os.urandom(32))  # signature of another blob
    assert not _check(client, other_blob, epoch).valid

    one_signer = dataclasses.replace(record, signers=b"\x01")  # claims a single member signed
    check = _check(client, one_signer, epoch)
    assert not check.valid and check.signer_weight == 2 and "needs 6" in (check.problem or "")

    assert _check(client, record, epoch).valid  # the genuine one still checks


def test_a_deleted_blob_is_not_available(client: Client) -> None:
    stored = client.store(os.urandom(700), epochs=2, deletable=True)
    assert stored.token_id is not None
    assert verify_availability(client, stored.blob_id).available
    client.delete(stored.token_id)
    report = verify_availability(client, stored.blob_id)
    assert (report.state, report.available) == ("deleted", False)
    by_token = verify_availability(client, stored.token_id)
    assert (by_token.state, by_token.available) == ("deleted", False)


def test_an_invalidated_blob_is_not_available(client: Client, network: Network) -> None:
    env = network.env
    registered = env.register(network.user, size=1234, salt=b"to-invalidate", deletable=False)
    env.certify(registered)
    assert verify_availability(client, BlobId(registered.blob_id)).available
    bitmap, signature = env.invalidation(registered.blob_id, [0, 1])  # 4 shards >= f + 1 = 3
    env.registry.invalidate_blob(registered.blob_id, bitmap, signature)
    report = verify_availability(client, BlobId(registered.blob_id))
    assert (report.state, report.available) == ("invalidated", False)
    assert report.invalidated_epoch == env.epoch()


def test_unknown_uncertified_and_malformed_targets(client: Client, network: Network) -> None:
    unknown = verify_availability(client, BlobId(os.urandom(32)))
    assert (unknown.state, unknown.available) == ("nonexistent", False)
    registered = network.env.register(network.user, size=99, salt=b"never-certified")
    pending = verify_availability(client, BlobId(registered.blob_id))
    assert (pending.state, pending.available) == ("registered", False)
    assert verify_availability(client, "999999").state == "nonexistent"
    with pytest.raises(InvalidVerifyTarget, match="neither a token id"):
        verify_availability(client, "not-a-blob-id")


def test_aggregator_serves_the_same_report(client: Client) -> None:
    stored = client.store(os.urandom(321), epochs=2)
    http = create_app(client).test_client()
    answer = http.get(f"/v1/blobs/{stored.blob_id}/availability")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["available"] is True and body["state"] == "available"
    assert body["certification"]["token_id"] == stored.token_id
    assert body["certificate"]["valid"] is True
    deep = http.get(f"/v1/blobs/{stored.token_id}/availability?deep=true&samples=2").get_json()
    assert deep["deep"]["ok"] is True and len(deep["deep"]["pairs_checked"]) == 2
    bad = http.get("/v1/blobs/garbage/availability")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "InvalidVerifyTarget"
    assert http.get(f"/v1/blobs/{stored.blob_id}/availability?samples=0").status_code == 400


def test_a_certificate_signed_by_a_past_committee_is_rejected(
    client: Client,
    network: Network,
    wal: Contract,
    client_for,  # type: ignore[no-untyped-def]
) -> None:
    """Runs last: it changes the committee (a fifth node joins in epoch 2)."""
    env = network.env
    stored = client.store(os.urandom(900), epochs=3)
    genuine = verify_availability(client, stored.blob_id).certification
    assert genuine is not None
    old_epoch = genuine.epoch

    operator = fresh_client(env.chain, wal, client_for, b"late-operator")
    newcomer = BlsSecretKey.from_seed(b"late node key".ljust(32, b"."))
    staking = env.staking.as_account(operator)
    node_id = staking.register_node("late", "http://127.0.0.1:9", newcomer, capacity=10**12)
    operator.transact(wal.functions.approve(env.staking.address, 10**13))
    staking.stake(node_id, 10**13)
    new_epoch = env.next_epoch()
    assert node_id in env.staking.committee(new_epoch).node_ids

    # the old committee signs the new epoch's message: right keys for a past epoch only
    message = blob_certification_message(
        client.chain.chain_id, client.registry.address, new_epoch, genuine.blob_id, False, 0
    )
    old_keys = env.committee_keys(old_epoch)
    signature = aggregate_signatures([key.sign(message) for key in old_keys]).to_eip2537()
    replayed = dataclasses.replace(genuine, epoch=new_epoch, signature=signature)
    assert not _check(client, replayed, new_epoch).valid
    # an old certificate presented as a new epoch's one does not verify either
    assert not _check(client, dataclasses.replace(genuine, epoch=new_epoch), new_epoch).valid
    # the genuine certificate is checked against the committee of its own epoch and holds
    assert verify_availability(client, stored.blob_id).certificate.valid  # type: ignore[union-attr]
