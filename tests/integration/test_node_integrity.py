"""Data at rest: checksums on every stored record, the start-up scrub, and repair of a sliver
whose bytes were flipped on disk (real LMDB files; the last test on real node processes)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import lmdb
import requests

from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.encoder import EncodedBlob, encode_blob
from backend.core.sliver_kind import SliverKind
from nodes.scrub import Scrubber
from nodes.store import NodeStore
from tests.integration.network import Network, NodeProcess, wait_until
from tests.integration.store_corruption import flip_every_copy

N_SHARDS = 4


def _stored_blob(directory: Path) -> tuple[EncodedBlob, NodeStore]:
    encoded = encode_blob(os.urandom(5000), N_SHARDS)
    store = NodeStore(directory)
    store.put_metadata(encoded.blob_id, encoded.metadata.to_bytes())
    for pair in range(N_SHARDS):
        for sliver in encoded.sliver_pair(pair):
            store.put_sliver(encoded.blob_id, sliver.kind, sliver.index, sliver.data)
    store.close()
    return encoded, NodeStore(directory)


def test_a_flipped_sliver_is_never_returned_and_is_reported(tmp_path: Path) -> None:
    encoded, store = _stored_blob(tmp_path)
    store.close()
    primary = encoded.sliver_pair(1)[0]
    assert flip_every_copy(tmp_path / "store.lmdb" / "data.mdb", primary.data) >= 1
    store = NodeStore(tmp_path)
    reported: list[BlobId] = []
    store.on_corruption = reported.append
    assert store.sliver(encoded.blob_id, SliverKind.PRIMARY, primary.index) is None
    assert not store.has_sliver(encoded.blob_id, SliverKind.PRIMARY, primary.index)
    assert store.corrupt_records == 1
    assert reported == [encoded.blob_id]
    other = encoded.sliver_pair(2)[0]
    assert store.sliver(encoded.blob_id, SliverKind.PRIMARY, other.index) == other.data
    store.close()


def test_scrub_drops_corrupted_records_and_migrates_legacy_ones(tmp_path: Path) -> None:
    encoded, store = _stored_blob(tmp_path)
    blob = encoded.blob_id
    store.close()
    # legacy records: written before checksums existed (no entry in `checksums`)
    env = lmdb.open(str(tmp_path / "store.lmdb"), max_dbs=8, subdir=True)
    checksums = env.open_db(b"checksums")
    slivers = env.open_db(b"slivers")
    good_legacy = encoded.sliver_pair(0)[1]
    bad_legacy = encoded.sliver_pair(3)[1]
    with env.begin(write=True) as txn:
        for sliver in (good_legacy, bad_legacy):
            key = blob.raw + bytes([sliver.kind]) + sliver.index.to_bytes(4, "big")
            assert txn.delete(key, db=checksums)
        bad_key = blob.raw + bytes([bad_legacy.kind]) + bad_legacy.index.to_bytes(4, "big")
        txn.put(bad_key, bytes(len(bad_legacy.data)), db=slivers)  # zeros: fails the hash
    env.close()
    corrupted = encoded.sliver_pair(2)[0]
    assert flip_every_copy(tmp_path / "store.lmdb" / "data.mdb", corrupted.data) >= 1

    store = NodeStore(tmp_path)
    reported: list[BlobId] = []
    store.on_corruption = reported.append
    scrubber = Scrubber(store)
    scrubber.run_once()
    assert scrubber.finished
    assert scrubber.records_checked == 1 + 2 * N_SHARDS
    assert store.corrupt_records == 2
    assert reported == [blob, blob]
    assert not store.has_sliver(blob, corrupted.kind, corrupted.index)
    assert not store.has_sliver(blob, bad_legacy.kind, bad_legacy.index)
    assert store.sliver_integrity(blob, good_legacy.kind, good_legacy.index) == "ok"
    assert store.sliver(blob, good_legacy.kind, good_legacy.index) == good_legacy.data
    store.close()


def _metric(node: NodeProcess, name: str) -> int:
    text = requests.get(node.url + routes.METRICS, timeout=10).text
    match = re.search(rf"^{name} (\d+)$", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


def test_node_never_serves_a_flipped_sliver_and_rebuilds_it(network: Network) -> None:
    encoded, registered = network.register(os.urandom(6000))
    network.upload(encoded)
    network.certify(encoded, registered)
    pair = 1
    node = network.owner_of_pair(encoded, pair)
    sliver = encoded.sliver_pair(pair)[0]
    path = routes.sliver_path(encoded.blob_id, pair, sliver.kind)
    assert requests.get(node.url + path, timeout=10).content == sliver.to_bytes()

    node.kill()
    assert flip_every_copy(node.data_dir / "store.lmdb" / "data.mdb", sliver.data) >= 1
    node.start()
    node.wait_ready()

    served: list[int] = []

    def repaired() -> bool:
        answer = requests.get(node.url + path, timeout=10)
        served.append(answer.status_code)
        if answer.status_code == 200:
            assert answer.content == sliver.to_bytes(), "served corrupted bytes"
            return True
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "SliverNotFound"
        return False

    wait_until(repaired, timeout=60, what="the corrupted sliver rebuilt from peers")
    assert _metric(node, "walrus_node_corrupt_records_total") == 1
    assert _metric(node, "walrus_node_slivers_recovered_total") >= 1
