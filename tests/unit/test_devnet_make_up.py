"""`make up` (python -m scripts.up) as a user runs it: anvil, contracts, storage nodes, the
backend and the epoch keeper come up; a file stored through the CLI reads back through the
backend and the other way round; Ctrl-C / SIGTERM stop every process it started."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from backend.chain.challenges import StorageChallengesContract
from backend.chain.client import ChainClient
from backend.chain.compiler import REPO_ROOT, compile_contracts
from backend.chain.devnet import (
    dev_accounts,
    free_port,
    pid_alive,
    read_state,
    start_anvil,
    write_state,
)
from backend.chain.keyserver_registry import KeyServerRegistryContract
from backend.chain.staking import StakingContract
from backend.core.seal.header import parse_header
from tests.integration.seal_keyservers import attacker_key_servers

READY_TIMEOUT = 180.0
ATTACKER_KEY = bytes(dev_accounts(7)[6].key).hex()
"""A funded dev account that is not make up's (account 0 registers its key servers)."""
READY_LINE = "ready; Ctrl-C stops everything"


@dataclass
class RunningUp:
    process: subprocess.Popen[str]
    output: str
    rpc_url: str
    backend_url: str
    deployment_file: Path
    child_pids: dict[str, int]

    def cli(
        self, *args: str, stdin: bytes | None = None, wallet: str | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        environment = {
            **os.environ,
            "WALRUS_RPC_URL": self.rpc_url,
            "WALRUS_DEPLOYMENT": str(self.deployment_file),
            **({"WALRUS_PRIVATE_KEY": wallet} if wallet else {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "backend.cli.main", *args],
            cwd=REPO_ROOT,
            env=environment,
            input=stdin,
            capture_output=True,
            timeout=120,
        )

    def stop(self, stop_signal: signal.Signals) -> str:
        self.process.send_signal(stop_signal)
        rest, _ = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, rest
        return rest


@contextmanager
def make_up(tmp_path: Path, *extra: str) -> Iterator[RunningUp]:
    """Run make up with 4 nodes over 8 shards on free ports until its ready line."""
    port, backend_port = free_port(), free_port()
    deployments = tmp_path / "deployments"
    command = [sys.executable, "-m", "scripts.up", "--port", str(port)]
    command += ["--state-file", str(tmp_path / "state.json"), "--deployments-dir", str(deployments)]
    command += ["--nodes", "4", "--shards", "8", "--backend-port", str(backend_port)]
    command += ["--node-base-port", str(free_port()), *extra]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    pids: dict[str, int] = {}
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "make up exited early:\n" + "".join(lines)
            lines.append(line)
            started = re.match(r"up: started (\S+) \(pid (\d+)\)", line)
            if started:
                pids[started.group(1)] = int(started.group(2))
            if READY_LINE in line:
                break
        else:
            raise AssertionError("make up not ready in time:\n" + "".join(lines))
        yield RunningUp(
            process,
            "".join(lines),
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{backend_port}",
            deployments / "31337.json",
            pids,
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in pids.values():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_make_up_serves_a_store_and_read_and_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    with make_up(tmp_path) as up:
        key_servers = {f"keyserver-{index}" for index in range(3)}  # Seal, 2-of-3
        nodes = {f"node-{index}" for index in range(4)}
        assert set(up.child_pids) == {"anvil", *nodes, "backend", *key_servers}
        record = json.loads(up.deployment_file.read_text())
        # the three key servers make up registers are the ones the deployment trusts
        assert record["seal"] == {"key_server_ids": [1, 2, 3], "threshold": 2}
        artifacts = compile_contracts()
        registered = KeyServerRegistryContract.at(
            ChainClient(up.rpc_url), record["contracts"]["KeyServerRegistry"], artifacts
        ).active()  # on chain, with the key each one serves
        assert [server.id for server in registered] == [1, 2, 3]
        for index, server in enumerate(registered):
            info = requests.get(server.url + "/v1/seal/info", timeout=5).json()
            assert info["public_key"] == server.public_key.hex()
            log = (tmp_path / "network" / f"keyserver-{index}.log").read_text()
            assert f"registered as key server {server.id}, devnet-{index}" in log  # checked
        for name, address in record["contracts"].items():
            assert f"  {name:<16} {address}" in up.output
        assert "1,000,000 WAL" in up.output  # dev accounts were paid from the user drop
        assert "walrus store README.md" in up.output
        assert f"curl {up.backend_url}/v1/blobs/<blob id>" in up.output

        # every node registered with the URL it really serves, and holds shards
        staking = StakingContract.at(
            ChainClient(up.rpc_url), record["contracts"]["Staking"], artifacts.abi("Staking")
        )
        assert staking.current_epoch() == 1
        committee = staking.committee()
        assert len(committee.node_ids) == 4 and all(n == 2 for n in committee.shard_counts)
        for node_id in committee.node_ids:
            url = staking.node(node_id).http_url
            assert f"node {node_id:<3} {url}" in up.output
            assert requests.get(url + "/v1/health", timeout=5).ok

        # CLI store -> backend read
        readme = (REPO_ROOT / "README.md").read_bytes()
        stored = up.cli("store", str(REPO_ROOT / "README.md"), "--epochs", "3", "--json")
        assert stored.returncode == 0, stored.stderr
        blob_id = json.loads(stored.stdout)["blob_id"]
        served = requests.get(f"{up.backend_url}/v1/blobs/{blob_id}", timeout=60)
        assert served.status_code == 200 and served.content == readme

        # backend store -> CLI read
        data = os.urandom(50_000)
        put = requests.put(f"{up.backend_url}/v1/blobs?epochs=2", data=data, timeout=60)
        assert put.status_code == 200, put.text
        published = put.json()["newlyCreated"]["blobObject"]["blobId"]
        read = up.cli("read", "--", published)
        assert read.returncode == 0, read.stderr
        assert read.stdout == data

        # Seal with no key server configured: the ones the deployment trusts, not the two
        # another account registered afterwards
        deployed = up.cli("policy", "deploy", "allowlist", "--json")
        assert deployed.returncode == 0, deployed.stderr
        secret = tmp_path / "secret.txt"
        secret.write_bytes(b"sealed on the devnet " + os.urandom(64))
        policy = json.loads(deployed.stdout)["address"]
        with attacker_key_servers(31337) as theirs:
            for index, attacker in enumerate(theirs):
                key_file = tmp_path / f"evil-{index}.key"
                key_file.write_text(attacker.key.private_key.hex())
                evil = (
                    "--name",
                    f"evil-{index}",
                    "--url",
                    attacker.url,
                    "--key-file",
                    str(key_file),
                )
                joined = up.cli("keyserver", "register", *evil, wallet=ATTACKER_KEY)
                assert joined.returncode == 0, joined.stderr
            store = ("store", str(secret), "--encrypt", "--policy", policy, "--id", "ab" * 32)
            sealed = up.cli(*store)
            assert sealed.returncode == 0, sealed.stderr
            blob_id = sealed.stdout.decode().rsplit("Blob id: ", 1)[1].strip()
            cipher = up.cli("read", "--no-decrypt", "--", blob_id).stdout
            assert [entry.server_public_key for entry in parse_header(cipher).entries] == [
                server.public_key for server in registered
            ]
            opened = up.cli("read", "--", blob_id)
            assert opened.returncode == 0 and opened.stdout == secret.read_bytes(), opened.stderr
            assert [attacker.requests for attacker in theirs] == [[], []]

        # a storage node dying does not take the network down: the blob still reads
        os.kill(up.child_pids["node-3"], signal.SIGKILL)
        time.sleep(1.5)  # the supervisor looks every 0.5 s
        assert up.process.poll() is None, "make up stopped when one storage node died"
        read = up.cli("read", "--", published)
        assert read.returncode == 0 and read.stdout == data, read.stderr

        rest = up.stop(signal.SIGINT)
    assert f"node-3 (pid {up.child_pids['node-3']}) exited; the network runs on" in rest
    assert "walrus node run --config" in rest
    for name, pid in up.child_pids.items():
        assert f"stopped {name} (pid {pid})" in rest
        assert not pid_alive(pid), f"{name} (pid {pid}) still running"
    order = [rest.index(f"stopped {name} ") for name in ("backend", "node-0", "anvil")]
    assert order == sorted(order), "children must stop in reverse start order"
    assert not (tmp_path / "state.json").exists()


def test_epoch_keeper_starts_epochs_and_sigterm_stops_everything(tmp_path: Path) -> None:
    with make_up(tmp_path, "--epoch-seconds", "2") as up:
        record = json.loads(up.deployment_file.read_text())
        staking = StakingContract.at(
            ChainClient(up.rpc_url),
            record["contracts"]["Staking"],
            compile_contracts().abi("Staking"),
        )
        deadline = time.monotonic() + 30
        while staking.current_epoch() < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert staking.current_epoch() >= 3
        challenges = StorageChallengesContract.at(
            staking.client,
            record["contracts"]["StorageChallenges"],
            compile_contracts().abi("StorageChallenges"),
        )
        assert challenges.round_of(2).issued  # the keeper runs every epoch's challenge round
        rest = up.stop(signal.SIGTERM)
    assert "epoch 3 started (4 nodes)" in up.output + rest
    assert "epoch 2: 0 storage challenges issued" in up.output + rest  # nothing stored yet
    node_config = json.loads((tmp_path / "network" / "node-0" / "config.json").read_text())
    assert node_config["challenges"] == record["contracts"]["StorageChallenges"]
    for name, pid in up.child_pids.items():
        assert not pid_alive(pid), f"{name} (pid {pid}) still running"


@pytest.mark.parametrize("arguments", [["--nodes", "5", "--shards", "4"], ["--shards", "2"]])
def test_make_up_rejects_a_bad_network_shape_in_one_line(arguments: list[str]) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "scripts.up", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "Traceback" not in finished.stderr
    assert finished.stderr.strip().splitlines()[-1].startswith("make up: error: ")


def test_make_up_refuses_a_second_devnet_on_the_same_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with start_anvil(log_path=tmp_path / "anvil.log") as running:
        write_state(running.info, state_file)
        finished = subprocess.run(
            [sys.executable, "-m", "scripts.up", "--state-file", str(state_file)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode == 1
    assert f"a devnet is already running at {running.url}" in finished.stdout
    assert "Traceback" not in finished.stdout + finished.stderr
    assert read_state(state_file) is not None
