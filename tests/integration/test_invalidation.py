"""A malicious writer's blob ends invalidated on chain (4 nodes, 8 shards: f + 1 = 3 shards).

The writer commits to one corrupted primary sliver: every sliver it hands out verifies
against its metadata, so nodes accept and confirm them. The node it skipped recovers its
slivers after certification, finds that the rebuilt sliver does not match the commitment,
proves it to its peers, collects their attestations and invalidates the blob on chain.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import requests

from backend.chain.compiler import Artifacts
from backend.chain.registry import BlobRegistered
from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.encoder import EncodedBlob, encode_blob
from backend.core.expansion import code_for, sliver_hashes
from backend.core.inconsistency import InconsistencyProof
from backend.core.metadata import BlobMetadata, UnverifiedMetadata, verify_metadata
from backend.core.recovery_symbols import recovery_symbol, verify_recovery_symbol
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, verify_slivers
from backend.sdk.availability import verify_availability
from backend.sdk.client import Client
from backend.sdk.errors import BlobInvalid
from tests.integration.network import Network, NodeProcess, wait_until
from tests.integration.user_client import network_client


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return network_client(network, artifacts)


def badly_encoded(data: bytes, n: int, bad_primary: int) -> EncodedBlob:
    """Primary sliver `bad_primary` corrupted, and the metadata committing to the corruption."""
    honest = encode_blob(data, n)
    metadata = honest.metadata
    corrupted = np.array(honest.primary_slivers[bad_primary].symbols)
    corrupted[0, 0] ^= 0xFF
    code = code_for(metadata.encoding_type, metadata.params, SliverKind.PRIMARY)
    primary_hashes = list(metadata.metadata.primary_hashes)
    primary_hashes[bad_primary] = sliver_hashes(code, [corrupted])[0]
    bad = BlobMetadata(
        metadata.encoding_type, len(data), tuple(primary_hashes), metadata.metadata.secondary_hashes
    )
    verified = verify_metadata(bad.blob_id(), UnverifiedMetadata(bad))
    sent = [s.to_unverified() for s in honest.primary_slivers]
    sent[bad_primary] = UnverifiedSliver(SliverKind.PRIMARY, bad_primary, corrupted.tobytes())
    primaries = verify_slivers(verified, sent)
    secondaries = verify_slivers(verified, [s.to_unverified() for s in honest.secondary_slivers])
    return EncodedBlob(verified, tuple(primaries), tuple(secondaries))


def register(network: Network, encoded: EncodedBlob) -> BlobRegistered:
    env, metadata = network.env, encoded.metadata
    size = metadata.unencoded_length
    env.approve(network.user, env.registry.registration_cost(size, 3).total)
    return env.as_user(network.user).register_blob(
        encoded.blob_id.raw,
        metadata.metadata.root_hash(),
        size,
        metadata.encoding_type,
        3,
        deletable=False,
    )


def bad_blob_skipping(network: Network, skipped: NodeProcess) -> EncodedBlob:
    """A bad blob whose corrupted primary sliver belongs to a pair on `skipped`."""
    for _ in range(200):
        data = os.urandom(5000)
        for pair in range(network.n_shards):
            encoded = badly_encoded(data, network.n_shards, pair)
            if network.owner_of_pair(encoded, pair) is skipped:
                return encoded
    raise AssertionError("no bad blob placed its corrupted sliver on the skipped node")


def test_a_malicious_writers_blob_ends_invalidated(network: Network, client: Client) -> None:
    skipped = network.nodes[3]
    writers_nodes = network.nodes[:3]  # 6 shards = n - f: enough to certify
    encoded = bad_blob_skipping(network, skipped)
    registered = register(network, encoded)
    network.upload(encoded, writers_nodes)
    network.certify(encoded, registered, writers_nodes)
    assert verify_availability(client, encoded.blob_id).available  # certified, for now

    registry = network.env.registry
    wait_until(
        lambda: registry.blob_id_status(encoded.blob_id.raw).invalidated,
        timeout=90,
        what="the skipped node to prove the inconsistency and invalidate the blob",
    )
    with pytest.raises(BlobInvalid, match="invalidated"):
        client.read(encoded.blob_id)
    report = verify_availability(client, encoded.blob_id)
    assert (report.state, report.available) == ("invalidated", False)
    # every node drops the data of the invalid blob
    for node in network.nodes:
        wait_until(
            lambda node=node: (
                requests.get(node.url + routes.metadata_path(encoded.blob_id)).status_code == 404
            ),
            timeout=30,
            what=f"node {node.index} to collect the invalid blob",
        )


def test_proofs_that_show_nothing_are_refused(network: Network) -> None:
    encoded, registered = network.register(os.urandom(3000))
    network.upload(encoded)
    network.certify(encoded, registered)
    blob = encoded.blob_id
    node = network.owner_of_pair(encoded, 0)
    metadata = encoded.metadata
    target = 0
    honest_symbols = tuple(
        verify_recovery_symbol(metadata, recovery_symbol(sliver, target)).symbol
        for sliver in encoded.secondary_slivers[: metadata.params.s]
    )
    honest_proof = InconsistencyProof(SliverKind.PRIMARY, target, honest_symbols).to_bytes()
    url = node.url + routes.inconsistency_proof_path(blob, SliverKind.PRIMARY)

    answer = requests.post(url, data=honest_proof)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidInconsistencyProof"
    assert "no inconsistency shown" in answer.json()["error"]["message"]

    garbage = requests.post(url, data=b"\x07" * 40)
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "InvalidInconsistencyProof"

    wrong_kind = requests.post(
        node.url + routes.inconsistency_proof_path(blob, SliverKind.SECONDARY), data=honest_proof
    )
    assert wrong_kind.status_code == 400
    assert wrong_kind.json()["error"]["code"] == "SliverPathMismatch"

    unknown = BlobId(os.urandom(32))
    missing = requests.post(
        node.url + routes.inconsistency_proof_path(unknown, SliverKind.PRIMARY), data=honest_proof
    )
    assert missing.status_code == 404

    assert not network.env.registry.blob_id_status(blob.raw).invalidated  # nothing changed
    assert requests.get(node.url + routes.metadata_path(blob)).status_code == 200
