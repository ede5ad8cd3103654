"""Epoch change, node side: shards move to the new committee's nodes, from the previous
holder or (when it is down) by recovery; the nodes report epochSyncDone; the old holder
drops the shards it handed over once the change is done. Blobs read back byte-identical.

Advances epochs and moves stake, so it runs on its own module-scoped network; the second
test continues from the committee the first one leaves."""

from __future__ import annotations

import os
import re

import requests

from backend.chain.client import ChainClient
from backend.chain.staking import EpochState
from backend.core import routes
from backend.core.decoder import decode_blob
from backend.core.encoder import EncodedBlob
from backend.core.metadata import UnverifiedMetadata, verify_metadata
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, verify_slivers
from tests.integration.network import NODE_STAKE, Network, NodeProcess, wait_until


def _store(network: Network, size: int) -> tuple[EncodedBlob, bytes]:
    data = os.urandom(size)
    encoded, registered = network.register(data, epochs=5)
    network.upload(encoded)
    network.certify(encoded, registered)
    return encoded, data


def _metric(node: NodeProcess, name: str) -> int:
    text = requests.get(node.url + routes.METRICS).text
    match = re.search(rf"^{name} (\d+)$", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


def _slivers_stored(node: NodeProcess) -> int:
    return _metric(node, "walrus_node_slivers_stored")


def _holds_every_pair(network: Network, encoded: EncodedBlob) -> bool:
    """Each shard's current holder serves both slivers of its pair, byte-identical."""
    for pair in range(network.n_shards):
        owner = network.owner_of_pair(encoded, pair)
        for sliver in encoded.sliver_pair(pair):
            path = routes.sliver_path(encoded.blob_id, pair, sliver.kind)
            response = requests.get(owner.url + path, timeout=5)
            if response.status_code != 200:
                return False
            assert response.content == sliver.to_bytes()
    return True


def _read_back(network: Network, encoded: EncodedBlob, nodes: list[NodeProcess]) -> bytes:
    """Decode the blob from the primary slivers its current holders serve."""
    raw = requests.get(nodes[0].url + routes.metadata_path(encoded.blob_id)).content
    metadata = verify_metadata(encoded.blob_id, UnverifiedMetadata.from_bytes(raw))
    slivers = []
    for pair in range(network.n_shards):
        owner = network.owner_of_pair(encoded, pair)
        if owner not in nodes:
            continue
        path = routes.sliver_path(encoded.blob_id, pair, SliverKind.PRIMARY)
        response = requests.get(owner.url + path, timeout=5)
        if response.status_code == 200:
            slivers.append(UnverifiedSliver.from_bytes(response.content))
    return decode_blob(metadata, verify_slivers(metadata, slivers))


def _epoch_change_done(network: Network, epoch: int) -> bool:
    info = network.env.staking.epoch_info()
    return info.epoch == epoch and info.state is EpochState.DONE


def _operator(network: Network, node: NodeProcess) -> ChainClient:
    """The node's operator account; the node process sends from it too (epochSyncDone),
    so the locally counted nonce is re-read from the chain."""
    operator = network.env.operators[node.index]
    assert operator.account is not None
    operator.nonces.forget(operator.account.address)
    return operator


def _withdraw_all_stake(network: Network, node: NodeProcess) -> None:
    operator = _operator(network, node)
    staking = network.env.staking.as_account(operator)
    assert operator.account is not None
    for position in staking.positions_of(operator.account.address):
        if position.node_id == node.node_id and position.withdraw_epoch is None:
            staking.request_withdraw(position.position_id, position.amount)


STORED: list[tuple[EncodedBlob, bytes]] = []
"""Blobs certified so far in this module (each test adds some and checks all of them)."""


def _each_pair_once_on_its_holder(network: Network) -> bool:
    """Across the network exactly the current holders' slivers remain (2 per pair)."""
    total = sum(_slivers_stored(node) for node in network.nodes)
    return total == 2 * network.n_shards * len(STORED)


def test_leaving_node_hands_its_shards_to_the_new_holders(network: Network) -> None:
    STORED.extend(_store(network, size) for size in (5_000, 40_000, 1_000))
    leaving = network.nodes[0]
    before = network.env.staking.shard_assignment()
    assert leaving.node_id in before
    _withdraw_all_stake(network, leaving)

    epoch = network.env.next_epoch()

    after = network.env.staking.shard_assignment()
    assert leaving.node_id not in after
    moved = [shard for shard in range(network.n_shards) if before[shard] != after[shard]]
    assert moved and all(before[shard] == leaving.node_id for shard in moved)
    wait_until(lambda: _epoch_change_done(network, epoch), timeout=90, what="EpochChangeDone")
    staying = [node for node in network.nodes if node is not leaving]
    # every moved sliver pair was copied from the previous holder (none needed recovery)
    migrated = sum(_metric(node, "walrus_node_slivers_migrated_total") for node in staying)
    assert migrated == 2 * len(moved) * len(STORED)
    # EpochChangeDone needs only n - f shards of reports: the others may report just after
    wait_until(
        lambda: all(_metric(node, "walrus_node_synced_epoch") == epoch for node in staying),
        timeout=60,
        what="every staying node synced",
    )
    for encoded, data in STORED:
        assert _holds_every_pair(network, encoded)
        assert _read_back(network, encoded, staying) == data
    # once the change is done the previous holder drops what it handed over
    wait_until(lambda: _slivers_stored(leaving) == 0, timeout=30, what="handed-over shards dropped")
    assert _each_pair_once_on_its_holder(network)


def test_new_holders_recover_the_shards_of_a_previous_holder_that_is_down(
    network: Network,
) -> None:
    """The node that left rejoins (its shards come from their live holders); then another
    node leaves and is killed before the change, so its shards are rebuilt by recovery."""
    rejoining = network.nodes[0]
    operator = _operator(network, rejoining)
    operator.transact(network.env.wal.functions.approve(network.env.staking.address, NODE_STAKE))
    network.env.staking.as_account(operator).stake(rejoining.node_id, NODE_STAKE)
    epoch = network.env.next_epoch()
    assert rejoining.node_id in network.env.staking.shard_assignment()
    wait_until(lambda: _epoch_change_done(network, epoch), timeout=90, what="EpochChangeDone")
    wait_until(lambda: _each_pair_once_on_its_holder(network), timeout=30, what="lost shards GC")

    STORED.extend(_store(network, size) for size in (7_000, 30_000))
    before = network.env.staking.shard_assignment()
    counts = {node_id: before.count(node_id) for node_id in set(before)}
    dead = network.node_by_id(min(counts, key=lambda node_id: counts[node_id]))
    assert counts[dead.node_id] <= 2  # at most f = 2 of 8 shards may be lost at once
    _withdraw_all_stake(network, dead)
    dead.kill()
    try:
        epoch = network.env.next_epoch()
        after = network.env.staking.shard_assignment()
        assert dead.node_id not in after
        alive = [node for node in network.nodes if node is not dead]
        wait_until(lambda: _epoch_change_done(network, epoch), timeout=120, what="EpochChangeDone")
        wait_until(
            lambda: all(_metric(node, "walrus_node_synced_epoch") == epoch for node in alive),
            timeout=60,
            what="every member reported its shards synced",
        )
        recovered = sum(_metric(node, "walrus_node_slivers_recovered_total") for node in alive)
        assert recovered == 2 * counts[dead.node_id] * len(STORED)
        for encoded, data in STORED:
            assert _holds_every_pair(network, encoded)
            assert _read_back(network, encoded, alive) == data
    finally:
        dead.start()
        dead.wait_ready()
    # the node that was down during the change drops the shards it no longer holds
    wait_until(lambda: _slivers_stored(dead) == 0, timeout=30, what="dead node's shards dropped")
