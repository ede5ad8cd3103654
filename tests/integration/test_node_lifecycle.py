"""Node restarts, crashes, late start (recovery) and garbage collection, on real processes."""

from __future__ import annotations

import os
import re
import shutil

import requests

from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.sliver_kind import SliverKind
from tests.integration.network import Network, NodeProcess, wait_until


def _metric(node: NodeProcess, name: str) -> int:
    text = requests.get(node.url + routes.METRICS).text
    match = re.search(rf"^{name} (\d+)$", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


def _status(node: NodeProcess, blob_id: BlobId) -> dict[str, object]:
    body: dict[str, object] = requests.get(node.url + routes.status_path(blob_id)).json()
    return body


def _caught_up(node: NodeProcess) -> bool:
    return _metric(node, "walrus_node_event_lag_blocks") == 0


def test_sliver_survives_sigkill_after_confirmation(network: Network) -> None:
    encoded, _ = network.register(os.urandom(4000))
    network.upload(encoded)
    node = network.owner_of_pair(encoded, 3)
    confirmation = requests.get(node.url + routes.confirmation_path(encoded.blob_id))
    assert confirmation.status_code == 200
    node.kill()
    node.start()
    node.wait_ready()
    primary, secondary = encoded.sliver_pair(3)
    for sliver in (primary, secondary):
        path = routes.sliver_path(encoded.blob_id, 3, sliver.kind)
        assert requests.get(node.url + path).content == sliver.to_bytes()
    assert requests.get(node.url + routes.confirmation_path(encoded.blob_id)).status_code == 200


def test_restart_resumes_events_without_replaying_them(network: Network) -> None:
    node = network.nodes[1]
    encoded, _ = network.register(os.urandom(500))
    wait_until(lambda: _status(node, encoded.blob_id)["known"] is True, what="registration seen")
    wait_until(lambda: _caught_up(node), what="follower caught up")
    applied = _metric(node, "walrus_node_events_applied_total")
    assert node.stop() == 0  # graceful SIGTERM
    node.start()
    node.wait_ready()
    wait_until(lambda: _caught_up(node), what="follower caught up after restart")
    assert _metric(node, "walrus_node_events_applied_total") == applied
    second, _ = network.register(os.urandom(600))
    wait_until(lambda: _status(node, second.blob_id)["known"] is True, what="new registration")
    assert _metric(node, "walrus_node_events_applied_total") == applied + 1


def test_late_node_recovers_every_sliver_of_a_blob_certified_while_down(
    network: Network,
) -> None:
    late = network.nodes[2]
    others = [node for node in network.nodes if node is not late]
    late.stop()
    try:
        encoded, registered = network.register(os.urandom(20_000))
        network.upload(encoded, others)
        network.certify(encoded, registered, others)
    finally:
        late.start()
        late.wait_ready()
    late_pairs = [
        pair for pair in range(network.n_shards) if network.owner_of_pair(encoded, pair) is late
    ]
    assert late_pairs

    def recovered() -> bool:
        status = _status(late, encoded.blob_id)
        return status["metadata"] is True and status["pairs_stored"] == late_pairs

    wait_until(recovered, timeout=60, what="recovery of the late node")
    for pair in late_pairs:
        for sliver in encoded.sliver_pair(pair):
            got = requests.get(late.url + routes.sliver_path(encoded.blob_id, pair, sliver.kind))
            assert got.content == sliver.to_bytes()
    assert requests.get(late.url + routes.confirmation_path(encoded.blob_id)).status_code == 200
    assert _metric(late, "walrus_node_recovery_backlog") == 0


def test_deleted_blob_data_is_collected(network: Network) -> None:
    encoded, registered = network.register(os.urandom(3000), deletable=True)
    network.upload(encoded)
    network.certify(encoded, registered)
    network.env.as_user(network.user).delete_blob(registered.token_id)
    owner = network.owner_of_pair(encoded, 0)
    path = routes.sliver_path(encoded.blob_id, 0, SliverKind.PRIMARY)
    for node in network.nodes:
        wait_until(
            lambda node=node: (
                requests.get(  # type: ignore[misc]
                    node.url + routes.metadata_path(encoded.blob_id)
                ).status_code
                == 404
            ),
            what=f"GC on node {node.index}",
        )
    assert requests.get(owner.url + path).status_code == 404
    refused = requests.put(
        owner.url + routes.metadata_path(encoded.blob_id), data=encoded.metadata.to_bytes()
    )
    assert refused.status_code == 403


def test_node_with_a_wiped_disk_recovers_from_events_and_peers(network: Network) -> None:
    encoded, registered = network.register(os.urandom(6000))
    network.upload(encoded)
    network.certify(encoded, registered)
    node = network.nodes[3]
    node.stop()
    shutil.rmtree(node.data_dir)
    node.start()
    node.wait_ready()
    pairs = [p for p in range(network.n_shards) if network.owner_of_pair(encoded, p) is node]

    def recovered() -> bool:
        return _status(node, encoded.blob_id)["pairs_stored"] == pairs

    wait_until(recovered, timeout=60, what="recovery after a wiped disk")
    for pair in pairs:
        for sliver in encoded.sliver_pair(pair):
            got = requests.get(node.url + routes.sliver_path(encoded.blob_id, pair, sliver.kind))
            assert got.content == sliver.to_bytes()


def test_invalidated_blob_data_is_collected(network: Network) -> None:
    encoded, registered = network.register(os.urandom(2500))
    network.upload(encoded)
    network.certify(encoded, registered)
    signers, signature = network.env.invalidation(encoded.blob_id.raw, [0, 1])
    network.env.registry.invalidate_blob(encoded.blob_id.raw, signers, signature)
    for node in network.nodes:
        wait_until(
            lambda node=node: _status(node, encoded.blob_id)["metadata"] is False,  # type: ignore[misc]
            what=f"GC of the invalidated blob on node {node.index}",
        )
    assert _status(network.nodes[0], encoded.blob_id)["live"] is False
