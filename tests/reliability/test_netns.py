"""Separate hosts: the chain, 4 storage nodes, the backend and the client each in its own
Linux network namespace on a private /24 (tests/reliability/netns.py), configured by
addresses only, as docs/deploy.md describes for real hosts.

anvil runs in ``chain``; the contracts are deployed and the nodes registered from ``client``
(this test's thread enters that namespace) with URLs of their own hosts; each node runs in
its namespace with ``"host"`` set to its address, `walrus serve` in ``backend``. Then a
store and read through the backend, byte-identical; then rounds in which one node host (f =
2 of 8 shards) is cut off (``ip link set down`` of its bridge port) during a store:
the store must still certify and the read, still partitioned, return the same bytes; the
link comes back and the blob reads again. Every namespace (and so every veth) the test
created is deleted in a finally block.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from eth_account import Account

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import FROST_PER_WAL, deploy, devnet_config, save_deployment
from backend.chain.devnet import (
    ANVIL_BINARY,
    DEV_BALANCE_ETH,
    DEV_CHAIN_ID,
    DEV_MNEMONIC,
    HARDFORK,
    dev_accounts,
    rpc_chain_id,
)
from backend.chain.staking import StakingContract, StakingParameters
from backend.core import routes
from backend.core.bls import BlsSecretKey
from nodes.config import NodeConfig, write_secret
from scripts.up import deploy_steps
from tests.integration.network import REPO_ROOT
from tests.reliability.netns import NetnsLab, unavailable_reason
from tests.reliability.scenarios import ScenarioLog

NODES = 4
SHARDS = 8
NODE_PORT = 9100
RPC_PORT = 8545
BACKEND_PORT = 8080
PARTITION_ROUNDS = 3
BLOB_BYTES = 4 * 1024 * 1024
CATEGORY = "Separate hosts (network namespaces)"
HOSTS = ["chain", *(f"node{i}" for i in range(NODES)), "backend", "client"]

UNAVAILABLE = unavailable_reason()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))


class Hosts:
    """The lab's processes, each stopped by its own pid."""

    def __init__(self, lab: NetnsLab, directory: Path) -> None:
        self.lab = lab
        self.directory = directory
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, host: str, command: list[str]) -> subprocess.Popen[bytes]:
        with (self.directory / f"{host}.log").open("ab") as log:
            process = self.lab.run(host, command, log, cwd=REPO_ROOT)
        self.processes[host] = process
        return process

    def log_tail(self, host: str) -> str:
        path = self.directory / f"{host}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)


def wait_for(what: str, ready: Callable[[], bool], hosts: Hosts, host: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process = hosts.processes.get(host)
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{host} exited: {hosts.log_tail(host)}")
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{what} not ready after {timeout}s: {hosts.log_tail(host)}")


def answers(url: str) -> bool:
    return requests.get(url, timeout=2).ok


def register_node(
    chain: ChainClient,
    artifacts: Artifacts,
    staking: StakingContract,
    index: int,
    url: str,
    directory: Path,
) -> tuple[int, Path]:
    """Keys, stake and registration of one node with the URL of its own host; its key files
    (0600) in `directory`. Returns its node id and the key file paths' directory."""
    operator_key = bytes(Account.create().key)
    bls_key = BlsSecretKey.generate()
    write_secret(directory / "operator.key", operator_key.hex().encode())
    write_secret(directory / "bls.key", bls_key.to_bytes())
    operator = chain.with_account(operator_key)
    wal = chain.contract(chain.call(staking.contract.functions.wal()), artifacts.abi("WAL"))
    stake = 100_000 * FROST_PER_WAL
    chain.send_value(operator.address, 10**19)
    chain.transact(wal.functions.transfer(operator.address, stake))
    as_operator = staking.as_account(operator)
    node_id = as_operator.register_node(f"node-{index}", url, bls_key, capacity=2**40)
    operator.transact(wal.functions.approve(staking.address, stake))
    as_operator.stake(node_id, stake)
    return node_id, directory


def put_blob(backend_url: str, data: bytes) -> dict[str, object]:
    response = requests.put(f"{backend_url}/v1/blobs", params={"epochs": 2}, data=data, timeout=120)
    assert response.ok, f"store failed: {response.status_code} {response.text[:500]}"
    body: dict[str, object] = response.json()
    return body


def blob_id_of(body: dict[str, object]) -> str:
    created = body["newlyCreated"]
    assert isinstance(created, dict)
    return str(created["blobObject"]["blobId"])


def read_blob(backend_url: str, blob_id: str) -> bytes:
    response = requests.get(f"{backend_url}/v1/blobs/{blob_id}", timeout=120)
    assert response.ok, f"read failed: {response.status_code} {response.text[:500]}"
    return response.content


def store_with_cut(
    lab: NetnsLab, host: str, backend_url: str, data: bytes, delay: float
) -> tuple[float | None, bytes]:
    """PUT `data`, cut `host` off `delay` s after it started, read it back while cut off,
    restore the link, read again. (None, b"") if the store had ended before the cut; else
    (store seconds, the bytes read while cut off)."""
    outcome: dict[str, object] = {}

    def store() -> None:
        try:
            outcome["body"] = put_blob(backend_url, data)
        except BaseException as error:  # reported below
            outcome["error"] = error

    writer = threading.Thread(target=store)
    started = time.monotonic()
    writer.start()
    time.sleep(delay)
    lab.partition(host)
    try:
        if not writer.is_alive():
            return None, b""
        writer.join(180)
        seconds = time.monotonic() - started
        assert not writer.is_alive(), "store still running after 180 s"
        cut_off_url = f"http://{lab.addresses[host]}:{NODE_PORT}{routes.HEALTH}"
        with pytest.raises(requests.RequestException):
            requests.get(cut_off_url, timeout=1.5)
        body = outcome.get("body")
        assert isinstance(body, dict), f"store with {host} cut off failed: {outcome}"
        stored_id = blob_id_of(body)
        read_back = read_blob(backend_url, stored_id)
    finally:
        lab.heal(host)
    assert read_blob(backend_url, stored_id) == data
    return seconds, read_back


def test_separate_hosts_store_read_and_partition(tmp_path: Path, scenarios: ScenarioLog) -> None:
    lab = NetnsLab(HOSTS)
    hosts = Hosts(lab, tmp_path)
    store_read = scenarios.scenario(CATEGORY, "store + read across 7 namespaces (byte-identical)")
    partitioned = scenarios.scenario(
        CATEGORY, "f=1 of 4 node hosts cut off (ip link set down) during a 4 MiB store"
    )
    try:
        lab.create()
        for host in HOSTS:  # only the lab's /24, no default route out of any host
            assert lab.routes(host).split() == [
                f"{lab.subnet}.0/24",
                "dev",
                "eth0",
                "proto",
                "kernel",
                "scope",
                "link",
                "src",
                lab.addresses[host],
            ], lab.routes(host)
        # and the root namespace (this thread, for now) has no address in it
        root = ["ip", "-o", "addr", "show", "to", f"{lab.subnet}.0/24"]
        assert subprocess.run(root, capture_output=True, text=True).stdout == ""
        rpc_url = f"http://{lab.addresses['chain']}:{RPC_PORT}"
        backend_url = f"http://{lab.addresses['backend']}:{BACKEND_PORT}"
        hosts.start(
            "chain",
            [
                str(ANVIL_BINARY),
                "--host",
                lab.addresses["chain"],
                "--port",
                str(RPC_PORT),
                "--chain-id",
                str(DEV_CHAIN_ID),
                "--hardfork",
                HARDFORK,
                "--balance",
                str(DEV_BALANCE_ETH),
                "--mnemonic",
                DEV_MNEMONIC,
            ],
        )
        with lab.enter("client"):
            wait_for("anvil", lambda: rpc_chain_id(rpc_url) is not None, hosts, "chain", 30)
            accounts = dev_accounts()
            artifacts = compile_contracts()
            chain = ChainClient.connect(rpc_url, accounts[0].key, error_abis=artifacts.all_abis())
            parameters = StakingParameters(
                n_shards=SHARDS, epoch_duration=3600, max_committee_size=SHARDS
            )
            deployment = deploy(
                chain, artifacts, devnet_config(accounts), steps=deploy_steps(parameters)
            )
            deployment_file = save_deployment(deployment, tmp_path / "deployments")
            staking = StakingContract.at(
                chain, deployment.address("Staking"), artifacts.abi("Staking")
            )
            for index in range(NODES):
                host = f"node{index}"
                node_dir = tmp_path / host
                node_dir.mkdir()
                url = f"http://{lab.addresses[host]}:{NODE_PORT}"
                node_id, _ = register_node(chain, artifacts, staking, index, url, node_dir)
                NodeConfig(
                    node_id=node_id,
                    rpc_url=rpc_url,
                    staking=deployment.address("Staking"),
                    registry=deployment.address("BlobRegistry"),
                    data_dir=str(node_dir / "data"),
                    bls_key_file=str(node_dir / "bls.key"),
                    operator_key_file=str(node_dir / "operator.key"),
                    host=lab.addresses[host],
                    port=NODE_PORT,
                    start_block=deployment.deploy_block,
                ).save(node_dir / "config.json")
            staking.initiate_epoch_change()
            for index in range(NODES):
                config = str(tmp_path / f"node{index}" / "config.json")
                hosts.start(
                    f"node{index}", [sys.executable, "-m", "nodes", "run", "--config", config]
                )
            for index in range(NODES):
                host = f"node{index}"
                health = f"http://{lab.addresses[host]}:{NODE_PORT}{routes.HEALTH}"
                wait_for(host, lambda: answers(health), hosts, host, 90)  # noqa: B023
            publisher_key = tmp_path / "publisher.key"
            write_secret(publisher_key, bytes(accounts[8].key).hex().encode())
            serve = [sys.executable, "-m", "backend.cli.main", "serve"]
            serve += ["--host", lab.addresses["backend"], "--port", str(BACKEND_PORT)]
            serve += ["--rpc-url", rpc_url, "--deployment", str(deployment_file)]
            serve += ["--private-key-file", str(publisher_key)]
            serve += ["--data-dir", str(tmp_path / "backend-data"), "--node-timeout", "3"]
            hosts.start("backend", serve)
            wait_for("walrus serve", lambda: answers(f"{backend_url}/v1/api"), hosts, "backend", 90)

            data = random.randbytes(BLOB_BYTES)
            started = time.monotonic()
            blob_id = blob_id_of(put_blob(backend_url, data))
            reference_seconds = time.monotonic() - started
            same = read_blob(backend_url, blob_id) == data
            store_read.run(failed=not same, lost=0 if same else 1)
            assert same

            rng = random.Random()
            store_seconds: list[float] = []
            for victim in rng.sample(range(NODES), PARTITION_ROUNDS):
                host = f"node{victim}"
                # 10-60 % into the time the store took with every host reachable; a cut that
                # came after the store ended proves nothing: again, sooner (at last at 0 s)
                delays = [rng.uniform(0.1, 0.6) * reference_seconds / 2**i for i in range(4)]
                for delay in [*delays, 0.0]:
                    data = rng.randbytes(BLOB_BYTES)  # new content: a retry is a new store
                    seconds, read_back = store_with_cut(lab, host, backend_url, data, delay)
                    if seconds is not None:
                        break
                assert seconds is not None, "every store finished before its cut"
                store_seconds.append(seconds)
                partitioned.run(failed=read_back != data)
                assert read_back == data
            slowest = max(store_seconds)
            partitioned.note = (
                f"cut 0-60 % into the store's unpartitioned time ({reference_seconds:.2f} s); "
                f"certified (slowest {slowest:.1f} s, node timeout 3 s) and read while cut "
                "off, read again after the link is up"
            )
    finally:
        hosts.stop_all()
        left = lab.cleanup()
        assert not left, f"namespaces left behind: {left}"
        existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert lab.prefix not in existing
