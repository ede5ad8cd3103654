"""A real storage network for tests: fresh Staking + BlobRegistry on the session anvil,
N registered nodes with BLS keys and stake, epoch 1 started, and N `python -m nodes run`
processes on free ports of 127.0.0.1.

Each node is stopped by its own pid (SIGTERM, then SIGKILL after a timeout); `kill()`
sends SIGKILL at once, `start()` runs it again on the same port, config and data dir.
Use `start_network(...)` from a fixture and `network.stop()` at its end.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import deploy, devnet_config
from backend.chain.devnet import dev_accounts, free_port, start_anvil
from backend.chain.registry import BlobRegistered, aggregate_certificate
from backend.core import routes
from backend.core.bls import BlsSignature
from backend.core.encoder import EncodedBlob, encode_blob
from backend.core.pairs import shard_of_pair
from nodes.config import NodeConfig, write_secret
from tests.contracts.blob_registry_env import RegistryEnv, build_env, fresh_client
from tests.processes import kill_by_pid, spawn_logged, stop_by_pid, wait_answering

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_STAKE = 10**12
START_TIMEOUT = 60.0


class NodeFailedToStart(Exception):
    """The node process exited or did not answer /v1/health in time."""


@dataclass
class NodeProcess:
    index: int
    node_id: int
    config_path: Path
    data_dir: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> None:
        """Start the process (not waiting for it to serve; see `wait_ready`)."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"node {self.index} is already running (pid {self.pid})")
        self.process = spawn_logged(
            [sys.executable, "-m", "nodes", "run", "--config", str(self.config_path)],
            self.log_path,
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        if self.process is None:
            raise NodeFailedToStart(f"node {self.index} was never started")
        wait_answering(
            self.process,
            self.url + routes.HEALTH,
            self.log_path,
            timeout,
            name=f"node {self.index}",
            error=NodeFailedToStart,
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM this node's pid, SIGKILL after `timeout`; returns its exit code."""
        if self.process is None:
            return None
        stop_by_pid(self.process, timeout)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL this node's pid (no chance to clean up)."""
        kill_by_pid(self.process)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()


@dataclass
class Network:
    env: RegistryEnv
    user: ChainClient
    """A funded account that registers blobs."""
    nodes: list[NodeProcess] = field(default_factory=list)

    @property
    def n_shards(self) -> int:
        return self.env.staking.n_shards

    def node_by_id(self, node_id: int) -> NodeProcess:
        return next(node for node in self.nodes if node.node_id == node_id)

    def owner_of_shard(self, shard: int) -> NodeProcess:
        return self.node_by_id(self.env.staking.shard_assignment()[shard])

    def owner_of_pair(self, encoded: EncodedBlob, pair: int) -> NodeProcess:
        return self.owner_of_shard(shard_of_pair(encoded.blob_id, pair, self.n_shards))

    def register(
        self, data: bytes, *, epochs: int = 3, deletable: bool = False
    ) -> tuple[EncodedBlob, BlobRegistered]:
        """Encode `data` for this network and register it on chain from `user`."""
        encoded = encode_blob(data, self.n_shards)
        metadata = encoded.metadata
        self.env.approve(self.user, self.env.registry.registration_cost(len(data), epochs).total)
        registered = self.env.as_user(self.user).register_blob(
            encoded.blob_id.raw,
            metadata.metadata.root_hash(),
            len(data),
            metadata.encoding_type,
            epochs,
            deletable=deletable,
        )
        return encoded, registered

    def upload(self, encoded: EncodedBlob, nodes: Sequence[NodeProcess] | None = None) -> None:
        """PUT metadata to every node and each sliver pair to its shard's owner."""
        targets = self.nodes if nodes is None else nodes
        blob_id = encoded.blob_id
        for node in targets:
            response = requests.put(
                node.url + routes.metadata_path(blob_id), data=encoded.metadata.to_bytes()
            )
            assert response.status_code == 201, response.text
        for pair in range(self.n_shards):
            node = self.owner_of_pair(encoded, pair)
            if node not in targets:
                continue
            for sliver in encoded.sliver_pair(pair):
                response = requests.put(
                    node.url + routes.sliver_path(blob_id, pair, sliver.kind),
                    data=sliver.to_bytes(),
                )
                assert response.status_code == 201, response.text

    def confirmations(
        self,
        encoded: EncodedBlob,
        registered: BlobRegistered,
        nodes: Sequence[NodeProcess] | None = None,
    ) -> dict[int, BlsSignature]:
        """Storage confirmations of `nodes` (default: the current committee's), keyed by
        committee index."""
        committee = self.env.staking.committee().node_ids
        path = routes.confirmation_path(
            encoded.blob_id, deletable=registered.deletable, token_id=registered.token_id
        )
        signatures = {}
        members = [node for node in self.nodes if node.node_id in committee]
        for node in members if nodes is None else nodes:
            response = requests.get(node.url + path)
            assert response.status_code == 200, response.text
            raw = base64.b64decode(response.json()["signature"])
            signatures[committee.index(node.node_id)] = BlsSignature.from_eip2537(raw)
        return signatures

    def certify(
        self,
        encoded: EncodedBlob,
        registered: BlobRegistered,
        nodes: Sequence[NodeProcess] | None = None,
    ) -> None:
        """Certify on chain with the nodes' own confirmations (a quorum must be among them)."""
        signatures = self.confirmations(encoded, registered, nodes)
        certificate = aggregate_certificate(len(self.env.staking.committee().node_ids), signatures)
        self.env.registry.certify_blob(
            registered.token_id, certificate.signers, certificate.signature
        )

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def wait_until(
    condition: Callable[[], bool], timeout: float = 30.0, what: str = "", every: float = 0.2
) -> None:
    """Poll `condition` every `every` seconds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def start_network(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    directory: Path,
    *,
    n_nodes: int = 4,
    n_shards: int = 8,
) -> Network:
    """Deploy, register and stake `n_nodes` nodes, start epoch 1, run every node process."""
    operators = [
        fresh_client(chain, wal, client_for, b"node-operator" + bytes([i])) for i in range(n_nodes)
    ]
    start_block = chain.block_number() + 1
    env = build_env(chain, artifacts, wal, operators, [NODE_STAKE] * n_nodes, n_shards=n_shards)
    user = fresh_client(chain, wal, client_for, b"network-user")
    network = Network(env, user)
    for index, node_id in enumerate(env.node_ids):
        node_dir = directory / f"node-{index}"
        node_dir.mkdir(parents=True, exist_ok=True)
        bls_file = node_dir / "bls.key"
        operator_file = node_dir / "operator.key"
        write_secret(bls_file, env.keys[index].to_bytes())
        account = operators[index].account
        assert account is not None
        write_secret(operator_file, bytes(account.key).hex().encode())
        port = free_port()
        env.staking.as_account(operators[index]).set_node_metadata(
            node_id, f"node-{index}", f"http://127.0.0.1:{port}"
        )
        config = NodeConfig(
            node_id=node_id,
            rpc_url=chain.rpc_url,
            staking=env.staking.address,
            registry=env.registry.address,
            data_dir=str(node_dir / "data"),
            bls_key_file=str(bls_file),
            operator_key_file=str(operator_file),
            port=port,
            start_block=start_block,
        )
        config_path = node_dir / "config.json"
        config.save(config_path)
        network.nodes.append(
            NodeProcess(index, node_id, config_path, node_dir / "data", port, node_dir / "log")
        )
    try:
        for node in network.nodes:
            node.start()
        for node in network.nodes:
            node.wait_ready()
    except BaseException:
        network.stop()
        raise
    return network


@dataclass(frozen=True)
class StandaloneNetwork:
    network: Network
    artifacts: Artifacts
    directory: Path
    """Scratch directory holding the anvil log and the nodes' data (removed afterwards)."""


@contextmanager
def standalone_network(*, n_nodes: int, n_shards: int) -> Iterator[StandaloneNetwork]:
    """A network of its own for benchmarks: a fresh anvil, the full deployment and `n_nodes`
    node processes in a temporary directory, all stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="walrus-bench-") as raw:
        directory = Path(raw)
        devnet = start_anvil(log_path=directory / "anvil.log")
        network = None
        try:
            artifacts = compile_contracts()
            accounts = dev_accounts()
            chain = ChainClient.connect(
                devnet.url, accounts[0].key, error_abis=artifacts.all_abis()
            )
            deployment = deploy(chain, artifacts, devnet_config(accounts))
            wal = deployment.contract(chain, artifacts, "WAL")
            network = start_network(
                chain,
                artifacts,
                wal,
                chain.with_account,
                directory,
                n_nodes=n_nodes,
                n_shards=n_shards,
            )
            yield StandaloneNetwork(network, artifacts, directory)
        finally:
            if network is not None:
                network.stop()
            devnet.stop()
