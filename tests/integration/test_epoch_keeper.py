"""`walrus keeper run` against an anvil of its own: it starts the next epoch once the current
one is over and issues that epoch's storage-challenge round; before then it does nothing;
two keepers racing both succeed and the epoch moves once; SIGTERM stops the loop cleanly.

A deployment of its own (WAL, Staking, BlobRegistry, StorageChallenges, the deployer kept as
owner) so the epoch changes here do not move the session deployment other files use.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account.signers.local import LocalAccount

from backend.chain.challenges import StorageChallengesContract
from backend.chain.client import ChainClient
from backend.chain.compiler import REPO_ROOT, Artifacts
from backend.chain.deployment import STEPS, deploy, devnet_config, save_deployment
from backend.chain.devnet import Devnet, start_anvil
from backend.chain.staking import StakingContract
from backend.cli.main import cli
from backend.core.bls import BlsSecretKey
from backend.sdk.epoch_keeper import EpochKeeper

KEEPER_STEPS = ("WAL", "Staking", "BlobRegistry", "StorageChallenges")
LONG_EPOCH_SECONDS = 3600
ANSWER_WINDOW_SECONDS = 5
"""Long enough that two keeper ticks on a loaded machine fall inside it."""
NODE_STAKE = 10**12


@dataclass
class KeeperEnv:
    staking: StakingContract
    challenges: StorageChallengesContract
    deployment_file: Path
    key_file: Path
    rpc_url: str


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """An anvil of this file's own: the keeper reads chain time, and other files sharing a
    worker's session anvil warp it (evm_increaseTime), which made these tests flaky."""
    devnet = start_anvil(log_path=tmp_path_factory.mktemp("keeper-anvil") / "anvil.log")
    try:
        yield devnet
    finally:
        devnet.stop()


@pytest.fixture(scope="module")
def chain(anvil: Devnet, artifacts: Artifacts, dev_accounts: list[LocalAccount]) -> ChainClient:
    return ChainClient.connect(anvil.url, dev_accounts[0].key, error_abis=artifacts.all_abis())


@pytest.fixture(scope="module")
def env(
    chain: ChainClient,
    artifacts: Artifacts,
    dev_accounts: list[LocalAccount],
    tmp_path_factory: pytest.TempPathFactory,
) -> KeeperEnv:
    config = devnet_config(dev_accounts)
    config = type(config)(**{**config.__dict__, "keep_deployer_owner": True})
    steps = [(name, step) for name, step in STEPS if name in KEEPER_STEPS]
    deployment = deploy(chain, artifacts, config, steps)
    directory = tmp_path_factory.mktemp("keeper")
    deployment_file = save_deployment(deployment, directory)
    staking = StakingContract.at(chain, deployment.address("Staking"), artifacts.abi("Staking"))
    key = BlsSecretKey.from_seed(bytes([0x4B, 0xEE]) * 16)
    node_id = staking.register_node("keeper-test", "http://127.0.0.1:9", key, capacity=10**12)
    wal = deployment.contract(chain, artifacts, "WAL")
    chain.transact(wal.functions.approve(staking.address, NODE_STAKE))
    staking.stake(node_id, NODE_STAKE)
    key_file = directory / "keeper.key"
    key_file.write_text(bytes(dev_accounts[7].key).hex())
    challenges = StorageChallengesContract.at(
        chain, deployment.address("StorageChallenges"), artifacts.abi("StorageChallenges")
    )
    return KeeperEnv(staking, challenges, deployment_file, key_file, chain.rpc_url)


def keeper_command(env: KeeperEnv, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "backend.cli.main",
        "keeper",
        "run",
        "--rpc-url",
        env.rpc_url,
        "--deployment",
        str(env.deployment_file),
        "--private-key-file",
        str(env.key_file),
        *extra,
    ]


def run_keeper_once(env: KeeperEnv) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        keeper_command(env, "--once"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )


def wait_until_over(staking: StakingContract) -> None:
    end = staking.epoch_info().end_time
    while time.time() < end + 1:
        time.sleep(0.2)


@pytest.fixture
def short_epoch(env: KeeperEnv) -> Iterator[None]:
    """The current epoch (epoch 1 when none has started) lasts 1 s, so it is over."""
    if env.staking.current_epoch() == 0:
        env.staking.initiate_epoch_change()
    env.staking.set_epoch_duration(1)
    wait_until_over(env.staking)
    yield
    env.staking.set_epoch_duration(LONG_EPOCH_SECONDS)


def test_once_starts_the_due_epoch_and_its_challenge_round_then_waits(
    env: KeeperEnv, short_epoch: None
) -> None:
    before = env.staking.current_epoch()

    done = run_keeper_once(env)

    assert done.returncode == 0, done.stderr
    assert env.staking.current_epoch() == before + 1
    assert env.challenges.round_of(before + 1).issued
    assert f"epoch {before + 1} started (1 nodes)" in done.stdout
    assert f"epoch {before + 1}: 0 storage challenges issued" in done.stdout  # no blobs yet

    env.staking.set_epoch_duration(LONG_EPOCH_SECONDS)  # the new epoch is far from over
    deadline = env.challenges.round_of(before + 1).deadline
    again = run_keeper_once(env)

    assert again.returncode == 0, again.stderr
    assert env.staking.current_epoch() == before + 1
    assert env.challenges.round_of(before + 1).deadline == deadline  # not issued twice
    assert not env.challenges.round_of(before + 1).closed
    waiting = re.fullmatch(
        rf"epoch {before + 1}: nothing due \(next epoch in (\d+) s\)\n", again.stdout
    )
    assert waiting is not None, again.stdout
    assert LONG_EPOCH_SECONDS - 120 < int(waiting.group(1)) <= LONG_EPOCH_SECONDS


def test_two_racing_keepers_both_succeed_and_the_epoch_moves_once(
    env: KeeperEnv, short_epoch: None, chain: ChainClient, dev_accounts: list[LocalAccount]
) -> None:
    before = env.staking.current_epoch()
    lines: list[str] = []
    keepers = [
        EpochKeeper(
            env.staking.as_account(chain.with_account(dev_accounts[index].key)),
            env.challenges.as_account(chain.with_account(dev_accounts[index].key)),
            lines.append,
        )
        for index in (8, 9)
    ]
    start = threading.Barrier(len(keepers))
    failures: list[BaseException] = []

    def tick(keeper: EpochKeeper) -> None:
        start.wait()
        try:
            keeper.tick()
        except BaseException as error:  # surfaced by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=tick, args=(keeper,)) for keeper in keepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert env.staking.current_epoch() == before + 1
    assert env.challenges.round_of(before + 1).issued
    assert lines.count(f"epoch {before + 1} started (1 nodes)") == 1
    assert lines.count(f"epoch {before + 1}: 0 storage challenges issued") == 1


def test_sigterm_stops_the_loop_cleanly(env: KeeperEnv) -> None:
    keeper = subprocess.Popen(
        keeper_command(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert keeper.stdout is not None
        first = keeper.stdout.readline()
        assert first.startswith("keeper started as "), first
        keeper.send_signal(signal.SIGTERM)
        out, err = keeper.communicate(timeout=30)
    finally:
        if keeper.poll() is None:
            os.kill(keeper.pid, signal.SIGKILL)
            keeper.wait()
    assert keeper.returncode == 0, err
    assert out.strip().splitlines()[-1] == "keeper stopped"


def test_an_unreachable_chain_is_one_line_and_exit_1(env: KeeperEnv) -> None:
    arguments = keeper_command(env, "--once")[3:]  # in-process: spares a Python start-up
    arguments[arguments.index("--rpc-url") + 1] = "http://127.0.0.1:1"
    done = CliRunner().invoke(cli, arguments)

    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "Error: no EVM JSON-RPC endpoint answers at http://127.0.0.1:1 (ConnectionError)"
    ]


def test_a_round_is_closed_once_its_answer_window_is_over(
    env: KeeperEnv, chain: ChainClient, artifacts: Artifacts
) -> None:
    """A StorageChallenges of its own with a short answer window over the same Staking."""
    if env.staking.current_epoch() == 0:
        env.staking.initiate_epoch_change()
    env.staking.set_epoch_duration(LONG_EPOCH_SECONDS)
    registry = env.challenges.contract.functions.registry().call()
    contract, _ = chain.deploy(
        artifacts.abi("StorageChallenges"),
        artifacts.bytecode("StorageChallenges"),
        env.staking.address,
        registry,
        ANSWER_WINDOW_SECONDS,
    )
    challenges = StorageChallengesContract(chain, contract)
    lines: list[str] = []
    keeper = EpochKeeper(env.staking, challenges, lines.append)
    epoch = env.staking.current_epoch()

    assert keeper.tick() == [f"epoch {epoch}: 0 storage challenges issued"]
    assert keeper.tick() == []  # the answer window is still open
    deadline = challenges.round_of(epoch).deadline
    while time.time() < deadline + 1.5:
        time.sleep(0.2)

    assert keeper.tick() == [f"epoch {epoch}: challenge round closed, 0 failed"]
    assert challenges.round_of(epoch).closed
    assert keeper.tick() == []
    assert lines == [
        f"epoch {epoch}: 0 storage challenges issued",
        f"epoch {epoch}: challenge round closed, 0 failed",
    ]


def test_an_unreadable_key_file_is_one_line_and_exit_1(env: KeeperEnv, tmp_path: Path) -> None:
    arguments = keeper_command(env, "--once")[3:]
    missing = tmp_path / "no-such.key"
    arguments[arguments.index("--private-key-file") + 1] = str(missing)
    done = CliRunner().invoke(cli, arguments)

    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"Error: cannot read private key file {missing}: No such file or directory"
    ]


def test_the_loop_outlives_a_chain_outage_and_says_so_once(
    env: KeeperEnv, artifacts: Artifacts, dev_accounts: list[LocalAccount]
) -> None:
    """The same contracts behind an RPC URL nothing answers: every tick fails, the loop
    keeps going (retrying every 2 s), prints the error once, and stops when asked."""
    dead = ChainClient("http://127.0.0.1:1", dev_accounts[7].key, error_abis=artifacts.all_abis())
    lines: list[str] = []
    keeper = EpochKeeper(
        env.staking.as_account(dead), env.challenges.as_account(dead), lines.append
    )
    keeper.start()
    time.sleep(3.0)  # the first tick and at least one retry, 2 s later
    assert keeper.alive()
    keeper.stop()

    assert not keeper.alive()
    assert lines == [
        "epoch keeper: no EVM JSON-RPC endpoint answers at http://127.0.0.1:1 (ConnectionError)"
    ]
