"""Faults (issue 13, part 1): a node restarted after its store file was corrupted under it
(SIGKILL, then bytes of its last sliver write flipped inside store.lmdb/data.mdb).

Must hold: every read of the blob stays byte-identical (the SDK verifies each sliver against
the blob's metadata), the node never serves the corrupted bytes (its records carry a CRC-32
checked on every read and by the start-up scrub: a mismatch drops the record, 404), and it
rebuilds the sliver from its peers (recovery) within `REPAIR_SECONDS`."""

from __future__ import annotations

import os
import time

import requests

from backend.core import routes
from backend.core.encoder import encode_blob
from backend.core.errors import CoreError
from backend.core.metadata import UnverifiedMetadata, verify_metadata
from backend.core.slivers import UnverifiedSliver, verify_sliver
from backend.sdk.client import Client
from tests.integration.network import Network
from tests.integration.store_corruption import flip_every_copy
from tests.reliability.scenarios import ScenarioLog

CATEGORY = "Faults"
REPAIR_SECONDS = 60


def test_corrupted_last_write_is_survived_and_repaired(
    network: Network, client: Client, scenarios: ScenarioLog
) -> None:
    scenario = scenarios.scenario(CATEGORY, "node restarted with its last sliver write corrupted")
    data = os.urandom(3000)
    result = client.store(data, epochs=2)
    encoded = encode_blob(data, network.n_shards)
    pair = 0
    node = network.owner_of_pair(encoded, pair)
    sliver = encoded.sliver_pair(pair)[0]
    path = routes.sliver_path(encoded.blob_id, pair, sliver.kind)
    assert requests.get(node.url + path, timeout=10).content == sliver.to_bytes()

    node.kill()
    copies = flip_every_copy(node.data_dir / "store.lmdb" / "data.mdb", bytes(sliver.data))
    assert copies, "the sliver's bytes are not in the node's store file"
    node.start()
    node.wait_ready()

    first = requests.get(node.url + path, timeout=10)  # 404 until rebuilt; never other bytes
    assert first.status_code == 404 or first.content == sliver.to_bytes(), first.status_code
    read_back = client.read(result.blob_id)
    scenario.run(failed=read_back != data, lost=int(read_back != data))
    assert read_back == data

    metadata = verify_metadata(
        encoded.blob_id, UnverifiedMetadata.from_bytes(encoded.metadata.to_bytes())
    )
    deadline = time.monotonic() + REPAIR_SECONDS
    corrupted_served = 0
    while time.monotonic() < deadline:
        answer = requests.get(node.url + path, timeout=10)
        if answer.status_code == 200 and answer.content == sliver.to_bytes():
            scenario.note = (
                "the node dropped the corrupted record (checksum) and rebuilt it from peers"
            )
            assert corrupted_served == 0
            return
        if answer.status_code == 200:
            try:
                verify_sliver(metadata, UnverifiedSliver.from_bytes(answer.content))
            except CoreError:
                corrupted_served += 1
        time.sleep(1)
    scenario.failures += 1
    scenario.note = (
        f"not repaired within {REPAIR_SECONDS}s; corrupted bytes served {corrupted_served} times"
    )
    raise AssertionError(scenario.note)
