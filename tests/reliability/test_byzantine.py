"""Byzantine nodes (issue 13): one of the 4 nodes lies through tests/reliability/byzantine.py,
a proxy published on chain as its URL. Reads through the SDK and the aggregator
(`walrus serve`) stay byte-identical while it serves flipped bits, another pair's or another
blob's sliver, stale or corrupt metadata; stores still certify. A lazy node that signs
confirmations without storing fails its storage challenge and its reward weight drops to 0.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from backend.chain.challenges import MAX_BPS, StorageChallengesContract
from backend.chain.compiler import Artifacts
from backend.core.blob_id import BlobId
from backend.core.bls import BlsSecretKey
from backend.core.intents import blob_certification_message
from backend.sdk.client import Client
from nodes.config import NodeConfig
from tests.e2e.cli_harness import cli_env  # noqa: F401  (fixture)
from tests.integration.network import Network, NodeProcess, wait_until
from tests.integration.network_contracts import attach_challenges
from tests.integration.user_client import FAULT_NODE_TIMEOUT, network_client
from tests.reliability.backend_process import BackendProcess
from tests.reliability.byzantine import ByzantineProxy, Mode
from tests.reliability.scenarios import ScenarioLog

CATEGORY = "Byzantine nodes"
WINDOW = 60
BLOBS_PER_MODE = int(os.environ.get("WALRUS_BYZANTINE_BLOBS", "2"))
MAX_BLOBS_PER_MODE = 8  # fresh blobs until the liar was asked (its pairs vary by blob)
LIAR = 1  # index of the lying node in network.nodes

SCENARIOS = {
    Mode.FLIP_BITS: "node serves slivers with a flipped bit",
    Mode.OTHER_PAIR: "node serves another pair's sliver (relabelled)",
    Mode.OTHER_BLOB: "node serves another blob's sliver (relabelled)",
    Mode.STALE_METADATA: "node serves another blob's metadata",
    Mode.CORRUPT_METADATA: "node serves metadata with a flipped bit",
}


@pytest.fixture(scope="module")
def challenges(network: Network, artifacts: Artifacts) -> StorageChallengesContract:
    """StorageChallenges for the network; every node restarted with its address."""
    return attach_challenges(network, artifacts, WINDOW)


def publish_url(network: Network, node: NodeProcess, url: str) -> None:
    operator = network.env.operators[node.index]
    operator.reset_nonces()
    network.env.staking.as_account(operator).set_node_metadata(
        node.node_id, f"node-{node.index}", url
    )


@pytest.fixture(scope="module")
def liar(
    network: Network,
    challenges: StorageChallengesContract,
    cli_env: dict[str, str],  # noqa: F811
) -> Iterator[ByzantineProxy]:
    """The proxy, published as node LIAR's URL; after cli_env, which republishes real URLs."""
    node = network.nodes[LIAR]
    proxy = ByzantineProxy(node.url, network.n_shards)
    publish_url(network, node, proxy.url)
    assert network.env.staking.node(node.node_id).http_url == proxy.url
    try:
        yield proxy
    finally:
        proxy.mode = Mode.HONEST
        publish_url(network, node, node.url)
        proxy.close()


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts, liar: ByzantineProxy) -> Client:
    """A client connected after the liar's URL was published (it caches node URLs)."""
    return network_client(network, artifacts, node_timeout=FAULT_NODE_TIMEOUT)


@pytest.fixture(scope="module")
def aggregator(backend: BackendProcess, liar: ByzantineProxy) -> BackendProcess:
    backend.ensure_running()
    return backend


def test_reads_stay_correct_while_a_node_lies(
    network: Network,
    client: Client,
    liar: ByzantineProxy,
    aggregator: BackendProcess,
    scenarios: ScenarioLog,
) -> None:
    decoy = b"decoy" * 4000
    liar.decoy = client.store(decoy).blob_id
    problems: list[str] = []
    for mode, name in SCENARIOS.items():
        scenario = scenarios.scenario(CATEGORY, name)
        liar.mode = mode
        for number in range(MAX_BLOBS_PER_MODE):
            if number >= BLOBS_PER_MODE and liar.lie_count(mode) > 0:
                break
            data = os.urandom(20_000 + 7_919 * number) + mode.value.encode()
            try:
                result = client.store(data)
            except Exception as error:  # a failed store is a finding, counted
                scenario.run(failed=True)
                problems.append(f"{name}: store failed: {error}")
                continue
            assert result.token_id is not None
            assert client.registry.blob_info(result.token_id).is_certified
            for reader in ("sdk", "sdk", "aggregator"):
                if reader == "sdk":
                    identical = client.read(result.blob_id) == data
                else:
                    url = f"{aggregator.url}/v1/blobs/{result.blob_id}"
                    answer = requests.get(url, timeout=60)
                    identical = answer.status_code == 200 and answer.content == data
                scenario.run(failed=not identical, lost=0 if identical else 1)
                if not identical:
                    problems.append(f"{name}: {reader} read {result.blob_id} wrong")
        lies = liar.lie_count(mode)
        scenario.note = f"{lies} lies served, every read byte-identical"
        assert lies > 0, f"{name}: the liar was never asked ({liar.requests_seen} requests)"
    liar.mode = Mode.HONEST
    assert problems == []
    # the rejections are visible, and only the liar's: in the SDK client and in the
    # aggregator's /metrics (walrus_api_node_answers_rejected_total)
    # (metadata is asked of a random node: which of the two readers met the liar's metadata
    # lies is chance, so the kinds are checked over both)
    rejected = client.rejected_answers()
    assert all(liar.url in node for (node, _what) in rejected), rejected
    exported = [
        line
        for line in requests.get(f"{aggregator.url}/metrics", timeout=10).text.splitlines()
        if line.startswith("walrus_api_node_answers_rejected_total{")
    ]
    assert all(liar.url in line for line in exported), exported
    kinds = {what for (node, what) in rejected} | {
        line.split('what="', 1)[1].split('"', 1)[0] for line in exported
    }
    assert kinds >= {"metadata", "primary"}, (rejected, exported)


def test_lazy_node_certifies_without_storing_and_fails_its_challenge(
    network: Network,
    client: Client,
    liar: ByzantineProxy,
    challenges: StorageChallengesContract,
    scenarios: ScenarioLog,
) -> None:
    stores = scenarios.scenario(CATEGORY, "lazy node signs confirmations without storing")
    detected = scenarios.scenario(CATEGORY, "lazy node detected by its storage challenge")
    lazy = network.nodes[LIAR]
    key_file = Path(NodeConfig.load(lazy.config_path).bls_key_file)
    key = BlsSecretKey.from_bytes(key_file.read_bytes())
    chain_id, registry = network.env.chain.chain_id, network.env.registry.address

    def sign(blob: BlobId, deletable: bool, token_id: int) -> dict[str, object]:
        epoch = network.env.epoch()
        message = blob_certification_message(
            chain_id, registry, epoch, blob.raw, deletable, token_id
        )
        signature = key.sign(message).to_eip2537()
        return {
            "epoch": epoch,
            "node_id": lazy.node_id,
            "signature": base64.b64encode(signature).decode("ascii"),
        }

    liar.signer = sign
    lazy.stop()  # it keeps nothing; its real process (and recovery) is gone
    liar.mode = Mode.LAZY
    try:
        written: dict[BlobId, bytes] = {}
        for number in range(3):
            data = os.urandom(30_000 + number * 1_001)
            try:
                result = client.store(data)
                assert result.token_id is not None
                assert client.registry.blob_info(result.token_id).is_certified
                written[result.blob_id] = data
                stores.run()
            except Exception:
                stores.run(failed=True)
                raise
        assert liar.dropped_uploads > 0
        assert liar.lie_count(Mode.LAZY) > liar.dropped_uploads  # confirmations were signed
        for blob_id, data in written.items():
            assert client.read(blob_id) == data
        signed = liar.lie_count(Mode.LAZY) - liar.dropped_uploads
        stores.note = (
            f"{liar.dropped_uploads} uploads dropped, {signed} confirmations signed; "
            "every store certified and read back identical"
        )

        epoch = network.env.epoch()
        issued = challenges.issue_challenges(epoch)
        assert lazy.node_id in {event.node_id for event in issued}
        honest = [node for node in network.nodes if node is not lazy]

        def honest_answered() -> bool:
            return all(
                challenges.challenge_of(epoch, node.node_id).answered  # type: ignore[union-attr]
                for node in honest
            )

        wait_until(honest_answered, timeout=60, what="the honest nodes to answer")
        network.env.advance(WINDOW + 1)
        failed = [event.node_id for event in challenges.close_challenges(epoch)]
        caught = failed == [lazy.node_id]
        detected.run(failed=not caught)
        assert caught, failed
        assert challenges.reward_weight_bps(epoch, lazy.node_id) == 0
        assert challenges.node_record(lazy.node_id).failed == 1
        for node in honest:
            assert challenges.reward_weight_bps(epoch, node.node_id) == MAX_BPS
        detected.note = "reward weight 0 bps (honest nodes 10000)"
    finally:
        liar.mode = Mode.HONEST
        lazy.start()
        lazy.wait_ready()
