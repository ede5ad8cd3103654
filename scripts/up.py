"""`make up`: start the local network, print where everything is, stop it all on Ctrl-C.

The network: anvil, the contracts (Staking with ``--shards`` shards and ``--epoch-seconds``
epochs), ``--nodes`` storage node processes (each with its own data dir, BLS and operator
keys, registered and staked with its real URL), epoch 1 started, an epoch keeper that
starts the next epoch whenever the current one is over, and the publisher + aggregator
backend (`walrus serve`) on ``--backend-port``.

A small process supervisor: every service started is registered as a :class:`Child`
(name, pid, liveness check, stop action); on Ctrl-C, SIGTERM, or when any child dies, all
children are stopped in reverse start order, each by its own pid. To add a service, start
it with :func:`start_service` (a command, a log file and an HTTP URL that answers when it
is ready) after the services it needs; see docs/devnet.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

import requests
from eth_account import Account
from eth_typing import ChecksumAddress

from backend.chain.challenges import StorageChallengesContract
from backend.chain.client import ChainClient
from backend.chain.compiler import REPO_ROOT, Artifacts, compile_contracts
from backend.chain.deployment import (
    DEPLOYMENTS_DIR,
    FROST_PER_WAL,
    STEPS,
    DeployContext,
    DeployStep,
    deploy,
    deployment_path,
    devnet_config,
    save_deployment,
)
from backend.chain.devnet import (
    DEFAULT_PORT,
    DEFAULT_STATE_FILE,
    clear_state,
    dev_accounts,
    free_port,
    pid_alive,
    port_in_use,
    read_state,
    rpc_chain_id,
    start_anvil,
    write_state,
)
from backend.chain.errors import ChainError
from backend.chain.keyserver_registry import KeyServerRegistryContract
from backend.chain.seal_trust import SealTrust
from backend.chain.staking import StakingContract, StakingParameters
from backend.core import routes
from backend.core.bls import BlsSecretKey
from backend.core.errors import CoreError
from backend.core.params import EncodingParams
from backend.core.routes import KEYSERVER_INFO
from backend.core.seal.envelope import X25519KeyPair
from backend.sdk.epoch_keeper import EpochKeeper
from nodes.config import NodeConfig, write_secret

DEFAULT_NODES = 10
DEFAULT_SHARDS = 20
DEFAULT_EPOCH_SECONDS = 300
DEFAULT_BACKEND_PORT = 8080
KEY_SERVERS = 3
KEY_SERVER_THRESHOLD = 2
KEY_SERVER_BASE_PORT = 8300
NODE_STAKE_WAL = 100_000
NODE_CAPACITY_BYTES = 2**40
NODE_GAS_WEI = 10**19
READY_TIMEOUT = 90.0
PUBLISHER_ACCOUNT = 8
"""Dev account paying for `PUT /v1/blobs` (its own nonces: the CLI user is account 0)."""
KEEPER_ACCOUNT = 9
"""Dev account sending `initiateEpochChange`."""


@dataclass
class Child:
    name: str
    pid: int
    alive: Callable[[], bool]
    stop: Callable[[], None]
    restart: str = ""
    """For a child the network runs on without (a storage node): how to start it again."""


class Supervisor:
    """Children started in order, stopped in reverse order exactly once."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self._stopping = False

    def add(self, child: Child) -> None:
        self.children.append(child)

    def first_dead(self, known: Collection[int] = ()) -> Child | None:
        """The first child that has exited, other than those whose pid is in `known`."""
        return next(
            (child for child in self.children if child.pid not in known and not child.alive()),
            None,
        )

    def stop_all(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for child in reversed(self.children):
            try:
                child.stop()
                say(f"stopped {child.name} (pid {child.pid})")
            except Exception as error:  # keep stopping the others
                say(f"could not stop {child.name} (pid {child.pid}): {error}")


class Shutdown(Exception):
    """Raised from the signal handler to leave the wait loop."""


class ServiceFailed(Exception):
    """A service exited or did not answer in time while the network was starting."""


def say(message: str) -> None:
    print(f"up: {message}", flush=True)


def _raise_shutdown(signum: int, _frame: FrameType | None) -> None:
    raise Shutdown(signal.Signals(signum).name)


# ---------------------------------------------------------------- processes


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM this process by its pid, SIGKILL after `timeout`."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout)


def spawn(
    supervisor: Supervisor, name: str, command: Sequence[str], log_path: Path, restart: str = ""
) -> Child:
    """Start `command` (output to `log_path`) in its own session, so a terminal's Ctrl-C
    reaches only the supervisor, which then stops it in order; register it as a child.
    `restart`: the network runs on without this child if it exits (how to start it again)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    child = Child(
        name, process.pid, lambda: process.poll() is None, lambda: stop_process(process), restart
    )
    supervisor.add(child)
    return child


def wait_serving(child: Child, url: str, log_path: Path, timeout: float = READY_TIMEOUT) -> None:
    """Wait until `url` answers 2xx; ServiceFailed if the child exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise ServiceFailed(f"{child.name} exited at start: {_last_line(log_path)}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise ServiceFailed(f"{child.name} did not answer {url} within {timeout:.0f}s")


def start_service(
    supervisor: Supervisor, name: str, command: Sequence[str], log_path: Path, ready_url: str
) -> Child:
    """Spawn a service and wait until `ready_url` answers (the way to add one to make up)."""
    child = spawn(supervisor, name, command, log_path)
    wait_serving(child, ready_url, log_path)
    return child


def _last_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def port_or_free(port: int, what: str) -> int:
    if not port_in_use(port):
        return port
    chosen = free_port()
    say(f"port {port} ({what}) is taken; using {chosen} instead")
    return chosen


# ---------------------------------------------------------------- network setup


@dataclass(frozen=True)
class StorageNode:
    index: int
    node_id: int
    url: str
    config_path: Path
    log_path: Path


def deploy_steps(parameters: StakingParameters) -> list[tuple[str, DeployStep]]:
    """The standard STEPS, with Staking deployed with `parameters` (shards, epoch length)."""

    def staking_step(context: DeployContext) -> ChecksumAddress:
        owner = context.client.address
        return context.deploy(
            "Staking", *parameters.constructor_args(context.deployed["WAL"], owner)
        )

    return [(name, staking_step if name == "Staking" else step) for name, step in STEPS]


def set_up_node(
    chain: ChainClient,
    artifacts: Artifacts,
    staking: StakingContract,
    registry_address: str,
    challenges_address: str,
    directory: Path,
    index: int,
    port: int,
    start_block: int,
) -> StorageNode:
    """Keys, config and data dir of one node (what `walrus node init` writes), then register
    it with its real URL and stake (what `walrus node register` does); `chain` pays the
    operator's gas and stake."""
    operator_key = bytes(Account.create().key)
    bls_key = BlsSecretKey.generate()
    node_dir = directory / f"node-{index}"
    write_secret(node_dir / "operator.key", operator_key.hex().encode())
    write_secret(node_dir / "bls.key", bls_key.to_bytes())
    operator = chain.with_account(operator_key)
    wal = chain.contract(chain.call(staking.contract.functions.wal()), artifacts.abi("WAL"))
    stake = NODE_STAKE_WAL * FROST_PER_WAL
    chain.send_value(operator.address, NODE_GAS_WEI)
    chain.transact(wal.functions.transfer(operator.address, stake))
    url = f"http://127.0.0.1:{port}"
    as_operator = staking.as_account(operator)
    node_id = as_operator.register_node(f"node-{index}", url, bls_key, capacity=NODE_CAPACITY_BYTES)
    operator.transact(wal.functions.approve(staking.address, stake))
    as_operator.stake(node_id, stake)
    config_path = node_dir / "config.json"
    NodeConfig(
        node_id=node_id,
        rpc_url=chain.rpc_url,
        staking=staking.address,
        registry=registry_address,
        challenges=challenges_address,
        data_dir=str(node_dir / "data"),
        bls_key_file=str(node_dir / "bls.key"),
        operator_key_file=str(node_dir / "operator.key"),
        port=port,
        start_block=start_block,
    ).save(config_path)
    return StorageNode(index, node_id, url, config_path, node_dir / "node.log")


def fresh_network_dir(directory: Path) -> Path:
    """An empty `directory` for node data: a previous `make up`'s is removed (its chain is
    gone, so its data is stale); any other non-empty directory is refused."""
    marker = directory / ".made-by-make-up"
    if directory.exists() and any(directory.iterdir()):
        if not marker.exists():
            raise ServiceFailed(f"{directory} is not empty and was not made by make up")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return directory


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make up", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="anvil port (default 8545)")
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE)
    parser.add_argument("--deployments-dir", type=Path, default=DEPLOYMENTS_DIR)
    parser.add_argument(
        "--nodes", type=int, default=DEFAULT_NODES, help="storage nodes (default 10)"
    )
    parser.add_argument(
        "--shards", type=int, default=DEFAULT_SHARDS, help="shards, at least --nodes (default 20)"
    )
    parser.add_argument(
        "--epoch-seconds",
        type=int,
        default=DEFAULT_EPOCH_SECONDS,
        help="epoch length; the keeper starts the next epoch when one is over (default 300)",
    )
    parser.add_argument(
        "--backend-port", type=int, default=DEFAULT_BACKEND_PORT, help="walrus serve (default 8080)"
    )
    parser.add_argument(
        "--node-base-port", type=int, default=9100, help="node i listens on this + i (default 9100)"
    )
    parser.add_argument(
        "--network-dir", type=Path, help="node data and keys (default: next to the state file)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.nodes <= args.shards:
        parser.error(f"--nodes must be between 1 and --shards ({args.shards}), got {args.nodes}")
    try:
        EncodingParams(args.shards)
    except CoreError as error:
        parser.error(f"--shards {args.shards}: {error}")
    for name in ("port", "backend_port", "node_base_port"):
        if not 1 <= getattr(args, name) <= 65535 - args.nodes:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} must be a TCP port, got {getattr(args, name)}")
    if args.epoch_seconds < 1:
        parser.error(f"--epoch-seconds must be at least 1, got {args.epoch_seconds}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _raise_shutdown)
    signal.signal(signal.SIGINT, _raise_shutdown)
    supervisor = Supervisor()
    try:
        recorded = read_state(args.state_file)
        if recorded and pid_alive(recorded.pid) and rpc_chain_id(recorded.url) is not None:
            say(
                f"a devnet is already running at {recorded.url} (pid {recorded.pid}); "
                "stop it with `walrus devnet down` first"
            )
            return 1
        port = port_or_free(args.port, "anvil")
        network_dir = fresh_network_dir(args.network_dir or args.state_file.parent / "network")
        say("compiling contracts (cached in contracts/out)")
        artifacts = compile_contracts()
        say(f"starting anvil on 127.0.0.1:{port}")
        devnet = start_anvil(port, log_path=args.state_file.parent / f"anvil-{port}.log")
        supervisor.add(Child("anvil", devnet.pid, devnet.is_running, devnet.stop))
        write_state(devnet.info, args.state_file)
        accounts = dev_accounts()
        client = ChainClient.connect(devnet.url, accounts[0].key, error_abis=artifacts.all_abis())
        parameters = StakingParameters(
            n_shards=args.shards,
            epoch_duration=args.epoch_seconds,
            max_committee_size=args.shards,
        )
        deployment = deploy(
            client, artifacts, devnet_config(accounts), steps=deploy_steps(parameters)
        )
        save_deployment(deployment, args.deployments_dir)
        deployment_file = deployment_path(deployment.chain_id, args.deployments_dir)
        staking = StakingContract.at(
            client, deployment.address("Staking"), artifacts.abi("Staking")
        )
        say(f"registering and staking {args.nodes} storage nodes")
        nodes = [
            set_up_node(
                client,
                artifacts,
                staking,
                deployment.address("BlobRegistry"),
                deployment.address("StorageChallenges"),
                network_dir,
                index,
                port_or_free(args.node_base_port + index, f"node {index}"),
                deployment.deploy_block,
            )
            for index in range(args.nodes)
        ]
        keeper_chain = client.with_account(accounts[KEEPER_ACCOUNT].key)
        committee = staking.as_account(keeper_chain).initiate_epoch_change()
        say(f"epoch 1 started: {len(committee.node_ids)} nodes hold {args.shards} shards")
        started = [
            spawn(
                supervisor,
                f"node-{node.index}",
                [sys.executable, "-m", "nodes", "run", "--config", str(node.config_path)],
                node.log_path,
                restart=f"walrus node run --config {node.config_path}",
            )
            for node in nodes
        ]
        for child, node in zip(started, nodes, strict=True):
            wait_serving(child, node.url + routes.HEALTH, node.log_path)
        challenges = StorageChallengesContract.at(
            keeper_chain,
            deployment.address("StorageChallenges"),
            artifacts.abi("StorageChallenges"),
        )
        keeper = EpochKeeper(staking.as_account(keeper_chain), challenges, say)
        keeper.start()
        supervisor.add(Child("epoch keeper thread", os.getpid(), keeper.alive, keeper.stop))
        publisher_key = network_dir / "publisher.key"
        write_secret(publisher_key, bytes(accounts[PUBLISHER_ACCOUNT].key).hex().encode())
        backend_port = port_or_free(args.backend_port, "backend")
        backend_url = f"http://127.0.0.1:{backend_port}"
        serve = [sys.executable, "-m", "backend.cli.main", "serve", "--port", str(backend_port)]
        serve += ["--rpc-url", devnet.url, "--deployment", str(deployment_file)]
        serve += ["--private-key-file", str(publisher_key)]
        start_service(
            supervisor, "backend", serve, network_dir / "backend.log", backend_url + "/v1/api"
        )
        # Seal key servers, 2-of-3 (docs/seal.md), registered on chain by dev account 0
        # (clients take URL + public key from the KeyServerRegistry) and recorded in the
        # deployment file as the ones clients trust (the registry is open to anyone); each
        # checks its entry holds its key before serving (--key-server-id)
        key_registry = KeyServerRegistryContract.at(
            client, deployment.address("KeyServerRegistry"), artifacts
        )
        key_server_urls, key_server_ids, key_servers = [], [], []
        key_files, key_ports = [], []
        for index in range(KEY_SERVERS):
            key_files.append(network_dir / f"keyserver-{index}.key")
            key_pair = X25519KeyPair.generate()
            write_secret(key_files[-1], key_pair.private_key.hex().encode())
            key_ports.append(port_or_free(KEY_SERVER_BASE_PORT + index, f"key server {index}"))
            key_server_urls.append(f"http://127.0.0.1:{key_ports[-1]}")
            key_server_ids.append(
                key_registry.register(f"devnet-{index}", key_server_urls[-1], key_pair.public_key)
            )
        deployment = replace(
            deployment, seal=SealTrust(tuple(key_server_ids), KEY_SERVER_THRESHOLD)
        )
        save_deployment(deployment, args.deployments_dir)
        for index, (entry, key_file, key_port) in enumerate(
            zip(key_server_ids, key_files, key_ports, strict=True)
        ):
            command = [sys.executable, "-m", "backend.cli.main", "keyserver", "run"]
            command += ["--key-file", str(key_file)]
            command += ["--rpc-url", devnet.url, "--port", str(key_port)]
            command += ["--key-server-id", str(entry), "--deployment", str(deployment_file)]
            log = network_dir / f"keyserver-{index}.log"
            key_servers.append((spawn(supervisor, f"keyserver-{index}", command, log), log))
        for (child, log), key_url in zip(key_servers, key_server_urls, strict=True):
            wait_serving(child, key_url + KEYSERVER_INFO, log)
        say(
            f"Seal key servers ({KEY_SERVER_THRESHOLD}-of-{KEY_SERVERS}, registry ids "
            f"{', '.join(map(str, key_server_ids))}, trusted in {deployment_file.name}): "
            + ", ".join(key_server_urls)
        )
        for child in supervisor.children:
            if child.pid != os.getpid():
                say(f"started {child.name} (pid {child.pid})")
        write_process_file(supervisor, process_file(args.state_file))
        wal = deployment.contract(client, artifacts, "WAL")
        print_summary(
            devnet.url,
            deployment.contracts,
            deployment_file,
            [(a.address, a.key.hex(), wal.functions.balanceOf(a.address).call()) for a in accounts],
        )
        print_network(
            nodes,
            committee.node_ids,
            committee.shard_counts,
            backend_url,
            network_dir,
            args.epoch_seconds,
            extra_env=_cli_environment(devnet.url, port, deployment_file, args.deployments_dir),
        )
        say("ready; Ctrl-C stops everything")
        gone: set[int] = set()  # storage nodes that exited: the network runs on without them
        while True:
            dead = supervisor.first_dead(gone)
            if dead is not None and dead.restart:
                gone.add(dead.pid)
                say(
                    f"{dead.name} (pid {dead.pid}) exited; the network runs on without it "
                    "(a store needs the nodes of more than 2/3 of the shards, a read 1/3); "
                    f"start it again with `{dead.restart}` (this supervisor will not stop it)"
                )
            elif dead is not None:
                say(f"{dead.name} (pid {dead.pid}) exited unexpectedly; stopping the rest")
                return 1
            time.sleep(0.5)
    except Shutdown as signal_name:
        say(f"{signal_name} received, stopping")
        return 0
    except (ChainError, ServiceFailed) as error:
        say(f"error: {error}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
        process_file(args.state_file).unlink(missing_ok=True)
        if supervisor.children:
            clear_state(args.state_file)


def process_file(state_file: Path) -> Path:
    """Where the running network's processes are listed (next to the devnet state file)."""
    return state_file.parent / "processes.json"


def write_process_file(supervisor: Supervisor, path: Path) -> None:
    """``[{"name", "pid"}]`` of every process of the network, this supervisor included (as
    "up": it runs the epoch keeper), so tools such as bench/load.py can sample them by pid."""
    rows = [{"name": "up", "pid": os.getpid()}]
    rows += [
        {"name": child.name, "pid": child.pid}
        for child in supervisor.children
        if child.pid != os.getpid()
    ]
    path.write_text(json.dumps(rows, indent=1) + "\n")


def _cli_environment(
    rpc_url: str, port: int, deployment_file: Path, deployments_dir: Path
) -> dict[str, str]:
    """Variables the CLI needs when this network is not where it looks by default."""
    needed: dict[str, str] = {}
    if port != DEFAULT_PORT:
        needed["WALRUS_RPC_URL"] = rpc_url
    if deployments_dir.resolve() != DEPLOYMENTS_DIR.resolve():
        needed["WALRUS_DEPLOYMENT"] = str(deployment_file)
    return needed


def print_summary(
    url: str,
    contracts: Mapping[str, str],
    deployment_file: Path,
    accounts: list[tuple[str, str, int]],
) -> None:
    lines = [
        "",
        f"  {'RPC URL':<16} {url}   (chain id 31337)",
        f"  {'deployment':<16} {os.path.relpath(deployment_file)}",
    ]
    lines += [f"  {name:<16} {address}" for name, address in contracts.items()]
    lines += ["", "  funded dev accounts (10,000 ETH each; keys are public, devnet only):"]
    for address, key, wal_balance in accounts:
        lines.append(
            f"    {address}  0x{key.removeprefix('0x')}  {wal_balance / FROST_PER_WAL:,.0f} WAL"
        )
    print("\n".join(lines), flush=True)


def print_network(
    nodes: Sequence[StorageNode],
    committee: Sequence[int],
    shard_counts: Sequence[int],
    backend_url: str,
    network_dir: Path,
    epoch_seconds: int,
    extra_env: Mapping[str, str],
) -> None:
    shards = dict(zip(committee, shard_counts, strict=True))
    lines = ["", f"  storage nodes (data, keys and logs in {os.path.relpath(network_dir)}):"]
    for node in nodes:
        lines.append(
            f"    node {node.node_id:<3} {node.url:<24} {shards.get(node.node_id, 0)} shards"
        )
    lines += [
        "",
        f"  {'backend':<16} {backend_url}   (publisher + aggregator; API: {backend_url}/v1/api)",
        f"  {'web UI':<16} {backend_url}/   (open it in a browser with a wallet on this chain)",
        f"  {'epochs':<16} {epoch_seconds} s each; the epoch keeper starts the next one",
        f"  {'publisher pays':<16} dev account {PUBLISHER_ACCOUNT}; the CLI pays from account 0",
        "",
        "  try it in another terminal:",
    ]
    if extra_env:
        exports = " ".join(f"{name}={value}" for name, value in extra_env.items())
        lines.append(f"    export {exports}")
    lines += [
        "    walrus store README.md --epochs 5        # prints the blob id",
        "    walrus read <blob id> --out copy.md",
        f'    curl -X PUT --data-binary @README.md "{backend_url}/v1/blobs?epochs=5"',
        f"    curl {backend_url}/v1/blobs/<blob id>",
        "    walrus info; walrus health; walrus list-blobs",
        "",
        "  docs/devnet.md and docs/cli.md explain more.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
