"""Faults (issue 13, part 1): kill -9 of storage nodes during writes (up to f = 1 node of 4)
and reads (up to 2f = 2 nodes), and kill -9 of the backend mid-upload.

Every certified blob must read back byte-identical at the end; the backend retry must not
pay twice. Counts go to the scenario log (docs/reliability.md)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import threading
from collections.abc import Iterator

import pytest
import requests

from backend.core import routes
from backend.core.encoder import encode_blob
from backend.core.pairs import shard_of_pair
from backend.core.sliver_kind import SliverKind
from backend.sdk.client import Client
from tests.e2e.cli_harness import cli_env  # noqa: F401  (fixture)
from tests.integration.network import Network, NodeProcess, wait_until
from tests.reliability.backend_process import BackendProcess
from tests.reliability.scenarios import ScenarioLog

ROUNDS = 10
WRITES_PER_ROUND = 6
READS_PER_ROUND = 4
CATEGORY = "Faults"


def restart(nodes: list[NodeProcess]) -> None:
    for node in nodes:
        if node.process is None or node.process.poll() is not None:
            node.start()
    for node in nodes:
        node.wait_ready()


@pytest.fixture
def all_nodes_running(network: Network) -> Iterator[None]:
    yield
    restart(network.nodes)


def kill_during(nodes: list[NodeProcess], rng: random.Random) -> list[threading.Timer]:
    """SIGKILL each of `nodes` after a random 0-300 ms, while the operation runs."""
    timers = [threading.Timer(rng.uniform(0.0, 0.3), node.kill) for node in nodes]
    for timer in timers:
        timer.start()
    return timers


def holds_its_slivers(network: Network, node: NodeProcess, data: bytes) -> bool:
    """Whether `node` serves both slivers of every pair its shards own for `data`'s blob."""
    encoded = encode_blob(data, network.n_shards)
    assignment = network.env.staking.shard_assignment()
    for pair in range(network.n_shards):
        if assignment[shard_of_pair(encoded.blob_id, pair, network.n_shards)] != node.node_id:
            continue
        for kind in (SliverKind.PRIMARY, SliverKind.SECONDARY):
            url = node.url + routes.sliver_path(encoded.blob_id, pair, kind)
            if requests.get(url, timeout=5).status_code != 200:
                return False
    return True


def test_kill_nodes_during_writes_and_reads(
    network: Network, client: Client, scenarios: ScenarioLog, all_nodes_running: None
) -> None:
    rng = random.Random(13)
    writes = scenarios.scenario(CATEGORY, "kill -9 of f=1 of 4 nodes during a store")
    reads = scenarios.scenario(CATEGORY, "kill -9 of 2f=2 of 4 nodes during a read")
    certified: dict[str, bytes] = {}
    errors: list[str] = []
    for _ in range(ROUNDS):
        victim = rng.choice(network.nodes)
        timers = kill_during([victim], rng)
        round_blobs: list[bytes] = []
        for _ in range(WRITES_PER_ROUND):
            data = os.urandom(rng.randint(1, 8192))
            try:
                result = client.store(data, epochs=2)
            except Exception as error:  # counted, then the assertion below fails the test
                writes.run(failed=True)
                errors.append(f"store: {type(error).__name__}: {error}")
                continue
            writes.run()
            certified[str(result.blob_id)] = data
            round_blobs.append(data)
        for timer in timers:
            timer.join()
        assert victim.process is not None and victim.process.poll() is not None
        restart([victim])
        # a node that missed writes must recover them before 2 others may fail for reads
        wait_until(
            lambda: all(holds_its_slivers(network, victim, data) for data in round_blobs),  # noqa: B023
            timeout=90,
            what=f"node {victim.index} recovering the blobs it missed",
        )
        dead = rng.sample(network.nodes, 2)
        timers = kill_during(dead, rng)
        for _ in range(READS_PER_ROUND):
            blob_id = rng.choice(sorted(certified))
            try:
                same = client.read(blob_id) == certified[blob_id]
            except Exception as error:
                same = False
                errors.append(f"read: {type(error).__name__}: {error}")
            reads.run(failed=not same)
        for timer in timers:
            timer.join()
        restart(dead)

    lost = [blob_id for blob_id, data in certified.items() if client.read(blob_id) != data]
    final = scenarios.scenario(CATEGORY, "every certified blob read back after the loop")
    for blob_id in certified:
        final.run(lost=int(blob_id in lost))
    assert not errors, errors[:5]
    assert not lost
    assert writes.runs + reads.runs >= 100


def wal_balance(client: Client) -> int:
    return int(client.chain.call(client.wal.functions.balanceOf(client.chain.address)))


def test_backend_killed_mid_upload_retry_pays_once(
    network: Network, client: Client, backend: BackendProcess, scenarios: ScenarioLog
) -> None:
    scenario = scenarios.scenario(CATEGORY, "kill -9 of `walrus serve` mid-upload, then retry")
    # the kill must land between registration and certification: uploading this much to
    # the nodes takes a few hundred ms (3 MiB took under the 0.2 s a default poll waits)
    data = os.urandom(24 << 20)
    blob_id = encode_blob(data, network.n_shards).blob_id
    epochs = 2
    cost = network.env.registry.registration_cost(len(data), epochs).total
    balance_before = wal_balance(client)
    backend.ensure_running()

    def upload() -> None:
        with contextlib.suppress(requests.RequestException):  # dies with the process
            requests.put(f"{backend.url}/v1/blobs?epochs={epochs}", data=data, timeout=120)

    uploader = threading.Thread(target=upload)
    uploader.start()
    wait_until(
        lambda: network.env.registry.blob_id_status(blob_id.raw).registrations > 0,
        timeout=120,
        what="the publisher registering the blob",
        every=0.005,
    )
    backend.kill()
    uploader.join()
    status = network.env.registry.blob_id_status(blob_id.raw)
    killed_before_certification = status.permanent_certified_until == 0

    backend.start()
    retried = requests.put(f"{backend.url}/v1/blobs?epochs={epochs}", data=data, timeout=180)
    scenario.run(failed=retried.status_code != 200)
    assert retried.status_code == 200, retried.text
    read = client.read(blob_id)
    scenario.data_lost += int(read != data)
    scenario.note = (
        "killed after registration, before certification"
        if killed_before_certification
        else "kill landed after certification (retry answered alreadyCertified)"
    )
    assert hashlib.sha256(read).digest() == hashlib.sha256(data).digest()
    assert network.env.registry.blob_id_status(blob_id.raw).registrations == 1
    assert balance_before - wal_balance(client) == cost
    assert killed_before_certification
