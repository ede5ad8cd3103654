"""Quilts through the SDK on 4 real node processes (8 shards: p = 4, s = 6 columns)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.chain.compiler import Artifacts
from backend.core.pairs import pair_index_of_secondary, shard_of_pair
from backend.core.quilt import (
    DuplicateIdentifier,
    InvalidQuiltPatchId,
    PatchNotFound,
    QuiltFile,
    QuiltPatchId,
)
from backend.sdk.client import Client
from backend.sdk.errors import BlobNotFound
from backend.sdk.quilt import FileTooLarge, QuiltClient
from backend.sdk.quilt_batch import BatchIncomplete, Manifest, ingest, scan_directory
from tests.integration.network import Network, NodeProcess
from tests.integration.test_sdk_store_read import wal_balance
from tests.integration.user_client import user_client


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return user_client(network, artifacts)


@pytest.fixture(scope="module")
def quilts(client: Client) -> QuiltClient:
    return QuiltClient(client)


@pytest.fixture
def all_nodes_running(network: Network) -> Iterator[None]:
    yield
    for node in network.nodes:
        if node.process is None or node.process.poll() is not None:
            node.start()
            node.wait_ready()


def mixed_files(count: int, seed: int = 3) -> list[QuiltFile]:
    rng = random.Random(seed)
    return [
        QuiltFile(
            f"doc-{i:04d}.json",
            rng.randbytes(rng.choice([0, 10, 200, 1024, 3000])),
            {"group": f"g{i % 3}"},
        )
        for i in range(count)
    ]


def chain_transactions(client: Client) -> int:
    return int(client.chain.w3.eth.get_transaction_count(client.chain.address))


@pytest.mark.parametrize("count", [1, 2, 665, 666])
def test_round_trip_one_quilt(quilts: QuiltClient, client: Client, count: int) -> None:
    files = mixed_files(count, seed=count)
    sent_before = chain_transactions(client)
    result = quilts.store_files(files)
    assert len(result.quilts) == 1 and not result.standalone
    assert chain_transactions(client) - sent_before == 2  # one register, one certify
    stored = result.quilts[0]
    assert {p.identifier for p in stored.patches} == {f.identifier for f in files}
    by_name = {f.identifier: f for f in files}
    # every patch id of a small quilt, a sample of a large one
    sample = stored.patches if count <= 2 else random.Random(0).sample(stored.patches, 6)
    for patch in sample:
        read = quilts.read_patch(str(patch.patch_id))
        assert read.patch.data == by_name[patch.identifier].data
        assert read.patch.tags == {"group": by_name[patch.identifier].tags["group"]}
    listed = quilts.list_patches(stored.blob.blob_id)
    assert [e.identifier for e in listed] == sorted(by_name)


def test_667_files_split_into_two_quilts(quilts: QuiltClient) -> None:
    files = mixed_files(667, seed=667)
    result = quilts.store_files(files)
    assert [len(q.patches) for q in result.quilts] == [666, 1]
    last = result.quilts[1].patches[0]
    assert last.identifier == "doc-0666.json"
    assert quilts.read_patch(last.patch_id).patch.data == files[-1].data


def test_a_patch_read_fetches_only_its_columns(quilts: QuiltClient, client: Client) -> None:
    files = [QuiltFile(f"f{i:03d}", random.Random(i).randbytes(2000)) for i in range(300)]
    stored = quilts.store_files(files).quilts[0]
    quilt_size = stored.blob.size
    patch = stored.patches[150]
    fresh = QuiltClient(client)  # no cached metadata
    read = fresh.read_patch(patch.patch_id)
    assert read.patch.data == files[150].data
    assert 1 <= len(read.columns) <= 2
    # metadata + at most two of the s = 6 columns (each p x S bytes), not the quilt
    assert read.bytes_fetched < quilt_size / 2, (read.bytes_fetched, quilt_size)
    whole_blob = client.read(stored.blob.blob_id)
    assert len(whole_blob) == quilt_size


def test_lookup_by_identifier_and_tag(quilts: QuiltClient) -> None:
    files = mixed_files(12, seed=12)
    quilt_id = quilts.store_files(files).quilts[0].blob.blob_id
    read = quilts.read_by_identifier(quilt_id, "doc-0007.json")
    assert read.patch.data == files[7].data
    tagged = quilts.read_by_tag(quilt_id, "group", "g1")
    assert sorted(r.patch.identifier for r in tagged) == [
        f.identifier for f in files if f.tags["group"] == "g1"
    ]
    with pytest.raises(PatchNotFound, match="identifier 'missing'"):
        quilts.read_by_identifier(quilt_id, "missing")


def test_bad_input_stores_nothing(quilts: QuiltClient, client: Client) -> None:
    sent_before = chain_transactions(client)
    with pytest.raises(DuplicateIdentifier, match="'a' appears twice"):
        quilts.store_files([QuiltFile("a", b"1"), QuiltFile("b", b"2"), QuiltFile("a", b"3")])
    limit = client.n_shards  # any n: the limit is p * s * 2^26 bytes
    with pytest.raises(FileTooLarge, match="largest blob"):
        quilts.check_storable("huge.bin", 10**12 * limit)
    assert chain_transactions(client) == sent_before
    with pytest.raises(InvalidQuiltPatchId, match="66 characters"):
        quilts.read_patch("not-a-patch-id")
    unknown = QuiltPatchId(client.blob_id(b"never stored"), 0, 10)
    with pytest.raises(BlobNotFound):
        quilts.read_patch(unknown)


def test_a_file_larger_than_a_quilt_is_stored_as_its_own_blob(client: Client) -> None:
    small_quilts = QuiltClient(client, max_quilt_bytes=4096)
    big = QuiltFile("big.bin", random.Random(5).randbytes(10_000))
    result = small_quilts.store_files([QuiltFile("small.txt", b"hello"), big])
    assert [p.identifier for q in result.quilts for p in q.patches] == ["small.txt"]
    assert [s.identifier for s in result.standalone] == ["big.bin"]
    assert client.read(result.standalone[0].blob.blob_id) == big.data


def write_files(root: Path, count: int) -> None:
    rng = random.Random(count)
    for i in range(count):
        sub = root / f"d{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"cred-{i:05d}.json").write_bytes(rng.randbytes(rng.randint(50, 900)))


@pytest.mark.usefixtures("all_nodes_running")
def test_interrupted_batch_resumes_without_paying_twice(
    client: Client, network: Network, tmp_path: Path
) -> None:
    """Three quilts; after the first is certified two of four nodes die (only 4 of the 6
    shards a certificate needs stay up), so the second quilt is registered and paid but not
    certified. Once the nodes are back the same batch resumes: the first quilt is skipped,
    the second reuses its paid registration, the third is paid once."""
    root = tmp_path / "creds"
    write_files(root, 30)
    files = scan_directory(root)
    quilts = QuiltClient(client, max_quilt_bytes=6000)  # ~10 files per quilt
    manifest = tmp_path / "manifest.jsonl"
    balance_before = wal_balance(client)
    killed: list[NodeProcess] = []

    def kill_after_first_quilt(done: int, total: int) -> None:
        if 0 < done < total and not killed:
            for node in network.nodes[:2]:
                node.kill()
                killed.append(node)

    with pytest.raises(BatchIncomplete, match="run the same batch again"):
        ingest(quilts, files, manifest, concurrency=1, progress=kill_after_first_quilt)
    records = Manifest(manifest).load()
    assert sorted(r["status"] for r in records.values()) == ["certified", "registered"]
    for node in killed:
        node.start()
    for node in killed:
        node.wait_ready()

    result = ingest(quilts, scan_directory(root), manifest, concurrency=2)
    assert len({r["key"] for r in result.quilts}) == 3
    skipped = [r for r in result.quilts if not r["new"]]
    reused = [r for r in result.quilts if r["new"] and r["reused_registration"]]
    paid = [r for r in result.quilts if r["new"] and not r["reused_registration"]]
    assert (len(skipped), len(reused), len(paid)) == (1, 1, 1)
    assert reused[0]["cost"] == 0
    assert result.skipped_files == skipped[0]["files"]
    # each quilt paid exactly once: the balance fell by the three registration costs
    costs = [
        client.registry.registration_cost(client.registry.blob_info(r["token_id"]).size, 1).total
        for r in result.quilts
    ]
    assert balance_before - wal_balance(client) == sum(costs)
    for record in result.quilts:
        blob_id = record["blob_id"]
        assert client.status(blob_id, ask_nodes=False).state == "certified"
        assert client.status(blob_id, ask_nodes=False).registrations == 1
    # a third run has nothing left to do
    again = ingest(quilts, scan_directory(root), manifest)
    assert again.skipped_files == 30 and again.cost == 0


@pytest.mark.usefixtures("all_nodes_running")
def test_a_patch_whose_column_node_is_down_is_read_from_the_whole_blob(
    quilts: QuiltClient, client: Client, network: Network
) -> None:
    files = [QuiltFile(f"p{i:02d}", random.Random(100 + i).randbytes(900)) for i in range(20)]
    stored = quilts.store_files(files).quilts[0]
    patch = stored.patches[10]
    fresh = QuiltClient(client)
    columns = fresh.read_patch(patch.patch_id).columns
    n = client.n_shards
    blob_id = stored.blob.blob_id
    holder = network.owner_of_shard(
        shard_of_pair(blob_id, pair_index_of_secondary(columns[0], n), n)
    )
    holder.kill()
    read = QuiltClient(client).read_patch(patch.patch_id)
    assert read.patch.data == files[10].data
    assert read.columns == []  # fell back to p primaries from the nodes still up
