"""SDK store and read against real node processes (4 nodes, 8 shards: f = 2 shards = 1 node,
quorum n - f = 6 shards = 3 nodes, p = 4 primary slivers = 2 nodes)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import urllib3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.core.blob_id import BlobId
from backend.core.bls import BlsSecretKey
from backend.core.encoder import encode_blob
from backend.core.sliver_kind import SliverKind
from backend.sdk.client import Client
from backend.sdk.errors import (
    BlobDeleted,
    BlobExpired,
    BlobNotFound,
    InsufficientWal,
    InvalidEpochs,
    NotEnoughConfirmations,
    NotEnoughSlivers,
)
from nodes.store import NodeStore
from tests.contracts.blob_registry_env import fresh_client
from tests.integration.network import Network, NodeProcess
from tests.integration.user_client import network_client, user_client


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return user_client(network, artifacts)


@pytest.fixture
def all_nodes_running(network: Network) -> Iterator[None]:
    """Whatever a test stops, every node serves again afterwards."""
    yield
    for node in network.nodes:
        if node.process is None or node.process.poll() is not None:
            node.start()
            node.wait_ready()


def wal_balance(client: Client) -> int:
    return int(client.chain.call(client.wal.functions.balanceOf(client.chain.address)))


@pytest.mark.parametrize("size", [0, 1, 1000, 1 << 20], ids=["empty", "1B", "1KB", "1MiB"])
def test_store_then_read_is_byte_identical(client: Client, size: int) -> None:
    data = os.urandom(size)
    paid_before = wal_balance(client)
    sent_before = client.chain.w3.eth.get_transaction_count(client.chain.address)
    result = client.store(data, epochs=2)
    sent = client.chain.w3.eth.get_transaction_count(client.chain.address) - sent_before
    assert sent == 2  # registerBlobWithPermit + certifyBlob: no separate approve
    assert result.status == "newlyCreated"
    assert result.blob_id == encode_blob(data, client.n_shards).blob_id
    assert result.blob_id == client.blob_id(data)
    assert result.cost == client.registry.registration_cost(size, 2).total
    assert paid_before - wal_balance(client) == result.cost
    assert result.end_epoch == client.staking.current_epoch() + 2
    assert client.status(result.blob_id).state == "certified"
    assert client.read(result.blob_id) == data
    assert client.read(str(result.blob_id)) == data


def chain_methods_during(client: Client, action: Callable[[], object]) -> list[str]:
    """The JSON-RPC methods the client's chain connection sends while `action` runs."""
    provider = client.chain.w3.provider
    sent: list[str] = []
    original = provider._make_request  # type: ignore[attr-defined]

    def counted(method: str, data: bytes) -> bytes:
        sent.append(method)
        return original(method, data)  # type: ignore[no-any-return]

    provider._make_request = counted  # type: ignore[attr-defined]
    try:
        action()
    finally:
        del provider._make_request  # type: ignore[attr-defined]
    return sent


def test_a_store_after_the_first_registers_and_certifies_without_estimating_gas(
    client: Client,
) -> None:
    """Estimating certifyBlob re-runs its BLS check many times (65 of ~100 ms of a small
    store's chain time), and each estimate is a round trip before the transaction: the gas
    the last registration and certify used is reused, with headroom."""
    client.store(os.urandom(2_000), epochs=1)
    methods = chain_methods_during(client, lambda: client.store(os.urandom(2_000), epochs=1))
    assert methods.count("eth_sendRawTransaction") == 2
    assert methods.count("eth_estimateGas") == 0
    assert "eth_chainId" not in methods  # no validation middleware, chain id given


def test_a_read_of_a_certified_blob_asks_the_chain_once(client: Client) -> None:
    """isCertified answers a readable blob in one eth_call; the committee is cached."""
    data = os.urandom(3_000)
    result = client.store(data, epochs=1)
    client.epochs.current_epoch(max_age=0.0)  # as a read within a second of another
    read: list[bytes] = []
    methods = chain_methods_during(client, lambda: read.append(client.read(result.blob_id)))
    assert read == [data]
    assert methods == ["eth_call"]


def test_a_reused_gas_limit_that_falls_short_is_estimated_again(client: Client) -> None:
    client.store(os.urandom(2_100), epochs=1)
    learned = client.chain._gas_used
    assert {"registerBlobWithPermit", "certifyBlob"} <= {function for _, function in learned}
    for key in learned:
        learned[key] = 25_000  # far too little for either: each first send runs out of gas
    data = os.urandom(2_200)
    before = wal_balance(client)
    methods = chain_methods_during(client, lambda: client.store(data, epochs=1))
    assert methods.count("eth_estimateGas") == 2  # register, then certify after the failure
    result = client.status(client.blob_id(data), ask_nodes=False)
    assert result.state == "certified"
    assert result.registrations == 1
    assert before - wal_balance(client) == client.registry.registration_cost(len(data), 1).total
    assert min(learned.values()) > 25_000


def test_storing_the_same_bytes_twice_does_not_pay_twice(client: Client) -> None:
    data = b"same bytes, stored twice"
    first = client.store(data, epochs=3)
    balance = wal_balance(client)
    second = client.store(data, epochs=2)
    assert (first.status, second.status) == ("newlyCreated", "alreadyCertified")
    assert second.blob_id == first.blob_id
    assert second.cost == 0
    assert wal_balance(client) == balance


def test_concurrent_stores_of_one_client_each_pay_once(client: Client) -> None:
    """The publisher stores from several threads with one wallet: each permit must sign a
    fresh WAL nonce."""
    blobs = [os.urandom(3_000 + i) for i in range(4)]
    paid_before = wal_balance(client)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda data: client.store(data, epochs=1), blobs))
    assert [result.status for result in results] == ["newlyCreated"] * 4
    assert paid_before - wal_balance(client) == sum(result.cost for result in results)
    for data, result in zip(blobs, results, strict=True):
        assert client.read(result.blob_id) == data


def test_store_certifies_with_f_nodes_down(
    client: Client, network: Network, all_nodes_running: None
) -> None:
    down = network.nodes[1]
    down.kill()
    data = os.urandom(50_000)
    result = client.store(data, epochs=1)
    assert result.status == "newlyCreated"
    assert len(result.failed_nodes) == 1 and down.url in result.failed_nodes[0]
    assert client.status(result.blob_id, ask_nodes=False).state == "certified"
    assert client.read(result.blob_id) == data


def test_read_succeeds_with_2f_shards_down(
    client: Client, network: Network, all_nodes_running: None
) -> None:
    data = os.urandom(200_000)
    result = client.store(data, epochs=1)
    network.nodes[0].kill()
    network.nodes[3].kill()
    assert client.read(result.blob_id) == data


def test_corrupted_slivers_on_one_node_do_not_corrupt_the_read(
    client: Client, network: Network, all_nodes_running: None
) -> None:
    data = os.urandom(100_000)
    result = client.store(data, epochs=1)
    victim = network.nodes[2]
    victim.stop()
    store = NodeStore(victim.data_dir)
    corrupted = 0
    for pair in range(client.n_shards):
        stored = store.sliver(result.blob_id, SliverKind.PRIMARY, pair)
        if stored is not None:
            flipped = bytes([stored[0] ^ 0xFF]) + stored[1:]
            store.put_sliver(result.blob_id, SliverKind.PRIMARY, pair, flipped)
            corrupted += 1
    store.close()
    assert corrupted == 2
    victim.start()
    victim.wait_ready()
    for _ in range(5):  # random sliver order: the victim is asked in most of these reads
        assert client.read(result.blob_id) == data


def corrupt_primaries(node: NodeProcess, blob_id: BlobId, n_shards: int) -> int:
    """Flip a byte of every primary sliver of `blob_id` on the stopped `node`'s disk."""
    store = NodeStore(node.data_dir)
    corrupted = 0
    try:
        for pair in range(n_shards):
            stored = store.sliver(blob_id, SliverKind.PRIMARY, pair)
            if stored is not None:
                flipped = bytes([stored[0] ^ 0xFF]) + stored[1:]
                store.put_sliver(blob_id, SliverKind.PRIMARY, pair, flipped)
                corrupted += 1
    finally:
        store.close()
    return corrupted


def test_read_decodes_from_secondary_slivers_when_primaries_are_corrupt(
    client: Client, network: Network, all_nodes_running: None
) -> None:
    data = os.urandom(120_000)
    result = client.store(data, epochs=1)
    victims = network.nodes[:3]  # 6 of 8 primaries bad: fewer than p = 4 remain
    for victim in victims:
        victim.stop()
        assert corrupt_primaries(victim, result.blob_id, client.n_shards) == 2
    for victim in victims:
        victim.start()
    for victim in victims:
        victim.wait_ready()
    assert client.read(result.blob_id) == data


def test_read_with_too_few_slivers_of_either_kind_names_both_counts(
    client: Client, network: Network, all_nodes_running: None
) -> None:
    data = os.urandom(30_000)
    result = client.store(data, epochs=1)
    for node in network.nodes[1:]:
        node.kill()
    with pytest.raises(NotEnoughSlivers) as raised:
        client.read(result.blob_id)
    message = str(raised.value)
    assert "2 of 4 primary and 2 of 6 secondary slivers verified" in message
    assert network.nodes[1].url in message


@contextmanager
def confirmation_proxy(target: str, *, forge: bool = False, delay: float = 0.0) -> Iterator[str]:
    """An HTTP proxy (127.0.0.1) in front of one node that passes every request through;
    its storage confirmations come `delay` seconds late and, with `forge`, carry a valid
    G2 point that is not the node's signature. Yields the proxy's URL."""
    upstream = urllib3.PoolManager()
    forged = BlsSecretKey.from_seed(b"forger".ljust(32, b"!")).sign(b"not this blob")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length) if length else None
            answer = upstream.request(self.command, target + self.path, body=body, retries=False)
            data = answer.data
            if "/confirmation" in self.path and answer.status == 200:
                time.sleep(delay)
                if forge:
                    confirmation = json.loads(data)
                    confirmation["signature"] = base64.b64encode(forged.to_eip2537()).decode()
                    data = json.dumps(confirmation).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_node_signing_falsely_is_named_and_the_store_certifies_without_it(
    client: Client, network: Network, artifacts: Artifacts
) -> None:
    """The confirmations are checked as one aggregate; when it fails, each alone: the liar
    (answering first) is named and the store waits for the slow honest node instead."""
    liar, slow = network.nodes[1], network.nodes[2]
    with (
        confirmation_proxy(liar.url, forge=True) as liar_url,
        confirmation_proxy(slow.url, delay=1.5) as slow_url,
    ):
        lied_to = Client.connect(
            network.user,
            artifacts,
            network.env.staking.address,
            network.env.registry.address,
            node_urls={liar.node_id: liar_url, slow.node_id: slow_url},
        )
        data = os.urandom(7_000)
        result = lied_to.store(data, epochs=1)
    assert result.failed_nodes == [f"node {liar.node_id} ({liar_url}): signature does not verify"]
    assert client.status(result.blob_id, ask_nodes=False).state == "certified"
    assert client.read(result.blob_id) == data


def test_store_without_quorum_fails_naming_the_nodes_and_retry_reuses_the_payment(
    client: Client, network: Network, all_nodes_running: None
) -> None:
    down: list[NodeProcess] = [network.nodes[0], network.nodes[2]]
    for node in down:
        node.kill()
    data = os.urandom(10_000)
    before = wal_balance(client)
    with pytest.raises(NotEnoughConfirmations) as failed:
        client.store(data, epochs=2)
    message = str(failed.value)
    assert all(node.url in message for node in down)
    paid = before - wal_balance(client)
    assert paid == client.registry.registration_cost(len(data), 2).total
    for node in down:
        node.start()
        node.wait_ready()
    retried = client.store(data, epochs=2)
    assert retried.status == "newlyCreated"
    assert retried.reused_registration and retried.token_id == failed.value.token_id
    assert retried.cost == 0
    assert before - wal_balance(client) == paid
    assert client.read(retried.blob_id) == data


def test_deleted_blob_reads_as_deleted(client: Client) -> None:
    data = os.urandom(3000)
    result = client.store(data, epochs=2, deletable=True)
    assert result.token_id is not None
    client.registry.delete_blob(result.token_id)
    with pytest.raises(BlobDeleted, match="deleted"):
        client.read(result.blob_id)


def test_unknown_blob_is_not_found(client: Client) -> None:
    unknown = BlobId(bytes(range(32)))
    with pytest.raises(BlobNotFound, match=str(unknown)):
        client.read(unknown)
    assert client.status(unknown).state == "nonexistent"


def test_bad_epochs_and_missing_wal_are_named(client: Client, network: Network) -> None:
    with pytest.raises(InvalidEpochs, match="between 1 and"):
        client.store(b"x", epochs=0)
    poor = Client(
        network.user.with_account(b"\x42" * 32),
        client.staking,
        client.registry,
        client.wal,
    )
    cost = client.registry.registration_cost(5, 1).total
    with pytest.raises(InsufficientWal, match=f"{cost} FROST missing"):
        poor.store(b"hello", epochs=1)


def test_delete_refunds_and_the_nodes_drop_the_data(client: Client, network: Network) -> None:
    data = os.urandom(4000)
    result = client.store(data, epochs=3, deletable=True)
    assert result.token_id is not None
    assert client.status(result.blob_id).nodes_with_metadata == len(network.nodes)
    before = wal_balance(client)
    refund = client.delete(result.token_id)
    assert refund > 0 and wal_balance(client) == before + refund
    assert result.token_id not in [info.token_id for info in client.list_blobs()]
    deadline = time.monotonic() + 20
    while client.status(result.blob_id).nodes_with_metadata and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.status(result.blob_id).nodes_with_metadata == 0
    with pytest.raises(BlobDeleted):
        client.read(result.blob_id)


def test_extend_share_list_and_attributes(client: Client, network: Network) -> None:
    result = client.store(os.urandom(2000), epochs=1, deletable=True)
    token = result.token_id
    assert token is not None
    listed = {info.token_id: info for info in client.list_blobs()}
    assert listed[token].is_certified and listed[token].blob_id == result.blob_id.raw

    before = wal_balance(client)
    cost = client.registry.extension_cost(token, 2)
    assert client.extend(token, 2) == result.end_epoch + 2
    assert before - wal_balance(client) == cost
    with pytest.raises(InvalidEpochs):
        client.extend(token, 0)

    client.set_attribute(token, "content-type", "text/plain")
    assert client.attribute(token, "content-type") == "text/plain"
    client.remove_attribute(token, "content-type")
    assert client.attribute(token, "content-type") is None

    friend = network.env.operators[0].address
    client.share(token, friend)
    assert token not in [info.token_id for info in client.list_blobs()]
    assert token in [info.token_id for info in client.list_blobs(friend)]


def test_info_and_health_describe_the_network(
    client: Client, network: Network, all_nodes_running: None
) -> None:
    facts = client.info()
    assert (facts["n_shards"], facts["f"], facts["quorum_shards"]) == (8, 2, 6)
    assert sorted(member["url"] for member in facts["committee"]) == sorted(
        node.url for node in network.nodes
    )
    assert all(answer["ok"] for answer in client.health())
    network.nodes[3].kill()
    answers = {answer["node_id"]: answer for answer in client.health()}
    assert not answers[network.nodes[3].node_id]["ok"]
    assert sum(answer["ok"] for answer in answers.values()) == 3


def test_64_mib_blob_round_trip(client: Client) -> None:
    data = os.urandom(64 << 20)
    result = client.store(data, epochs=1)
    assert client.read(result.blob_id) == data


STORE_FILE_AND_REPORT_PEAK = """
import json, os, sys
from pathlib import Path

from backend.chain.client import ChainClient
from backend.chain.compiler import compile_contracts
from backend.sdk.client import Client

def status_mib(field):
    lines = Path("/proc/self/status").read_text().splitlines()
    line = next(line for line in lines if line.startswith(field))
    return int(line.split()[1]) / 1024

rpc_url, key, staking, registry, path = sys.argv[1:]
artifacts = compile_contracts()
chain = ChainClient.connect(rpc_url, error_abis=artifacts.all_abis()).with_account(key)
client = Client.connect(chain, artifacts, staking, registry)
client.store(os.urandom(4096), epochs=1)  # threads, connections and the committee are warm
before = status_mib("VmRSS:")
Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
result = client.store(path, epochs=1)
store_peak = status_mib("VmHWM:")
read_before = status_mib("VmRSS:")
Path("/proc/self/clear_refs").write_text("5")
size = len(client.read(result.blob_id))
report = {"before": before, "peak": store_peak, "blob_id": str(result.blob_id)}
report |= {"read_before": read_before, "read_peak": status_mib("VmHWM:"), "read_size": size}
print(json.dumps(report))
"""


def test_storing_a_64_mib_file_and_reading_it_keep_the_client_under_3x_the_blob(
    client: Client,
    network: Network,
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    tmp_path: Path,
) -> None:
    """A store of a path reads the file into one buffer and spills the primary parity to
    an unlinked temporary file: peak RSS (VmHWM, in a process of its own) grows by the
    blob and its secondary parity (1.33x at n = 8), not by the whole encoding (3.3x at
    n = 8, plus the file's bytes). Reading it back peaks near 1x (slivers, then the result)."""
    size = 64 << 20
    blob = tmp_path / "blob.bin"
    data = os.urandom(size)
    blob.write_bytes(data)
    writer = fresh_client(chain, wal, client_for, b"sdk-rss-writer")
    assert writer.account is not None
    answer = subprocess.run(
        [
            sys.executable,
            "-c",
            STORE_FILE_AND_REPORT_PEAK,
            writer.rpc_url,
            bytes(writer.account.key).hex(),
            network.env.staking.address,
            network.env.registry.address,
            str(blob),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    report = json.loads(answer.stdout.strip().splitlines()[-1])
    extra_in_blob_sizes = (report["peak"] - report["before"]) / (size >> 20)
    print(f"store of a 64 MiB file: peak RSS {extra_in_blob_sizes:.2f}x the blob over {report}")
    assert extra_in_blob_sizes < 2.0, report
    # a read holds the p systematic slivers (the blob's bytes) and then the joined result
    read_extra = (report["read_peak"] - report["read_before"]) / (size >> 20)
    print(f"read of it: peak RSS {read_extra:.2f}x the blob")
    assert report["read_size"] == size
    # bimodal on the same code, run to run: 0.6-1.0x or 2.0-2.4x (cause not pinned down; a
    # read right after the store may meet nodes still receiving their slivers and decode
    # from others); the bound is 3x
    assert read_extra < 3.0, report
    assert client.read(report["blob_id"]) == data


def test_a_long_lived_client_stores_and_reads_across_an_epoch_change(
    client: Client, network: Network
) -> None:
    """The client caches each epoch's committee (as `walrus serve` does for hours): after
    the epoch changes it must certify for the new epoch, not the cached one."""
    old_data, new_data = os.urandom(5_000), os.urandom(6_000)
    before = client.store(old_data, epochs=3)
    assert client.read(before.blob_id) == old_data  # the old committee is cached now
    old_epoch = client.staking.current_epoch()
    network.env.next_epoch()
    after = client.store(new_data, epochs=1)
    assert after.status == "newlyCreated"
    assert after.end_epoch == old_epoch + 2
    assert after.token_id is not None
    assert client.registry.blob_info(after.token_id).is_certified
    assert client.read(after.blob_id) == new_data
    assert client.read(before.blob_id) == old_data


def test_expired_blob_is_reported_as_expired(client: Client, network: Network) -> None:
    """Last in the module: it moves the network to a later epoch."""
    result = client.store(os.urandom(1000), epochs=1)
    network.env.next_epoch()
    assert client.status(result.blob_id, ask_nodes=False).state == "expired"
    with pytest.raises(BlobExpired, match=f"expired at epoch {result.end_epoch}"):
        client.read(result.blob_id)


def test_publisher_without_gas_money_answers_503_naming_its_wallet(
    client: Client, network: Network, artifacts: Artifacts
) -> None:
    """The publisher's wallet holds WAL but no ETH: the operator's problem, not the
    uploader's (503, as a node outage), told by name with the wallet to fund."""
    from backend.api.app import create_app

    penniless = client.chain.with_account("0x" + "6c" * 32)
    funds = wal_balance(client) // 4  # plenty for a few bytes over one epoch
    client.chain.transact(client.wal.functions.transfer(penniless.address, funds))
    publisher = network_client(network, artifacts, chain=penniless)
    answer = create_app(publisher).test_client().put("/v1/blobs?epochs=1", data=b"no gas")
    assert answer.status_code == 503, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "InsufficientGasFunds"
    assert penniless.address in error["message"] and "0 ETH" in error["message"]
    assert wal_balance(publisher) == funds  # nothing paid


def test_publisher_refuses_a_body_over_its_limit_before_paying(client: Client) -> None:
    from backend.api.app import create_app
    from backend.api.publisher import MAX_BLOB_BYTES_KEY

    app = create_app(client)
    app.config[MAX_BLOB_BYTES_KEY] = 1_000
    balance = wal_balance(client)
    answer = app.test_client().put("/v1/blobs?epochs=1", data=b"x" * 1_001)
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "RequestEntityTooLarge"
    assert "at most 1000" in answer.get_json()["error"]["message"]
    assert wal_balance(client) == balance  # nothing registered, nothing paid
    fits = app.test_client().put("/v1/blobs?epochs=1", data=b"y" * 1_000)
    assert fits.status_code == 200, fits.get_json()
